// Table files written beside a RocksDB database and then ingested into it:
// the fastest way to put many sorted keys into an empty column family. No
// memtable, no write-ahead log and no flush; each file is written by one
// thread, so files of disjoint key ranges can be written in parallel.
// Internal to backends/.
//
// The files live in a staging directory inside the database's
// (kStagingSubdir) until IngestTableFiles moves them in. A crash leaves
// them there; RemoveStagedTableFiles deletes them.
#ifndef PIGTAIL_BACKENDS_ROCKSDB_TABLE_FILES_H_
#define PIGTAIL_BACKENDS_ROCKSDB_TABLE_FILES_H_

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace pigtail::rocks {

inline constexpr std::string_view kStagingSubdir = "bulk_load";

// One table file of a column family, its keys added in strictly increasing
// order. Not thread-safe; distinct writers may run on distinct threads.
class TableFileWriter {
 public:
  // A writer of the file `name` in `db`'s staging directory (created if
  // missing), with the family's options (its compression everywhere, even
  // where the family names another for its bottommost level).
  static Result<std::unique_ptr<TableFileWriter>> Open(rocksdb::DB* db,
                                                       rocksdb::ColumnFamilyHandle* family,
                                                       const std::string& name);

  // REQUIRES: key greater than every key added before.
  Status Put(const rocksdb::Slice& key, const rocksdb::Slice& value);

  // Writes the file's index and footer and syncs it. A writer that was given
  // no key writes nothing (RocksDB refuses an empty table file); path() is
  // then empty.
  Status Finish();

  // The finished file, or "" when it holds no key.
  const std::string& path() const { return finished_path_; }

 private:
  TableFileWriter(std::unique_ptr<rocksdb::SstFileWriter> writer, std::string path)
      : writer_(std::move(writer)), path_(std::move(path)) {}

  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  std::string path_;
  std::string finished_path_;
  bool empty_ = true;
};

// The finished files of one column family; their key ranges must not
// overlap.
struct FamilyTableFiles {
  rocksdb::ColumnFamilyHandle* family = nullptr;
  std::vector<std::string> paths;  // "" entries are skipped
};

// Moves every file into the database, all families or none (one record in
// the MANIFEST), each file at the lowest level its keys allow. Ingested
// keys are newer than every key the families held before.
Status IngestTableFiles(rocksdb::DB* db, const std::vector<FamilyTableFiles>& files);

// Deletes `db`'s staging directory and whatever a crash left in it.
Status RemoveStagedTableFiles(rocksdb::DB* db);

}  // namespace pigtail::rocks

#endif  // PIGTAIL_BACKENDS_ROCKSDB_TABLE_FILES_H_
