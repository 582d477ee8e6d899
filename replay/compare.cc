#include "replay/compare.h"

#include <array>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "core/codec.h"
#include "replay/record_json.h"

namespace pigtail::replay {
namespace {
namespace json = boost::json;

constexpr size_t kPage = 1000;

std::string RangeName(const Uuid& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto b = static_cast<uint8_t>(id.Bytes()[0]);
  return {kHex[b >> 4], kHex[b & 15]};
}

}  // namespace

std::vector<std::string> DifferingQueueNames(const DigestSummary& a, const DigestSummary& b) {
  std::set<std::string> names;
  for (const auto& [n, d] : a.queues) names.insert(n);
  for (const auto& [n, d] : b.queues) names.insert(n);
  std::vector<std::string> out;
  for (const std::string& n : names) {
    auto ia = a.queues.find(n);
    auto ib = b.queues.find(n);
    Digest da = ia == a.queues.end() ? Digest{} : ia->second;
    Digest db = ib == b.queues.end() ? Digest{} : ib->second;
    if (da != db) out.push_back(n);
  }
  return out;
}

namespace {

// Pages through one queue's task registers in id order.
class TaskCursor {
 public:
  TaskCursor(StateStore* store, std::string queue) : store_(store), queue_(std::move(queue)) {}

  // The current register, or null at the end.
  Result<const TaskRecord*> Peek() {
    if (index_ == page_.size() && !done_) {
      PIGTAIL_ASSIGN_OR_RETURN(page_, store_->ListTasks(queue_, after_, kPage));
      index_ = 0;
      if (page_.size() < kPage) done_ = true;
      if (!page_.empty()) after_ = page_.back().id;
    }
    if (index_ == page_.size()) return static_cast<const TaskRecord*>(nullptr);
    return &page_[index_];
  }
  void Advance() { ++index_; }

 private:
  StateStore* store_;
  std::string queue_;
  std::vector<TaskRecord> page_;
  size_t index_ = 0;
  bool done_ = false;
  std::optional<Uuid> after_;
};

Status NarrowQueue(const std::string& queue, StateStore* reference, StateStore* other,
                   PairComparison* out, size_t max_differences) {
  auto add = [&](RegisterDifference d) {
    ++out->registers.total;
    if (out->registers.differences.size() < max_differences) {
      out->registers.differences.push_back(std::move(d));
    }
  };
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<QueueRecord> qa, reference->GetQueue(queue));
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<QueueRecord> qb, other->GetQueue(queue));
  if (qa != qb) {
    auto text = [](const std::optional<QueueRecord>& q) -> std::optional<std::string> {
      if (!q) return std::nullopt;
      return json::serialize(QueueRecordJson(*q));
    };
    add({RegisterDifference::Kind::kQueue, queue, std::nullopt, text(qa), text(qb)});
  }
  std::array<Digest, 256> da{};
  std::array<Digest, 256> db{};
  auto bucket = [](const TaskRecord& t) { return static_cast<uint8_t>(t.id.Bytes()[0]); };
  auto text = [](const TaskRecord* t) -> std::optional<std::string> {
    if (t == nullptr) return std::nullopt;
    return json::serialize(TaskRecordJson(*t));
  };
  TaskCursor a(reference, queue);
  TaskCursor b(other, queue);
  while (true) {
    PIGTAIL_ASSIGN_OR_RETURN(const TaskRecord* ta, a.Peek());
    PIGTAIL_ASSIGN_OR_RETURN(const TaskRecord* tb, b.Peek());
    if (ta == nullptr && tb == nullptr) break;
    out->registers.registers_compared++;
    if (tb == nullptr || (ta != nullptr && ta->id < tb->id)) {
      da[bucket(*ta)].Add(Digest::Of(EncodeTaskRecord(*ta)));
      add({RegisterDifference::Kind::kTask, queue, ta->id, text(ta), std::nullopt});
      a.Advance();
    } else if (ta == nullptr || tb->id < ta->id) {
      db[bucket(*tb)].Add(Digest::Of(EncodeTaskRecord(*tb)));
      add({RegisterDifference::Kind::kTask, queue, tb->id, std::nullopt, text(tb)});
      b.Advance();
    } else {
      da[bucket(*ta)].Add(Digest::Of(EncodeTaskRecord(*ta)));
      db[bucket(*tb)].Add(Digest::Of(EncodeTaskRecord(*tb)));
      if (!(*ta == *tb)) add({RegisterDifference::Kind::kTask, queue, ta->id, text(ta), text(tb)});
      a.Advance();
      b.Advance();
    }
  }
  for (size_t i = 0; i < 256; ++i) {
    if (da[i] != db[i]) {
      std::array<uint8_t, Uuid::kSize> bytes{};
      bytes[0] = static_cast<uint8_t>(i);
      out->ranges.push_back({queue, RangeName(Uuid(bytes)), da[i], db[i]});
    }
  }
  return Status::Ok();
}

Status NarrowRejected(StateStore* reference, StateStore* other, PairComparison* out) {
  PIGTAIL_ASSIGN_OR_RETURN(auto ra, reference->ListRejected());
  PIGTAIL_ASSIGN_OR_RETURN(auto rb, other->ListRejected());
  auto text = [](const std::string& s) { return json::serialize(json::value(s)); };
  for (const auto& [id, reason] : ra) {
    auto it = rb.find(id);
    if (it == rb.end() || it->second != reason) {
      ++out->registers.total;
      out->registers.differences.push_back(
          {RegisterDifference::Kind::kRejected, "", id, text(reason),
           it == rb.end() ? std::nullopt : std::optional<std::string>(text(it->second))});
    }
  }
  for (const auto& [id, reason] : rb) {
    if (!ra.contains(id)) {
      ++out->registers.total;
      out->registers.differences.push_back(
          {RegisterDifference::Kind::kRejected, "", id, std::nullopt, text(reason)});
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view DigestSourceName(DigestSource source) {
  switch (source) {
    case DigestSource::kRegisters:
      return "registers";
    case DigestSource::kStored:
      return "stored";
    case DigestSource::kNode:
      return "node";
  }
  return "unknown";
}

Result<DigestSummary> RecomputeDigests(StateStore* store,
                                       const std::set<std::string>& more_queues) {
  PIGTAIL_ASSIGN_OR_RETURN(DigestSummary stored, store->Digests());
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<QueueRecord> queues, store->ListQueues());
  std::map<std::string, Digest> digests;
  std::set<std::string> names = more_queues;
  for (const auto& [name, d] : stored.queues) names.insert(name);
  for (const QueueRecord& q : queues) {
    names.insert(q.name);
    digests[q.name].Add(Digest::Of(EncodeQueueRecord(q)));
  }
  DigestSummary out;
  out.checkpoint = stored.checkpoint;
  for (const std::string& name : names) {
    Digest& d = digests[name];
    std::optional<Uuid> after;
    while (true) {
      Result<std::vector<TaskRecord>> page = store->ListTasks(name, after, kPage);
      if (!page.ok()) return page.status().WithContext("queue " + name);
      for (const TaskRecord& t : *page) d.Add(Digest::Of(EncodeTaskRecord(t)));
      if (page->size() < kPage) break;
      after = page->back().id;
    }
    if (d.IsZero()) continue;
    out.total.Add(d);
    out.queues[name] = d;
  }
  PIGTAIL_ASSIGN_OR_RETURN(auto rejected, store->ListRejected());
  for (const auto& [id, reason] : rejected) out.total.Add(Digest::Of(EncodeRejected(id, reason)));
  return out;
}

Result<NamedDigests> ReadStoreDigests(const std::string& name, StateStore* store,
                                      DigestSource source,
                                      const std::set<std::string>& more_queues) {
  NamedDigests out{name, {}, source};
  PIGTAIL_ASSIGN_OR_RETURN(DigestSummary stored, store->Digests());
  if (source != DigestSource::kRegisters) {
    out.digests = std::move(stored);
    return out;
  }
  Result<DigestSummary> recomputed = RecomputeDigests(store, more_queues);
  if (!recomputed.ok()) return recomputed.status().WithContext(name);
  out.digests = std::move(recomputed).value();
  if (stored.total != out.digests.total || stored.queues != out.digests.queues) {
    out.stored_mismatch = std::move(stored);
  }
  return out;
}

CompareReport CompareDigests(std::vector<NamedDigests> digests) {
  CompareReport report;
  report.digests = std::move(digests);
  for (const NamedDigests& d : report.digests) {
    if (d.stored_mismatch) report.agree = false;
  }
  for (size_t i = 1; i < report.digests.size(); ++i) {
    const NamedDigests& ref = report.digests[0];
    const NamedDigests& other = report.digests[i];
    if (ref.digests.total == other.digests.total) continue;
    report.agree = false;
    PairComparison pair;
    pair.reference = ref.name;
    pair.other = other.name;
    pair.queues = DifferingQueueNames(ref.digests, other.digests);
    report.pairs.push_back(std::move(pair));
  }
  return report;
}

Result<CompareReport> CompareStores(const std::vector<std::string>& names,
                                    const std::vector<StateStore*>& stores, size_t max_differences,
                                    DigestSource source) {
  // Every store's queue names, so each store's tasks are read under all of
  // them (a task register may outlive its queue's).
  std::set<std::string> queue_names;
  if (source == DigestSource::kRegisters) {
    for (StateStore* store : stores) {
      PIGTAIL_ASSIGN_OR_RETURN(DigestSummary d, store->Digests());
      for (const auto& [name, digest] : d.queues) queue_names.insert(name);
      PIGTAIL_ASSIGN_OR_RETURN(std::vector<QueueRecord> queues, store->ListQueues());
      for (const QueueRecord& q : queues) queue_names.insert(q.name);
    }
  }
  std::vector<NamedDigests> digests;
  for (size_t i = 0; i < stores.size(); ++i) {
    PIGTAIL_ASSIGN_OR_RETURN(NamedDigests d,
                             ReadStoreDigests(names[i], stores[i], source, queue_names));
    digests.push_back(std::move(d));
  }
  CompareReport report = CompareDigests(std::move(digests));
  for (PairComparison& pair : report.pairs) {
    size_t other = 0;
    while (names[other] != pair.other) ++other;
    for (const std::string& queue : pair.queues) {
      PIGTAIL_RETURN_IF_ERROR(NarrowQueue(queue, stores[0], stores[other], &pair, max_differences));
    }
    PIGTAIL_RETURN_IF_ERROR(NarrowRejected(stores[0], stores[other], &pair));
  }
  return report;
}

}  // namespace pigtail::replay
