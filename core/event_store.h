// EventStore: the append-only ingestion layer. Stores Potboiler events
// verbatim and indexes them by id, by owner chain and by a node-local ingest
// sequence number.
//
// Implementations: memory (core/memory_event_store.h), RocksDB and
// PostgreSQL (backends/). Chosen by URI (backends/registry.h).
//
// Thread safety: all methods may be called concurrently; Append calls are
// serialized internally. A Scan sees every event whose Append returned
// before the Scan started.
//
// Errors: methods return Unavailable when the backing server is unreachable,
// IOError for local I/O failures, Corruption for stored bytes that do not
// decode. An error from Append means none of the batch was stored.
#ifndef PIGTAIL_CORE_EVENT_STORE_H_
#define PIGTAIL_CORE_EVENT_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/hlc.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

// An event as stored, with the store's view of it.
struct StoredEvent {
  uint64_t seq = 0;          // node-local ingest sequence number, from 1
  Event event;               // event.raw holds the bytes exactly as received
  std::optional<Uuid> next;  // the owner's entry whose prev is this one, if stored
};

// An entry as stored, unparsed: what the paths that only move entries
// (GET /log/{id}, /log/range, push, export) read. `bytes` are exactly the
// bytes received; `next` is kept beside them, never written into them.
struct RawRecord {
  uint64_t seq = 0;
  Uuid id;
  Uuid owner;
  std::string bytes;
  std::optional<Uuid> next;
};

// A record from an entry's stored bytes: reads only the top-level "id" and
// "owner" members. Corruption (naming `seq`) when either is missing or is
// not a UUID string.
Result<RawRecord> RawRecordFromBytes(uint64_t seq, std::string bytes, std::optional<Uuid> next);
// The record of a parsed stored event (a copy of its bytes).
RawRecord RawRecordOf(const StoredEvent& stored);

class EventStore {
 public:
  virtual ~EventStore() = default;

  // True when every call is a round trip to a server (PostgreSQL), so a
  // caller that serves many clients on one thread makes it elsewhere. False
  // when calls read and write this process's memory and files.
  virtual bool IsRemote() const { return false; }

  // Appends `events` atomically: after a crash either all new ones are there
  // or none. An id already stored (or repeated earlier in the batch) is a
  // no-op. Returns, per input event, its new sequence number, or 0 if it was
  // already there. New events get consecutive numbers in input order.
  // When `sync` is true the batch is durable on return.
  virtual Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool sync) = 0;

  // As Append, for events whose ids the caller has just minted (random
  // UUIDs never handed out before): a store may skip looking those ids up.
  // REQUIRES: no id in `events` is stored or repeated within `events`.
  virtual Result<std::vector<uint64_t>> AppendNew(std::span<const Event> events, bool sync) {
    return Append(events, sync);
  }

  // The event with `id`, with `next` filled in; nullopt if absent.
  virtual Result<std::optional<StoredEvent>> Get(const Uuid& id) = 0;
  virtual Result<bool> Contains(const Uuid& id) = 0;

  // Per owner, the id of its entry with the greatest `when` (Potboiler's
  // GET /log).
  virtual Result<std::map<Uuid, Uuid>> Heads() = 0;
  // Per owner, the id of its entry whose prev is null (GET /log/first).
  virtual Result<std::map<Uuid, Uuid>> Firsts() = 0;
  // The owner's entries in `when` order, strictly after `after` (nullopt:
  // from the start), at most `limit`.
  virtual Result<std::vector<StoredEvent>> ScanOwner(const Uuid& owner,
                                                     const std::optional<Hlc>& after,
                                                     size_t limit) = 0;
  // Ids named as `prev` by a stored entry of `owner` that are not stored
  // themselves: the holes in the owner's chain.
  virtual Result<std::vector<Uuid>> Holes(const Uuid& owner) = 0;

  // Events with seq > after_seq in sequence order, at most `limit`.
  virtual Result<std::vector<StoredEvent>> Scan(uint64_t after_seq, size_t limit) = 0;
  // The same three reads as stored records, without parsing the entries.
  // The defaults go through Get, ScanOwner and Scan; a store that keeps the
  // bytes apart overrides them.
  virtual Result<std::optional<RawRecord>> GetRaw(const Uuid& id);
  virtual Result<std::vector<RawRecord>> ScanOwnerRaw(const Uuid& owner,
                                                      const std::optional<Hlc>& after,
                                                      size_t limit);
  virtual Result<std::vector<RawRecord>> ScanRaw(uint64_t after_seq, size_t limit);

  // The greatest sequence number assigned (0 if empty).
  virtual Result<uint64_t> LastSequence() = 0;
  virtual Result<uint64_t> Count() = 0;

  // Stored events that list `dependency` among their dependencies while it
  // is not stored. Empty once it arrives.
  virtual Result<std::vector<Uuid>> WaitingOn(const Uuid& dependency) = 0;

  // Small durable metadata (node id, registrations, peers). Keys and values
  // are arbitrary bytes.
  virtual Result<std::optional<std::string>> GetMeta(std::string_view key) = 0;
  virtual Status PutMeta(std::string_view key, std::string_view value) = 0;
  virtual Status DeleteMeta(std::string_view key) = 0;
};

// This node's id: read from metadata, or created and stored on first use.
Result<Uuid> EnsureNodeId(EventStore* store);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_EVENT_STORE_H_
