// Status and Result<T>: the error type at the project's own boundaries.
//
// A Status is either OK or carries a human-readable message meant for an
// admin (it ends up in a log line or in --config.check output). Result<T>
// holds either a value or a non-OK Status. Both are cheap value types and
// are not thread-safe beyond what std::string gives.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace mailhealth {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return ok_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok_ ? "OK" : message_; }

 private:
  bool ok_ = true;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace mailhealth
