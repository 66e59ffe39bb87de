// Sweeps: many configurations (grid cells) x replicates, cut into work items that run apart (on
// threads: run_items_local; or MPI ranks: ouroboros/mpi.hpp) and are merged into the results of one
// run per cell, the same bit for bit as a single run of all the replicates: a replicate's streams
// depend only on (seed, replicate, generation, role), and the summaries are recomputed from the
// merged values in replicate order.
//
//   const auto items = ouro::plan_items(cells, replicates, 16);   // blocks of 16 replicates
//   // item i: opt.first_replicate = items[i].first_replicate, opt.replicates =
//   items[i].replicates,
//   //         opt.keep = ouro::keep_values::all
//   run_result cell = ouro::merge_replicate_blocks(blocks_of_that_cell);
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/errors.hpp"
#include "ouroboros/results.hpp"
#include "ouroboros/stats.hpp"

namespace ouro {

/// One work item of a sweep: a block of replicates of one grid cell.
struct sweep_item {
  std::size_t cell = 0;
  std::size_t first_replicate = 0;
  std::size_t replicates = 0;
};

/// The work items of `cells` cells of `replicates` replicates each, in blocks of at most
/// `per_item` replicates (0: the whole cell in one item); cell by cell, blocks in order.
inline std::vector<sweep_item> plan_items(std::size_t cells, std::size_t replicates,
                                          std::size_t per_item) {
  if (replicates == 0) throw config_error("a sweep needs at least one replicate per cell");
  const std::size_t block = per_item == 0 ? replicates : per_item;
  std::vector<sweep_item> items;
  for (std::size_t c = 0; c < cells; ++c)
    for (std::size_t r = 0; r < replicates; r += block)
      items.push_back({c, r, std::min(block, replicates - r)});
  return items;
}

/// Merges the results of blocks of replicates of one run (each with its values kept, given in
/// replicate order and covering replicates 0 .. R-1 without gaps) into the result of one run of
/// all R replicates: values side by side, summaries recomputed in replicate order, events in
/// (generation, replicate) order and capped at `max_events` (the others counted). The label,
/// configuration and theory come from the first block; `seconds` is the sum.
inline run_result merge_replicate_blocks(std::span<const run_result> blocks,
                                         const std::vector<std::size_t>& first_replicates,
                                         std::size_t max_events = 10000) {
  if (blocks.empty()) throw config_error("merge_replicate_blocks: no blocks");
  if (first_replicates.size() != blocks.size())
    throw config_error("merge_replicate_blocks: one first replicate per block is needed");
  const run_result& head = blocks.front();
  run_result out;
  out.label = head.label;
  out.config = head.config;
  out.metric_names = head.metric_names;
  out.theory = head.theory;
  out.generations = head.generations;
  out.has_values = true;
  const std::size_t K = head.metric_names.size(), G = head.generations;
  std::size_t next = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const auto& x = blocks[b];
    const std::string where = fmt::format("merge_replicate_blocks: run '{}', block {}", x.label, b);
    if (first_replicates[b] != next)
      throw config_error(
          fmt::format("{} starts at replicate {}, expected {}", where, first_replicates[b], next));
    if (x.metric_names != head.metric_names || x.generations != G)
      throw config_error(where + ": other metrics or generations than the first block");
    if (!x.has_values || x.values.size() != G * x.replicates * K)
      throw config_error(where + ": the block's values were not kept (keep_values::all)");
    if (x.interrupted) throw config_error(where + ": the block was interrupted");
    next += x.replicates;
    out.seconds += x.seconds;
    out.events_dropped += x.events_dropped;
  }
  const std::size_t R = next;
  out.replicates = R;
  out.values.resize(G * R * K);
  for (std::size_t g = 0; g < G; ++g) {
    double* dst = out.values.data() + g * R * K;
    for (const auto& x : blocks) {
      const std::size_t n = x.replicates * K;
      std::copy_n(x.values.data() + g * n, n, dst);
      dst += n;
    }
  }
  out.summary.resize(K);
  std::vector<double> column(R), scratch;
  for (std::size_t k = 0; k < K; ++k) {
    out.summary[k].name = out.metric_names[k];
    for (std::size_t g = 0; g < G; ++g) {
      for (std::size_t r = 0; r < R; ++r) column[r] = out.values[(g * R + r) * K + k];
      out.summary[k].push(g, summarize(column, scratch));
    }
  }
  std::vector<event> all;
  for (const auto& x : blocks) all.insert(all.end(), x.events.begin(), x.events.end());
  std::stable_sort(all.begin(), all.end(), [](const event& a, const event& b) {
    return a.generation != b.generation ? a.generation < b.generation : a.replicate < b.replicate;
  });
  for (auto& e : all) {
    if (out.events.size() < max_events)
      out.events.push_back(std::move(e));
    else
      ++out.events_dropped;
  }
  return out;
}

namespace detail {
/// Threads that run work items taken from a queue and leave their results (or the first failure)
/// in another; the owner feeds the queue and collects from the thread it runs on.
class item_workers {
 public:
  using work_fn = std::function<std::string(std::size_t)>;
  item_workers(unsigned threads, work_fn work, std::string where)
      : work_(std::move(work)), where_(std::move(where)) {
    for (unsigned t = 0; t < std::max(1u, threads); ++t) pool_.emplace_back([this] { loop(); });
  }
  ~item_workers() { close(); }
  item_workers(const item_workers&) = delete;
  item_workers& operator=(const item_workers&) = delete;

  /// Queues item i.
  void add(std::size_t i) {
    {
      std::lock_guard<std::mutex> g(m_);
      todo_.push_back(i);
    }
    cv_.notify_one();
  }
  /// Items queued or running.
  std::size_t pending() {
    std::lock_guard<std::mutex> g(m_);
    return todo_.size() + running_;
  }
  /// The results finished since the last call, and the first failure (empty if none).
  std::deque<std::pair<std::size_t, std::string>> take(std::string& failure) {
    std::lock_guard<std::mutex> g(m_);
    if (failure.empty()) failure = std::move(failure_), failure_.clear();
    return std::exchange(done_, {});
  }
  /// Waits until a result or a failure is ready, or `ms` milliseconds.
  void wait_for_result(int ms) {
    std::unique_lock<std::mutex> g(m_);
    done_cv_.wait_for(g, std::chrono::milliseconds(ms),
                      [&] { return !done_.empty() || !failure_.empty(); });
  }
  /// Drops the queued items (after a failure), lets running ones finish, stops the threads.
  void close() {
    {
      std::lock_guard<std::mutex> g(m_);
      closed_ = true;
      todo_.clear();
    }
    cv_.notify_all();
    for (auto& t : pool_)
      if (t.joinable()) t.join();
  }

 private:
  void loop() {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [&] { return closed_ || !todo_.empty(); });
        if (todo_.empty()) return;
        i = todo_.front();
        todo_.pop_front();
        ++running_;
      }
      std::string r, fail;
      try {
        r = work_(i);
      } catch (const std::exception& e) {
        fail = fmt::format("item {} on {}: {}", i, where_, e.what());
      } catch (...) {
        fail = fmt::format("item {} on {}: unknown exception", i, where_);
      }
      {
        std::lock_guard<std::mutex> g(m_);
        --running_;
        if (fail.empty()) {
          done_.emplace_back(i, std::move(r));
        } else {
          if (failure_.empty()) failure_ = std::move(fail);
          todo_.clear();  // nothing more starts here after a failure
        }
      }
      done_cv_.notify_all();
    }
  }

  work_fn work_;
  std::string where_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::size_t> todo_;
  std::deque<std::pair<std::size_t, std::string>> done_;
  std::string failure_;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::vector<std::thread> pool_;
};
}  // namespace detail

/// Runs `work(i)` for every item i in [0, n) not already `known`, on `threads` threads of this
/// process (one item per thread at a time), and returns every item's result in item order.
/// `on_result(i, bytes)` is called on the calling thread as each new result arrives. The first
/// item that throws stops the others from starting; the items running finish, and run_error is
/// thrown with the failure's message. The one-process counterpart of ouro::mpi::run_items.
inline std::vector<std::string> run_items_local(
    std::size_t n, const std::function<std::string(std::size_t)>& work, unsigned threads,
    const std::vector<std::optional<std::string>>& known = {},
    const std::function<void(std::size_t, const std::string&)>& on_result = {}) {
  std::vector<std::string> results(n);
  detail::item_workers workers(threads, work, "this process");
  for (std::size_t i = 0; i < n; ++i) {
    if (i < known.size() && known[i])
      results[i] = *known[i];
    else
      workers.add(i);
  }
  std::string failure;
  auto collect = [&] {
    for (auto& [i, r] : workers.take(failure)) {
      if (failure.empty() && on_result) {
        try {
          on_result(i, r);
        } catch (const std::exception& e) {
          failure = fmt::format("saving item {}: {}", i, e.what());
        }
      }
      results[i] = std::move(r);
    }
  };
  while (failure.empty() && workers.pending() > 0) {
    workers.wait_for_result(50);
    collect();
  }
  workers.close();
  collect();
  if (!failure.empty()) throw run_error(failure);
  return results;
}

}  // namespace ouro
