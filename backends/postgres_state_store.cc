// PostgreSQL StateStore: see backends/postgres_store.h and
// backends/postgres_migrations.cc for the tables.
//
// Commit is one transaction: it locks the summary row (serializing
// committers across processes), upserts the registers with unnest(...)
// statements in chunks, replaces the touched digests and writes the total
// digest and checkpoint. BulkLoad truncates and COPYs in one transaction.
// Each task row says whether the task is live, live_tasks holds the keys of
// the live ones (kept by the statement that writes the rows), and
// queue_tallies holds each queue's QueueTally, so that LoadInto into a State
// that drops finished tasks reads only what it holds; a store written before
// they were kept gets them at open, from one scan.
// Thread safety and reconnection: PgSession. Reads of registers (GetQueue,
// ListQueues, GetTask, ReadTasks, ListTasks, ListRejected) go through a
// second session, so that a node or a replay reading tasks back does not
// wait behind a Commit in flight; each sees what was committed before it.
#include <algorithm>
#include <limits>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <tuple>

#include "backends/postgres_session.h"
#include "backends/postgres_store.h"
#include "backends/postgres_values.h"
#include "core/codec.h"
#include "core/task_view.h"

namespace pigtail {
namespace {

// Rows per upsert statement: keeps each parameter a few MB.
constexpr size_t kChunkRows = 5000;
// Rows per page when LoadInto reads the tasks.
constexpr int64_t kLoadPageRows = 20000;

std::vector<PgStatement> StateStatements() {
  return {
      {"st_lock", "SELECT checkpoint FROM state_summary WHERE one FOR UPDATE"},
      {"st_put_queues",
       "INSERT INTO queues (name, value) SELECT * FROM unnest($1::bytea[], $2::bytea[]) "
       "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"},
      // The columns of AddTaskRow. Text travels as bytea (DisplayText).
      // live_tasks follows each row's live flag in the same statement; the
      // rows to delete are found by one probe of its key each (a join may
      // be planned as a scan of live_tasks per row of u).
      {"st_put_tasks",
       "WITH u AS (SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::bytea[], $4::bigint[], "
       "$5::bytea[], $6::bytea[], $7::bytea[], $8::bigint[], $9::bigint[], $10::bigint[], "
       "$11::bigint[]) AS u(q, i, v, l, qn, tn, st, le, at, an, un)), "
       "went_live AS (INSERT INTO live_tasks (queue, id) SELECT q, i FROM u WHERE l <> 0 "
       "ON CONFLICT DO NOTHING), "
       "finished AS (DELETE FROM live_tasks WHERE ctid = ANY(ARRAY(SELECT (SELECT ctid "
       "FROM live_tasks x WHERE x.queue = u.q AND x.id = u.i) FROM u WHERE u.l = 0))) "
       "INSERT INTO tasks (queue, id, value, live, queue_name, task_name, state, lease, "
       "attempts, added_ns, updated_ns) "
       "SELECT q, i, v, l <> 0, convert_from(qn, 'UTF8'), convert_from(tn, 'UTF8'), "
       "convert_from(st, 'UTF8'), le, at, an, un FROM u "
       "ON CONFLICT (queue, id) DO UPDATE SET value = EXCLUDED.value, live = EXCLUDED.live, "
       "queue_name = EXCLUDED.queue_name, task_name = EXCLUDED.task_name, "
       "state = EXCLUDED.state, lease = EXCLUDED.lease, attempts = EXCLUDED.attempts, "
       "added_ns = EXCLUDED.added_ns, updated_ns = EXCLUDED.updated_ns"},
      {"st_put_tallies",
       "INSERT INTO queue_tallies (queue, tasks, done, dead, cancelled) "
       "SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[], "
       "$5::bigint[]) ON CONFLICT (queue) DO UPDATE SET tasks = EXCLUDED.tasks, "
       "done = EXCLUDED.done, dead = EXCLUDED.dead, cancelled = EXCLUDED.cancelled"},
      {"st_tallies", "SELECT queue, tasks, done, dead, cancelled FROM queue_tallies"},
      {"st_tallied", "SELECT tallied FROM state_summary WHERE one FOR UPDATE"},
      {"st_set_tallied", "UPDATE state_summary SET tallied = true WHERE one"},
      {"st_queue_tasks", "SELECT value FROM tasks WHERE queue = $1"},
      {"st_put_rejected",
       "INSERT INTO rejected (event_id, reason) SELECT * FROM unnest($1::uuid[], $2::bytea[]) "
       "ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason"},
      {"st_put_digests",
       "INSERT INTO queue_digests (queue, digest) SELECT * FROM unnest($1::bytea[], $2::text[]) "
       "ON CONFLICT (queue) DO UPDATE SET digest = EXCLUDED.digest"},
      {"st_delete_digests", "DELETE FROM queue_digests WHERE queue = ANY($1::bytea[])"},
      {"st_set_summary", "UPDATE state_summary SET total_digest = $1, checkpoint = $2 WHERE one"},
      {"st_summary", "SELECT total_digest, checkpoint FROM state_summary WHERE one"},
      {"st_digests", "SELECT queue, digest FROM queue_digests"},
      {"st_get_queue", "SELECT value FROM queues WHERE name = $1"},
      {"st_list_queues", "SELECT value FROM queues ORDER BY name"},
      {"st_get_task", "SELECT value FROM tasks WHERE queue = $1 AND id = $2"},
      // $2: a uuid[] literal, '{id,id,...}'.
      {"st_get_tasks",
       "SELECT value FROM tasks WHERE queue = $1 AND id = ANY($2::uuid[]) ORDER BY id"},
      {"st_list_tasks", "SELECT value FROM tasks WHERE queue = $1 ORDER BY id LIMIT $2"},
      {"st_list_tasks_after",
       "SELECT value FROM tasks WHERE queue = $1 AND id > $2 ORDER BY id LIMIT $3"},
      {"st_list_rejected", "SELECT event_id, reason FROM rejected"},
      {"st_page_tasks_first", "SELECT queue, id, value FROM tasks ORDER BY queue, id LIMIT $1"},
      {"st_page_tasks",
       "SELECT queue, id, value FROM tasks WHERE (queue, id) > ($1, $2) "
       "ORDER BY queue, id LIMIT $3"},
      {"st_reset_summary",
       "UPDATE state_summary SET total_digest = '00000000000000000000000000000000', "
       "checkpoint = 0 WHERE one"},
  };
}

int64_t SqlLimit(size_t limit) {
  return static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

pqxx::binarystring Bytes(std::string_view s) { return pqxx::binarystring(s.data(), s.size()); }

Result<Digest> DigestField(const pqxx::field& f) {
  Result<Digest> d = Digest::FromHex(std::string_view(f.c_str(), f.size()));
  if (!d.ok()) return Status::Corruption("stored digest does not parse: " + d.status().message());
  return d;
}

Result<uint64_t> CheckpointField(const pqxx::field& f) {
  Result<uint64_t> v = U64Field(f);
  if (!v.ok()) return Status::Corruption("stored checkpoint is negative");
  return v;
}

Result<QueueRecord> QueueField(const pqxx::field& f) {
  Result<QueueRecord> q = DecodeQueueRecord(ByteaField(f));
  if (!q.ok()) return q.status().WithContext("stored queue register");
  return q;
}

Result<TaskRecord> TaskField(const pqxx::field& f) {
  Result<TaskRecord> t = DecodeTaskRecord(ByteaField(f));
  if (!t.ok()) return t.status().WithContext("stored task register");
  return t;
}

int64_t SqlCount(uint64_t n) {
  return static_cast<int64_t>(std::min<uint64_t>(n, std::numeric_limits<int64_t>::max()));
}

// A tasks row in the columns of st_put_tasks: the key, the register
// (`value`, its encoding) and what operators read of it.
constexpr size_t kTaskColumns = 11;
using TaskColumns = std::array<PgArrayBuilder, kTaskColumns>;

void AddTaskRow(const TaskRecord& t, std::string_view value, TaskColumns& c) {
  c[0].AddBytea(t.queue);
  c[1].AddUuid(t.id);
  c[2].AddBytea(value);
  c[3].AddInt(Live(t) ? 1 : 0);
  c[4].AddBytea(DisplayText(t.queue));
  if (t.add) {
    c[5].AddBytea(DisplayText(t.add->task_name));
  } else {
    c[5].AddNull();
  }
  c[6].AddBytea(StoredStateName(t));
  c[7].AddInt(SqlCount(t.status.key.lease));
  c[8].AddInt(SqlCount(AttemptsStarted(t)));
  if (t.add) {
    c[9].AddInt(SqlCount(t.add->hlc.time));
  } else {
    c[9].AddNull();
  }
  c[10].AddInt(SqlCount(t.status.key.hlc.time));
}

// Calls `row` for each row of (queue, id, value) pages from `first` and
// then `next` (which take the last page's key), in one transaction.
// Bounded by the table's size: each page advances past its last key.
template <typename Row>
Status PageTasks(pqxx::transaction_base& txn, const char* first, const char* next, Row&& row) {
  std::string last_queue;
  std::string last_id;
  for (bool first_page = true;; first_page = false) {
    const pqxx::result page =
        first_page ? txn.exec_prepared(first, kLoadPageRows)
                   : txn.exec_prepared(next, Bytes(last_queue), last_id, kLoadPageRows);
    for (const pqxx::row& r : page) PIGTAIL_RETURN_IF_ERROR(row(r));
    if (page.size() < static_cast<size_t>(kLoadPageRows)) return Status::Ok();
    const pqxx::row last = page[page.size() - 1];
    last_queue = ByteaField(last[0]);
    last_id = last[1].as<std::string>();
  }
}

// Runs `statement` once per chunk of rows from `add_row`, which appends row
// i to the builders. Columns are built in lockstep.
template <size_t N, typename AddRow>
void ExecChunked(pqxx::work& txn, const char* statement, size_t rows, AddRow&& add_row) {
  for (size_t begin = 0; begin < rows; begin += kChunkRows) {
    const size_t end = std::min(rows, begin + kChunkRows);
    std::array<PgArrayBuilder, N> cols;
    for (size_t i = begin; i < end; ++i) add_row(i, cols);
    std::apply([&](auto&... c) { txn.exec_prepared(statement, c.Take()...); }, cols);
  }
}

class PostgresStateStore final : public StateStore {
 public:
  explicit PostgresStateStore(std::unique_ptr<PgSession> session)
      : session_(std::move(session)), reads_(session_->Twin()) {}

  Status Commit(const StateBatch& batch, bool sync) override {
    if (batch.checkpoint > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument("checkpoint out of range for PostgreSQL");
    }
    // The last value per key wins, as in a map; one upsert statement may not
    // touch a row twice.
    std::map<std::string_view, const QueueRecord*> queues;
    for (const QueueRecord& q : batch.queues) queues[q.name] = &q;
    std::map<std::pair<std::string_view, Uuid>, size_t> tasks;  // -> index in batch.tasks
    for (size_t i = 0; i < batch.tasks.size(); ++i) {
      tasks[{batch.tasks[i].queue, batch.tasks[i].id}] = i;
    }
    std::map<Uuid, std::string_view> rejected;
    for (const auto& [id, reason] : batch.rejected) rejected[id] = reason;
    std::vector<std::pair<std::string_view, std::string>> live_digests;
    std::vector<std::string_view> zero_digests;
    for (const auto& [name, digest] : batch.queue_digests) {
      if (digest.IsZero()) {
        zero_digests.push_back(name);
      } else {
        live_digests.emplace_back(name, digest.ToHex());
      }
    }

    return session_->Run("Commit", [&](pqxx::connection_base& conn) {
      pqxx::work txn(conn);
      txn.exec(sync ? "SET LOCAL synchronous_commit = on" : "SET LOCAL synchronous_commit = off");
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t current, CheckpointField(txn.exec_prepared1("st_lock")[0]));
      if (batch.checkpoint < current) {
        return Status::FailedPrecondition("checkpoint would move backwards from " +
                                          std::to_string(current) + " to " +
                                          std::to_string(batch.checkpoint));
      }
      std::vector<const QueueRecord*> qv;
      for (const auto& [k, q] : queues) qv.push_back(q);
      ExecChunked<2>(txn, "st_put_queues", qv.size(), [&](size_t i, auto& c) {
        c[0].AddBytea(qv[i]->name);
        c[1].AddBytea(EncodeQueueRecord(*qv[i]));
      });
      std::vector<size_t> tv;
      for (const auto& [k, i] : tasks) tv.push_back(i);
      std::string scratch;
      ExecChunked<kTaskColumns>(txn, "st_put_tasks", tv.size(), [&](size_t i, auto& c) {
        AddTaskRow(batch.tasks[tv[i]], batch.TaskEncoding(tv[i], &scratch), c);
      });
      std::vector<std::pair<std::string_view, QueueTally>> tallies(batch.queue_tallies.begin(),
                                                                   batch.queue_tallies.end());
      PutTallies(txn, tallies);
      std::vector<std::pair<Uuid, std::string_view>> rv(rejected.begin(), rejected.end());
      ExecChunked<2>(txn, "st_put_rejected", rv.size(), [&](size_t i, auto& c) {
        c[0].AddUuid(rv[i].first);
        c[1].AddBytea(rv[i].second);
      });
      ExecChunked<2>(txn, "st_put_digests", live_digests.size(), [&](size_t i, auto& c) {
        c[0].AddBytea(live_digests[i].first);
        c[1].AddHexText(live_digests[i].second);
      });
      ExecChunked<1>(txn, "st_delete_digests", zero_digests.size(),
                     [&](size_t i, auto& c) { c[0].AddBytea(zero_digests[i]); });
      txn.exec_prepared("st_set_summary", batch.total_digest.ToHex(),
                        static_cast<int64_t>(batch.checkpoint));
      txn.commit();
      return Status::Ok();
    });
  }

  Result<uint64_t> Checkpoint() override {
    PIGTAIL_ASSIGN_OR_RETURN(DigestSummary s, Summary(/*with_queues=*/false));
    return s.checkpoint;
  }

  Result<DigestSummary> Digests() override { return Summary(/*with_queues=*/true); }

  Result<std::optional<QueueRecord>> GetQueue(std::string_view name) override {
    std::optional<QueueRecord> out;
    PIGTAIL_RETURN_IF_ERROR(reads_->Run("GetQueue", [&](pqxx::connection_base& conn) {
      pqxx::read_transaction txn(conn);
      const pqxx::result r = txn.exec_prepared("st_get_queue", Bytes(name));
      if (r.empty()) return Status::Ok();
      PIGTAIL_ASSIGN_OR_RETURN(out, QueueField(r[0][0]));
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<QueueRecord>> ListQueues() override {
    std::vector<QueueRecord> out;
    PIGTAIL_RETURN_IF_ERROR(reads_->Run("ListQueues", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      for (const pqxx::row& row : txn.exec_prepared("st_list_queues")) {
        PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q, QueueField(row[0]));
        out.push_back(std::move(q));
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::optional<TaskRecord>> GetTask(std::string_view queue, const Uuid& id) override {
    std::optional<TaskRecord> out;
    PIGTAIL_RETURN_IF_ERROR(reads_->Run("GetTask", [&](pqxx::connection_base& conn) {
      pqxx::read_transaction txn(conn);
      const pqxx::result r = txn.exec_prepared("st_get_task", Bytes(queue), id.ToString());
      if (r.empty()) return Status::Ok();
      PIGTAIL_ASSIGN_OR_RETURN(out, TaskField(r[0][0]));
      return Status::Ok();
    }));
    return out;
  }

  // One query per queue named, in one read transaction.
  Result<std::vector<TaskRecord>> ReadTasks(const std::vector<TaskKey>& keys) override {
    std::vector<TaskRecord> out;
    PIGTAIL_RETURN_IF_ERROR(reads_->Run("ReadTasks", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      for (size_t first = 0; first < keys.size();) {
        size_t end = first;
        std::string ids = "{";
        for (; end < keys.size() && keys[end].queue == keys[first].queue; ++end) {
          if (end > first) ids += ',';
          ids += keys[end].id.ToString();  // hex and dashes: nothing to quote
        }
        ids += '}';
        for (const pqxx::row& row :
             txn.exec_prepared("st_get_tasks", Bytes(keys[first].queue), ids)) {
          PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, TaskField(row[0]));
          out.push_back(std::move(t));
        }
        first = end;
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<TaskRecord>> ListTasks(std::string_view queue,
                                            const std::optional<Uuid>& after,
                                            size_t limit) override {
    std::vector<TaskRecord> out;
    if (limit == 0) return out;
    PIGTAIL_RETURN_IF_ERROR(reads_->Run("ListTasks", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      const pqxx::result r =
          after ? txn.exec_prepared("st_list_tasks_after", Bytes(queue), after->ToString(),
                                    SqlLimit(limit))
                : txn.exec_prepared("st_list_tasks", Bytes(queue), SqlLimit(limit));
      for (const pqxx::row& row : r) {
        PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, TaskField(row[0]));
        out.push_back(std::move(t));
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::map<Uuid, std::string>> ListRejected() override {
    std::map<Uuid, std::string> out;
    PIGTAIL_RETURN_IF_ERROR(reads_->Run("ListRejected", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      for (const pqxx::row& row : txn.exec_prepared("st_list_rejected")) {
        PIGTAIL_ASSIGN_OR_RETURN(Uuid id, UuidField(row[0]));
        out[id] = ByteaField(row[1]);
      }
      return Status::Ok();
    }));
    return out;
  }

  Status LoadInto(State* state, const LoadProgress& progress) override {
    state->set_track_changes(false);
    Status status = session_->Run("LoadInto", [&](pqxx::connection_base& conn) {
      // One snapshot for every page.
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn);
      for (const pqxx::row& row : txn.exec_prepared("st_list_queues")) {
        PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q, QueueField(row[0]));
        state->PutQueue(std::move(q));
      }
      uint64_t read = 0;
      auto counted = [&] {
        if (++read % kLoadProgressTasks == 0 && progress) progress(read);
      };
      if (!state->evict_finished()) {
        PIGTAIL_RETURN_IF_ERROR(PageTasks(
            txn, "st_page_tasks_first", "st_page_tasks", [&](const pqxx::row& row) -> Status {
              PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, TaskField(row[2]));
              state->PutStoredTask(std::move(t));
              counted();
              return Status::Ok();
            }));
      } else {
        PIGTAIL_RETURN_IF_ERROR(LoadTallied(txn, state, counted));
      }
      for (const pqxx::row& row : txn.exec_prepared("st_list_rejected")) {
        PIGTAIL_ASSIGN_OR_RETURN(Uuid id, UuidField(row[0]));
        (void)state->PutRejected(id, ByteaField(row[1]));
      }
      return Status::Ok();
    });
    state->set_track_changes(true);
    state->SettleDigests();
    return status;
  }

  Status Reset() override {
    return session_->Run("Reset", [&](pqxx::connection_base& conn) {
      pqxx::work txn(conn);
      txn.exec("TRUNCATE queues, tasks, live_tasks, rejected, queue_digests, queue_tallies");
      txn.exec_prepared("st_reset_summary");
      txn.commit();
      return Status::Ok();
    });
  }

  Status BulkLoad(const State& state, uint64_t checkpoint) override {
    PIGTAIL_RETURN_IF_ERROR(state.CheckSettled());
    if (checkpoint > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument("checkpoint out of range for PostgreSQL");
    }
    return session_->Run("BulkLoad", [&](pqxx::connection_base& conn) {
      pqxx::work txn(conn);
      txn.exec("SET LOCAL synchronous_commit = on");
      txn.exec("TRUNCATE queues, tasks, live_tasks, rejected, queue_digests, queue_tallies");
      {
        pqxx::stream_to out(txn, "queues", std::vector<std::string>{"name", "value"});
        for (const auto& [name, slot] : state.queues()) {
          if (!slot.record) continue;
          out << std::make_tuple(ByteaHexLiteral(name),
                                 ByteaHexLiteral(EncodeQueueRecord(*slot.record)));
        }
        out.complete();
      }
      {
        pqxx::stream_to out(
            txn, "tasks",
            std::vector<std::string>{"queue", "id", "value", "live", "queue_name", "task_name",
                                     "state", "lease", "attempts", "added_ns", "updated_ns"});
        for (const auto& [name, slot] : state.queues()) {
          const std::string queue_hex = ByteaHexLiteral(name);
          const std::string queue_name = DisplayText(name);
          for (const auto& [id, task] : slot.tasks) {
            // Null for a task without an Add (a const char* nullptr is NULL).
            std::string task_name, added;
            if (task.add) {
              task_name = DisplayText(task.add->task_name);
              added = std::to_string(SqlCount(task.add->hlc.time));
            }
            out << std::make_tuple(
                queue_hex, id.ToString(), ByteaHexLiteral(EncodeTaskRecord(task)), Live(task),
                queue_name, task.add ? task_name.c_str() : nullptr,
                std::string(StoredStateName(task)), SqlCount(task.status.key.lease),
                SqlCount(AttemptsStarted(task)), task.add ? added.c_str() : nullptr,
                SqlCount(task.status.key.hlc.time));
          }
        }
        out.complete();
      }
      txn.exec("INSERT INTO live_tasks (queue, id) SELECT queue, id FROM tasks WHERE live");
      {
        std::vector<std::pair<std::string_view, QueueTally>> tallies;
        for (const auto& [name, slot] : state.queues()) {
          tallies.emplace_back(name, QueueTally{slot.task_count, slot.finished});
        }
        PutTallies(txn, tallies);
      }
      {
        pqxx::stream_to out(txn, "rejected", std::vector<std::string>{"event_id", "reason"});
        for (const auto& [id, reason] : state.rejected()) {
          out << std::make_tuple(id.ToString(), ByteaHexLiteral(reason));
        }
        out.complete();
      }
      {
        pqxx::stream_to out(txn, "queue_digests", std::vector<std::string>{"queue", "digest"});
        for (const auto& [name, slot] : state.queues()) {
          if (slot.digest.IsZero()) continue;
          out << std::make_tuple(ByteaHexLiteral(name), slot.digest.ToHex());
        }
        out.complete();
      }
      txn.exec_prepared("st_set_summary", state.total_digest().ToHex(),
                        static_cast<int64_t>(checkpoint));
      txn.commit();
      return Status::Ok();
    });
  }

  // Writes the tallies and the live flags of every stored register, once,
  // for a store written before they were kept.
  Status TallyStored() {
    return session_->Run("TallyStored", [&](pqxx::connection_base& conn) {
      pqxx::work txn(conn);
      if (txn.exec_prepared1("st_tallied")[0].as<bool>()) return Status::Ok();
      std::map<std::string, QueueRecord> queues;
      for (const pqxx::row& row : txn.exec_prepared("st_list_queues")) {
        PIGTAIL_ASSIGN_OR_RETURN(QueueRecord q, QueueField(row[0]));
        queues.emplace(q.name, std::move(q));
      }
      std::map<std::string, QueueTally> tallies;
      for (const auto& [name, q] : queues) tallies.try_emplace(name);
      // Every row is written again, with its columns filled.
      TaskColumns task_rows;
      auto put_rows = [&] {
        if (task_rows[0].size() == 0) return;
        std::apply([&](auto&... c) { txn.exec_prepared("st_put_tasks", c.Take()...); }, task_rows);
      };
      PIGTAIL_RETURN_IF_ERROR(PageTasks(
          txn, "st_page_tasks_first", "st_page_tasks", [&](const pqxx::row& row) -> Status {
            const std::string value = ByteaField(row[2]);
            Result<TaskRecord> t = DecodeTaskRecord(value);
            if (!t.ok()) return t.status().WithContext("stored task register");
            auto queue = queues.find(t->queue);
            tallies[t->queue].Count(*t, queue == queues.end() ? nullptr : &queue->second);
            AddTaskRow(*t, value, task_rows);
            if (task_rows[0].size() >= kChunkRows) put_rows();
            return Status::Ok();
          }));
      put_rows();
      std::vector<std::pair<std::string_view, QueueTally>> rows(tallies.begin(), tallies.end());
      PutTallies(txn, rows);
      txn.exec_prepared("st_set_tallied");
      txn.commit();
      return Status::Ok();
    });
  }

 private:
  static void PutTallies(pqxx::work& txn,
                         const std::vector<std::pair<std::string_view, QueueTally>>& tallies) {
    ExecChunked<5>(txn, "st_put_tallies", tallies.size(), [&](size_t i, auto& c) {
      const auto& [name, tally] = tallies[i];
      c[0].AddBytea(name);
      c[1].AddInt(SqlCount(tally.tasks));
      c[2].AddInt(SqlCount(tally.finished.done));
      c[3].AddInt(SqlCount(tally.finished.dead));
      c[4].AddInt(SqlCount(tally.finished.cancelled));
    });
  }

  // The queues' digests and tallies, then the tasks memory holds
  // (State::PutStoredTally): every task of a queue without a register or
  // not alive, then the live ones. `counted` after each task read.
  template <typename Counted>
  Status LoadTallied(pqxx::transaction_base& txn, State* state, Counted&& counted) {
    std::map<std::string, Digest> digests;
    for (const pqxx::row& row : txn.exec_prepared("st_digests")) {
      PIGTAIL_ASSIGN_OR_RETURN(digests[ByteaField(row[0])], DigestField(row[1]));
    }
    std::map<std::string, QueueTally> tallies;
    for (const pqxx::row& row : txn.exec_prepared("st_tallies")) {
      QueueTally& t = tallies[ByteaField(row[0])];
      PIGTAIL_ASSIGN_OR_RETURN(t.tasks, U64Field(row[1]));
      PIGTAIL_ASSIGN_OR_RETURN(t.finished.done, U64Field(row[2]));
      PIGTAIL_ASSIGN_OR_RETURN(t.finished.dead, U64Field(row[3]));
      PIGTAIL_ASSIGN_OR_RETURN(t.finished.cancelled, U64Field(row[4]));
    }
    const std::vector<std::string> queues = PutStoredTallies(state, digests, tallies);
    auto put = [&](const pqxx::field& value) -> Status {
      PIGTAIL_ASSIGN_OR_RETURN(TaskRecord t, TaskField(value));
      PIGTAIL_RETURN_IF_ERROR(state->PutTalliedTask(std::move(t)));
      counted();
      return Status::Ok();
    };
    for (const std::string& name : queues) {
      const QueueRecord* queue = state->FindQueue(name);
      if (queue != nullptr && queue->alive) continue;
      for (const pqxx::row& row : txn.exec_prepared("st_queue_tasks", Bytes(name))) {
        PIGTAIL_RETURN_IF_ERROR(put(row[0]));
      }
    }
    // The live tasks in live_tasks' heap order, by a cursor: a sequential
    // scan steps over the rows of tasks finished since autovacuum last
    // visited live_tasks far faster than a scan of its index in key order
    // (a heap visit each). Each task's row is one probe of tasks' key,
    // whatever the planner thinks of the two tables' sizes.
    txn.exec(
        "DECLARE live_cursor NO SCROLL CURSOR FOR SELECT (SELECT value FROM tasks t "
        "WHERE t.queue = l.queue AND t.id = l.id) FROM live_tasks l");
    for (;;) {
      const pqxx::result page =
          txn.exec("FETCH " + std::to_string(kLoadPageRows) + " FROM live_cursor");
      for (const pqxx::row& row : page) PIGTAIL_RETURN_IF_ERROR(put(row[0]));
      if (page.size() < static_cast<size_t>(kLoadPageRows)) break;
    }
    txn.exec("CLOSE live_cursor");
    return Status::Ok();
  }

  Result<DigestSummary> Summary(bool with_queues) {
    DigestSummary out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("Digests", [&](pqxx::connection_base& conn) {
      out = DigestSummary{};
      pqxx::read_transaction txn(conn);
      const pqxx::row s = txn.exec_prepared1("st_summary");
      PIGTAIL_ASSIGN_OR_RETURN(out.total, DigestField(s[0]));
      PIGTAIL_ASSIGN_OR_RETURN(out.checkpoint, CheckpointField(s[1]));
      if (!with_queues) return Status::Ok();
      for (const pqxx::row& row : txn.exec_prepared("st_digests")) {
        PIGTAIL_ASSIGN_OR_RETURN(Digest d, DigestField(row[1]));
        out.queues[ByteaField(row[0])] = d;
      }
      return Status::Ok();
    }));
    return out;
  }

  std::unique_ptr<PgSession> session_;
  std::unique_ptr<PgSession> reads_;  // see the top of the file
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenPostgresStateStore(std::string_view uri,
                                                           const BackendOptions& options) {
  PIGTAIL_ASSIGN_OR_RETURN(
      std::unique_ptr<PgSession> session,
      PgSession::Open(uri, options.postgres_schema, StateStatements(), options));
  auto store = std::make_unique<PostgresStateStore>(std::move(session));
  PIGTAIL_RETURN_IF_ERROR(store->TallyStored());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace pigtail
