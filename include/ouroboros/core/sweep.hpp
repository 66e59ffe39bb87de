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

#include "ouroboros/core/detail/thread_pool.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/core/stats.hpp"

namespace ouro::inline v0 {

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
/// Work items on the threads of the library's pool (detail::thread_pool::post): the owner adds
/// items and collects their results (or the first failure) from the thread it runs on; the
/// worker threads sleep while there is nothing to do, and so does the owner in wait_for_result.
class item_workers {
 public:
  using work_fn = std::function<std::string(std::size_t)>;
  item_workers(unsigned threads, work_fn work, std::string where)
      : work_(std::move(work)), where_(std::move(where)), pool_(std::max(1u, threads) + 1, 0) {}
  ~item_workers() { close(); }
  item_workers(const item_workers&) = delete;
  item_workers& operator=(const item_workers&) = delete;

  /// Queues item i.
  void add(std::size_t i) {
    {
      std::lock_guard<std::mutex> g(m_);
      ++queued_;
    }
    pool_.post([this, i] { run(i); });
  }
  /// Items queued or running.
  std::size_t pending() {
    std::lock_guard<std::mutex> g(m_);
    return queued_ + running_;
  }
  /// The results finished since the last call, and the first failure (empty if none).
  std::deque<std::pair<std::size_t, std::string>> take(std::string& failure) {
    std::lock_guard<std::mutex> g(m_);
    if (failure.empty()) failure = std::move(failure_), failure_.clear();
    return std::exchange(done_, {});
  }
  /// Sleeps until a result or a failure is ready, or `d` has passed.
  template <class Rep, class Period>
  void wait_for_result(std::chrono::duration<Rep, Period> d) {
    std::unique_lock<std::mutex> g(m_);
    done_cv_.wait_for(g, d, [&] { return !done_.empty() || !failure_.empty(); });
  }
  void wait_for_result(int ms) { wait_for_result(std::chrono::milliseconds(ms)); }
  /// Drops the queued items (after a failure) and waits, asleep, until the running ones finish.
  void close() {
    const std::size_t dropped = pool_.drop_queued();
    std::unique_lock<std::mutex> g(m_);
    closed_ = true;
    queued_ -= std::min(queued_, dropped);
    done_cv_.wait(g, [&] { return running_ == 0 && queued_ == 0; });
  }

 private:
  void run(std::size_t i) {
    {
      std::lock_guard<std::mutex> g(m_);
      --queued_;
      if (closed_ || !failure_.empty()) {  // nothing more starts after a failure
        done_cv_.notify_all();
        return;
      }
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
      if (fail.empty())
        done_.emplace_back(i, std::move(r));
      else if (failure_.empty())
        failure_ = std::move(fail);
    }
    done_cv_.notify_all();
  }

  work_fn work_;
  std::string where_;
  std::mutex m_;
  std::condition_variable done_cv_;
  std::deque<std::pair<std::size_t, std::string>> done_;
  std::string failure_;
  std::size_t queued_ = 0, running_ = 0;
  bool closed_ = false;
  thread_pool pool_;  // last: its threads stop before the members they use go away
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

}  // namespace ouro::inline v0
