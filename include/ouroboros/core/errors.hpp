// The exceptions the library throws. Everything derives from ouro::error, itself a
// std::runtime_error, so one catch clause handles them all.
#pragma once

#include <stdexcept>
#include <string>

namespace ouro::inline v0 {

/// Base of every exception thrown by Ouroboros.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration that cannot run (zero replicates, a schedule that returns 0, ...).
class config_error : public error {
 public:
  using error::error;
};

/// A model, fitter, sampler, regime or metric threw during a run; the message names the run,
/// replicate and generation and carries the original message.
class run_error : public error {
 public:
  using error::error;
};

/// A results file could not be written.
class io_error : public error {
 public:
  using error::error;
};

/// Input data that cannot be used (a missing, empty or malformed file); the message names the
/// file and the line or byte offset.
class data_error : public error {
 public:
  using error::error;
};

}  // namespace ouro::inline v0
