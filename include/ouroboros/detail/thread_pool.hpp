// A small fork-join pool: parallel_for hands out index chunks through an atomic counter. Which
// thread computes which index is irrelevant to the results, because every index owns its state and
// its random streams.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

extern "C" {
// OpenBLAS's thread control, if OpenBLAS is linked (weak: absent symbols resolve to null).
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace ouro::detail {

/// Pins OpenBLAS to one thread while alive (when several of our threads run BLAS at once), and
/// restores the previous setting afterwards.
class blas_single_thread_guard {
 public:
  explicit blas_single_thread_guard(bool active) {
    if (active && openblas_set_num_threads && openblas_get_num_threads) {
      previous_ = openblas_get_num_threads();
      openblas_set_num_threads(1);
    }
  }
  ~blas_single_thread_guard() {
    if (previous_ > 0) openblas_set_num_threads(previous_);
  }
  blas_single_thread_guard(const blas_single_thread_guard&) = delete;
  blas_single_thread_guard& operator=(const blas_single_thread_guard&) = delete;

 private:
  int previous_ = 0;
};

class thread_pool {
 public:
  explicit thread_pool(unsigned threads) : n_(threads == 0 ? default_threads() : threads) {
    for (unsigned i = 1; i < n_; ++i) workers_.emplace_back([this] { work(); });
  }
  ~thread_pool() {
    {
      std::lock_guard lk(m_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  unsigned size() const noexcept { return n_; }

  static unsigned default_threads() {
    const unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : h;
  }

  /// Calls fn(i) for every i in [0, n), spread over the pool; the calling thread works too.
  /// Exceptions thrown by fn are not caught here: fn must catch its own (the loop does).
  /// Threads spin briefly before they sleep, because the loop calls this twice per generation and
  /// a sleeping thread takes tens of microseconds to wake.
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n == 0) return;
    if (n_ == 1 || n == 1) {
      for (std::size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    job_ = &fn;
    job_n_ = n;
    chunk_ = std::max<std::size_t>(1, n / (static_cast<std::size_t>(n_) * 64));
    next_.store(0, std::memory_order_relaxed);
    pending_.store(n_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard lk(m_);
      epoch_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    run_chunks();
    for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin < 20000) {
        pause();
      } else {
        std::unique_lock lk(m_);
        done_cv_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
      }
    }
    job_ = nullptr;
  }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  void run_chunks() {
    for (;;) {
      const std::size_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
      if (b >= job_n_) return;
      const std::size_t e = std::min(job_n_, b + chunk_);
      for (std::size_t i = b; i < e; ++i) (*job_)(i);
    }
  }
  void work() {
    std::size_t seen = 0;
    for (;;) {
      // spin for a while, then sleep until the next job or the end
      for (int spin = 0; epoch_.load(std::memory_order_acquire) == seen && !stop_.load(); ++spin) {
        if (spin < 20000) {
          pause();
        } else {
          std::unique_lock lk(m_);
          cv_.wait(lk, [&] { return stop_.load() || epoch_.load() != seen; });
        }
      }
      if (stop_.load()) return;
      seen = epoch_.load(std::memory_order_acquire);
      run_chunks();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lk(m_);
        done_cv_.notify_one();
      }
    }
  }

  unsigned n_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t job_n_ = 0, chunk_ = 1;
  std::atomic<std::size_t> epoch_{0};
  std::atomic<unsigned> pending_{0};
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace ouro::detail
