// Status and Result<T>: the one error type of Pigtail.
//
// Functions that can fail return Status (or Result<T> when they also produce
// a value). Both are [[nodiscard]]; the build turns ignoring them into an
// error. Exceptions from libraries (libpqxx, Boost) are translated into a
// Status at the edge of the component that calls them.
#ifndef PIGTAIL_CORE_STATUS_H_
#define PIGTAIL_CORE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pigtail {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // a create found the thing already there
  kConflict,            // the request is valid but loses to the current state
  kFailedPrecondition,  // the system is not in a state to do this
  kOutOfRange,          // a value is outside what is accepted (e.g. clock offset)
  kCorruption,          // stored data does not decode
  kIOError,             // the file system or network failed
  kUnavailable,         // a dependency (e.g. a database server) is unreachable
  kInternal,            // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "<CodeName>: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context`.
  Status WithContext(std::string_view context) const;

  bool operator==(const Status&) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : repr_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : repr_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(repr_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(repr_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(repr_); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(repr_); }
  const T& value() const& { return std::get<T>(repr_); }
  T&& value() && { return std::get<T>(std::move(repr_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> repr_;
};

}  // namespace pigtail

#define PIGTAIL_CONCAT_INNER_(a, b) a##b
#define PIGTAIL_CONCAT_(a, b) PIGTAIL_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define PIGTAIL_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::pigtail::Status pigtail_status_ = (expr);        \
    if (!pigtail_status_.ok()) return pigtail_status_; \
  } while (0)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, otherwise
// moves the value into `lhs` (which may be a declaration).
#define PIGTAIL_ASSIGN_OR_RETURN(lhs, rexpr) \
  PIGTAIL_ASSIGN_OR_RETURN_IMPL_(PIGTAIL_CONCAT_(pigtail_result_, __LINE__), lhs, rexpr)
#define PIGTAIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#endif  // PIGTAIL_CORE_STATUS_H_
