// pigtaild's log: leveled, timestamped lines on stderr (spdlog underneath,
// compiled once, in log.cc only), as text or as one JSON object per line,
// and an optional access log of HTTP requests in a file of its own.
//
//   log::Info("peer down", {{"peer", url}, {"failures", n}});
//   text: 2026-01-02T03:04:05.678Z info peer down peer=http://... failures=6
//   json: {"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"peer down",
//          "peer":"http://...","failures":6}
//
// Every line (and access log line) goes out through RedactSecrets
// (core/redact.h): a password in a URI or conninfo is never written.
//
// Before Init() (or without it: tests, tools) lines go to stderr as text at
// level info. Thread safety: every function may be called from any thread.
#ifndef PIGTAIL_SERVER_LOG_H_
#define PIGTAIL_SERVER_LOG_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/status.h"

namespace pigtail::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// One key=value of a line. Numbers and booleans stay unquoted in JSON.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), raw(true) {}
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Field(std::string_view k, T v) : key(k), value(Number(v)), raw(true) {}

  std::string_view key;
  std::string value;
  bool raw = false;  // a JSON number or boolean

 private:
  template <typename T>
  static std::string Number(T v) {
    if constexpr (std::is_floating_point_v<T>) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(v));
      return buf;
    } else {
      return std::to_string(v);
    }
  }
};
using Fields = std::initializer_list<Field>;

// `level`: debug, info (default), warn, error or off. `format`: text or
// json. `access_log_path`: empty for none, else a file that gets one line
// per HTTP request (same format). `log_path`: empty for stderr, else a
// file the lines are appended to. InvalidArgument names a bad value.
[[nodiscard]] Status Init(std::string_view level, std::string_view format,
                          const std::string& access_log_path, const std::string& log_path = "");
// Flushes what is buffered (at exit).
void Flush();

bool Enabled(Level level);
void Write(Level level, std::string_view msg, Fields fields = {});
inline void Debug(std::string_view msg, Fields fields = {}) { Write(Level::kDebug, msg, fields); }
inline void Info(std::string_view msg, Fields fields = {}) { Write(Level::kInfo, msg, fields); }
inline void Warn(std::string_view msg, Fields fields = {}) { Write(Level::kWarn, msg, fields); }
inline void Error(std::string_view msg, Fields fields = {}) { Write(Level::kError, msg, fields); }

// True when an access log is open (callers skip building its fields).
bool AccessEnabled();
// One access log line: method, target, status, latency.
void Access(std::string_view method, std::string_view target, int status, uint64_t latency_ns);

// Rate limit for lines that may repeat fast: Allow() is true at most once
// per `every`, and `suppressed()` then says how many were held back since.
class Every {
 public:
  explicit Every(std::chrono::milliseconds every) : every_(every) {}
  bool Allow();
  uint64_t suppressed() const { return suppressed_; }

 private:
  const std::chrono::milliseconds every_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};  // guarded by mu_
  uint64_t held_ = 0;                             // guarded by mu_
  uint64_t suppressed_ = 0;                       // set by Allow() for its caller
};

// Renders one line's payload (no timestamp, no level), as Write does: for
// text `msg k=v ...` (values with spaces or quotes are quoted), for JSON the
// members `"msg":...,"k":v,...` without braces. For tests.
std::string RenderText(std::string_view msg, Fields fields);
std::string RenderJsonMembers(std::string_view msg, Fields fields);

}  // namespace pigtail::log

#endif  // PIGTAIL_SERVER_LOG_H_
