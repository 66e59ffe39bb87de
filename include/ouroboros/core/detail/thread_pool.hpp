// The library's one worker pool. It runs two kinds of work on the same threads:
//  * parallel_for(n, fn): fork-join over indices handed out in chunks through an atomic counter,
//    the calling thread working too (the loop's replicates, the EM's blocks of points);
//  * post(task): tasks that its worker threads take from a queue, while the calling thread does
//    something else (the work items of a sweep: detail::item_workers).
// Which thread computes which index or task is irrelevant to the results, because every index and
// every item owns its state and its random streams.
//
// Waiting threads sleep. A fork-join worker spins briefly before it sleeps, because the loop calls
// parallel_for twice per generation and a sleeping thread takes tens of microseconds to wake; it
// does so only when it pays: when the process has the cores to itself (no other MPI rank on the
// machine, no more threads than the cores it may run on), and while the waits end within the spin
// (when other work shares the cores they outlast it, and the pool stops spinning for a while).
// OUROBOROS_SPIN=0 or 1 overrides the first rule. Task workers never spin.
// tests/benchmarks/bench_spin.sh measures both sides.
#pragma once

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

extern "C" {
// OpenBLAS's thread control, if OpenBLAS is linked (weak: absent symbols resolve to null).
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace ouro::inline v0::detail {

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

/// The cores this process may run on (its CPU affinity), at least 1.
inline unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : h;
}

/// The processes of this job on this machine, as the MPI launcher says (Open MPI, MPICH, Intel
/// MPI, Slurm); 1 when there is none.
inline unsigned local_processes() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE",
                          "SLURM_NTASKS_PER_NODE"}) {
    if (const char* v = std::getenv(var)) {
      const long n = std::strtol(v, nullptr, 10);
      if (n > 0) return static_cast<unsigned>(n);
    }
  }
  return 1;
}

/// Whether `threads` busy threads of this process may spin while they wait: only when the
/// process has its cores to itself (see the file comment); OUROBOROS_SPIN=0/1 overrides.
inline bool spinning_pays(unsigned threads) {
  if (const char* v = std::getenv("OUROBOROS_SPIN")) {
    if (std::strcmp(v, "0") == 0) return false;
    if (std::strcmp(v, "1") == 0) return true;
  }
  return local_processes() == 1 && threads <= usable_cores();
}

class thread_pool {
 public:
  /// `threads` threads in all for parallel_for (the caller and threads - 1 workers; 0: the
  /// cores of the machine); post() runs tasks on the threads - 1 workers. `spin`: whether
  /// fork-join workers spin before they sleep (default: spinning_pays(threads)).
  explicit thread_pool(unsigned threads, int spin = -1)
      : n_(threads == 0 ? default_threads() : threads),
        spin_limit_(spin < 0 ? (spinning_pays(n_) ? 20000 : 0) : (spin ? 20000 : 0)) {
    try {
      for (unsigned i = 1; i < n_; ++i) workers_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      // the system gives no more threads (a limit on processes or memory): run on the ones it
      // gave; results do not depend on the number of threads
      n_ = static_cast<unsigned>(workers_.size()) + 1;
    }
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
  /// Whether fork-join waits spin before they sleep.
  bool spins() const noexcept { return spin_limit_ > 0; }

  static unsigned default_threads() {
    const unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : h;
  }

  /// Calls fn(i) for every i in [0, n), spread over the pool; the calling thread works too.
  /// Exceptions thrown by fn are not caught here: fn must catch its own (the loop does). Not to
  /// be mixed with post() on one pool.
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
    const int limit = spin_now_.load(std::memory_order_relaxed) ? spin_limit_ : 0;
    int spun = 0;
    for (; pending_.load(std::memory_order_acquire) != 0; ++spun) {
      if (spun < limit) {
        pause();
      } else {
        std::unique_lock lk(m_);
        done_cv_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
      }
    }
    job_ = nullptr;
    // a wait longer than a tenth of the spin means a thread was kept from its work
    if (spin_limit_ > 0) adapt(limit > 0 && spun > limit / 10);
  }

  /// Queues a task for the worker threads (the pool must have at least 2 threads). Tasks must
  /// catch their own exceptions.
  void post(std::function<void()> task) {
    {
      std::lock_guard lk(m_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  /// Drops the tasks not yet started; returns how many.
  std::size_t drop_queued() {
    std::lock_guard lk(m_);
    const std::size_t n = tasks_.size();
    tasks_.clear();
    return n;
  }

 private:
  /// Spinning pays only while the other threads finish soon after the caller: when more than a
  /// quarter of the last 32 waits were long (a tenth of the spin or more: the cores are shared
  /// with other work, which keeps a thread from its chunk), the pool sleeps at once for the next
  /// 512 calls, then tries again.
  void adapt(bool spin_failed) {
    if (off_for_ > 0) {
      if (--off_for_ == 0) spin_now_.store(true, std::memory_order_relaxed), window_ = failed_ = 0;
      return;
    }
    failed_ += spin_failed;
    if (++window_ < 32) return;
    if (failed_ > 8) {
      spin_now_.store(false, std::memory_order_relaxed);
      off_for_ = 512;
    }
    window_ = failed_ = 0;
  }
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
      // a fork-join job: spin for a while (where it pays), then sleep until the next job, a
      // task or the end
      const int limit = spin_now_.load(std::memory_order_relaxed) ? spin_limit_ : 0;
      for (int spin = 0; spin < limit && epoch_.load(std::memory_order_acquire) == seen &&
                         !stop_.load(std::memory_order_relaxed);
           ++spin)
        pause();
      std::function<void()> task;
      {
        std::unique_lock lk(m_);
        cv_.wait(lk, [&] { return stop_.load() || epoch_.load() != seen || !tasks_.empty(); });
        if (epoch_.load() == seen && !tasks_.empty()) {
          task = std::move(tasks_.front());
          tasks_.pop_front();
        } else if (stop_.load() && epoch_.load() == seen) {
          return;
        }
      }
      if (task) {
        task();
        continue;
      }
      seen = epoch_.load(std::memory_order_acquire);
      run_chunks();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lk(m_);
        done_cv_.notify_one();
      }
    }
  }

  unsigned n_;
  int spin_limit_;
  std::atomic<bool> spin_now_{true};  // see adapt()
  int window_ = 0, failed_ = 0, off_for_ = 0;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t job_n_ = 0, chunk_ = 1;
  std::deque<std::function<void()>> tasks_;
  std::atomic<std::size_t> epoch_{0};
  std::atomic<unsigned> pending_{0};
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace ouro::inline v0::detail
