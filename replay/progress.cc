#include "replay/progress.h"

#include <cinttypes>
#include <cmath>

namespace pigtail::replay {
namespace {

std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Amount(uint64_t n, std::string_view unit) {
  if (unit != "bytes") return Grouped(n);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(n) / (1 << 20));
  return buf;
}

class TerminalProgress final : public ProgressSink {
 public:
  TerminalProgress(std::FILE* out, std::chrono::milliseconds interval)
      : out_(out), interval_(interval) {}

  void Update(const ProgressSnapshot& snapshot) override {
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < interval_) return;
    last_ = now;
    drawn_ = true;
    std::fprintf(out_, "\r%s\033[K", FormatProgress(snapshot).c_str());
    std::fflush(out_);
  }

  void Finish(const ProgressSnapshot& snapshot) override {
    std::fprintf(out_, "\r%s\033[K\n", FormatProgress(snapshot).c_str());
    std::fflush(out_);
    drawn_ = false;
  }

 private:
  std::FILE* out_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_;
  bool drawn_ = false;
};

}  // namespace

std::string FormatProgress(const ProgressSnapshot& s) {
  std::string line = std::string(s.phase) + ": " + Grouped(s.events) + " events";
  if (s.seconds > 0) {
    line +=
        "  " + Grouped(static_cast<uint64_t>(static_cast<double>(s.events) / s.seconds)) + " ev/s";
  }
  if (s.source.unit == "bytes" || s.source.total) {
    line += "  " + Amount(s.source.done, s.source.unit);
    if (s.source.total) {
      line += "/" + Amount(*s.source.total, s.source.unit);
      if (*s.source.total > 0) {
        double fraction = static_cast<double>(s.source.done) / static_cast<double>(*s.source.total);
        char buf[64];
        std::snprintf(buf, sizeof(buf), " (%.1f%%)", 100.0 * fraction);
        line += buf;
        if (fraction > 0 && fraction < 1 && s.seconds > 0) {
          double eta = s.seconds * (1 - fraction) / fraction;
          std::snprintf(buf, sizeof(buf), "  ETA %.0fs", std::ceil(eta));
          line += buf;
        }
      }
    }
  }
  return line;
}

std::unique_ptr<ProgressSink> NewTerminalProgress(std::FILE* out,
                                                  std::chrono::milliseconds interval) {
  return std::make_unique<TerminalProgress>(out, interval);
}

}  // namespace pigtail::replay
