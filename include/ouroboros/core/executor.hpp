// executor: how a run spreads its replicates over threads. A run calls parallel_for once or twice
// per generation; a host framework that owns its threads supplies its own executor
// (run_options::executor), otherwise the run uses the library's pool (pool_executor) with
// run_options::threads threads. Results never depend on the executor: every replicate owns its
// state and its random streams, and summaries reduce in replicate order. See
// docs/concepts.md#executors.
#pragma once

#include <cstddef>
#include <functional>

#include "ouroboros/core/detail/thread_pool.hpp"

namespace ouro::inline v0 {

/// The parallelism interface of a run.
class executor {
 public:
  virtual ~executor() = default;
  /// How many calls of parallel_for's function may run at once (1: one after the other). The run
  /// pins OpenBLAS to one thread while it computes when this is above 1.
  virtual unsigned concurrency() const noexcept = 0;
  /// Calls fn(i) exactly once for every i in [0, n), in any order, on any threads, and returns
  /// when every call has returned. The run's functions catch their own exceptions.
  virtual void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) = 0;
};

/// Runs everything on the calling thread.
class inline_executor final : public executor {
 public:
  unsigned concurrency() const noexcept override { return 1; }
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) override {
    for (std::size_t i = 0; i < n; ++i) fn(i);
  }
};

/// The library's worker pool: `threads` threads in all, the calling thread included (0: every
/// hardware thread). Waiting threads sleep; they spin briefly first only when the process has its
/// cores to itself (docs/scaling.md).
class pool_executor final : public executor {
 public:
  explicit pool_executor(unsigned threads = 0) : pool_(threads) {}
  unsigned concurrency() const noexcept override { return pool_.size(); }
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) override {
    pool_.parallel_for(n, fn);
  }

 private:
  detail::thread_pool pool_;
};

}  // namespace ouro::inline v0
