// Status and Result<T>: errors as values for everything after start-up.
//
// A Status is either ok or carries a machine-readable code, the name of the
// offending field (when there is one) and a human-readable message.  Result<T>
// holds either a T or a non-ok Status.  Both are [[nodiscard]] so a caller
// cannot silently drop a failure.  Thread-safety: plain values, no shared state.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bw {

enum class ErrorCode {
  kOk = 0,
  kBadInput,     // malformed or invalid data from outside
  kNotFound,     // a referenced thing does not exist
  kForbidden,    // refused by policy
  kUnavailable,  // a dependency (e.g. the store) cannot serve right now
  kIoError,      // an operating-system or storage failure
  kInternal,     // a bug
};

const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  // `reason` is a short machine-readable class of bad input, e.g. "missing_field",
  // "wrong_type", "out_of_range", "unknown_type"; it is stored with dead letters.
  static Status BadInput(std::string field, std::string message, std::string reason = "invalid") {
    Status s(ErrorCode::kBadInput, std::move(field), std::move(message));
    s.reason_ = std::move(reason);
    return s;
  }
  static Status NotFound(std::string message) {
    return Status(ErrorCode::kNotFound, "", std::move(message));
  }
  static Status Forbidden(std::string message) {
    return Status(ErrorCode::kForbidden, "", std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(ErrorCode::kUnavailable, "", std::move(message));
  }
  static Status IoError(std::string message) {
    return Status(ErrorCode::kIoError, "", std::move(message));
  }
  static Status Internal(std::string message) {
    return Status(ErrorCode::kInternal, "", std::move(message));
  }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  // Dotted path of the offending field, e.g. "instrument.conditions[0].zone"; may be empty.
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }
  const std::string& reason() const { return reason_; }
  // "field: message", or just the message when there is no field.
  std::string ToString() const;

 private:
  Status(ErrorCode code, std::string field, std::string message)
      : code_(code), field_(std::move(field)), message_(std::move(message)) {}
  ErrorCode code_ = ErrorCode::kOk;
  std::string field_;
  std::string message_;
  std::string reason_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace bw
