// Work items across MPI ranks, with dynamic load balancing: rank 0 hands out item indices as ranks
// ask for them (and works on items itself), each rank runs `threads` items at a time on its own
// threads (only the main thread calls MPI), and every item's result (a byte string) comes back to
// rank 0, which gets them all in item order.
//
// No thread spins while it waits. The worker threads sleep on a condition while they have no item;
// each rank's main thread only talks to MPI, with non-blocking calls (results go out with
// MPI_Isend, so a rank never sits in a busy-polling MPI_Send until rank 0 takes its message),
// and sleeps between two polls (50 microseconds, doubling up to 10 ms while nothing happens, or
// until one of its workers finishes). A rank keeps twice as many items in hand as it has threads,
// so its threads never wait for rank 0's answer; near the end rank 0 gives items only to ranks
// with an idle thread, so that no item waits in a busy rank's queue while another rank idles.
// quiet_barrier() and broadcast_status() are the
// matching sleeping barrier and status broadcast for the end of a job (MPI's own blocking
// collectives, and Open MPI's blocking calls in general, busy-poll). Use it only from code that
// links MPI::MPI_CXX (CMake: OUROBOROS_WITH_MPI); nothing else in the library depends on MPI. With
// ouroboros/core/sweep.hpp and the streams of the loop, a sweep gives the same bytes for any number
// of ranks and threads. See docs/scaling.md.
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

#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/sweep.hpp"

namespace ouro::inline v0::mpi {

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
  /// Items each rank runs at once, one per thread (rank 0 too, besides handing them out).
  unsigned threads = 1;
  /// Rank 0: results already known (a resumed job), by item; missing or empty entries are run.
  std::vector<std::optional<std::string>> known;
  /// Rank 0, main thread: called as each new item's result arrives (to save a checkpoint, show
  /// progress), in the order they arrive. An exception thrown here ends the work like a failed
  /// item.
  std::function<void(std::size_t item, const std::string& result)> on_result;
};

namespace detail {
enum tag : int { t_request = 7301, t_result, t_error, t_bye, t_assign, t_stop };

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
/// A duplicate of a communicator for one call of run_items (collective), so that no message of
/// one call can be taken by another; freed on destruction.
class private_comm {
 public:
  explicit private_comm(MPI_Comm c) { MPI_Comm_dup(c, &c_); }
  ~private_comm() { MPI_Comm_free(&c_); }
  private_comm(const private_comm&) = delete;
  private_comm& operator=(const private_comm&) = delete;
  MPI_Comm get() const noexcept { return c_; }

 private:
  MPI_Comm c_ = MPI_COMM_NULL;
};

/// Whether a message waits (from `from`, any tag); fills `st`.
inline bool message_waiting(int from, MPI_Comm c, MPI_Status& st) {
  int flag = 0;
  MPI_Iprobe(from, MPI_ANY_TAG, c, &flag, &st);
  return flag != 0;
}

/// The pause between two polls of a waiting main thread: 50 microseconds after something
/// happened, doubling up to 10 ms while nothing does (a rank keeps items in hand, so its threads
/// do not wait for these polls; a finished item wakes its main thread at once).
class poll_pacer {
 public:
  void activity() noexcept { us_ = 50; }
  std::chrono::microseconds idle() noexcept {
    const long d = us_;
    us_ = std::min(us_ * 2, 10000L);
    return std::chrono::microseconds(d);
  }

 private:
  long us_ = 50;
};

/// Waits for a non-blocking MPI call to complete, asleep between two tests.
inline void wait_asleep(MPI_Request& req) {
  poll_pacer pace;
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(pace.idle());
  }
}

/// Messages sent without blocking: each buffer stays alive until MPI is done with it.
class outbox {
 public:
  void send(std::string bytes, int to, int tag, MPI_Comm c) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw run_error(fmt::format("an item's result of {} bytes is too large for one MPI message",
                                  bytes.size()));
    out_.push_back({std::move(bytes), MPI_REQUEST_NULL});  // a deque: elements never move
    auto& m = out_.back();
    MPI_Isend(m.bytes.data(), static_cast<int>(m.bytes.size()), MPI_BYTE, to, tag, c, &m.req);
  }
  /// Drops the messages MPI is done with; whether any is still on its way.
  bool busy() {
    for (auto it = out_.begin(); it != out_.end();) {
      int done = 0;
      MPI_Test(&it->req, &done, MPI_STATUS_IGNORE);
      it = done ? out_.erase(it) : std::next(it);
    }
    return !out_.empty();
  }
  /// Waits, asleep between polls, until every message is on its way.
  void drain() {
    poll_pacer pace;
    while (busy()) std::this_thread::sleep_for(pace.idle());
  }

 private:
  struct message {
    std::string bytes;
    MPI_Request req;
  };
  std::deque<message> out_;
};

/// A worker rank: keeps 2 x `threads` items in hand (asking rank 0 for more as they finish),
/// sends each result back, and stops when rank 0 says so; then says goodbye, so that rank 0 knows
/// no message of this rank is still on its way.
inline void worker(const std::function<std::string(std::size_t)>& work,
                   const distribute_options& opt, MPI_Comm c) {
  const unsigned threads = std::max(1u, opt.threads);
  const std::size_t in_hand = 2 * static_cast<std::size_t>(threads);
  ouro::detail::item_workers workers(threads, work,
                                     fmt::format("rank {}", environment::rank_of(c)));
  outbox out;
  poll_pacer pace;
  std::size_t asked = 0;  // requests not yet answered
  bool stopped = false;
  std::string failure, stop_message;
  for (;;) {
    bool busy = false;
    std::string local_failure;
    for (auto& [i, r] : workers.take(local_failure)) {
      out.send(with_index(i, r), 0, t_result, c);
      busy = true;
    }
    if (!local_failure.empty() && failure.empty()) {
      failure = local_failure;
      out.send(with_index(0, failure), 0, t_error, c);
      stopped = true;  // ask for nothing more
      busy = true;
    }
    while (!stopped && workers.pending() + asked < in_hand) {
      MPI_Send(nullptr, 0, MPI_BYTE, 0, t_request, c);  // empty: never waits for rank 0
      ++asked;
    }
    MPI_Status st;
    while (asked > 0 && message_waiting(0, c, st)) {
      busy = true;
      const std::string msg = recv_bytes(st, c);
      --asked;
      if (st.MPI_TAG == t_assign) {
        if (!stopped) workers.add(static_cast<std::size_t>(index_of(msg)));
      } else {  // t_stop
        stopped = true;
        if (stop_message.empty()) stop_message = msg;
      }
    }
    const bool sending = out.busy();
    if (stopped && asked == 0 && workers.pending() == 0 && !sending) break;
    if (busy) {
      pace.activity();
    } else {
      workers.wait_for_result(pace.idle());
    }
  }
  workers.close();
  std::string late;
  for (auto& [i, r] : workers.take(late)) out.send(with_index(i, r), 0, t_result, c);
  out.drain();
  MPI_Send(nullptr, 0, MPI_BYTE, 0, t_bye, c);
  if (!failure.empty()) throw run_error(failure);
  if (!stop_message.empty()) throw run_error(stop_message);
}
}  // namespace detail

/// A barrier that sleeps while it waits (MPI_Ibarrier polled with pauses), for the end of a job:
/// ranks that are done wait for rank 0 to write its files without taking a core.
inline void quiet_barrier(MPI_Comm c = MPI_COMM_WORLD) {
  MPI_Request req;
  MPI_Ibarrier(c, &req);
  detail::wait_asleep(req);
}

/// Rank 0's `status` on every rank (MPI_Ibcast polled with pauses: the other ranks sleep while
/// they wait).
inline int broadcast_status(int status, MPI_Comm c = MPI_COMM_WORLD) {
  MPI_Request req;
  MPI_Ibcast(&status, 1, MPI_INT, 0, c, &req);
  detail::wait_asleep(req);
  return status;
}

/// Runs `work(i)` for every item i in [0, n) once, somewhere among the ranks of `opt.comm`
/// (`opt.threads` at a time on each rank), and returns on rank 0 every item's result in item order
/// (an empty vector on the other ranks). Every rank must call it with the same n. `work` must be
/// safe to call from several threads at once when opt.threads > 1. See the file comment for
/// failures.
inline std::vector<std::string> run_items(std::size_t n,
                                          const std::function<std::string(std::size_t)>& work,
                                          const distribute_options& opt = {}) {
  const detail::private_comm comm(opt.comm);
  const MPI_Comm c = comm.get();
  const int me = environment::rank_of(c), ranks = environment::size_of(c);
  if (me != 0) {
    detail::worker(work, opt, c);
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
  std::string failure;  // the first failure
  auto record = [&](std::size_t i, std::string bytes) {
    if (!failure.empty() || i >= n) return;
    try {
      if (opt.on_result) opt.on_result(i, bytes);
      results[i] = std::move(bytes);
      have[i] = 1;
    } catch (const std::exception& e) {
      failure = fmt::format("saving item {}: {}", i, e.what());
    }
  };
  const unsigned threads = std::max(1u, opt.threads);
  ouro::detail::item_workers local(threads, work, "rank 0");
  detail::outbox out;
  detail::poll_pacer pace;
  int active = ranks - 1;  // worker ranks that have not said goodbye
  // per rank: requests not yet answered, items assigned and not yet back
  std::vector<std::size_t> asking(static_cast<std::size_t>(ranks), 0),
      in_hand(static_cast<std::size_t>(ranks), 0);
  const std::size_t all_threads = static_cast<std::size_t>(ranks) * threads;
  std::deque<std::pair<std::size_t, std::string>> arrived;
  for (;;) {
    bool busy = false;
    // the other ranks first, so that none waits for an answer while this thread saves results
    MPI_Status st;
    while (active > 0 && detail::message_waiting(MPI_ANY_SOURCE, c, st)) {
      busy = true;
      std::string msg = detail::recv_bytes(st, c);
      switch (st.MPI_TAG) {
        case detail::t_result:
          arrived.emplace_back(static_cast<std::size_t>(detail::index_of(msg)), msg.substr(8));
          --in_hand[static_cast<std::size_t>(st.MPI_SOURCE)];
          break;
        case detail::t_error:
          if (failure.empty()) failure = msg.substr(8);
          break;
        case detail::t_bye:
          --active;
          break;
        default:  // t_request: answered below
          ++asking[static_cast<std::size_t>(st.MPI_SOURCE)];
      }
    }
    // Requests: an item while there are plenty; near the end only to a rank with an idle thread
    // (an item waiting in a busy rank's queue could be the last to finish while others idle);
    // once there is nothing left (or after a failure), stop.
    for (int r = 1; r < ranks; ++r) {
      auto& a = asking[static_cast<std::size_t>(r)];
      auto& h = in_hand[static_cast<std::size_t>(r)];
      while (a > 0) {
        if (failure.empty() && !todo.empty()) {
          if (todo.size() <= all_threads && h >= threads) break;  // later, when one finishes
          out.send(detail::with_index(todo.front(), ""), r, detail::t_assign, c);
          todo.pop_front();
          ++h;
        } else {
          out.send(failure, r, detail::t_stop, c);
        }
        --a;
        busy = true;
      }
    }
    std::string local_failure;
    for (auto& r : local.take(local_failure)) {
      arrived.push_back(std::move(r));
      busy = true;
    }
    if (!local_failure.empty() && failure.empty()) failure = local_failure;
    while (failure.empty() && !todo.empty() && local.pending() < threads) {
      local.add(todo.front());
      todo.pop_front();
      busy = true;
    }
    for (auto& [i, r] : arrived) record(i, std::move(r));
    arrived.clear();
    if (!failure.empty()) local.close();  // what runs here finishes, nothing more starts
    const bool sending = out.busy();
    if (active == 0 && local.pending() == 0 && !sending && (todo.empty() || !failure.empty()))
      break;
    if (busy) {
      pace.activity();
    } else {
      local.wait_for_result(pace.idle());
    }
  }
  local.close();
  std::string late;
  for (auto& [i, r] : local.take(late)) record(i, std::move(r));
  if (!failure.empty()) throw run_error(failure);
  for (std::size_t i = 0; i < n; ++i)
    if (!have[i]) throw run_error(fmt::format("item {} was never run", i));
  return results;
}

}  // namespace ouro::mpi
