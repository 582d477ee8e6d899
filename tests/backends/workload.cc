#include "tests/backends/workload.h"

#include <cstdio>
#include <cstdlib>

#include "core/projector.h"

namespace pigtail::testing {

const std::vector<std::string>& AwkwardStrings() {
  static const std::vector<std::string> kStrings = {
      "plain",
      "with \"quotes\" inside",
      "back\\slash \\\\ and \\u0000 as text",
      std::string("nul\0byte\0twice", 14),
      "ünïcødé ✓ 日本語 🚀",
      "tab\tnewline\ncarriage\rbell\a",
      "",
      "'single' `back` {braces} [brackets] ,:;",
  };
  return kStrings;
}

EventMaker::EventMaker(uint64_t seed) : rng_(seed) {}

Uuid EventMaker::NewId() {
  std::array<uint8_t, Uuid::kSize> bytes;
  uint64_t a = rng_();
  uint64_t b = rng_();
  for (size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);
  return Uuid(bytes);
}

Event EventMaker::Next(const Uuid& owner, const std::string& data_json,
                       const std::vector<Uuid>& dependencies) {
  NewEvent fields;
  fields.id = NewId();
  fields.owner = owner;
  fields.when = Hlc{0, 1'700'000'000'000'000'000ULL, 0};
  if (auto it = last_.find(owner); it != last_.end()) {
    fields.prev = it->second.first;
    fields.when = it->second.second;
    fields.when.time += 1'000'000;
  }
  fields.data_json = data_json;
  fields.dependencies = dependencies;
  Result<Event> event = MakeEvent(fields);
  if (!event.ok()) {
    std::fprintf(stderr, "test bug: MakeEvent failed: %s\n", event.status().ToString().c_str());
    std::abort();
  }
  last_[owner] = {fields.id, fields.when};
  return std::move(event).value();
}

Event EventMaker::NextOp(const Uuid& owner, const QueueOp& op) {
  return Next(owner, SerializeQueueOp(op));
}

QueueWorkload::QueueWorkload(uint64_t seed, size_t owners) : maker_(seed) {
  for (size_t i = 0; i < owners; ++i) owners_.push_back(maker_.NewId());
  queues_ = {"alpha", "beta.2", "gamma_3-x"};
}

std::vector<Event> QueueWorkload::Take(size_t n) {
  std::vector<Event> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(One());
  return out;
}

Event QueueWorkload::One() {
  std::mt19937_64& rng = maker_.rng();
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  const Uuid& owner = owners_[pick(owners_.size())];
  const std::string& queue = queues_[pick(queues_.size())];
  const std::vector<std::string>& awkward = AwkwardStrings();
  size_t step = produced_++;
  if (step < queues_.size()) {
    return maker_.NextOp(owner, CreateOp{queues_[step], 30'000, std::nullopt, std::nullopt});
  }
  size_t roll = pick(100);
  if (roll < 40 || tasks_.empty()) {
    AddOp add;
    add.queue_name = queue;
    add.task_name = awkward[pick(awkward.size())];
    // info is any JSON; put awkward strings inside it too.
    add.info_json = "{\"n\":" + std::to_string(step) + ",\"s\":\"q\\\"b\\\\n\\u0000u\\u00e9\"}";
    add.priority = static_cast<int64_t>(pick(3));
    if (pick(4) == 0) add.run_at_ms = pick(1000);
    Event e = maker_.NextOp(owner, add);
    tasks_.emplace_back(queue, e.id);
    return e;
  }
  const auto& [task_queue, task_id] = tasks_[pick(tasks_.size())];
  Uuid worker = owners_[pick(owners_.size())];
  // Progress and results, sometimes, as JSON holding awkward strings.
  std::string json;
  if (pick(3) == 0)
    json = "{\"s\":\"q\\\"b\\\\n\\u0000\\u00e9\",\"n\":" + std::to_string(step) + "}";
  if (roll < 60) {
    return maker_.NextOp(owner, ProgressOp{task_queue, task_id, worker, pick(3), 0, json});
  }
  if (roll < 71) return maker_.NextOp(owner, DoneOp{task_queue, task_id, worker, pick(3), 0, json});
  if (roll < 72) return maker_.NextOp(owner, PurgeOp{task_queue, task_id});
  if (roll < 78) {
    FailOp fail{task_queue, task_id,     worker, pick(3), awkward[pick(awkward.size())],
                250,        pick(4) == 0};
    return maker_.NextOp(owner, fail);
  }
  if (roll < 81) return maker_.NextOp(owner, CancelOp{task_queue, task_id});
  if (roll < 84) {
    // A status event for a task whose Add has not arrived (and never will).
    return maker_.NextOp(owner, ProgressOp{queue, maker_.NewId(), worker, 0});
  }
  if (roll < 86) return maker_.NextOp(owner, DeleteOp{queue});
  if (roll < 88) return maker_.NextOp(owner, CreateOp{queue, 5'000 + pick(1000), 3, 100});
  if (roll < 94) {
    // Malformed queue ops: stored, recorded as rejected.
    static const std::vector<std::string> kBad = {
        R"({"Done":{"queue_name":"alpha"}})",
        R"({"Add":{"queue_name":"no spaces allowed","task_name":"t","info":{}}})",
        R"({"Progress":{"queue_name":"alpha","id":"not-a-uuid","worker_id":"x"}})",
        R"({"Create":{"name":"alpha","timeout_ms":-1}})",
    };
    return maker_.Next(owner, kBad[pick(kBad.size())]);
  }
  // Another application's data on the same log.
  return maker_.Next(
      owner, R"({"app":"other","payload":[1,2,{"k":"\"v\\"}],"n":)" + std::to_string(step) + "}");
}

void ProjectAll(const std::vector<Event>& events, State* state) {
  for (const Event& e : events) (void)ApplyEvent(e, state);
  state->SettleDigests();
}

}  // namespace pigtail::testing
