#include "replay/event_source.h"

#include "backends/registry.h"
#ifdef PIGTAIL_REPLAY_HAVE_HTTP
#include "replay/http_source.h"
#endif
#include "replay/jsonl_source.h"
#include "replay/store_source.h"

namespace pigtail::replay {

bool IsJsonlSpec(std::string_view spec) { return spec.starts_with("jsonl:"); }
bool IsHttpSpec(std::string_view spec) { return spec.starts_with("http://"); }

Result<std::unique_ptr<EventSource>> OpenEventSource(std::string_view spec,
                                                     const BackendOptions& backend,
                                                     CorruptionReporter* reporter) {
  if (IsJsonlSpec(spec)) {
    std::string path(spec.substr(6));
    if (path.empty()) return Status::InvalidArgument("jsonl: needs a file name");
    return OpenJsonlSource(path, reporter);
  }
  if (IsHttpSpec(spec)) {
#ifdef PIGTAIL_REPLAY_HAVE_HTTP
    return OpenHttpSource(std::string(spec), reporter);
#else
    return Status::FailedPrecondition("this build has no HTTP client; cannot read " +
                                      std::string(spec));
#endif
  }
  PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store, OpenEventStore(spec, backend));
  return NewOwningStoreSource(std::move(store), reporter);
}

}  // namespace pigtail::replay
