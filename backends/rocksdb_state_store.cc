// The RocksDB StateStore (rocksdb:PATH, database in PATH/state).
//
// Column families (integers big-endian, see rocksdb_keys.h):
//   queues      queue name                          -> EncodeQueueRecord
//   tasks       u32 len|queue name|task id(16)      -> EncodeTaskRecord
//   rejected    event id(16)                        -> reason
//   digests     queue name                          -> digest(16), non-zero only
//   checkpoint  "checkpoint"                        -> seq(8)
//               "total_digest"                      -> digest(16)
//               "bulk_load_incomplete"              -> "" while a BulkLoad runs
//               "tallied"                           -> "" once the next two
//                                                      cover every register
//   tallies     queue name                          -> EncodeTally (QueueTally)
//   live        task key, as in `tasks`             -> "" for each live task
//
// The tallies and the live index let LoadInto read only what a State that
// drops finished tasks holds: the queues, their digests and tallies, the
// live tasks, and every task of a queue without a register or not alive.
// A store written before they were kept gets them at open, from one scan.
//
// Commit is one WriteBatch over all families. With
// BackendOptions::rocksdb_state_commits_skip_wal (pigtaild) it skips the
// write-ahead log: the state is rebuilt from the log past its checkpoint,
// so a commit need only last from the next flush, and every flush writes
// all families at one point (rocks::Durability::kAtomicFlush). After a
// crash the store is as it was after some earlier commit, whole, and the
// node catches up from there; a synced commit flushes. The rare writes
// that reset or mark the store (Reset, BulkLoad's steps, the tallies at
// open) always go through the write-ahead log, synced. BulkLoad first clears
// everything and sets the `bulk_load_incomplete` marker (synced), then
// writes the tasks, the live index and the rejected events as table files
// (several key ranges on parallel threads, rocksdb_table_files.h) and
// ingests them, and only then writes the queues and tallies with the
// digests and the checkpoint and removes the marker (one synced batch).
// An open that finds the marker knows a BulkLoad died half way: it clears
// the store (checkpoint 0), so the caller rebuilds from the start of the
// log. Every open deletes the table files a crash left unused. When the
// store held anything before, BulkLoad then compacts the families it
// cleared.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/rocksdb_keys.h"
#include "backends/rocksdb_options.h"
#include "backends/rocksdb_store.h"
#include "backends/rocksdb_table_files.h"
#include "backends/rocksdb_write_batch.h"
#include "core/codec.h"

namespace pigtail {
namespace {

using rocks::Database;
using rocks::FromRocks;
using rocks::Snapshot;

enum Family : size_t {
  kQueues,
  kTasks,
  kRejected,
  kDigests,
  kCheckpoint,
  kTallies,
  kLive,
  kFamilyCount
};

const std::vector<std::string>& FamilyNames() {
  static const std::vector<std::string> kNames = {"queues",     "tasks",   "rejected", "digests",
                                                  "checkpoint", "tallies", "live"};
  return kNames;
}

constexpr std::string_view kCheckpointKey = "checkpoint";
constexpr std::string_view kTotalDigestKey = "total_digest";
constexpr std::string_view kIncompleteKey = "bulk_load_incomplete";
constexpr std::string_view kTalliedKey = "tallied";

// LoadInto reads live tasks by MultiGet of this many keys.
constexpr size_t kLiveReadKeys = 4096;

// TallyStored writes the live index in batches of about this many bytes.
constexpr size_t kLiveBatchBytes = 8 << 20;

using RejectedMap = std::map<Uuid, std::string>;

using rocks::ToSlice;
using rocks::ToView;

Status Check(const rocksdb::Status& s) { return FromRocks(s, "build write batch"); }

// Adds a task's entry in the live index, or its removal.
Status PutLiveness(rocksdb::WriteBatch* batch, Database* db, const TaskRecord& t,
                   const rocksdb::Slice& key) {
  if (Live(t)) return Check(batch->Put(db->cf(kLive), key, rocksdb::Slice()));
  return Check(batch->Delete(db->cf(kLive), key));
}

Status PutDigests(rocksdb::WriteBatch* batch, Database* db,
                  const std::map<std::string, Digest>& queue_digests, const Digest& total,
                  uint64_t checkpoint) {
  for (const auto& [name, digest] : queue_digests) {
    if (digest.IsZero()) {
      PIGTAIL_RETURN_IF_ERROR(Check(batch->Delete(db->cf(kDigests), name)));
    } else {
      PIGTAIL_RETURN_IF_ERROR(
          Check(batch->Put(db->cf(kDigests), name, rocks::EncodeDigest(digest))));
    }
  }
  PIGTAIL_RETURN_IF_ERROR(
      Check(batch->Put(db->cf(kCheckpoint), ToSlice(kTotalDigestKey), rocks::EncodeDigest(total))));
  return Check(batch->Put(db->cf(kCheckpoint), ToSlice(kCheckpointKey), rocks::SeqKey(checkpoint)));
}

// A task, its id (a copy, so that sorting reads no task) and the key
// prefix of its queue.
struct KeyedTask {
  Uuid id;
  const std::string* prefix;
  const TaskRecord* task;
};

// Every task of `state` in TaskKey order: queues by their key prefix, and
// each queue's tasks by id. Table files take keys only in this order.
std::vector<KeyedTask> InKeyOrder(const State& state, std::vector<std::string>* prefixes) {
  std::vector<std::pair<std::string, const State::QueueSlot*>> queues;
  size_t tasks = 0;
  for (const auto& [name, slot] : state.queues()) {
    queues.emplace_back(rocks::TaskKeyPrefix(name), &slot);
    tasks += slot.tasks.size();
  }
  std::sort(queues.begin(), queues.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  prefixes->clear();
  prefixes->reserve(queues.size());  // no reallocation: KeyedTask points in
  std::vector<KeyedTask> out;
  out.reserve(tasks);
  for (auto& [prefix, slot] : queues) {
    prefixes->push_back(std::move(prefix));
    const size_t first = out.size();
    for (const auto& [id, task] : slot->tasks) out.push_back({id, &prefixes->back(), &task});
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const KeyedTask& a, const KeyedTask& b) { return a.id < b.id; });
  }
  return out;
}

// Writes tasks[begin, end) to a table file of the tasks family and the live
// ones to one of the live index, both named after `part`.
Status WriteTaskRange(Database* db, const std::vector<KeyedTask>& tasks, size_t begin, size_t end,
                      size_t part, std::string* tasks_path, std::string* live_path) {
  const std::string suffix = std::to_string(part) + ".sst";
  PIGTAIL_ASSIGN_OR_RETURN(
      auto task_file, rocks::TableFileWriter::Open(db->db(), db->cf(kTasks), "tasks" + suffix));
  PIGTAIL_ASSIGN_OR_RETURN(auto live_file,
                           rocks::TableFileWriter::Open(db->db(), db->cf(kLive), "live" + suffix));
  std::string key;
  std::string value;
  for (size_t i = begin; i < end; ++i) {
    const TaskRecord& task = *tasks[i].task;
    key.assign(*tasks[i].prefix);
    key.append(task.id.Bytes());
    value.clear();
    AppendTaskRecord(task, &value);
    PIGTAIL_RETURN_IF_ERROR(task_file->Put(key, value));
    if (Live(task)) PIGTAIL_RETURN_IF_ERROR(live_file->Put(key, rocksdb::Slice()));
  }
  PIGTAIL_RETURN_IF_ERROR(task_file->Finish());
  PIGTAIL_RETURN_IF_ERROR(live_file->Finish());
  *tasks_path = task_file->path();
  *live_path = live_file->path();
  return Status::Ok();
}

// Writes every rejected event's reason to a table file of the rejected
// family (the map's order is the keys' byte order).
Status WriteRejected(Database* db, const RejectedMap& rejected, std::string* path) {
  PIGTAIL_ASSIGN_OR_RETURN(
      auto file, rocks::TableFileWriter::Open(db->db(), db->cf(kRejected), "rejected.sst"));
  for (const auto& [id, reason] : rejected) {
    PIGTAIL_RETURN_IF_ERROR(file->Put(ToSlice(id.Bytes()), reason));
  }
  PIGTAIL_RETURN_IF_ERROR(file->Finish());
  *path = file->path();
  return Status::Ok();
}

// A BulkLoad writes its table files on up to this many threads, each at
// least kMinTasksPerWriter tasks.
constexpr size_t kMaxTableWriters = 4;
constexpr size_t kMinTasksPerWriter = 16384;

class RocksDbStateStore final : public StateStore {
 public:
  RocksDbStateStore(std::unique_ptr<Database> db, bool commits_skip_wal)
      : db_(std::move(db)), commits_skip_wal_(commits_skip_wal) {}

  Status Recover() {
    PIGTAIL_RETURN_IF_ERROR(rocks::RemoveStagedTableFiles(db_->db()));
    std::string value;
    rocksdb::Status s = db_->db()->Get({}, cf(kCheckpoint), ToSlice(kIncompleteKey), &value);
    if (s.ok()) {
      // A BulkLoad died half way; what it wrote is not a state.
      PIGTAIL_RETURN_IF_ERROR(ClearAll());
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "read bulk load marker");
    }
    PIGTAIL_ASSIGN_OR_RETURN(checkpoint_, ReadCheckpoint({}));
    s = db_->db()->Get({}, cf(kCheckpoint), ToSlice(kTalliedKey), &value);
    if (s.IsNotFound()) return TallyStored();
    return FromRocks(s, "read tallied marker");
  }

  Status Commit(const StateBatch& batch, bool sync) override {
    std::lock_guard lock(write_mu_);
    if (batch.checkpoint < checkpoint_) {
      return Status::FailedPrecondition("checkpoint would move backwards from " +
                                        std::to_string(checkpoint_) + " to " +
                                        std::to_string(batch.checkpoint));
    }
    rocksdb::WriteBatch& wb = commit_batch_.Cleared();
    for (const QueueRecord& q : batch.queues) {
      PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kQueues), q.name, EncodeQueueRecord(q))));
    }
    std::string scratch;
    for (size_t i = 0; i < batch.tasks.size(); ++i) {
      const TaskRecord& t = batch.tasks[i];
      const std::string key = rocks::TaskKey(t.queue, t.id);
      PIGTAIL_RETURN_IF_ERROR(
          Check(wb.Put(cf(kTasks), key, ToSlice(batch.TaskEncoding(i, &scratch)))));
      PIGTAIL_RETURN_IF_ERROR(PutLiveness(&wb, db_.get(), t, key));
    }
    for (const auto& [name, tally] : batch.queue_tallies) {
      PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kTallies), name, rocks::EncodeTally(tally))));
    }
    for (const auto& [id, reason] : batch.rejected) {
      PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kRejected), ToSlice(id.Bytes()), reason)));
    }
    PIGTAIL_RETURN_IF_ERROR(
        PutDigests(&wb, db_.get(), batch.queue_digests, batch.total_digest, batch.checkpoint));
    rocksdb::WriteOptions wo;
    wo.disableWAL = commits_skip_wal_;
    wo.sync = sync && !commits_skip_wal_;
    PIGTAIL_RETURN_IF_ERROR(FromRocks(db_->db()->Write(wo, &wb), "commit state batch"));
    // Unlike a failed write, a failed flush leaves the batch applied, though
    // not yet on disk; committing it again is harmless (every register and
    // digest is written whole).
    if (sync && commits_skip_wal_) PIGTAIL_RETURN_IF_ERROR(db_->FlushAll());
    checkpoint_ = batch.checkpoint;
    return Status::Ok();
  }

  Result<uint64_t> Checkpoint() override {
    std::lock_guard lock(write_mu_);
    return checkpoint_;
  }

  Result<DigestSummary> Digests() override {
    Snapshot snap(db_->db());
    DigestSummary out;
    PIGTAIL_ASSIGN_OR_RETURN(out.queues, ReadQueueDigests(snap.options()));
    std::string value;
    rocksdb::Status s =
        db_->db()->Get(snap.options(), cf(kCheckpoint), ToSlice(kTotalDigestKey), &value);
    if (s.ok()) {
      PIGTAIL_ASSIGN_OR_RETURN(out.total, rocks::DecodeDigest(value));
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "read total digest");
    }
    PIGTAIL_ASSIGN_OR_RETURN(out.checkpoint, ReadCheckpoint(snap.options()));
    return out;
  }

  Result<std::optional<QueueRecord>> GetQueue(std::string_view name) override {
    std::string value;
    rocksdb::Status s = db_->db()->Get({}, cf(kQueues), ToSlice(name), &value);
    if (s.IsNotFound()) return std::optional<QueueRecord>();
    PIGTAIL_RETURN_IF_ERROR(FromRocks(s, "get queue"));
    PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q, Decoded(DecodeQueueRecord(value), "queue"));
    return std::optional<QueueRecord>(std::move(q));
  }

  Result<std::vector<QueueRecord>> ListQueues() override {
    std::vector<QueueRecord> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kQueues)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q,
                               Decoded(DecodeQueueRecord(ToView(it->value())), "queue"));
      out.push_back(std::move(q));
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "list queues"));
    return out;
  }

  Result<std::optional<TaskRecord>> GetTask(std::string_view queue, const Uuid& id) override {
    std::string value;
    rocksdb::Status s = db_->db()->Get({}, cf(kTasks), rocks::TaskKey(queue, id), &value);
    if (s.IsNotFound()) return std::optional<TaskRecord>();
    PIGTAIL_RETURN_IF_ERROR(FromRocks(s, "get task"));
    PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, Decoded(DecodeTaskRecord(value), "task"));
    return std::optional<TaskRecord>(std::move(t));
  }

  Result<std::vector<TaskRecord>> ReadTasks(const std::vector<TaskKey>& keys) override {
    std::vector<TaskRecord> out;
    std::vector<std::string> key_bytes;
    key_bytes.reserve(keys.size());
    for (const TaskKey& k : keys) key_bytes.push_back(rocks::TaskKey(k.queue, k.id));
    std::vector<rocksdb::Slice> slices(key_bytes.begin(), key_bytes.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->db()->MultiGet({}, cf(kTasks), slices.size(), slices.data(), values.data(),
                        statuses.data());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      PIGTAIL_RETURN_IF_ERROR(FromRocks(statuses[i], "get tasks"));
      PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, Decoded(DecodeTaskRecord(ToView(values[i])), "task"));
      out.push_back(std::move(t));
    }
    return out;
  }

  Result<std::vector<TaskRecord>> ListTasks(std::string_view queue,
                                            const std::optional<Uuid>& after,
                                            size_t limit) override {
    std::vector<TaskRecord> out;
    if (limit == 0) return out;
    const std::string prefix = rocks::TaskKeyPrefix(queue);
    std::string start = prefix;
    if (after) {
      std::optional<std::string> succ = rocks::PrefixSuccessor(rocks::TaskKey(queue, *after));
      if (!succ) return out;
      start = std::move(*succ);
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kTasks)));
    for (it->Seek(start); it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
         it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t,
                               Decoded(DecodeTaskRecord(ToView(it->value())), "task"));
      out.push_back(std::move(t));
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "list tasks"));
    return out;
  }

  Result<std::map<Uuid, std::string>> ListRejected() override {
    return ReadRejected(rocksdb::ReadOptions());
  }

  Status LoadInto(State* state, const LoadProgress& progress) override {
    Snapshot snap(db_->db());
    state->set_track_changes(false);
    Status s = state->evict_finished() ? LoadTallied(snap.options(), state, progress)
                                       : LoadAll(snap.options(), state, progress);
    state->set_track_changes(true);
    state->SettleDigests();
    return s;
  }

  Status Reset() override {
    std::lock_guard lock(write_mu_);
    return ClearAll();
  }

  Status BulkLoad(const State& state, uint64_t checkpoint) override {
    PIGTAIL_RETURN_IF_ERROR(state.CheckSettled());
    std::lock_guard lock(write_mu_);
    // 1. Clear, and mark the store incomplete, durably.
    bool had_data = false;
    {
      rocksdb::WriteBatch wb;
      PIGTAIL_RETURN_IF_ERROR(AddClearAll(&wb));
      had_data = wb.Count() > 0;
      PIGTAIL_RETURN_IF_ERROR(
          Check(wb.Put(cf(kCheckpoint), ToSlice(kIncompleteKey), rocksdb::Slice())));
      PIGTAIL_RETURN_IF_ERROR(
          Check(wb.Put(cf(kCheckpoint), ToSlice(kTalliedKey), rocksdb::Slice())));
      rocksdb::WriteOptions wo;
      wo.sync = true;
      PIGTAIL_RETURN_IF_ERROR(FromRocks(db_->db()->Write(wo, &wb), "start bulk load"));
      checkpoint_ = 0;
    }
    // 2. The tasks, the live index and the rejected events, as table files
    // written in parallel and ingested together.
    PIGTAIL_RETURN_IF_ERROR(WriteTables(state));
    // 3. The queues and their tallies with the digests and the checkpoint,
    // removing the marker, in one synced batch.
    {
      rocksdb::WriteBatch done;
      std::map<std::string, Digest> digests;
      for (const auto& [name, slot] : state.queues()) {
        if (slot.record) {
          PIGTAIL_RETURN_IF_ERROR(
              Check(done.Put(cf(kQueues), name, EncodeQueueRecord(*slot.record))));
        }
        PIGTAIL_RETURN_IF_ERROR(Check(done.Put(
            cf(kTallies), name, rocks::EncodeTally(QueueTally{slot.task_count, slot.finished}))));
        if (!slot.digest.IsZero()) digests.emplace(name, slot.digest);
      }
      PIGTAIL_RETURN_IF_ERROR(
          PutDigests(&done, db_.get(), digests, state.total_digest(), checkpoint));
      PIGTAIL_RETURN_IF_ERROR(Check(done.Delete(cf(kCheckpoint), ToSlice(kIncompleteKey))));
      rocksdb::WriteOptions wo;
      wo.sync = true;
      PIGTAIL_RETURN_IF_ERROR(FromRocks(db_->db()->Write(wo, &done), "finish bulk load"));
      checkpoint_ = checkpoint;
    }
    // 4. Compact away the cleared data and the range tombstones, if there
    // were any; a load into an empty store leaves its files to RocksDB's
    // background compactions.
    if (!had_data) return Status::Ok();
    rocksdb::CompactRangeOptions co;
    for (Family f : {kQueues, kTasks, kRejected, kTallies, kLive}) {
      PIGTAIL_RETURN_IF_ERROR(
          FromRocks(db_->db()->CompactRange(co, cf(f), nullptr, nullptr), "compact after load"));
    }
    return Status::Ok();
  }

 private:
  rocksdb::ColumnFamilyHandle* cf(Family f) const { return db_->cf(f); }

  // Fills the tasks, live and rejected families of an empty store from
  // `state`: table files written on parallel threads (the tasks in key
  // ranges, the rejected events beside them), then ingested together. The
  // open and every earlier call emptied the staging directory; a file left
  // there anyway is overwritten or ignored, as only the files this call
  // finished are ingested.
  Status WriteTables(const State& state) {
    std::vector<std::string> prefixes;
    const std::vector<KeyedTask> tasks = InKeyOrder(state, &prefixes);
    const size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
    const size_t parts =
        std::clamp<size_t>(tasks.size() / kMinTasksPerWriter, 1, std::min(cores, kMaxTableWriters));
    std::vector<rocks::FamilyTableFiles> files = {{cf(kTasks), std::vector<std::string>(parts)},
                                                  {cf(kLive), std::vector<std::string>(parts)},
                                                  {cf(kRejected), std::vector<std::string>(1)}};
    // Jobs 0 .. parts-1 write the tasks' key ranges; job `parts` the
    // rejected events.
    std::vector<Status> results(parts + 1, Status::Ok());
    auto run_job = [&](size_t job) {
      results[job] = job == parts ? WriteRejected(db_.get(), state.rejected(), &files[2].paths[0])
                                  : WriteTaskRange(db_.get(), tasks, tasks.size() * job / parts,
                                                   tasks.size() * (job + 1) / parts, job,
                                                   &files[0].paths[job], &files[1].paths[job]);
    };
    std::vector<std::thread> writers;
    for (size_t job = 1; job <= parts; ++job) writers.emplace_back(run_job, job);
    run_job(0);
    for (std::thread& t : writers) t.join();
    Status status = Status::Ok();
    for (const Status& s : results) {
      if (status.ok()) status = s;
    }
    if (status.ok()) status = rocks::IngestTableFiles(db_->db(), files);
    // What was ingested has moved; this deletes what a failure left.
    Status removed = rocks::RemoveStagedTableFiles(db_->db());
    return status.ok() ? removed : status;
  }

  template <typename T>
  static Result<T> Decoded(Result<T> r, std::string_view what) {
    if (r.ok()) return r;
    return Status::Corruption("stored " + std::string(what) +
                              " does not decode: " + r.status().message());
  }

  Result<uint64_t> ReadCheckpoint(const rocksdb::ReadOptions& ro) {
    std::string value;
    rocksdb::Status s = db_->db()->Get(ro, cf(kCheckpoint), ToSlice(kCheckpointKey), &value);
    if (s.IsNotFound()) return uint64_t{0};
    PIGTAIL_RETURN_IF_ERROR(FromRocks(s, "read checkpoint"));
    return rocks::DecodeSeq(value);
  }

  Result<std::map<std::string, Digest>> ReadQueueDigests(const rocksdb::ReadOptions& ro) {
    std::map<std::string, Digest> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kDigests)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(Digest d, rocks::DecodeDigest(ToView(it->value())));
      out.emplace(it->key().ToString(), d);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "read queue digests"));
    return out;
  }

  Result<std::map<std::string, QueueTally>> ReadTallies(const rocksdb::ReadOptions& ro) {
    std::map<std::string, QueueTally> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kTallies)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(QueueTally t,
                               Decoded(rocks::DecodeTally(ToView(it->value())), "tally"));
      out.emplace(it->key().ToString(), t);
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "read queue tallies"));
    return out;
  }

  Result<RejectedMap> ReadRejected(const rocksdb::ReadOptions& ro) {
    std::map<Uuid, std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kRejected)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Result<Uuid> id = Uuid::FromBytes(ToView(it->key()));
      if (!id.ok()) return Status::Corruption("rejected key is not an id");
      out.emplace(*id, it->value().ToString());
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "list rejected"));
    return out;
  }

  Status LoadQueues(const rocksdb::ReadOptions& ro, State* state) {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kQueues)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q,
                               Decoded(DecodeQueueRecord(ToView(it->value())), "queue"));
      state->PutQueue(std::move(q));
    }
    return FromRocks(it->status(), "load queues");
  }

  Status LoadRejected(const rocksdb::ReadOptions& ro, State* state) {
    PIGTAIL_ASSIGN_OR_RETURN(RejectedMap rejected, ReadRejected(ro));
    for (auto& [id, reason] : rejected) (void)state->PutRejected(id, std::move(reason));
    return Status::Ok();
  }

  // Every register, through State::PutStoredTask.
  Status LoadAll(const rocksdb::ReadOptions& ro, State* state, const LoadProgress& progress) {
    PIGTAIL_RETURN_IF_ERROR(LoadQueues(ro, state));
    {
      rocksdb::ReadOptions scan = ro;
      scan.readahead_size = 2 << 20;
      std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(scan, cf(kTasks)));
      uint64_t read = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t,
                                 Decoded(DecodeTaskRecord(ToView(it->value())), "task"));
        state->PutStoredTask(std::move(t));
        if (++read % kLoadProgressTasks == 0 && progress) progress(read);
      }
      PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "load tasks"));
    }
    return LoadRejected(ro, state);
  }

  // The queues, their digests and tallies, and the tasks memory holds
  // (State::PutStoredTally): those of the queues without a register or
  // not alive, then the live ones.
  Status LoadTallied(const rocksdb::ReadOptions& ro, State* state, const LoadProgress& progress) {
    PIGTAIL_RETURN_IF_ERROR(LoadQueues(ro, state));
    PIGTAIL_ASSIGN_OR_RETURN(auto digests, ReadQueueDigests(ro));
    PIGTAIL_ASSIGN_OR_RETURN(auto tallies, ReadTallies(ro));
    const std::vector<std::string> queues = PutStoredTallies(state, digests, tallies);
    uint64_t read = 0;
    auto put = [&](std::string_view value) -> Status {
      PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, Decoded(DecodeTaskRecord(value), "task"));
      PIGTAIL_RETURN_IF_ERROR(state->PutTalliedTask(std::move(t)));
      if (++read % kLoadProgressTasks == 0 && progress) progress(read);
      return Status::Ok();
    };
    for (const std::string& name : queues) {
      const QueueRecord* queue = state->FindQueue(name);
      if (queue != nullptr && queue->alive) continue;
      const std::string prefix = rocks::TaskKeyPrefix(name);
      std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kTasks)));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        PIGTAIL_RETURN_IF_ERROR(put(ToView(it->value())));
      }
      PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "load tasks"));
    }
    std::vector<std::string> keys;
    auto read_keys = [&]() -> Status {
      std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
      std::vector<rocksdb::PinnableSlice> values(keys.size());
      std::vector<rocksdb::Status> statuses(keys.size());
      db_->db()->MultiGet(ro, cf(kTasks), slices.size(), slices.data(), values.data(),
                          statuses.data());
      for (size_t i = 0; i < keys.size(); ++i) {
        if (statuses[i].IsNotFound()) {
          return Status::Corruption("the live index names a task the store does not hold");
        }
        PIGTAIL_RETURN_IF_ERROR(FromRocks(statuses[i], "load live tasks"));
        PIGTAIL_RETURN_IF_ERROR(put(ToView(values[i])));
      }
      keys.clear();
      return Status::Ok();
    };
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf(kLive)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      keys.push_back(it->key().ToString());
      if (keys.size() == kLiveReadKeys) PIGTAIL_RETURN_IF_ERROR(read_keys());
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "load live index"));
    if (!keys.empty()) PIGTAIL_RETURN_IF_ERROR(read_keys());
    return LoadRejected(ro, state);
  }

  // Writes the tallies and the live index of every stored register, then
  // the `tallied` marker (synced): once, for a store written before they
  // were kept. REQUIRES: the store is not yet shared.
  Status TallyStored() {
    std::map<std::string, QueueRecord> queues;
    {
      std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, cf(kQueues)));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q,
                                 Decoded(DecodeQueueRecord(ToView(it->value())), "queue"));
        queues.emplace(q.name, std::move(q));
      }
      PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "tally queues"));
    }
    std::map<std::string, QueueTally> tallies;
    for (const auto& [name, q] : queues) tallies.try_emplace(name);
    rocksdb::WriteBatch wb;
    rocksdb::ReadOptions scan;
    scan.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(scan, cf(kTasks)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t,
                               Decoded(DecodeTaskRecord(ToView(it->value())), "task"));
      auto queue = queues.find(t.queue);
      tallies[t.queue].Count(t, queue == queues.end() ? nullptr : &queue->second);
      if (Live(t)) PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kLive), it->key(), rocksdb::Slice())));
      if (wb.GetDataSize() >= kLiveBatchBytes) {
        PIGTAIL_RETURN_IF_ERROR(FromRocks(db_->db()->Write({}, &wb), "write live index"));
        wb.Clear();
      }
    }
    PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "tally tasks"));
    for (const auto& [name, tally] : tallies) {
      PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kTallies), name, rocks::EncodeTally(tally))));
    }
    PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kCheckpoint), ToSlice(kTalliedKey), rocksdb::Slice())));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->db()->Write(wo, &wb), "write queue tallies");
  }

  // Adds to `wb` the deletion of every key of every family.
  Status AddClearAll(rocksdb::WriteBatch* wb) {
    for (size_t f = 0; f < kFamilyCount; ++f) {
      std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator({}, db_->cf(f)));
      it->SeekToFirst();
      if (!it->Valid()) {
        PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "clear state"));
        continue;
      }
      std::string first = it->key().ToString();
      it->SeekToLast();
      PIGTAIL_RETURN_IF_ERROR(FromRocks(it->status(), "clear state"));
      if (!it->Valid()) continue;
      std::string last = it->key().ToString();
      PIGTAIL_RETURN_IF_ERROR(Check(wb->DeleteRange(db_->cf(f), first, last)));
      PIGTAIL_RETURN_IF_ERROR(Check(wb->Delete(db_->cf(f), last)));
    }
    return Status::Ok();
  }

  // REQUIRES: write_mu_ held (or the store not yet shared).
  Status ClearAll() {
    rocksdb::WriteBatch wb;
    PIGTAIL_RETURN_IF_ERROR(AddClearAll(&wb));
    PIGTAIL_RETURN_IF_ERROR(Check(wb.Put(cf(kCheckpoint), ToSlice(kTalliedKey), rocksdb::Slice())));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    PIGTAIL_RETURN_IF_ERROR(FromRocks(db_->db()->Write(wo, &wb), "reset state"));
    checkpoint_ = 0;
    return Status::Ok();
  }

  std::unique_ptr<Database> db_;
  const bool commits_skip_wal_;
  std::mutex write_mu_;                   // serializes Commit, Reset and BulkLoad
  rocks::ReusedWriteBatch commit_batch_;  // guarded by write_mu_
  uint64_t checkpoint_ = 0;               // guarded by write_mu_
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenRocksDbStateStore(std::string_view path,
                                                          const BackendOptions& options) {
  // The live index is written on most task ops and read only by scans (at
  // start), so it is kAppended: no filter, and its memtable is a vector (an
  // insert is an append). Every other family is kMixed: a node that drops
  // finished tasks reads them back by key (ReadTasks), and a vector
  // memtable sorts itself on every read.
  PIGTAIL_ASSIGN_OR_RETURN(
      std::unique_ptr<rocks::Database> db,
      rocks::Database::Open(path, rocks::kStateSubdir, FamilyNames(), options,
                            {{FamilyNames()[kLive], rocks::FamilyUse::kAppended}},
                            rocks::Durability::kAtomicFlush));
  auto store =
      std::make_unique<RocksDbStateStore>(std::move(db), options.rocksdb_state_commits_skip_wal);
  PIGTAIL_RETURN_IF_ERROR(store->Recover());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace pigtail
