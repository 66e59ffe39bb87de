// Sweeps: many configurations (grid cells) x replicates, cut into work items that run apart (on
// threads, processes or MPI ranks, see ouroboros/mpi.hpp) and are merged into the results of one
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
#include <cstddef>
#include <span>
#include <string>
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

}  // namespace ouro
