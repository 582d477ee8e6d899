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

bool IsCorruption(const Status& s) { return s.code() == StatusCode::kCorruption; }

// Compares one queue's task registers, stored and expected, in id order.
class TaskDiff {
 public:
  TaskDiff(const std::string& queue, const State::QueueSlot* slot, StateStore* actual,
           Collector* out)
      : queue_(queue), actual_(actual), out_(out) {
    if (slot != nullptr) {
      expected_.reserve(slot->tasks.size());
      for (const auto& [id, t] : slot->tasks) expected_.push_back(&t);
      std::sort(expected_.begin(), expected_.end(),
                [](const TaskRecord* a, const TaskRecord* b) { return a->id < b->id; });
    }
  }

  Status Run() {
    // Pages of kPage; after a page that does not decode, one register at a
    // time up to the one that does not, then pages again.
    size_t limit = kPage;
    std::optional<Uuid> after;
    while (true) {
      Result<std::vector<TaskRecord>> page = actual_->ListTasks(queue_, after, limit);
      if (page.ok()) {
        for (const TaskRecord& a : *page) Stored(a);
        if (page->size() < limit) break;
        after = page->back().id;
        continue;
      }
      if (!IsCorruption(page.status())) return page.status();
      if (limit > 1) {
        limit = 1;
        continue;
      }
      PIGTAIL_ASSIGN_OR_RETURN(bool go_on, Undecodable(page.status(), &after));
      if (!go_on) break;
      limit = kPage;
    }
    MissingUntil(std::nullopt);
    return Status::Ok();
  }

 private:
  StateDiff& diff() { return out_->diff(); }

  // Expected registers before `id` (all: nullopt) that the store lacks.
  void MissingUntil(const std::optional<Uuid>& id) {
    while (next_ < expected_.size() && (!id || expected_[next_]->id < *id)) {
      const TaskRecord* t = expected_[next_++];
      ++diff().registers_compared;
      ++diff().registers_expected;
      out_->Add({RegisterDifference::Kind::kTask, queue_, t->id, TaskText(t), std::nullopt});
    }
  }

  void Stored(const TaskRecord& a) {
    MissingUntil(a.id);
    ++diff().registers_compared;
    ++diff().registers_stored;
    if (next_ < expected_.size() && expected_[next_]->id == a.id) {
      ++diff().registers_expected;
      if (!(*expected_[next_] == a)) {
        out_->Add({RegisterDifference::Kind::kTask, queue_, a.id, TaskText(expected_[next_]),
                   TaskText(&a)});
      }
      ++next_;
    } else {
      out_->Add({RegisterDifference::Kind::kTask, queue_, a.id, std::nullopt, TaskText(&a)});
    }
  }

  // The register right after *after does not decode (`why`). Finds its id
  // among the expected ones still ahead: the first of them the store has
  // either is it (GetTask fails too) or comes after it (then its id is not
  // one the log has). Reports it and moves *after past it. Returns false
  // when the rest of the queue cannot be listed.
  Result<bool> Undecodable(const Status& why, std::optional<Uuid>* after) {
    ++diff().registers_compared;
    ++diff().registers_stored;
    ++diff().undecodable;
    for (size_t i = next_; i < expected_.size(); ++i) {
      const TaskRecord* candidate = expected_[i];
      Result<std::optional<TaskRecord>> got = actual_->GetTask(queue_, candidate->id);
      if (!got.ok() && !IsCorruption(got.status())) return got.status();
      if (!got.ok()) {
        MissingUntil(candidate->id);
        ++diff().registers_expected;
        ++next_;
        out_->Add({RegisterDifference::Kind::kTask, queue_, candidate->id, TaskText(candidate),
                   std::nullopt, why.message()});
        *after = candidate->id;
        return true;
      }
      if (!got->has_value()) continue;  // not stored: reported as missing in turn
      // Stored and readable, so the undecodable register lies before it and
      // has an id the log does not have; registers between the two cannot
      // be listed.
      out_->Add({RegisterDifference::Kind::kTask, queue_, std::nullopt, std::nullopt, std::nullopt,
                 Unlisted(why, *after, " and before " + candidate->id.ToString())});
      Stored(**got);
      *after = candidate->id;
      return true;
    }
    out_->Add({RegisterDifference::Kind::kTask, queue_, std::nullopt, std::nullopt, std::nullopt,
               Unlisted(why, *after, "; the registers after it could not be listed")});
    return false;
  }

  static std::string Unlisted(const Status& why, const std::optional<Uuid>& after,
                              const std::string& tail) {
    return why.message() + " (a register with an id the log does not have, after " +
           (after ? after->ToString() : std::string("the queue's start")) + tail + ")";
  }

  const std::string& queue_;
  StateStore* actual_;
  Collector* out_;
  std::vector<const TaskRecord*> expected_;
  size_t next_ = 0;  // expected_[next_..] are ahead of what was read
};

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
  std::string have =
      undecodable ? "(does not decode: " + *undecodable + ")" : actual.value_or("(absent)");
  return where + ": expected " + expected.value_or("(absent)") + " actual " + have;
}

Result<StateDiff> DiffStateWithStore(const State& expected, StateStore* actual,
                                     size_t max_differences) {
  PIGTAIL_RETURN_IF_ERROR(expected.CheckSettled());
  Collector out(max_differences);
  PIGTAIL_ASSIGN_OR_RETURN(DigestSummary digests, actual->Digests());
  std::set<std::string> names;
  for (const auto& [name, slot] : expected.queues()) names.insert(name);
  for (const auto& [name, d] : digests.queues) names.insert(name);
  // A queue register that does not decode fails the listing: then each queue
  // the log or the digests name is read on its own.
  std::map<std::string, std::string> undecodable_queues;
  Result<std::vector<QueueRecord>> listed = actual->ListQueues();
  std::vector<QueueRecord> queues;
  if (listed.ok()) {
    queues = std::move(listed).value();
  } else if (!IsCorruption(listed.status())) {
    return listed.status();
  } else {
    for (const std::string& name : names) {
      Result<std::optional<QueueRecord>> q = actual->GetQueue(name);
      if (q.ok() && q->has_value()) queues.push_back(std::move(**q));
      if (q.ok()) continue;
      if (!IsCorruption(q.status())) return q.status();
      undecodable_queues[name] = q.status().message();
    }
  }
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
    auto text = [](const QueueRecord* q) -> std::optional<std::string> {
      if (q == nullptr) return std::nullopt;
      return json::serialize(QueueRecordJson(*q));
    };
    auto bad = undecodable_queues.find(name);
    const bool stored = have != nullptr || bad != undecodable_queues.end();
    if (want != nullptr || stored) ++out.diff().registers_compared;
    if (want != nullptr) ++out.diff().registers_expected;
    if (stored) ++out.diff().registers_stored;
    if (bad != undecodable_queues.end()) {
      ++out.diff().undecodable;
      out.Add({RegisterDifference::Kind::kQueue, name, std::nullopt, text(want), std::nullopt,
               bad->second});
    } else if ((want == nullptr) != (have == nullptr) || (want != nullptr && !(*want == *have))) {
      out.Add({RegisterDifference::Kind::kQueue, name, std::nullopt, text(want), text(have)});
    }
    PIGTAIL_RETURN_IF_ERROR(TaskDiff(name, slot, actual, &out).Run());
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
    ++out.diff().registers_expected;
    auto it = rejected.find(id);
    if (it == rejected.end() || it->second != reason) {
      out.Add({RegisterDifference::Kind::kRejected, "", id, json::serialize(json::value(reason)),
               it == rejected.end()
                   ? std::nullopt
                   : std::optional<std::string>(json::serialize(json::value(it->second)))});
    }
  }
  for (const auto& [id, reason] : rejected) {
    ++out.diff().registers_stored;
    if (!want_rejected.contains(id)) {
      ++out.diff().registers_compared;
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
