#include "tests/replay/log_generator.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <variant>

#include "core/queue_op.h"

namespace pigtail::replay::testing {

LogGenerator::LogGenerator(const LogSpec& spec) : spec_(spec), rng_(spec.seed) {
  for (uint32_t i = 0; i < spec_.owners; ++i) owners_.push_back(RandomId());
  last_of_owner_.resize(owners_.size());
}

Uuid LogGenerator::RandomId() {
  std::array<uint8_t, Uuid::kSize> bytes{};
  uint64_t a = rng_();
  uint64_t b = rng_();
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);
  return Uuid(bytes);
}

std::string LogGenerator::PickQueue() { return "queue-" + std::to_string(rng_() % spec_.queues); }

std::string LogGenerator::NextData() {
  // The first events create every queue.
  if (produced_ < spec_.queues) {
    return SerializeQueueOp(CreateOp{"queue-" + std::to_string(produced_), 30'000, 5, 100});
  }
  uint64_t roll = rng_() % 1000;
  auto pick_task = [&]() -> Task& {
    size_t n = tasks_.size();
    if (spec_.hot_tasks > 0 && n > spec_.hot_tasks) n = spec_.hot_tasks;
    return tasks_[rng_() % n];
  };
  bool hot_full = spec_.hot_tasks > 0 && tasks_.size() >= spec_.hot_tasks;
  if (tasks_.empty() || (roll < 330 && !hot_full)) {
    AddOp add;
    add.queue_name = PickQueue();
    add.task_name = "task-" + std::to_string(produced_) + (roll % 7 == 0 ? " \u00e9t\u00e9" : "");
    add.info_json = "{\"foo\":\"bar\",\"n\":" + std::to_string(produced_) + "}";
    if (roll % 5 == 0) add.priority = static_cast<int64_t>(roll % 3);
    tasks_.push_back({add.queue_name, next_id_, 0});
    return SerializeQueueOp(add);
  }
  if (roll >= 580 && roll < 600) {
    // A Batch, as pigtaild writes for one claim-next or batched done:
    // claims or dones of distinct tasks.
    BatchOp batch;
    const bool dones = roll % 2 == 0;
    for (uint64_t n = 2 + rng_() % 4; n > 0; --n) {
      Task& t = pick_task();
      bool seen = false;
      for (const TaskOp& op : batch.ops) {
        seen |= std::visit([&](const auto& o) { return o.id == t.id; }, op);
      }
      if (seen) continue;
      if (dones) {
        batch.ops.emplace_back(DoneOp{t.queue, t.id, owners_[0], t.lease});
      } else {
        batch.ops.emplace_back(ProgressOp{t.queue, t.id, owners_[0], ++t.lease});
      }
    }
    return SerializeQueueOp(batch);
  }
  if (roll < 600) {
    Task& t = pick_task();
    // Mostly heartbeats of the current lease, sometimes a re-claim.
    if (rng_() % 4 == 0) ++t.lease;
    ProgressOp beat{t.queue, t.id, owners_[rng_() % owners_.size()], t.lease};
    if (rng_() % 8 == 0) beat.progress_json = "{\"pct\":" + std::to_string(rng_() % 100) + "}";
    return SerializeQueueOp(beat);
  }
  if (roll < 760) {
    Task& t = pick_task();
    DoneOp done{t.queue, t.id, owners_[0], t.lease};
    if (rng_() % 4 == 0) done.result_json = "[" + std::to_string(produced_) + "]";
    return SerializeQueueOp(done);
  }
  if (roll < 840) {
    Task& t = pick_task();
    FailOp fail{t.queue,     t.id,   owners_[1 % owners_.size()],
                t.lease,     "boom", uint64_t{100} << (t.lease % 8),
                t.lease >= 4};
    return SerializeQueueOp(fail);
  }
  if (roll < 857) {
    Task& t = pick_task();
    return SerializeQueueOp(CancelOp{t.queue, t.id});
  }
  if (roll < 860) {
    Task& t = pick_task();
    return SerializeQueueOp(PurgeOp{t.queue, t.id});
  }
  if (roll < 862) return SerializeQueueOp(DeleteOp{PickQueue()});
  if (roll < 866) return SerializeQueueOp(CreateOp{PickQueue(), 10'000, std::nullopt, 50});
  if (roll < 940) {
    return "{\"app\":\"billing\",\"invoice\":" + std::to_string(produced_) + ",\"lines\":[1,2,3]}";
  }
  // Malformed queue ops: wrong types, missing fields, bad ids.
  switch (roll % 4) {
    case 0:
      return "{\"Add\":{\"queue_name\":5,\"task_name\":\"x\",\"info\":null}}";
    case 1:
      return "{\"Progress\":{\"queue_name\":\"queue-0\",\"id\":\"not-a-uuid\",\"worker_id\":1}}";
    case 2:
      return "{\"Done\":{\"queue_name\":\"queue-1\"}}";
    default:
      return "{\"Create\":{\"name\":\"bad name!\",\"timeout_ms\":-1}}";
  }
}

bool LogGenerator::Next(Event* event) {
  if (produced_ >= spec_.events) return false;
  next_id_ = RandomId();
  NewEvent fields;
  fields.id = next_id_;
  size_t o = static_cast<size_t>(rng_() % owners_.size());
  fields.owner = owners_[o];
  fields.prev = last_of_owner_[o];
  time_ns_ += 1 + rng_() % 1'000'000;
  fields.when = Hlc{0, time_ns_, static_cast<uint32_t>(rng_() % 3)};
  fields.data_json = NextData();
  Result<Event> made = MakeEvent(fields);
  if (!made.ok()) throw std::runtime_error("MakeEvent: " + made.status().ToString());
  last_of_owner_[o] = fields.id;
  ++produced_;
  *event = std::move(made).value();
  return true;
}

std::vector<Event> GenerateLog(const LogSpec& spec) {
  LogGenerator gen(spec);
  std::vector<Event> events;
  events.reserve(spec.events);
  Event e;
  while (gen.Next(&e)) events.push_back(std::move(e));
  return events;
}

namespace {
void Put(std::FILE* f, const std::string& raw) {
  if (std::fwrite(raw.data(), 1, raw.size(), f) != raw.size() || std::fputc('\n', f) == EOF) {
    throw std::runtime_error("writing JSONL failed");
  }
}
}  // namespace

void WriteJsonl(const std::vector<Event>& events, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  for (const Event& e : events) Put(f, e.raw);
  if (std::fclose(f) != 0) throw std::runtime_error("closing " + path);
}

void WriteJsonlLog(const LogSpec& spec, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  LogGenerator gen(spec);
  Event e;
  while (gen.Next(&e)) Put(f, e.raw);
  if (std::fclose(f) != 0) throw std::runtime_error("closing " + path);
}

std::string TempDir(const std::string& tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("pigtail-replay-" + tag + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace pigtail::replay::testing
