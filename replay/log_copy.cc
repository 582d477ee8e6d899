#include "replay/log_copy.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "replay/dump_line.h"

namespace pigtail::replay {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Result<CopyReport> CopyEvents(EventSource* source, EventStore* target, const BatchLimits& limits,
                              ProgressSink* progress, std::string_view phase) {
  auto start = std::chrono::steady_clock::now();
  CopyReport report;
  std::vector<SourcedEvent> batch;
  std::vector<Event> pending;  // read but not yet appended
  // Appends `pending`; the last append (when the source is exhausted) syncs.
  auto flush = [&](bool sync) -> Status {
    if (pending.empty()) return Status::Ok();
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, target->Append(pending, sync));
    for (uint64_t seq : seqs) {
      if (seq == 0) {
        ++report.duplicates;
      } else {
        ++report.added;
      }
    }
    pending.clear();
    return Status::Ok();
  };
  while (true) {
    PIGTAIL_RETURN_IF_ERROR(source->Next(limits, &batch));
    PIGTAIL_RETURN_IF_ERROR(flush(/*sync=*/batch.empty()));
    if (batch.empty()) break;
    pending.reserve(batch.size());
    for (SourcedEvent& e : batch) pending.push_back(std::move(e.event));
    report.read += pending.size();
    if (progress != nullptr) {
      progress->Update({phase, report.read, source->Progress(), SecondsSince(start)});
    }
  }
  if (progress != nullptr) {
    progress->Finish({phase, report.read, source->Progress(), SecondsSince(start)});
  }
  return report;
}

Result<std::vector<OwnerReport>> ReportOwners(EventStore* store, size_t page) {
  PIGTAIL_ASSIGN_OR_RETURN(auto heads, store->Heads());
  std::vector<OwnerReport> owners;
  for (const auto& [owner, head] : heads) {
    OwnerReport r;
    r.owner = owner;
    std::optional<Hlc> after;
    while (true) {
      PIGTAIL_ASSIGN_OR_RETURN(std::vector<StoredEvent> entries,
                               store->ScanOwner(owner, after, page));
      r.events += entries.size();
      if (entries.size() < page) break;
      after = entries.back().event.when;
    }
    PIGTAIL_ASSIGN_OR_RETURN(r.holes, store->Holes(owner));
    owners.push_back(std::move(r));
  }
  return owners;
}

Result<uint64_t> ExportJsonl(EventStore* store, std::FILE* out, const BatchLimits& limits,
                             ProgressSink* progress) {
  auto start = std::chrono::steady_clock::now();
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, store->LastSequence());
  uint64_t after = 0;
  uint64_t count = 0;
  while (true) {
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<RawRecord> records,
                             store->ScanRaw(after, limits.max_events));
    if (records.empty()) break;
    for (const RawRecord& e : records) {
      std::string line = DumpLine(e.bytes);
      line.push_back('\n');
      if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
        return Status::IOError(std::string("writing the export: ") + std::strerror(errno));
      }
      after = e.seq;
      ++count;
    }
    if (progress != nullptr) {
      progress->Update({"export", count, {after, last, "events"}, SecondsSince(start)});
    }
  }
  if (std::fflush(out) != 0) {
    return Status::IOError(std::string("writing the export: ") + std::strerror(errno));
  }
  if (progress != nullptr) {
    progress->Finish({"export", count, {after, last, "events"}, SecondsSince(start)});
  }
  return count;
}

}  // namespace pigtail::replay
