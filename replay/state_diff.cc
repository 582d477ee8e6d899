#include "replay/state_diff.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "replay/record_json.h"

namespace pigtail::replay {
namespace {
namespace json = boost::json;

constexpr size_t kPage = 1000;

class Collector {
 public:
  explicit Collector(size_t max) : max_(max) {}
  void Add(RegisterDifference d) {
    ++diff_.total;
    if (diff_.differences.size() < max_) diff_.differences.push_back(std::move(d));
  }
  StateDiff& diff() { return diff_; }

 private:
  size_t max_;
  StateDiff diff_;
};

std::optional<std::string> TaskText(const TaskRecord* t) {
  if (t == nullptr) return std::nullopt;
  return json::serialize(TaskRecordJson(*t));
}

std::string DigestText(const Digest& d) { return "\"" + d.ToHex() + "\""; }

Status DiffTasks(const std::string& queue, const State::QueueSlot* slot, StateStore* actual,
                 Collector* out) {
  std::vector<const TaskRecord*> expected;
  if (slot != nullptr) {
    expected.reserve(slot->tasks.size());
    for (const auto& [id, t] : slot->tasks) expected.push_back(&t);
    std::sort(expected.begin(), expected.end(),
              [](const TaskRecord* a, const TaskRecord* b) { return a->id < b->id; });
  }
  size_t next = 0;
  std::optional<Uuid> after;
  auto missing_in_store = [&](const TaskRecord* t) {
    out->Add({RegisterDifference::Kind::kTask, queue, t->id, TaskText(t), std::nullopt});
  };
  while (true) {
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> page, actual->ListTasks(queue, after, kPage));
    for (const TaskRecord& a : page) {
      ++out->diff().registers_compared;
      while (next < expected.size() && expected[next]->id < a.id)
        missing_in_store(expected[next++]);
      if (next < expected.size() && expected[next]->id == a.id) {
        if (!(*expected[next] == a)) {
          out->Add({RegisterDifference::Kind::kTask, queue, a.id, TaskText(expected[next]),
                    TaskText(&a)});
        }
        ++next;
      } else {
        out->Add({RegisterDifference::Kind::kTask, queue, a.id, std::nullopt, TaskText(&a)});
      }
    }
    if (page.size() < kPage) break;
    after = page.back().id;
  }
  while (next < expected.size()) missing_in_store(expected[next++]);
  return Status::Ok();
}

}  // namespace

std::string_view DifferenceKindName(RegisterDifference::Kind kind) {
  switch (kind) {
    case RegisterDifference::Kind::kQueue:
      return "queue";
    case RegisterDifference::Kind::kTask:
      return "task";
    case RegisterDifference::Kind::kRejected:
      return "rejected";
    case RegisterDifference::Kind::kDigest:
      return "digest";
  }
  return "unknown";
}

std::string RegisterDifference::ToString() const {
  std::string where = std::string(DifferenceKindName(kind)) + " ";
  if (kind == Kind::kRejected) {
    where += id ? id->ToString() : "?";
  } else {
    where += queue.empty() && kind == Kind::kDigest ? "(total)" : queue;
    if (id) where += "/" + id->ToString();
  }
  return where + ": expected " + expected.value_or("(absent)") + " actual " +
         actual.value_or("(absent)");
}

Result<StateDiff> DiffStateWithStore(const State& expected, StateStore* actual,
                                     size_t max_differences) {
  Collector out(max_differences);
  PIGTAIL_ASSIGN_OR_RETURN(DigestSummary digests, actual->Digests());
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<QueueRecord> queues, actual->ListQueues());

  std::set<std::string> names;
  for (const auto& [name, slot] : expected.queues()) names.insert(name);
  for (const auto& [name, d] : digests.queues) names.insert(name);
  std::map<std::string, const QueueRecord*> actual_queues;
  for (const QueueRecord& q : queues) {
    names.insert(q.name);
    actual_queues[q.name] = &q;
  }

  for (const std::string& name : names) {
    const State::QueueSlot* slot = expected.FindSlot(name);
    const QueueRecord* want = slot != nullptr && slot->record ? &*slot->record : nullptr;
    auto it = actual_queues.find(name);
    const QueueRecord* have = it == actual_queues.end() ? nullptr : it->second;
    ++out.diff().registers_compared;
    if ((want == nullptr) != (have == nullptr) || (want != nullptr && !(*want == *have))) {
      auto text = [](const QueueRecord* q) -> std::optional<std::string> {
        if (q == nullptr) return std::nullopt;
        return json::serialize(QueueRecordJson(*q));
      };
      out.Add({RegisterDifference::Kind::kQueue, name, std::nullopt, text(want), text(have)});
    }
    PIGTAIL_RETURN_IF_ERROR(DiffTasks(name, slot, actual, &out));
    Digest want_digest = expected.QueueDigest(name);
    auto d = digests.queues.find(name);
    Digest have_digest = d == digests.queues.end() ? Digest{} : d->second;
    if (want_digest != have_digest) {
      out.Add({RegisterDifference::Kind::kDigest, name, std::nullopt, DigestText(want_digest),
               DigestText(have_digest)});
    }
  }

  PIGTAIL_ASSIGN_OR_RETURN(auto rejected, actual->ListRejected());
  const auto& want_rejected = expected.rejected();
  for (const auto& [id, reason] : want_rejected) {
    ++out.diff().registers_compared;
    auto it = rejected.find(id);
    if (it == rejected.end() || it->second != reason) {
      out.Add({RegisterDifference::Kind::kRejected, "", id, json::serialize(json::value(reason)),
               it == rejected.end()
                   ? std::nullopt
                   : std::optional<std::string>(json::serialize(json::value(it->second)))});
    }
  }
  for (const auto& [id, reason] : rejected) {
    if (!want_rejected.contains(id)) {
      out.Add({RegisterDifference::Kind::kRejected, "", id, std::nullopt,
               json::serialize(json::value(reason))});
    }
  }
  if (digests.total != expected.total_digest()) {
    out.Add({RegisterDifference::Kind::kDigest, "", std::nullopt,
             DigestText(expected.total_digest()), DigestText(digests.total)});
  }
  return std::move(out.diff());
}

}  // namespace pigtail::replay
