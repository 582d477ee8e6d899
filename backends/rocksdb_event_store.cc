// The RocksDB EventStore (rocksdb:PATH, database in PATH/log).
//
// Column families (integers big-endian, see rocksdb_keys.h):
//   events       seq(8)                        -> the raw event bytes, verbatim
//   ids          id(16)                        -> seq(8)
//   owners       owner(16)|when(16)|id(16)     -> seq(8) [| prev(16)]
//   next         prev id(16)                   -> id(16) of the entry naming it,
//                                                 only while the prev is not
//                                                 stored (a dangling prev)
//   next_by_seq  seq(8) of the prev            -> id(16), so Scan fills `next`
//                                                 with a second range scan
//   waiting      missing dep(16)|waiting id(16) -> ""
//   heads        owner(16)                     -> when(16)|id(16), the greatest
//   firsts       owner(16)                     -> when(16)|id(16), the least
//                                                 entry with a null prev
//   meta         key                           -> value
//
// The events are keyed by sequence number (and found by id through `ids`)
// because Scan, the replay path, then reads one contiguous range.
//
// Next pointers: an entry whose prev is stored (or new earlier in the same
// batch) writes next_by_seq[seq of prev] at once. An entry whose prev is not
// stored yet writes next[prev] instead; when that prev arrives, Append finds
// it there, writes next_by_seq for the new sequence number and deletes the
// next[prev] key. So `next` holds only dangling prevs and is empty for a log
// that arrives in order; Append probes it for the new ids only while it is
// not empty (its key count is kept in memory, counted at open). Logs written
// before this layout also kept next[prev] for stored prevs (their
// next_by_seq entry was always written too); open deletes those keys.
// Sequence numbers are consecutive from 1, so Count() == LastSequence();
// the last one is recovered on open from the last key of `events`.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "backends/rocksdb_keys.h"
#include "backends/rocksdb_options.h"
#include "backends/rocksdb_store.h"
#include "backends/rocksdb_write_batch.h"

namespace pigtail {
namespace {

using rocks::Database;
using rocks::FromRocks;
using rocks::SeqKey;
using rocks::Snapshot;

enum Family : size_t {
  kEvents,
  kIds,
  kOwners,
  kNext,
  kNextBySeq,
  kWaiting,
  kHeads,
  kFirsts,
  kMeta,
};

const std::vector<std::string>& FamilyNames() {
  static const std::vector<std::string> kNames = {
      "events", "ids", "owners", "next", "next_by_seq", "waiting", "heads", "firsts", "meta"};
  return kNames;
}

using rocks::ToSlice;
using rocks::ToView;

// when(16)|id(16): byte order is (when, id) order.
std::string WhenId(const Hlc& when, const Uuid& id) {
  std::string out = when.Encoded();
  out.append(id.Bytes());
  return out;
}

Result<Uuid> IdAt(std::string_view bytes, size_t offset, std::string_view what) {
  if (bytes.size() < offset + Uuid::kSize)
    return Status::Corruption(std::string(what) + " too short");
  return Uuid::FromBytes(bytes.substr(offset, Uuid::kSize));
}

class RocksDbEventStore final : public EventStore {
 public:
  explicit RocksDbEventStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Status Recover() {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kEvents)));
    it->SeekToLast();
    if (it->Valid()) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, rocks::DecodeSeq(ToView(it->key())));
      last_seq_.store(last);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "recover last sequence"));
    std::unique_ptr<rocksdb::Iterator> w(db_->db()->NewIterator({}, cf(kWaiting)));
    uint64_t waiting = 0;
    for (w->SeekToFirst(); w->Valid(); w->Next()) ++waiting;
    PIGTAIL_RETURN_IF_ERROR(FromRocks(w->status(), "recover waiting index"));
    waiting_count_ = waiting;
    return RecoverDangling();
  }

  // Counts the keys of `next`, deleting those whose prev is stored (left by
  // the earlier layout, which kept every next pointer there too).
  Status RecoverDangling() {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kNext)));
    uint64_t dangling = 0;
    std::vector<Uuid> chunk;
    auto settle = [&]() -> Status {
      PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> stored,
                               MultiGet(kIds, chunk, nullptr));
      rocksdb::WriteBatch batch;
      for (size_t i = 0; i < chunk.size(); ++i) {
        if (!stored[i]) {
          ++dangling;
          continue;
        }
        PIGTAIL_RETURN_IF_ERROR(Check(batch.Delete(cf(kNext), ToSlice(chunk[i].Bytes()))));
      }
      chunk.clear();
      if (batch.Count() == 0) return Status::Ok();
      rocksdb::WriteOptions wo;
      wo.sync = true;
      return FromRocks(db_->db()->Write(wo, &batch), "drop stale next pointers");
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(Uuid prev, IdAt(ToView(it->key()), 0, "next key"));
      chunk.push_back(prev);
      if (chunk.size() >= 1000) PIGTAIL_RETURN_IF_ERROR(settle());
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "recover next pointers"));
    PIGTAIL_RETURN_IF_ERROR(settle());
    dangling_count_ = dangling;
    return Status::Ok();
  }

  Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool sync) override {
    return AppendBatch(events, sync, /*fresh_ids=*/false);
  }

  Result<std::vector<uint64_t>> AppendNew(std::span<const Event> events, bool sync) override {
    return AppendBatch(events, sync, /*fresh_ids=*/true);
  }

  Result<std::optional<StoredEvent>> Get(const Uuid& id) override { return GetAs<StoredEvent>(id); }
  Result<std::optional<RawRecord>> GetRaw(const Uuid& id) override { return GetAs<RawRecord>(id); }

  Result<bool> Contains(const Uuid& id) override {
    std::string value;
    rocksdb::Status s = db_->db()->Get({}, cf(kIds), ToSlice(id.Bytes()), &value);
    if (s.IsNotFound()) return false;
    PIGTAIL_RETURN_IF_ERROR(FromRocks(s, "contains"));
    return true;
  }

  Result<std::map<Uuid, Uuid>> Heads() override { return OwnerMap(kHeads); }
  Result<std::map<Uuid, Uuid>> Firsts() override { return OwnerMap(kFirsts); }

  Result<std::vector<StoredEvent>> ScanOwner(const Uuid& owner, const std::optional<Hlc>& after,
                                             size_t limit) override {
    return ScanOwnerAs<StoredEvent>(owner, after, limit);
  }
  Result<std::vector<RawRecord>> ScanOwnerRaw(const Uuid& owner, const std::optional<Hlc>& after,
                                              size_t limit) override {
    return ScanOwnerAs<RawRecord>(owner, after, limit);
  }

  Result<std::vector<Uuid>> Holes(const Uuid& owner) override {
    Snapshot snap(db_->db());
    std::vector<Uuid> prevs;
    std::string prefix(owner.Bytes());
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(snap.options(), cf(kOwners)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view v = ToView(it->value());
      if (v.size() == 8) continue;
      PIGTAIL_ASSIGN_OR_RETURN(Uuid prev, IdAt(v, 8, "owner index value"));
      prevs.push_back(prev);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "scan owner for holes"));
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> found,
                             MultiGet(kIds, prevs, &snap.options()));
    std::vector<Uuid> holes;
    for (size_t i = 0; i < prevs.size(); ++i) {
      if (!found[i]) holes.push_back(prevs[i]);
    }
    return holes;
  }

  Result<std::vector<StoredEvent>> Scan(uint64_t after_seq, size_t limit) override {
    return ScanAs<StoredEvent>(after_seq, limit);
  }
  Result<std::vector<RawRecord>> ScanRaw(uint64_t after_seq, size_t limit) override {
    return ScanAs<RawRecord>(after_seq, limit);
  }

  Result<uint64_t> LastSequence() override { return last_seq_.load(); }
  Result<uint64_t> Count() override { return last_seq_.load(); }

  Result<std::vector<Uuid>> WaitingOn(const Uuid& dependency) override {
    std::vector<Uuid> out;
    std::string prefix(dependency.Bytes());
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kWaiting)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(Uuid id, IdAt(ToView(it->key()), Uuid::kSize, "waiting key"));
      out.push_back(id);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "waiting on"));
    return out;
  }

  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->db()->Get({}, cf(kMeta), ToSlice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    PIGTAIL_RETURN_IF_ERROR(FromRocks(s, "get meta"));
    return std::optional<std::string>(std::move(value));
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->db()->Put(wo, cf(kMeta), ToSlice(key), ToSlice(value)), "put meta");
  }

  Status DeleteMeta(std::string_view key) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->db()->Delete(wo, cf(kMeta), ToSlice(key)), "delete meta");
  }

 private:
  // Append; with `fresh_ids` the events' own ids are known to be absent, so
  // neither `ids` nor `next` (which holds only ids named as a prev before
  // they arrived) is probed for them.
  Result<std::vector<uint64_t>> AppendBatch(std::span<const Event> events, bool sync,
                                            bool fresh_ids) {
    std::lock_guard lock(append_mu_);
    std::vector<uint64_t> seqs;
    seqs.reserve(events.size());
    if (events.empty()) return seqs;

    // Everything the batch needs to know about what is already stored, in
    // one MultiGet per column family.
    std::unordered_set<Uuid> id_set;
    std::unordered_set<Uuid> owner_set;
    // Fresh ids are not stored, so references to them need no probe either.
    std::unordered_set<Uuid> batch_ids;
    if (fresh_ids) {
      for (const Event& e : events) batch_ids.insert(e.id);
    }
    auto probe = [&](const Uuid& id) {
      if (!batch_ids.contains(id)) id_set.insert(id);
    };
    for (const Event& e : events) {
      if (!fresh_ids) id_set.insert(e.id);
      if (e.prev) probe(*e.prev);
      for (const Uuid& d : e.dependencies) probe(d);
      owner_set.insert(e.owner);
    }
    std::vector<Uuid> ids(id_set.begin(), id_set.end());
    std::vector<Uuid> owners(owner_set.begin(), owner_set.end());
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> id_values,
                             MultiGet(kIds, ids, nullptr));
    std::unordered_map<Uuid, uint64_t> seq_of;  // stored or new in this batch
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!id_values[i]) continue;
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t s, rocks::DecodeSeq(*id_values[i]));
      seq_of.emplace(ids[i], s);
    }
    std::vector<Uuid> new_ids;
    for (const Event& e : events) {
      if (!seq_of.contains(e.id)) new_ids.push_back(e.id);
    }
    // prev -> id for prevs not stored: from `next` (only probed when it
    // holds anything), then from this batch.
    std::unordered_map<Uuid, Uuid> next_of;
    std::unordered_set<Uuid> stored_dangling;  // keys of `next` before this batch
    if (dangling_count_ > 0 && !fresh_ids) {
      PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> next_values,
                               MultiGet(kNext, new_ids, nullptr));
      for (size_t i = 0; i < new_ids.size(); ++i) {
        if (!next_values[i]) continue;
        PIGTAIL_ASSIGN_OR_RETURN(Uuid n, IdAt(*next_values[i], 0, "next pointer"));
        next_of.emplace(new_ids[i], n);
        stored_dangling.insert(new_ids[i]);
      }
    }
    // What `next` holds for the keys this batch touches once it is written
    // (nullopt: deleted).
    std::unordered_map<Uuid, std::optional<Uuid>> next_final;
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> head_values,
                             MultiGet(kHeads, owners, nullptr));
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> first_values,
                             MultiGet(kFirsts, owners, nullptr));
    std::unordered_map<Uuid, std::string> heads;
    std::unordered_map<Uuid, std::string> firsts;
    for (size_t i = 0; i < owners.size(); ++i) {
      if (head_values[i]) heads.emplace(owners[i], std::move(*head_values[i]));
      if (first_values[i]) firsts.emplace(owners[i], std::move(*first_values[i]));
    }
    std::unordered_set<Uuid> heads_changed;
    std::unordered_set<Uuid> firsts_changed;

    rocksdb::WriteBatch& batch = append_batch_.Cleared();
    std::set<std::string> new_waits;  // dep|id added by this batch
    uint64_t waits_removed = 0;
    uint64_t seq = last_seq_.load();
    for (const Event& e : events) {
      if (seq_of.contains(e.id)) {
        seqs.push_back(0);
        continue;
      }
      ++seq;
      seqs.push_back(seq);
      seq_of.emplace(e.id, seq);
      const std::string seq_key = SeqKey(seq);
      PIGTAIL_RETURN_IF_ERROR(Check(batch.Put(cf(kEvents), seq_key, e.raw)));
      PIGTAIL_RETURN_IF_ERROR(Check(batch.Put(cf(kIds), ToSlice(e.id.Bytes()), seq_key)));
      std::string owner_value = seq_key;
      if (e.prev) owner_value.append(e.prev->Bytes());
      PIGTAIL_RETURN_IF_ERROR(
          Check(batch.Put(cf(kOwners), rocks::OwnerKey(e.owner, e.when, e.id), owner_value)));

      // Next pointers: this event is the successor of its prev, and an
      // earlier-arrived entry may already name this one as its prev.
      if (e.prev) {
        if (auto p = seq_of.find(*e.prev); p != seq_of.end()) {
          PIGTAIL_RETURN_IF_ERROR(
              Check(batch.Put(cf(kNextBySeq), SeqKey(p->second), ToSlice(e.id.Bytes()))));
        } else {
          next_of[*e.prev] = e.id;
          next_final[*e.prev] = e.id;
        }
      }
      if (auto n = next_of.find(e.id); n != next_of.end()) {
        PIGTAIL_RETURN_IF_ERROR(
            Check(batch.Put(cf(kNextBySeq), seq_key, ToSlice(n->second.Bytes()))));
        next_final[e.id] = std::nullopt;
        next_of.erase(n);
      }

      std::string when_id = WhenId(e.when, e.id);
      if (auto h = heads.find(e.owner); h == heads.end() || h->second < when_id) {
        heads[e.owner] = when_id;
        heads_changed.insert(e.owner);
      }
      if (!e.prev) {
        if (auto f = firsts.find(e.owner); f == firsts.end() || when_id < f->second) {
          firsts[e.owner] = when_id;
          firsts_changed.insert(e.owner);
        }
      }

      // Dependency waits: this arrival ends the waits on it, and its own
      // missing dependencies start new ones.
      std::string id_bytes(e.id.Bytes());
      for (auto w = new_waits.lower_bound(id_bytes);
           w != new_waits.end() && w->starts_with(id_bytes);) {
        w = new_waits.erase(w);
      }
      if (waiting_count_ > 0) {
        std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kWaiting)));
        for (it->Seek(ToSlice(id_bytes)); it->Valid() && it->key().starts_with(ToSlice(id_bytes));
             it->Next()) {
          PIGTAIL_RETURN_IF_ERROR(Check(batch.Delete(cf(kWaiting), it->key())));
          ++waits_removed;
        }
        PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "read waiting index"));
      }
      for (const Uuid& dep : e.dependencies) {
        if (!seq_of.contains(dep)) {
          std::string key(dep.Bytes());
          key.append(e.id.Bytes());
          new_waits.insert(std::move(key));
        }
      }
    }
    for (const std::string& key : new_waits) {
      PIGTAIL_RETURN_IF_ERROR(Check(batch.Put(cf(kWaiting), key, rocksdb::Slice())));
    }
    int64_t dangling_delta = 0;
    for (const auto& [prev, successor] : next_final) {
      const bool before = stored_dangling.contains(prev);
      if (successor) {
        PIGTAIL_RETURN_IF_ERROR(
            Check(batch.Put(cf(kNext), ToSlice(prev.Bytes()), ToSlice(successor->Bytes()))));
        if (!before) ++dangling_delta;
      } else if (before) {
        PIGTAIL_RETURN_IF_ERROR(Check(batch.Delete(cf(kNext), ToSlice(prev.Bytes()))));
        --dangling_delta;
      }
    }
    for (const Uuid& owner : heads_changed) {
      PIGTAIL_RETURN_IF_ERROR(
          Check(batch.Put(cf(kHeads), ToSlice(owner.Bytes()), heads.at(owner))));
    }
    for (const Uuid& owner : firsts_changed) {
      PIGTAIL_RETURN_IF_ERROR(
          Check(batch.Put(cf(kFirsts), ToSlice(owner.Bytes()), firsts.at(owner))));
    }
    if (seq == last_seq_.load()) return seqs;  // all duplicates

    rocksdb::WriteOptions wo;
    wo.sync = sync;
    PIGTAIL_RETURN_IF_ERROR(FromRocks(db_->db()->Write(wo, &batch), "append events"));
    last_seq_.store(seq);
    waiting_count_ = waiting_count_ + new_waits.size() - waits_removed;
    dangling_count_ = static_cast<uint64_t>(static_cast<int64_t>(dangling_count_) + dangling_delta);
    return seqs;
  }

  rocksdb::ColumnFamilyHandle* cf(Family f) const { return db_->cf(f); }

  static Status Check(const rocksdb::Status& s) { return FromRocks(s, "build write batch"); }

  // One value (or nullopt) per key, in key order.
  Result<std::vector<std::optional<std::string>>> MultiGet(Family family,
                                                           const std::vector<Uuid>& keys,
                                                           const rocksdb::ReadOptions* ro) {
    std::vector<std::optional<std::string>> out(keys.size());
    if (keys.empty()) return out;
    std::vector<rocksdb::Slice> slices;
    slices.reserve(keys.size());
    for (const Uuid& k : keys) slices.push_back(ToSlice(k.Bytes()));
    return MultiGetSlices(family, slices, ro);
  }

  Result<std::vector<std::optional<std::string>>> MultiGetSlices(
      Family family, const std::vector<rocksdb::Slice>& slices, const rocksdb::ReadOptions* ro) {
    std::vector<std::optional<std::string>> out(slices.size());
    std::vector<rocksdb::ColumnFamilyHandle*> families(slices.size(), cf(family));
    std::vector<std::string> values;
    rocksdb::ReadOptions defaults;
    std::vector<rocksdb::Status> statuses =
        db_->db()->MultiGet(ro ? *ro : defaults, families, slices, &values);
    for (size_t i = 0; i < slices.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      PIGTAIL_RETURN_IF_ERROR(FromRocks(statuses[i], "multiget " + FamilyNames()[family]));
      out[i] = std::move(values[i]);
    }
    return out;
  }

  // Get, ScanOwner and Scan, as parsed events (StoredEvent) or as stored
  // records (RawRecord).
  template <typename Record>
  Result<std::optional<Record>> GetAs(const Uuid& id) {
    Snapshot snap(db_->db());
    std::string value;
    rocksdb::Status s = db_->db()->Get(snap.options(), cf(kIds), ToSlice(id.Bytes()), &value);
    if (s.IsNotFound()) return std::optional<Record>();
    PIGTAIL_RETURN_IF_ERROR(FromRocks(s, "get event id"));
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t seq, rocks::DecodeSeq(value));
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<Record> found, LoadBySeq<Record>(snap.options(), {seq}));
    return std::optional<Record>(std::move(found.front()));
  }

  template <typename Record>
  Result<std::vector<Record>> ScanOwnerAs(const Uuid& owner, const std::optional<Hlc>& after,
                                          size_t limit) {
    Snapshot snap(db_->db());
    std::vector<uint64_t> seqs;
    std::string prefix(owner.Bytes());
    std::string start = prefix;
    if (after) {
      std::string bound = prefix + after->Encoded();
      std::optional<std::string> succ = rocks::PrefixSuccessor(bound);
      if (!succ) return std::vector<Record>{};
      start = std::move(*succ);
    }
    std::vector<Uuid> ids;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(snap.options(), cf(kOwners)));
    for (it->Seek(start); it->Valid() && it->key().starts_with(prefix) && seqs.size() < limit;
         it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t seq, rocks::DecodeSeq(ToView(it->value()).substr(0, 8)));
      PIGTAIL_ASSIGN_OR_RETURN(
          Uuid id, IdAt(ToView(it->key()), rocks::kOwnerKeySize - Uuid::kSize, "owner index key"));
      seqs.push_back(seq);
      ids.push_back(id);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "scan owner"));
    const KnownIds known{owner, ids};
    return LoadBySeq<Record>(snap.options(), seqs, &known);
  }

  template <typename Record>
  Result<std::vector<Record>> ScanAs(uint64_t after_seq, size_t limit) {
    Snapshot snap(db_->db());
    std::vector<Record> out;
    if (limit == 0 || after_seq == UINT64_MAX) return out;
    rocksdb::ReadOptions ro = snap.options();
    ro.readahead_size = 2 << 20;
    // A scan (a replay, a peer catching up) reads each block once: caching
    // it would cost an insert per block and push out what point reads use.
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kEvents)));
    std::unique_ptr<rocksdb::Iterator> nx(db_->db()->NewIterator(ro, cf(kNextBySeq)));
    const std::string start = SeqKey(after_seq + 1);
    nx->Seek(start);
    for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t seq, rocks::DecodeSeq(ToView(it->key())));
      PIGTAIL_ASSIGN_OR_RETURN(Record stored, Decode<Record>(seq, it->value().ToString()));
      PIGTAIL_RETURN_IF_ERROR(NextAt(nx.get(), seq, &stored.next));
      out.push_back(std::move(stored));
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "scan events"));
    PIGTAIL_RETURN_IF_ERROR(FromRocks(nx->status(), "scan next pointers"));
    return out;
  }

  // Moves `nx`, an iterator over next_by_seq read in ascending order, up to
  // `seq`, and sets *next to the pointer stored there, if any.
  static Status NextAt(rocksdb::Iterator* nx, uint64_t seq, std::optional<Uuid>* next) {
    while (nx->Valid() && rocks::ReadU64(ToView(nx->key())) < seq) nx->Next();
    if (nx->Valid() && rocks::ReadU64(ToView(nx->key())) == seq) {
      PIGTAIL_ASSIGN_OR_RETURN(Uuid n, IdAt(ToView(nx->value()), 0, "next pointer"));
      *next = n;
    }
    return Status::Ok();
  }

  // The owner and the ids of the entries LoadBySeq reads, when the owner
  // index gave them.
  struct KnownIds {
    const Uuid& owner;
    const std::vector<Uuid>& ids;
  };

  // The bytes stored at `seq` as a Record. A raw record takes its id and
  // owner from `known` (at `index`) when given, instead of reading them out
  // of its bytes (the owner index was written from those bytes).
  template <typename Record>
  static Result<Record> Decode(uint64_t seq, std::string raw, const KnownIds* known = nullptr,
                               size_t index = 0) {
    if constexpr (std::is_same_v<Record, RawRecord>) {
      if (known != nullptr) {
        return RawRecord{seq, known->ids[index], known->owner, std::move(raw), std::nullopt};
      }
      return RawRecordFromBytes(seq, std::move(raw), std::nullopt);
    } else {
      Result<Event> event = ParseEvent(std::move(raw));
      if (!event.ok()) {
        return Status::Corruption("stored event " + std::to_string(seq) +
                                  " does not parse: " + event.status().message());
      }
      return StoredEvent{seq, std::move(event).value(), std::nullopt};
    }
  }

  // The events with these sequence numbers, in the given order, with `next`
  // (raw records with their ids and owner from `known` when given).
  template <typename Record>
  Result<std::vector<Record>> LoadBySeq(const rocksdb::ReadOptions& ro,
                                        const std::vector<uint64_t>& seqs,
                                        const KnownIds* known = nullptr) {
    std::vector<Record> out;
    if (seqs.empty()) return out;
    // An owner's entries mostly follow one another in the log (its own
    // chain, or a page pulled from its node): such a run is read in one
    // pass of two iterators instead of two lookups per entry. A few entries
    // are not worth the iterators.
    constexpr size_t kMinRun = 16;
    if (seqs.size() >= kMinRun && std::is_sorted(seqs.begin(), seqs.end()) &&
        seqs.back() - seqs.front() < 2 * seqs.size()) {
      return LoadSeqRun<Record>(ro, seqs, known);
    }
    std::vector<std::string> keys;
    keys.reserve(seqs.size());
    for (uint64_t s : seqs) keys.push_back(SeqKey(s));
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> raws,
                             MultiGetSlices(kEvents, slices, &ro));
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> nexts,
                             MultiGetSlices(kNextBySeq, slices, &ro));
    out.reserve(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (!raws[i]) {
        return Status::Corruption("index names sequence " + std::to_string(seqs[i]) +
                                  " but no event is stored there");
      }
      PIGTAIL_ASSIGN_OR_RETURN(Record stored,
                               Decode<Record>(seqs[i], std::move(*raws[i]), known, i));
      if (nexts[i]) {
        PIGTAIL_ASSIGN_OR_RETURN(Uuid n, IdAt(*nexts[i], 0, "next pointer"));
        stored.next = n;
      }
      out.push_back(std::move(stored));
    }
    return out;
  }

  // LoadBySeq of ascending `seqs` spanning less than twice their number.
  template <typename Record>
  Result<std::vector<Record>> LoadSeqRun(const rocksdb::ReadOptions& ro,
                                         const std::vector<uint64_t>& seqs, const KnownIds* known) {
    std::vector<Record> out;
    out.reserve(seqs.size());
    rocksdb::ReadOptions run = ro;
    const std::string upper = SeqKey(seqs.back() + 1);
    const rocksdb::Slice upper_slice(upper);
    run.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(run, cf(kEvents)));
    std::unique_ptr<rocksdb::Iterator> nx(db_->db()->NewIterator(run, cf(kNextBySeq)));
    const std::string first = SeqKey(seqs.front());
    it->Seek(first);
    nx->Seek(first);
    for (size_t i = 0; i < seqs.size(); ++i) {
      const uint64_t seq = seqs[i];
      while (it->Valid() && rocks::ReadU64(ToView(it->key())) < seq) it->Next();
      if (!it->Valid() || rocks::ReadU64(ToView(it->key())) != seq) {
        PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "read events"));
        return Status::Corruption("index names sequence " + std::to_string(seq) +
                                  " but no event is stored there");
      }
      PIGTAIL_ASSIGN_OR_RETURN(Record stored,
                               Decode<Record>(seq, it->value().ToString(), known, i));
      PIGTAIL_RETURN_IF_ERROR(NextAt(nx.get(), seq, &stored.next));
      out.push_back(std::move(stored));
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(nx->status(), "read next pointers"));
    return out;
  }

  Result<std::map<Uuid, Uuid>> OwnerMap(Family family) {
    std::map<Uuid, Uuid> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(Uuid owner, IdAt(ToView(it->key()), 0, "owner key"));
      PIGTAIL_ASSIGN_OR_RETURN(Uuid id,
                               IdAt(ToView(it->value()), Hlc::kEncodedSize, "owner entry"));
      out.emplace(owner, id);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "read " + FamilyNames()[family]));
    return out;
  }

  std::unique_ptr<Database> db_;
  std::mutex append_mu_;                  // serializes Append
  rocks::ReusedWriteBatch append_batch_;  // guarded by append_mu_
  std::atomic<uint64_t> last_seq_{0};
  uint64_t waiting_count_ = 0;   // keys in `waiting`; guarded by append_mu_
  uint64_t dangling_count_ = 0;  // keys in `next`; guarded by append_mu_
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenRocksDbEventStore(std::string_view path,
                                                          const BackendOptions& options) {
  // `ids` is probed for every appended id; the events, owners and next
  // pointers grow by an entry each per event and are scanned, or read by
  // sequence numbers that are there.
  const std::vector<std::string>& names = FamilyNames();
  const std::map<std::string, rocks::FamilyUse> uses = {
      {names[kIds], rocks::FamilyUse::kPoint},
      {names[kEvents], rocks::FamilyUse::kScanned},
      {names[kOwners], rocks::FamilyUse::kScanned},
      {names[kNextBySeq], rocks::FamilyUse::kScanned}};
  PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<rocks::Database> db,
                           rocks::Database::Open(path, rocks::kLogSubdir, names, options, uses));
  auto store = std::make_unique<RocksDbEventStore>(std::move(db));
  PIGTAIL_RETURN_IF_ERROR(store->Recover());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace pigtail
