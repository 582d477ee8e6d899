// PostgreSQL EventStore: see backends/postgres_store.h and
// backends/postgres_migrations.cc for the tables.
//
// Append runs as one transaction: it locks the counter row (so concurrent
// appenders, even from other processes, serialize and sequence numbers stay
// consecutive), finds which ids are already stored, inserts the new events, updates the dependency
// waits and the counter, and commits. New rows go in with COPY (pqxx::stream_to). Thread safety and
// reconnection: PgSession.
#include <algorithm>
#include <limits>
#include <pqxx/pqxx>
#include <set>
#include <type_traits>
#include <unordered_set>

#include "backends/postgres_session.h"
#include "backends/postgres_store.h"
#include "backends/postgres_values.h"

namespace pigtail {
namespace {

// The next entry of an event: the latest-appended event whose prev it is.
#define PIGTAIL_PG_NEXT_OF_E \
  "(SELECT n.id FROM events n WHERE n.prev = e.id ORDER BY n.seq DESC LIMIT 1)"

// The log's owners, as `owners(owner)` with a NULL last, one index probe
// each (a loose index scan of events_owner_when).
#define PIGTAIL_PG_OWNERS                                                      \
  "WITH RECURSIVE owners(owner) AS ((SELECT owner FROM events ORDER BY owner " \
  "LIMIT 1) UNION ALL SELECT (SELECT e.owner FROM events e WHERE e.owner > "   \
  "o.owner ORDER BY e.owner LIMIT 1) FROM owners o WHERE o.owner IS NOT NULL) "

std::vector<PgStatement> EventStatements() {
  return {
      {"ev_lock", "SELECT last_seq FROM event_counter WHERE one FOR UPDATE"},
      {"ev_existing", "SELECT id FROM events WHERE id = ANY($1::uuid[])"},
      {"ev_set_counter", "UPDATE event_counter SET last_seq = $1 WHERE one"},
      {"ev_clear_waits", "DELETE FROM event_waits WHERE dependency = ANY($1::uuid[])"},
      {"ev_add_waits",
       "INSERT INTO event_waits (dependency, waiter) "
       "SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING"},
      {"ev_get", "SELECT e.seq, e.raw, " PIGTAIL_PG_NEXT_OF_E " FROM events e WHERE e.id = $1"},
      {"ev_contains", "SELECT 1 FROM events WHERE id = $1"},
      // Heads and firsts: one probe of events_owner_when per owner (the
      // owners are walked with a recursive query, as PostgreSQL has no
      // skip scan), not a pass over the log as with DISTINCT ON: a node's
      // start reads its head, and took 1.1 s for it at 1M entries.
      {"ev_heads", PIGTAIL_PG_OWNERS
       "SELECT o.owner, (SELECT e.id FROM events e WHERE e.owner = o.owner "
       "ORDER BY e.when_hlc DESC, e.id DESC LIMIT 1) FROM owners o WHERE o.owner IS NOT NULL"},
      {"ev_firsts", PIGTAIL_PG_OWNERS
       "SELECT * FROM (SELECT o.owner, (SELECT e.id FROM events e WHERE e.owner = o.owner "
       "AND e.prev IS NULL ORDER BY e.when_hlc, e.id LIMIT 1) AS id FROM owners o "
       "WHERE o.owner IS NOT NULL) f WHERE f.id IS NOT NULL ORDER BY f.owner"},
      {"ev_scan_owner", "SELECT e.seq, e.raw, " PIGTAIL_PG_NEXT_OF_E
                        " FROM events e WHERE e.owner = $1 ORDER BY e.when_hlc, e.id LIMIT $2"},
      {"ev_scan_owner_after", "SELECT e.seq, e.raw, " PIGTAIL_PG_NEXT_OF_E
                              " FROM events e WHERE e.owner = $1 AND e.when_hlc > $2 "
                              "ORDER BY e.when_hlc, e.id LIMIT $3"},
      {"ev_holes",
       "SELECT e.prev FROM events e WHERE e.owner = $1 AND e.prev IS NOT NULL "
       "AND NOT EXISTS (SELECT 1 FROM events p WHERE p.id = e.prev) "
       "ORDER BY e.when_hlc, e.id"},
      {"ev_scan", "SELECT e.seq, e.raw, " PIGTAIL_PG_NEXT_OF_E
                  " FROM events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2"},
      {"ev_last", "SELECT last_seq FROM event_counter WHERE one"},
      {"ev_waiting", "SELECT waiter FROM event_waits WHERE dependency = $1 ORDER BY waiter"},
      {"meta_get", "SELECT value FROM meta WHERE key = $1"},
      {"meta_put",
       "INSERT INTO meta (key, value) VALUES ($1, $2) "
       "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"},
      {"meta_delete", "DELETE FROM meta WHERE key = $1"},
  };
}

#undef PIGTAIL_PG_NEXT_OF_E

const std::vector<std::string>& EventColumns() {
  static const auto* columns =
      new std::vector<std::string>{"seq", "id", "owner", "prev", "when_hlc", "raw"};
  return *columns;
}

int64_t SqlLimit(size_t limit) {
  return static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

// A row (seq, raw, next) as a StoredEvent (parsed) or a RawRecord.
template <typename Record>
Result<Record> ToRecord(const pqxx::row& row) {
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t seq, U64Field(row[0]));
  std::optional<Uuid> next;
  if (!row[2].is_null()) {
    PIGTAIL_ASSIGN_OR_RETURN(next, UuidField(row[2]));
  }
  if constexpr (std::is_same_v<Record, RawRecord>) {
    return RawRecordFromBytes(seq, ByteaField(row[1]), next);
  } else {
    Result<Event> event = ParseEvent(ByteaField(row[1]));
    if (!event.ok()) {
      return Status::Corruption("stored event " + std::to_string(seq) +
                                " does not parse: " + event.status().message());
    }
    return StoredEvent{seq, std::move(event).value(), next};
  }
}

template <typename Record>
Status ToRecords(const pqxx::result& rows, std::vector<Record>* out) {
  out->reserve(rows.size());
  for (const pqxx::row& row : rows) {
    PIGTAIL_ASSIGN_OR_RETURN(Record e, ToRecord<Record>(row));
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

Status ToOwnerMap(const pqxx::result& rows, std::map<Uuid, Uuid>* out) {
  for (const pqxx::row& row : rows) {
    PIGTAIL_ASSIGN_OR_RETURN(Uuid owner, UuidField(row[0]));
    PIGTAIL_ASSIGN_OR_RETURN(Uuid id, UuidField(row[1]));
    (*out)[owner] = id;
  }
  return Status::Ok();
}

class PostgresEventStore final : public EventStore {
 public:
  explicit PostgresEventStore(std::unique_ptr<PgSession> session) : session_(std::move(session)) {}

  bool IsRemote() const override { return true; }

  Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool sync) override {
    std::vector<uint64_t> seqs(events.size(), 0);
    if (events.empty()) return seqs;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("Append", [&](pqxx::connection_base& conn) {
      std::fill(seqs.begin(), seqs.end(), 0);
      pqxx::work txn(conn);
      txn.exec(sync ? "SET LOCAL synchronous_commit = on" : "SET LOCAL synchronous_commit = off");
      const int64_t last = txn.exec_prepared1("ev_lock")[0].as<int64_t>();

      // Which of the batch's ids and dependencies are stored already.
      PgArrayBuilder probe;
      for (const Event& e : events) {
        probe.AddUuid(e.id);
        for (const Uuid& d : e.dependencies) probe.AddUuid(d);
      }
      std::unordered_set<Uuid> stored;
      for (const pqxx::row& row : txn.exec_prepared("ev_existing", probe.Take())) {
        PIGTAIL_ASSIGN_OR_RETURN(Uuid id, UuidField(row[0]));
        stored.insert(id);
      }

      // New events in input order; a repeat within the batch is a no-op.
      std::vector<size_t> fresh;
      std::unordered_set<Uuid> fresh_ids;
      for (size_t i = 0; i < events.size(); ++i) {
        if (stored.contains(events[i].id) || !fresh_ids.insert(events[i].id).second) continue;
        fresh.push_back(i);
      }
      if (fresh.empty()) return Status::Ok();

      // COPY the new rows: every id was checked absent under the counter
      // lock, which every appender holds, so none can conflict. (Should one
      // anyway, the unique index fails the whole transaction: nothing is
      // stored.)
      int64_t next_seq = last;
      {
        pqxx::stream_to out(txn, "events", EventColumns());
        for (size_t i : fresh) {
          const Event& e = events[i];
          seqs[i] = static_cast<uint64_t>(++next_seq);
          std::optional<std::string> prev;
          if (e.prev) prev = e.prev->ToString();
          out << std::make_tuple(next_seq, e.id.ToString(), e.owner.ToString(), prev,
                                 ByteaHexLiteral(e.when.Encoded()), ByteaHexLiteral(e.raw));
        }
        out.complete();
      }

      // Dependency waits: arrivals satisfy waits on them; new events wait on
      // dependencies that are neither stored nor in this batch.
      PgArrayBuilder arrived;
      for (size_t i : fresh) arrived.AddUuid(events[i].id);
      txn.exec_prepared("ev_clear_waits", arrived.Take());
      PgArrayBuilder dep_col, waiter_col;
      for (size_t i : fresh) {
        for (const Uuid& d : events[i].dependencies) {
          if (stored.contains(d) || fresh_ids.contains(d)) continue;
          dep_col.AddUuid(d);
          waiter_col.AddUuid(events[i].id);
        }
      }
      if (dep_col.size() > 0) txn.exec_prepared("ev_add_waits", dep_col.Take(), waiter_col.Take());

      txn.exec_prepared("ev_set_counter", next_seq);
      txn.commit();
      return Status::Ok();
    }));
    return seqs;
  }

  Result<std::optional<StoredEvent>> Get(const Uuid& id) override { return GetAs<StoredEvent>(id); }
  Result<std::optional<RawRecord>> GetRaw(const Uuid& id) override { return GetAs<RawRecord>(id); }

  Result<bool> Contains(const Uuid& id) override {
    bool found = false;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("Contains", [&](pqxx::connection_base& conn) {
      pqxx::read_transaction txn(conn);
      found = !txn.exec_prepared("ev_contains", id.ToString()).empty();
      return Status::Ok();
    }));
    return found;
  }

  Result<std::map<Uuid, Uuid>> Heads() override { return OwnerMap("Heads", "ev_heads"); }
  Result<std::map<Uuid, Uuid>> Firsts() override { return OwnerMap("Firsts", "ev_firsts"); }

  Result<std::vector<StoredEvent>> ScanOwner(const Uuid& owner, const std::optional<Hlc>& after,
                                             size_t limit) override {
    return ScanOwnerAs<StoredEvent>(owner, after, limit);
  }
  Result<std::vector<RawRecord>> ScanOwnerRaw(const Uuid& owner, const std::optional<Hlc>& after,
                                              size_t limit) override {
    return ScanOwnerAs<RawRecord>(owner, after, limit);
  }

  Result<std::vector<Uuid>> Holes(const Uuid& owner) override {
    std::vector<Uuid> out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("Holes", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      for (const pqxx::row& row : txn.exec_prepared("ev_holes", owner.ToString())) {
        PIGTAIL_ASSIGN_OR_RETURN(Uuid id, UuidField(row[0]));
        out.push_back(id);
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<StoredEvent>> Scan(uint64_t after_seq, size_t limit) override {
    return ScanAs<StoredEvent>(after_seq, limit);
  }
  Result<std::vector<RawRecord>> ScanRaw(uint64_t after_seq, size_t limit) override {
    return ScanAs<RawRecord>(after_seq, limit);
  }

  Result<uint64_t> LastSequence() override {
    uint64_t last = 0;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("LastSequence", [&](pqxx::connection_base& conn) {
      pqxx::read_transaction txn(conn);
      PIGTAIL_ASSIGN_OR_RETURN(last, U64Field(txn.exec_prepared1("ev_last")[0]));
      return Status::Ok();
    }));
    return last;
  }

  // Events are never deleted and get consecutive numbers from 1, so the
  // count is the last sequence number (and costs no table scan).
  Result<uint64_t> Count() override { return LastSequence(); }

  Result<std::vector<Uuid>> WaitingOn(const Uuid& dependency) override {
    std::vector<Uuid> out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("WaitingOn", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      for (const pqxx::row& row : txn.exec_prepared("ev_waiting", dependency.ToString())) {
        PIGTAIL_ASSIGN_OR_RETURN(Uuid id, UuidField(row[0]));
        out.push_back(id);
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    std::optional<std::string> out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("GetMeta", [&](pqxx::connection_base& conn) {
      pqxx::read_transaction txn(conn);
      const pqxx::result r =
          txn.exec_prepared("meta_get", pqxx::binarystring(key.data(), key.size()));
      if (!r.empty()) out = ByteaField(r[0][0]);
      return Status::Ok();
    }));
    return out;
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    return session_->Run("PutMeta", [&](pqxx::connection_base& conn) {
      pqxx::work txn(conn);
      txn.exec_prepared("meta_put", pqxx::binarystring(key.data(), key.size()),
                        pqxx::binarystring(value.data(), value.size()));
      txn.commit();
      return Status::Ok();
    });
  }

  Status DeleteMeta(std::string_view key) override {
    return session_->Run("DeleteMeta", [&](pqxx::connection_base& conn) {
      pqxx::work txn(conn);
      txn.exec_prepared("meta_delete", pqxx::binarystring(key.data(), key.size()));
      txn.commit();
      return Status::Ok();
    });
  }

 private:
  // Get, ScanOwner and Scan, as parsed events (StoredEvent) or as stored
  // records (RawRecord).
  template <typename Record>
  Result<std::optional<Record>> GetAs(const Uuid& id) {
    std::optional<Record> out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("Get", [&](pqxx::connection_base& conn) {
      pqxx::read_transaction txn(conn);
      const pqxx::result r = txn.exec_prepared("ev_get", id.ToString());
      if (r.empty()) return Status::Ok();
      PIGTAIL_ASSIGN_OR_RETURN(out, ToRecord<Record>(r[0]));
      return Status::Ok();
    }));
    return out;
  }

  template <typename Record>
  Result<std::vector<Record>> ScanOwnerAs(const Uuid& owner, const std::optional<Hlc>& after,
                                          size_t limit) {
    std::vector<Record> out;
    if (limit == 0) return out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run("ScanOwner", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      const pqxx::result r =
          after ? txn.exec_prepared("ev_scan_owner_after", owner.ToString(),
                                    pqxx::binarystring(after->Encoded()), SqlLimit(limit))
                : txn.exec_prepared("ev_scan_owner", owner.ToString(), SqlLimit(limit));
      return ToRecords(r, &out);
    }));
    return out;
  }

  template <typename Record>
  Result<std::vector<Record>> ScanAs(uint64_t after_seq, size_t limit) {
    std::vector<Record> out;
    if (limit == 0 || after_seq >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return out;
    }
    PIGTAIL_RETURN_IF_ERROR(session_->Run("Scan", [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      return ToRecords(
          txn.exec_prepared("ev_scan", static_cast<int64_t>(after_seq), SqlLimit(limit)), &out);
    }));
    return out;
  }

  Result<std::map<Uuid, Uuid>> OwnerMap(std::string_view what, const char* statement) {
    std::map<Uuid, Uuid> out;
    PIGTAIL_RETURN_IF_ERROR(session_->Run(what, [&](pqxx::connection_base& conn) {
      out.clear();
      pqxx::read_transaction txn(conn);
      return ToOwnerMap(txn.exec_prepared(statement), &out);
    }));
    return out;
  }

  std::unique_ptr<PgSession> session_;
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(std::string_view uri,
                                                           const BackendOptions& options) {
  PIGTAIL_ASSIGN_OR_RETURN(
      std::unique_ptr<PgSession> session,
      PgSession::Open(uri, options.postgres_schema, EventStatements(), options));
  return std::unique_ptr<EventStore>(new PostgresEventStore(std::move(session)));
}

}  // namespace pigtail
