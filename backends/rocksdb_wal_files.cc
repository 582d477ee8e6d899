#include "backends/rocksdb_wal_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace pigtail::rocks {
namespace {

rocksdb::IOStatus ErrnoStatus(const std::string& what, const std::string& path, int error) {
  return rocksdb::IOStatus::IOError(what + " " + path + ": " + std::strerror(error));
}

// Writes all of [data, data + size) at `offset`.
rocksdb::IOStatus WriteAt(int fd, const char* data, size_t size, uint64_t offset,
                          const std::string& path) {
  while (size > 0) {
    const ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return rocksdb::IOStatus::OK();
}

// A write-ahead log file written in place over zeros: `written_` bytes of
// log, then zeros up to `filled_`. Used by one writer thread at a time
// (RocksDB's WritableFileWriter); Sync may also come from another thread.
class ZeroFilledWalFile : public rocksdb::FSWritableFile {
 public:
  ZeroFilledWalFile(int fd, std::string path, const rocksdb::FileOptions& options)
      : rocksdb::FSWritableFile(options), fd_(fd), path_(std::move(path)) {}
  ~ZeroFilledWalFile() override { (void)Close({}, nullptr); }

  using rocksdb::FSWritableFile::Append;
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& /*options*/,
                           rocksdb::IODebugContext* /*dbg*/) override {
    const uint64_t end = written_ + data.size();
    if (end > filled_) {
      rocksdb::IOStatus s = FillTo(end);
      if (!s.ok()) return s;
    }
    rocksdb::IOStatus s = WriteAt(fd_, data.data(), data.size(), written_, path_);
    if (s.ok()) written_ = end;
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& /*verification*/,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }

  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& /*options*/,
                             rocksdb::IODebugContext* /*dbg*/) override {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus("truncate", path_, errno);
    }
    written_ = size;
    filled_ = size;
    return rocksdb::IOStatus::OK();
  }

  // Drops the zeros past the log, so a closed file holds only records.
  rocksdb::IOStatus Close(const rocksdb::IOOptions& /*options*/,
                          rocksdb::IODebugContext* /*dbg*/) override {
    if (fd_ < 0) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s;
    if (filled_ > written_ && ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
      s = ErrnoStatus("truncate", path_, errno);
    }
    if (close(fd_) != 0 && s.ok()) s = ErrnoStatus("close", path_, errno);
    fd_ = -1;
    return s;
  }

  rocksdb::IOStatus Flush(const rocksdb::IOOptions& /*options*/,
                          rocksdb::IODebugContext* /*dbg*/) override {
    return rocksdb::IOStatus::OK();  // every Append is a write(2) already
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& /*options*/,
                         rocksdb::IODebugContext* /*dbg*/) override {
    if (fdatasync(fd_) != 0) return ErrnoStatus("sync", path_, errno);
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& /*options*/,
                          rocksdb::IODebugContext* /*dbg*/) override {
    if (fsync(fd_) != 0) return ErrnoStatus("sync", path_, errno);
    return rocksdb::IOStatus::OK();
  }
  bool IsSyncThreadSafe() const override { return true; }

  uint64_t GetFileSize(const rocksdb::IOOptions& /*options*/,
                       rocksdb::IODebugContext* /*dbg*/) override {
    return written_;
  }

 private:
  // Extends the zeros to cover `end`, a whole number of chunks.
  rocksdb::IOStatus FillTo(uint64_t end) {
    static const char kZeros[64 << 10] = {};
    const uint64_t chunk = ZeroFilledWalFileSystem::kChunkBytes;
    const uint64_t target = (end + chunk - 1) / chunk * chunk;
    while (filled_ < target) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), target - filled_));
      rocksdb::IOStatus s = WriteAt(fd_, kZeros, n, filled_, path_);
      if (!s.ok()) return s;
      filled_ += n;
    }
    return rocksdb::IOStatus::OK();
  }

  int fd_;
  const std::string path_;
  uint64_t written_ = 0;
  uint64_t filled_ = 0;
};

}  // namespace

ZeroFilledWalFileSystem::ZeroFilledWalFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base)
    : rocksdb::FileSystemWrapper(base) {}

rocksdb::IOStatus ZeroFilledWalFileSystem::NewWritableFile(
    const std::string& path, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  if (!IsWalFile(path) || options.use_direct_writes || options.use_mmap_writes) {
    return target()->NewWritableFile(path, options, result, dbg);
  }
  int fd;
  do {
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus("create", path, errno);
  *result = std::make_unique<ZeroFilledWalFile>(fd, path, options);
  return rocksdb::IOStatus::OK();
}

bool IsWalFile(const std::string& path) {
  // npos + 1 is 0: a name without a directory is taken whole.
  const std::string_view name = std::string_view(path).substr(path.find_last_of('/') + 1);
  constexpr std::string_view kSuffix = ".log";
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return false;
  const std::string_view number = name.substr(0, name.size() - kSuffix.size());
  return std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

rocksdb::Env* WalZeroFillingEnv() {
  static rocksdb::Env* const env =
      rocksdb::NewCompositeEnv(
          std::make_shared<ZeroFilledWalFileSystem>(rocksdb::FileSystem::Default()))
          .release();
  return env;
}

}  // namespace pigtail::rocks
