// Work items across MPI ranks, with dynamic load balancing: rank 0 hands out item indices as ranks
// ask for them (and works on items itself, on a thread of its own), each rank runs its items with
// its threads, and every item's result (a byte string) comes back to rank 0, which gets them all in
// item order. Use it only from code that links MPI::MPI_CXX (CMake: OUROBOROS_WITH_MPI); nothing
// else in the library depends on MPI. With ouroboros/sweep.hpp and the streams of the loop, a
// sweep gives the same bytes for any number of ranks and threads. See docs/scaling.md.
//
//   ouro::mpi::environment env(argc, argv);              // MPI_Init_thread, MPI_Finalize
//   auto results = ouro::mpi::run_items(items.size(), [&](std::size_t i) {
//     return run_item(items[i]);                          // bytes, e.g. to_checkpoint(result)
//   });                                                  // rank 0: all results; others: empty
//
// A failure anywhere (an item that throws on any rank) ends the work on every rank: rank 0 stops
// handing out items, waits for the items in progress and tells every rank to stop, and every rank
// throws ouro::run_error with the message of the first failure (the item and rank that failed).
// No rank waits forever for another.
#pragma once

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/errors.hpp"

namespace ouro::mpi {

/// Initialises MPI (thread level MPI_THREAD_FUNNELED: only the main thread calls MPI) unless it
/// already is, and finalises it on destruction if it initialised it.
class environment {
 public:
  environment(int& argc, char**& argv) {
    int done = 0;
    MPI_Initialized(&done);
    if (!done) {
      int provided = 0;
      if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        throw run_error("MPI_Init_thread failed");
      owner_ = true;
    }
  }
  ~environment() {
    if (!owner_) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  int rank() const { return rank_of(MPI_COMM_WORLD); }
  int size() const { return size_of(MPI_COMM_WORLD); }

  static int rank_of(MPI_Comm c) {
    int r = 0;
    MPI_Comm_rank(c, &r);
    return r;
  }
  static int size_of(MPI_Comm c) {
    int n = 0;
    MPI_Comm_size(c, &n);
    return n;
  }

 private:
  bool owner_ = false;
};

/// How run_items distributes and reports.
struct distribute_options {
  MPI_Comm comm = MPI_COMM_WORLD;
  /// Rank 0: results already known (a resumed job), by item; missing or empty entries are run.
  std::vector<std::optional<std::string>> known;
  /// Rank 0, main thread: called as each new item's result arrives (to save a checkpoint, show
  /// progress), in the order they arrive. An exception thrown here ends the work like a failed
  /// item.
  std::function<void(std::size_t item, const std::string& result)> on_result;
  /// Whether rank 0 also works on items (on a thread of its own) while it hands them out.
  bool root_works = true;
};

namespace detail {
enum tag : int { t_request = 7301, t_result, t_error, t_assign, t_stop };

inline void send_bytes(const std::string& b, int to, int tag, MPI_Comm c) {
  if (b.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw run_error(
        fmt::format("an item's result of {} bytes is too large for one MPI message", b.size()));
  MPI_Send(b.data(), static_cast<int>(b.size()), MPI_BYTE, to, tag, c);
}
inline std::string recv_bytes(const MPI_Status& st, MPI_Comm c) {
  int n = 0;
  MPI_Get_count(&st, MPI_BYTE, &n);
  std::string b(static_cast<std::size_t>(n), '\0');
  MPI_Recv(b.data(), n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, c, MPI_STATUS_IGNORE);
  return b;
}
inline std::string with_index(std::uint64_t i, const std::string& rest) {
  std::string b(sizeof i, '\0');
  std::memcpy(b.data(), &i, sizeof i);
  return b + rest;
}
inline std::uint64_t index_of(const std::string& b) {
  std::uint64_t i = 0;
  if (b.size() >= sizeof i) std::memcpy(&i, b.data(), sizeof i);
  return i;
}
inline std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// A worker rank: asks for items, runs them, sends their results, until told to stop.
inline void worker(const std::function<std::string(std::size_t)>& work, MPI_Comm c) {
  const int me = environment::rank_of(c);
  MPI_Send(nullptr, 0, MPI_BYTE, 0, t_request, c);
  for (;;) {
    MPI_Status st;
    MPI_Probe(0, MPI_ANY_TAG, c, &st);
    const std::string msg = recv_bytes(st, c);
    if (st.MPI_TAG == t_stop) {
      if (!msg.empty()) throw run_error(msg);
      return;
    }
    const std::uint64_t i = index_of(msg);
    std::string result, failure;
    try {
      result = work(static_cast<std::size_t>(i));
    } catch (...) {
      failure = fmt::format("item {} on rank {}: {}", i, me, what_of(std::current_exception()));
    }
    if (failure.empty())
      send_bytes(with_index(i, result), 0, t_result, c);
    else
      send_bytes(with_index(i, failure), 0, t_error, c);
  }
}
}  // namespace detail

/// Runs `work(i)` for every item i in [0, n) once, somewhere among the ranks of `opt.comm`, and
/// returns on rank 0 every item's result in item order (an empty vector on the other ranks). Every
/// rank must call it with the same n. See the file comment for failures.
inline std::vector<std::string> run_items(std::size_t n,
                                          const std::function<std::string(std::size_t)>& work,
                                          const distribute_options& opt = {}) {
  const MPI_Comm c = opt.comm;
  const int me = environment::rank_of(c), ranks = environment::size_of(c);
  if (me != 0) {
    detail::worker(work, c);
    return {};
  }
  std::vector<std::string> results(n);
  std::vector<char> have(n, 0);
  std::deque<std::size_t> todo;
  for (std::size_t i = 0; i < n; ++i) {
    if (i < opt.known.size() && opt.known[i]) {
      results[i] = *opt.known[i];
      have[i] = 1;
    } else {
      todo.push_back(i);
    }
  }
  // the first failure: written by the main thread under the lock, read by rank 0's worker
  // thread under the lock
  std::string failure;
  std::mutex lock;
  auto fail = [&](std::string why) {
    std::lock_guard<std::mutex> g(lock);
    if (failure.empty()) failure = std::move(why);
  };
  auto record = [&](std::size_t i, std::string bytes) {
    if (!failure.empty()) return;
    try {
      if (opt.on_result) opt.on_result(i, bytes);
      results[i] = std::move(bytes);
      have[i] = 1;
    } catch (...) {
      fail(fmt::format("saving item {}: {}", i, detail::what_of(std::current_exception())));
    }
  };

  // rank 0's own worker thread takes items from the same queue
  std::deque<std::pair<std::size_t, std::string>> local_done;
  std::string local_failure;
  std::atomic<bool> local_running{false}, stop_local{false};
  auto next_item = [&]() -> std::optional<std::size_t> {
    std::lock_guard<std::mutex> g(lock);
    if (!failure.empty() || todo.empty()) return std::nullopt;
    const std::size_t i = todo.front();
    todo.pop_front();
    return i;
  };
  std::thread local;
  const bool root_works = opt.root_works || ranks == 1;
  if (root_works) {
    local_running = true;
    local = std::thread([&] {
      while (!stop_local.load()) {
        const auto i = next_item();
        if (!i) break;
        try {
          std::string r = work(*i);
          std::lock_guard<std::mutex> g(lock);
          local_done.emplace_back(*i, std::move(r));
        } catch (...) {
          std::lock_guard<std::mutex> g(lock);
          local_failure =
              fmt::format("item {} on rank 0: {}", *i, detail::what_of(std::current_exception()));
          break;
        }
      }
      local_running = false;
    });
  }

  int active = ranks - 1;  // worker ranks not yet told to stop
  auto drain_local = [&] {
    std::deque<std::pair<std::size_t, std::string>> done;
    std::string lf;
    {
      std::lock_guard<std::mutex> g(lock);
      done.swap(local_done);
      lf = std::move(local_failure);
      local_failure.clear();
    }
    for (auto& [i, b] : done) record(i, std::move(b));
    if (!lf.empty()) fail(lf);
    return !done.empty() || !lf.empty();
  };
  while (active > 0 || local_running.load()) {
    bool busy = drain_local();
    int flag = 0;
    MPI_Status st;
    if (active > 0) MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c, &flag, &st);
    if (flag) {
      busy = true;
      const std::string msg = detail::recv_bytes(st, c);
      const int from = st.MPI_SOURCE;
      if (st.MPI_TAG == detail::t_result) {
        record(static_cast<std::size_t>(detail::index_of(msg)), msg.substr(8));
      } else if (st.MPI_TAG == detail::t_error) {
        fail(msg.substr(8));
      }
      // t_request, t_result and t_error all ask for the next item
      if (const auto i = next_item()) {
        const std::string b = detail::with_index(*i, "");
        detail::send_bytes(b, from, detail::t_assign, c);
      } else {
        detail::send_bytes(failure, from, detail::t_stop, c);
        --active;
      }
    }
    if (!busy) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  stop_local = true;
  if (local.joinable()) local.join();
  drain_local();
  if (!failure.empty()) throw run_error(failure);
  for (std::size_t i = 0; i < n; ++i)
    if (!have[i]) throw run_error(fmt::format("item {} was never run", i));
  return results;
}

}  // namespace ouro::mpi
