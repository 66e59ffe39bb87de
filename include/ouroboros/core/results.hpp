// Results of a collapse experiment: per-generation summaries of every metric, optionally every
// replicate's value, events, theory curves and the configuration. Writers are in ouroboros/io/.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/events.hpp"
#include "ouroboros/core/stats.hpp"

namespace ouro::inline v0 {

/// The current time as ISO-8601 UTC with seconds ("2026-12-02T12:40:30Z").
inline std::string utc_now_iso8601() {
  using namespace std::chrono;
  const auto now = floor<seconds>(system_clock::now());
  const auto day = floor<days>(now);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> t{now - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), t.hours().count(), t.minutes().count(),
                     t.seconds().count());
}

/// A configuration value as it is written to the results.
using param_value = std::variant<bool, std::int64_t, double, std::string, std::vector<double>>;
/// An ordered list of named configuration values.
using params = std::vector<std::pair<std::string, param_value>>;

/// The summary of one metric over generations.
struct metric_series {
  std::string name;
  std::vector<std::size_t> generation;
  std::vector<double> mean, sd, se, ci95_lo, ci95_hi, median;

  void push(std::size_t g, const summary_point& s) {
    generation.push_back(g);
    mean.push_back(s.mean);
    sd.push_back(s.sd);
    se.push_back(s.se);
    ci95_lo.push_back(s.ci95_lo);
    ci95_hi.push_back(s.ci95_hi);
    median.push_back(s.median);
  }
};

/// One run: one configuration, R replicates, G generations.
struct run_result {
  std::string label;
  params config;
  std::size_t replicates = 0;
  std::size_t generations = 0;  ///< generations completed (fewer than asked after an early stop)
  std::vector<std::string> metric_names;
  std::vector<metric_series> summary;  ///< one per metric name, same order
  /// Every replicate's value, laid out [generation][replicate][metric]; empty unless kept.
  std::vector<double> values;
  bool has_values = false;
  /// Closed-form expectations per metric and generation, where they exist.
  std::vector<std::pair<std::string, std::vector<double>>> theory;
  std::vector<event> events;
  std::size_t events_dropped = 0;  ///< events beyond run_options::max_events (counted, not kept)
  double seconds = 0;
  std::uint64_t seed = 0;  ///< run_options::seed
  unsigned threads = 0;    ///< threads the run's work was spread over (the executor's concurrency)
  std::string started;     ///< ISO-8601 UTC, when the run started (kept across a resume)
  /// Stopped early by run_options::interrupt: the generations completed are complete, and a
  /// checkpoint (when configured) lets the run continue.
  bool interrupted = false;

  /// Index of a metric by name, or nullopt.
  std::optional<std::size_t> metric_index(std::string_view name) const {
    for (std::size_t i = 0; i < metric_names.size(); ++i)
      if (metric_names[i] == name) return i;
    return std::nullopt;
  }
  /// The value of metric k for replicate r at generation g (requires has_values).
  double value(std::size_t g, std::size_t r, std::size_t k) const {
    return values[(g * replicates + r) * metric_names.size() + k];
  }
  /// Attaches a closed-form expectation to a metric: law(g) for g = 0, 1, ... while it returns a
  /// value (a std::optional<double> or a double), up to the generations completed. Nothing is
  /// attached when law(0) has none. The writers put it in the JSON, in the summary CSV's theory
  /// column and, dashed, in the figures.
  template <class Law>
  void attach_theory(std::string metric, Law law) {
    std::vector<double> v;
    for (std::size_t g = 0; g < generations; ++g) {
      const std::optional<double> e = law(g);
      if (!e) break;
      v.push_back(*e);
    }
    if (!v.empty()) theory.emplace_back(std::move(metric), std::move(v));
  }
};

/// All runs of one experiment, plus what the results files need to say where they came from.
/// The writers (io::results_json) fill what is left at its default from the runs: the seed (or the
/// list of seeds, when the runs differ), the threads, the earliest start and the summed seconds;
/// and compiler, build type, library version and git revision (io::build_provenance()) where
/// `provenance` does not name them.
struct results {
  std::string experiment;
  params config;
  std::vector<run_result> runs;
  std::uint64_t seed = 0;  ///< 0: the runs' seed
  unsigned threads = 0;    ///< 0: the most threads a run used
  std::string started;     ///< ISO-8601 UTC; empty: the earliest run's start
  double seconds = 0;      ///< 0: the runs' seconds summed
  /// Extra provenance (compiler, build type, git, ...) written under "provenance".
  std::vector<std::pair<std::string, std::string>> provenance;

  /// The run with this label, or nullptr.
  const run_result* run(std::string_view label) const {
    for (const auto& r : runs)
      if (r.label == label) return &r;
    return nullptr;
  }
};

}  // namespace ouro::inline v0
