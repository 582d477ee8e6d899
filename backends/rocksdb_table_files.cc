#include "backends/rocksdb_table_files.h"

#include <filesystem>
#include <system_error>

#include "backends/rocksdb_options.h"

namespace pigtail::rocks {
namespace {

std::filesystem::path StagingDir(rocksdb::DB* db) {
  return std::filesystem::path(db->GetName()) / kStagingSubdir;
}

}  // namespace

Result<std::unique_ptr<TableFileWriter>> TableFileWriter::Open(rocksdb::DB* db,
                                                               rocksdb::ColumnFamilyHandle* family,
                                                               const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(StagingDir(db), ec);
  if (ec) {
    return Status::IOError("create " + StagingDir(db).string() + ": " + ec.message());
  }
  rocksdb::Options options = db->GetOptions(family);
  // A family may compress its bottommost level harder, and SstFileWriter
  // would use that; these files are written on the critical path.
  options.bottommost_compression = options.compression;
  // The pages just written are read again soon (a replay's check, a start).
  auto writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(options), options,
                                                         family, /*invalidate_page_cache=*/false);
  std::string path = (StagingDir(db) / name).string();
  PIGTAIL_RETURN_IF_ERROR(FromRocks(writer->Open(path), "open table file"));
  return std::unique_ptr<TableFileWriter>(new TableFileWriter(std::move(writer), std::move(path)));
}

Status TableFileWriter::Put(const rocksdb::Slice& key, const rocksdb::Slice& value) {
  empty_ = false;
  return FromRocks(writer_->Put(key, value), "write table file");
}

Status TableFileWriter::Finish() {
  if (empty_) {
    // Nothing was written to the file; RocksDB's Finish would fail on it.
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    return Status::Ok();
  }
  PIGTAIL_RETURN_IF_ERROR(FromRocks(writer_->Finish(), "finish table file"));
  finished_path_ = path_;
  return Status::Ok();
}

Status IngestTableFiles(rocksdb::DB* db, const std::vector<FamilyTableFiles>& files) {
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (const FamilyTableFiles& f : files) {
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = f.family;
    for (const std::string& path : f.paths) {
      if (!path.empty()) arg.external_files.push_back(path);
    }
    if (arg.external_files.empty()) continue;
    arg.options.move_files = true;
    // Only this RocksDB and later read the files; the seqno goes in the
    // MANIFEST rather than into each file by a random write.
    arg.options.write_global_seqno = false;
    args.push_back(std::move(arg));
  }
  if (args.empty()) return Status::Ok();
  return FromRocks(db->IngestExternalFiles(args), "ingest table files");
}

Status RemoveStagedTableFiles(rocksdb::DB* db) {
  std::error_code ec;
  std::filesystem::remove_all(StagingDir(db), ec);
  if (ec) return Status::IOError("remove " + StagingDir(db).string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace pigtail::rocks
