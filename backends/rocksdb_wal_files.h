// Write-ahead log files that are zero-filled ahead of the writes. Internal
// to backends/.
//
// A synced write to RocksDB appends to its write-ahead log and calls
// fdatasync. When the append grows the file, ext4 must commit the new size
// to its journal before fdatasync returns: a second device flush, and a
// wake-up of the journal thread, on every synced write. PostgreSQL avoids
// that by filling each WAL segment with zeros when it creates it, so that
// its writes overwrite blocks the file already has.
//
// ZeroFilledWalFileSystem does the same for RocksDB: the write-ahead log
// files it creates (NNNNNN.log) are extended with zeros a chunk at a time,
// ahead of the writes, so most synced writes change no metadata. A chunk's
// first sync commits its size once. The other files go to the wrapped file
// system unchanged.
//
// The zeros past the last write are harmless to recovery: RocksDB's log
// format reserves record type 0 with length 0 for preallocated space, and
// its reader skips such a block without reporting a drop. A clean close
// truncates the file to what was written.
//
// Contract: a database that uses it syncs every write before it writes the
// next (BackendOptions::rocksdb_log_wal_zero_fill). After an OS crash, of
// the unsynced writes over zeros only the pages that reached the disk
// remain, whichever they were: a later record could outlive an earlier
// one, a hole that RocksDB's reader would skip past. Appends to a growing
// file cannot leave one, as ext4 writes their data before it commits the
// size that covers them. Nothing reopens a write-ahead log to append to it
// (avoid_flush_during_recovery stays false, WAL recycling stays off), and
// writes are buffered (no direct I/O, no mmap).
#ifndef PIGTAIL_BACKENDS_ROCKSDB_WAL_FILES_H_
#define PIGTAIL_BACKENDS_ROCKSDB_WAL_FILES_H_

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <cstdint>
#include <memory>
#include <string>

namespace pigtail::rocks {

class ZeroFilledWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  // Bytes of zeros added at a time.
  static constexpr uint64_t kChunkBytes = 4 << 20;

  explicit ZeroFilledWalFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base);

  static const char* kClassName() { return "PigtailZeroFilledWal"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
};

// Whether `path` names a RocksDB write-ahead log file (NNNNNN.log).
bool IsWalFile(const std::string& path);

// The default Env with ZeroFilledWalFileSystem for files, for the log
// databases opened with BackendOptions::rocksdb_log_wal_zero_fill. Lives as
// long as the process.
rocksdb::Env* WalZeroFillingEnv();

}  // namespace pigtail::rocks

#endif  // PIGTAIL_BACKENDS_ROCKSDB_WAL_FILES_H_
