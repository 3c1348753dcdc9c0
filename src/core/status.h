// Status and Result<T>: how every CityBrain module reports failure across module lines.
// No exceptions cross a module boundary; a caller inspects Status::code() instead.
// Thread-safety: value types; a const Status/Result may be read from any thread.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cb {

// What went wrong, in terms an API layer can map to a protocol error (NGSI-LD, Open311).
enum class Code {
  kOk = 0,
  kInvalidRequest,    // malformed syntax: bad JSON, bad query string
  kBadRequestData,    // well-formed but wrong content: bad id, wrong attribute shape
  kNotFound,          // the target does not exist
  kAlreadyExists,     // create of something that exists
  kConflict,          // state conflict (stale version, impossible transition)
  kUnsupported,       // a valid request we do not support (OperationNotSupported)
  kTooLarge,          // payload over the configured limit
  kUnauthorized,      // no or unknown credentials
  kForbidden,         // credentials lack the permission
  kTooManyRequests,   // back-pressure: try again later
  kUnavailable,       // shutting down, or a dependency is missing
  kInternal,          // a bug or an I/O failure
};

std::string_view CodeName(Code code);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidRequest(std::string m) { return {Code::kInvalidRequest, std::move(m)}; }
  static Status BadRequestData(std::string m) { return {Code::kBadRequestData, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status Unauthorized(std::string m) { return {Code::kUnauthorized, std::move(m)}; }
  static Status Forbidden(std::string m) { return {Code::kForbidden, std::move(m)}; }
  static Status TooManyRequests(std::string m) { return {Code::kTooManyRequests, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cb

// Propagate a non-OK Status from an expression returning Status.
#define CB_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::cb::Status _cb_st = (expr);           \
    if (!_cb_st.ok()) return _cb_st;        \
  } while (0)
