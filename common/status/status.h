#pragma once

// Status and StatusOr: how every fallible call in Outrigger reports an error (no exceptions cross a
// component boundary). A Status may carry Dapr's `errorCode` string and HTTP status, so the API
// layer can render {"errorCode","message"} in one place.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace outrigger {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

const char* statusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Dapr's errorCode (e.g. "ERR_STATE_SAVE"); empty when none was attached.
  const std::string& errorCode() const { return error_code_; }
  // The HTTP status the API answers with; 0 means "derive from code()".
  int httpStatus() const { return http_status_; }

  Status& withErrorCode(std::string error_code, int http_status = 0) & {
    error_code_ = std::move(error_code);
    http_status_ = http_status;
    return *this;
  }
  Status&& withErrorCode(std::string error_code, int http_status = 0) && {
    error_code_ = std::move(error_code);
    http_status_ = http_status;
    return std::move(*this);
  }

  std::string toString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string error_code_;
  int http_status_ = 0;
};

inline Status okStatus() { return Status(); }
inline Status invalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status notFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status alreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status failedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status abortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status unavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status unimplementedError(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status deadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status resourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status permissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status unauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}

// HTTP status for a code, used when a Status carries none of its own.
int httpStatusFor(const Status& status);

template <typename T>
class StatusOr {
 public:
  // A value's status is OK: code that wraps a result generically may ask for it.
  StatusOr(const T& value) : status_(), value_(value) {}        // NOLINT: implicit by design
  StatusOr(T&& value) : status_(), value_(std::move(value)) {}  // NOLINT
  StatusOr(const Status& status) : status_(status) {}           // NOLINT
  StatusOr(Status&& status) : status_(std::move(status)) {}     // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_ = Status(StatusCode::kUnknown, "no value");
  std::optional<T> value_;
};

}  // namespace outrigger

#define OUTRIGGER_CONCAT_INNER(a, b) a##b
#define OUTRIGGER_CONCAT(a, b) OUTRIGGER_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)         \
  do {                                \
    ::outrigger::Status _st = (expr); \
    if (!_st.ok()) return _st;        \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(OUTRIGGER_CONCAT(_status_or_, __LINE__), lhs, expr)
