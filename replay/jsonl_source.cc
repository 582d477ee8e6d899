#include "replay/jsonl_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "replay/dump_line.h"

namespace pigtail::replay {
namespace {

class JsonlSource final : public EventSource {
 public:
  JsonlSource(std::FILE* file, bool owned, std::optional<uint64_t> size, std::string path,
              CorruptionReporter* reporter)
      : file_(file), owned_(owned), size_(size), path_(std::move(path)), reporter_(reporter) {}

  ~JsonlSource() override {
    if (owned_) std::fclose(file_);
  }

  std::string_view PositionName() const override { return "line"; }

  Status SeekAfter(uint64_t position) override {
    while (line_ < position) {
      PIGTAIL_ASSIGN_OR_RETURN(bool got, ReadLine());
      if (!got) {
        return Status::OutOfRange(path_ + " has " + std::to_string(line_) +
                                  " lines; cannot resume after line " + std::to_string(position));
      }
    }
    return Status::Ok();
  }

  // Reuses the storage of the batch it replaces: each line is copied into
  // the previous event's `raw` buffer (ParseEvent keeps it as the new
  // event's `raw`), and events are move-assigned into the existing slots,
  // so a steady stream of batches allocates little.
  Status Next(const BatchLimits& limits, std::vector<SourcedEvent>* out) override {
    size_t n = 0;
    size_t bytes = 0;
    Status status = Status::Ok();
    while (n < limits.max_events && (n == 0 || bytes < limits.max_bytes)) {
      Result<bool> got = ReadLine();
      if (!got.ok()) {
        status = got.status();
        break;
      }
      if (!*got) break;
      std::string_view text(buffer_.data() + line_start_, length_);
      if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
      if (text.empty()) {
        status = reporter_->Report("line", line_, "empty line");
        if (!status.ok()) break;
        continue;
      }
      std::string raw = n < out->size() ? std::move((*out)[n].event.raw) : std::string();
      if (text.starts_with('"')) {
        Result<std::string> decoded = DumpLineBytes(text);
        if (!decoded.ok()) {
          status = reporter_->Report("line", line_, decoded.status().message());
          if (!status.ok()) break;
          continue;
        }
        raw = std::move(decoded).value();
      } else {
        raw.assign(text);
      }
      Result<Event> event = ParseEvent(std::move(raw));
      if (!event.ok()) {
        status = reporter_->Report("line", line_, event.status().message());
        if (!status.ok()) break;
        continue;
      }
      bytes += text.size();
      if (n < out->size()) {
        SourcedEvent& slot = (*out)[n];
        slot.position = line_;
        slot.event = std::move(event).value();
      } else {
        out->push_back(SourcedEvent{line_, std::move(event).value()});
      }
      ++n;
    }
    out->resize(n);
    return status;
  }

  uint64_t position() const override { return line_; }

  SourceProgress Progress() const override { return {bytes_read_, size_, "bytes"}; }

 private:
  // Makes [line_start_, line_start_ + length_) of buffer_ the next line
  // (with its '\n' if any), valid until the next call. False at the end.
  // Reads the file in large blocks with read(2) (which returns what a pipe
  // has, without waiting for a full block) and finds lines with memchr,
  // instead of getline's copy of every line.
  Result<bool> ReadLine() {
    for (;;) {
      const char* start = buffer_.data() + pos_;
      size_t avail = end_ - pos_;
      const void* nl = avail > 0 ? std::memchr(start, '\n', avail) : nullptr;
      if (nl != nullptr) {
        TakeLine(static_cast<size_t>(static_cast<const char*>(nl) - start) + 1);
        return true;
      }
      if (eof_) {
        if (avail == 0) return false;
        TakeLine(avail);
        return true;
      }
      // Keep the partial line, at the front; grow when it fills the buffer.
      if (pos_ > 0) {
        if (avail > 0) std::memmove(buffer_.data(), start, avail);
        pos_ = 0;
        end_ = avail;
      }
      if (end_ == buffer_.size()) buffer_.resize(std::max<size_t>(buffer_.size() * 2, kBlock));
      ssize_t n;
      do {
        n = ::read(::fileno(file_), buffer_.data() + end_, buffer_.size() - end_);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        return Status::IOError("reading " + path_ + " after line " + std::to_string(line_) + ": " +
                               std::strerror(errno));
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
    }
  }

  void TakeLine(size_t length) {
    line_start_ = pos_;
    length_ = length;
    pos_ += length;
    bytes_read_ += length;
    ++line_;
  }

  static constexpr size_t kBlock = 1 << 20;

  std::FILE* file_;
  bool owned_;
  std::optional<uint64_t> size_;
  std::string path_;
  CorruptionReporter* reporter_;
  std::vector<char> buffer_;
  size_t pos_ = 0;  // the unread part of buffer_ is [pos_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  size_t line_start_ = 0;
  size_t length_ = 0;
  uint64_t line_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace

Result<std::unique_ptr<EventSource>> OpenJsonlSource(const std::string& path,
                                                     CorruptionReporter* reporter) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  std::optional<uint64_t> size;
  struct stat st {};
  if (::fstat(::fileno(file), &st) == 0 && S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  }
  return std::unique_ptr<EventSource>(
      std::make_unique<JsonlSource>(file, path != "-", size, path, reporter));
}

}  // namespace pigtail::replay
