#include "server/log.h"

#include "core/redact.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace pigtail::log {
namespace {

struct Loggers {
  std::shared_ptr<spdlog::logger> main;
  std::shared_ptr<spdlog::logger> access;  // null: no access log
  bool json = false;
};

std::mutex init_mu;
// Replaced as a whole by Init; readers take a copy of the pointer.
std::shared_ptr<const Loggers> current;

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";
constexpr const char* kJsonPattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})";

std::shared_ptr<spdlog::logger> MakeLogger(const char* name, spdlog::sink_ptr sink, bool json) {
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      json ? kJsonPattern : kTextPattern, spdlog::pattern_time_type::utc));
  return logger;
}

std::shared_ptr<const Loggers> Get() {
  std::lock_guard lock(init_mu);
  if (current == nullptr) {
    auto l = std::make_shared<Loggers>();
    l->main = MakeLogger("pigtail", std::make_shared<spdlog::sinks::stderr_sink_mt>(), false);
    l->main->set_level(spdlog::level::info);
    l->main->flush_on(spdlog::level::trace);
    current = std::move(l);
  }
  return current;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      break;
  }
  return spdlog::level::off;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          *out += buf;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '=') return true;
  }
  return false;
}

}  // namespace

Status Init(std::string_view level, std::string_view format, const std::string& access_log_path,
            const std::string& log_path) {
  Level parsed;
  if (level == "debug") {
    parsed = Level::kDebug;
  } else if (level == "info") {
    parsed = Level::kInfo;
  } else if (level == "warn") {
    parsed = Level::kWarn;
  } else if (level == "error") {
    parsed = Level::kError;
  } else if (level == "off") {
    parsed = Level::kOff;
  } else {
    return Status::InvalidArgument("--log-level must be debug, info, warn, error or off, got \"" +
                                   std::string(level) + "\"");
  }
  if (format != "text" && format != "json") {
    return Status::InvalidArgument("--log-format must be text or json, got \"" +
                                   std::string(format) + "\"");
  }
  auto l = std::make_shared<Loggers>();
  l->json = format == "json";
  spdlog::sink_ptr sink;
  if (log_path.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_path);
    } catch (const std::exception& e) {
      return Status::InvalidArgument("cannot open the log file " + log_path + ": " + e.what());
    }
  }
  l->main = MakeLogger("pigtail", std::move(sink), l->json);
  l->main->set_level(ToSpd(parsed));
  // Lines are rare (transitions, not per request): flush each, so a crash
  // or a kill loses none.
  l->main->flush_on(spdlog::level::trace);
  if (!access_log_path.empty()) {
    try {
      l->access = MakeLogger(
          "access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(access_log_path), l->json);
    } catch (const std::exception& e) {
      return Status::InvalidArgument("--access-log: cannot open " + access_log_path + ": " +
                                     e.what());
    }
    l->access->set_level(spdlog::level::info);
    // Not flushed per line (an access line per request must not cost a
    // write(2) each): every second by spdlog's flusher thread, and by
    // Flush() at exit.
    l->access->flush_on(spdlog::level::warn);
  }
  std::lock_guard lock(init_mu);
  spdlog::drop("access");
  if (l->access) {
    spdlog::register_logger(l->access);
    spdlog::flush_every(std::chrono::seconds(1));
  }
  current = std::move(l);
  return Status::Ok();
}

void Flush() {
  std::shared_ptr<const Loggers> l = Get();
  l->main->flush();
  if (l->access) l->access->flush();
}

bool Enabled(Level level) { return Get()->main->should_log(ToSpd(level)); }

void Write(Level level, std::string_view msg, Fields fields) {
  std::shared_ptr<const Loggers> l = Get();
  spdlog::level::level_enum spd = ToSpd(level);
  if (!l->main->should_log(spd)) return;
  std::string payload =
      RedactSecrets(l->json ? RenderJsonMembers(msg, fields) : RenderText(msg, fields));
  l->main->log(spd, spdlog::string_view_t(payload.data(), payload.size()));
}

bool AccessEnabled() { return Get()->access != nullptr; }

void Access(std::string_view method, std::string_view target, int status, uint64_t latency_ns) {
  std::shared_ptr<const Loggers> l = Get();
  if (!l->access) return;
  Fields fields = {{"method", method},
                   {"target", target},
                   {"status", status},
                   {"ms", static_cast<double>(latency_ns) / 1e6}};
  std::string payload =
      RedactSecrets(l->json ? RenderJsonMembers("request", fields) : RenderText("request", fields));
  l->access->info(spdlog::string_view_t(payload.data(), payload.size()));
}

bool Every::Allow() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now < next_) {
    ++held_;
    return false;
  }
  next_ = now + every_;
  suppressed_ = held_;
  held_ = 0;
  return true;
}

std::string RenderText(std::string_view msg, Fields fields) {
  std::string out(msg);
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (!f.raw && NeedsQuotes(f.value)) {
      AppendJsonString(f.value, &out);
    } else {
      out += f.value;
    }
  }
  return out;
}

std::string RenderJsonMembers(std::string_view msg, Fields fields) {
  std::string out = "\"msg\":";
  AppendJsonString(msg, &out);
  for (const Field& f : fields) {
    out += ',';
    AppendJsonString(f.key, &out);
    out += ':';
    if (f.raw) {
      out += f.value;
    } else {
      AppendJsonString(f.value, &out);
    }
  }
  return out;
}

}  // namespace pigtail::log
