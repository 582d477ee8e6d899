#include "backends/postgres_migrations.h"

#include <pqxx/pqxx>
#include <span>

namespace pigtail {
namespace {

struct Migration {
  int version;
  const char* sql;  // runs with search_path set to the store's schema
};

// Append only: never edit a migration that has shipped.
constexpr Migration kMigrations[] = {
    {1, R"sql(
-- Event log. seq is assigned by Append, consecutive from 1, under the row
-- lock on event_counter. when_hlc is Hlc::Encoded (16 bytes big-endian), so
-- bytea order is HLC order. raw holds the event's bytes exactly as received.
CREATE TABLE events (
  seq bigint PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  owner uuid NOT NULL,
  prev uuid,
  when_hlc bytea NOT NULL,
  raw bytea NOT NULL
);
CREATE INDEX events_owner_when ON events (owner, when_hlc, id);
-- (prev, seq): finds an event's next (the latest with that prev) in one probe.
CREATE INDEX events_prev ON events (prev, seq) WHERE prev IS NOT NULL;
CREATE TABLE event_counter (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_seq bigint NOT NULL
);
INSERT INTO event_counter (one, last_seq) VALUES (true, 0);
-- (dependency, waiter): stored event `waiter` names `dependency`, which is
-- not stored yet. Rows for a dependency go when it arrives.
CREATE TABLE event_waits (
  dependency uuid NOT NULL,
  waiter uuid NOT NULL,
  PRIMARY KEY (dependency, waiter)
);
CREATE TABLE meta (
  key bytea PRIMARY KEY,
  value bytea NOT NULL
);

-- Projected state. Values are the canonical encodings of core/codec.h;
-- names are bytea because they may hold any bytes, NUL included.
CREATE TABLE queues (
  name bytea PRIMARY KEY,
  value bytea NOT NULL
);
CREATE TABLE tasks (
  queue bytea NOT NULL,
  id uuid NOT NULL,
  value bytea NOT NULL,
  PRIMARY KEY (queue, id)
);
CREATE TABLE rejected (
  event_id uuid PRIMARY KEY,
  reason bytea NOT NULL
);
-- Digests as 32 hex digits (Digest::ToHex); only non-zero queue digests.
CREATE TABLE queue_digests (
  queue bytea PRIMARY KEY,
  digest text NOT NULL
);
CREATE TABLE state_summary (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  total_digest text NOT NULL,
  checkpoint bigint NOT NULL
);
INSERT INTO state_summary (one, total_digest, checkpoint)
  VALUES (true, '00000000000000000000000000000000', 0);
)sql"},
    {2, R"sql(
-- Each task's register decoded into columns an operator can query
-- (docs/postgres_schema.md; `value` stays the register), and what lets a
-- node read only the live tasks at start (core/queue_tally.h): tasks.live,
-- the task may still run, and the queue tallies. Rows written before this
-- migration hold NULL in the new columns until the store's next open
-- fills them and the tallies, and sets state_summary.tallied.
ALTER TABLE tasks
  ADD COLUMN live boolean,
  ADD COLUMN queue_name text,
  ADD COLUMN task_name text,
  ADD COLUMN state text,
  ADD COLUMN lease bigint,
  ADD COLUMN attempts bigint,
  ADD COLUMN added_ns bigint,
  ADD COLUMN updated_ns bigint,
  ADD COLUMN added_at timestamptz
    GENERATED ALWAYS AS (to_timestamp(added_ns::double precision / 1e9)) STORED,
  ADD COLUMN updated_at timestamptz
    GENERATED ALWAYS AS (to_timestamp(updated_ns::double precision / 1e9)) STORED;
CREATE INDEX tasks_live ON tasks (queue, id) WHERE live;
CREATE TABLE queue_tallies (
  queue bytea PRIMARY KEY,
  tasks bigint NOT NULL,
  done bigint NOT NULL,
  dead bigint NOT NULL,
  cancelled bigint NOT NULL
);
ALTER TABLE state_summary ADD COLUMN tallied boolean NOT NULL DEFAULT false;
)sql"},
    {3, R"sql(
-- The keys of the live tasks, which a node reads at start. The partial
-- index on tasks.live it replaces kept an entry for every task finished
-- since VACUUM last reached tasks, a table of every task ever stored that
-- autovacuum visits once a fifth of its rows are dead, so a start after
-- millions of lifecycles spent seconds skipping them. This table is as
-- small as the live set, and autovacuum visits it every 10,000 dead rows.
CREATE TABLE live_tasks (
  queue bytea NOT NULL,
  id uuid NOT NULL,
  PRIMARY KEY (queue, id)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
INSERT INTO live_tasks (queue, id) SELECT queue, id FROM tasks WHERE live;
DROP INDEX tasks_live;
)sql"},
};

// First key of the advisory lock: "pigt". The second is hashtext(schema).
constexpr int kLockClass = 0x70696774;

}  // namespace

int LatestPgSchemaVersion() { return std::span(kMigrations).back().version; }

Status ApplyPgMigrations(pqxx::connection_base& conn, const std::string& schema, bool* created) {
  if (created != nullptr) *created = false;
  const std::string quoted = conn.quote_name(schema);
  // Bounded: each round applies one migration or returns.
  for (size_t round = 0; round <= std::size(kMigrations); ++round) {
    pqxx::work txn(conn);
    txn.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", kLockClass, schema);
    txn.exec("CREATE SCHEMA IF NOT EXISTS " + quoted);
    txn.exec("SET LOCAL search_path TO " + quoted);
    txn.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version integer PRIMARY KEY,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    const int current =
        txn.exec1("SELECT coalesce(max(version), 0) FROM schema_version")[0].as<int>();
    if (current > LatestPgSchemaVersion()) {
      return Status::FailedPrecondition("PostgreSQL schema " + schema + " is at version " +
                                        std::to_string(current) + ", newer than this binary's " +
                                        std::to_string(LatestPgSchemaVersion()));
    }
    const Migration* next = nullptr;
    for (const Migration& m : kMigrations) {
      if (m.version > current) {
        next = &m;
        break;
      }
    }
    if (next == nullptr) {
      txn.commit();
      return Status::Ok();
    }
    txn.exec(next->sql);
    txn.exec_params("INSERT INTO schema_version (version) VALUES ($1)", next->version);
    txn.commit();
    if (created != nullptr && current == 0) *created = true;
  }
  return Status::Internal("migrations did not converge");
}

Status CheckPgStore(pqxx::connection_base& conn, const std::string& schema) {
  pqxx::read_transaction txn(conn);
  const bool has_version =
      txn.exec_params1("SELECT to_regclass(quote_ident($1) || '.schema_version') IS NOT NULL",
                       schema)[0]
          .as<bool>();
  int current = 0;
  if (has_version) {
    current = txn.exec1("SELECT coalesce(max(version), 0) FROM " + conn.quote_name(schema) +
                        ".schema_version")[0]
                  .as<int>();
  }
  if (current == 0) {
    return Status::NotFound("no Pigtail store in schema " + schema +
                            " of this database (nothing was created)");
  }
  if (current != LatestPgSchemaVersion()) {
    return Status::FailedPrecondition(
        "PostgreSQL schema " + schema + " is at version " + std::to_string(current) +
        "; this binary reads version " + std::to_string(LatestPgSchemaVersion()) +
        (current < LatestPgSchemaVersion() ? " (open it once with pigtaild to migrate it)" : ""));
  }
  return Status::Ok();
}

}  // namespace pigtail
