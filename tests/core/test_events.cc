#include "tests/core/test_events.h"

#include <cstdio>
#include <cstdlib>

namespace pigtail::testing {

Uuid TestId(uint64_t n) {
  std::array<uint8_t, Uuid::kSize> bytes{};
  for (int i = 0; i < 8; ++i) bytes[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  bytes[6] = 0x40;
  bytes[8] = 0x80;
  return Uuid(bytes);
}

Event DataEvent(const Uuid& id, const Uuid& owner, Hlc when, const std::string& data_json) {
  Result<Event> e = MakeEvent(NewEvent{id, owner, std::nullopt, when, data_json, {}});
  if (!e.ok()) {
    std::fprintf(stderr, "test event does not parse: %s\n", e.status().ToString().c_str());
    std::abort();
  }
  return std::move(e).value();
}

Event OpEvent(const Uuid& id, const Uuid& owner, Hlc when, const QueueOp& op) {
  return DataEvent(id, owner, when, SerializeQueueOp(op));
}

}  // namespace pigtail::testing
