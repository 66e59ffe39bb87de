// The experiments of the example programs as library functions: one call runs the whole
// experiment (one run per sample size, the theory attached, the configuration recorded) and
// returns its results. The programs (examples/) and the Python package call the same functions,
// so the same settings and seed give the same numbers to the last bit. See docs/python.md and
// docs/architecture.md#experiments.
//
//   ouro::experiments::gaussian_settings s;   // the program's defaults
//   s.samples = {100};
//   s.generations = 50;
//   s.replicates = 1000;
//   ouro::results res = ouro::experiments::gaussian_collapse(s);
//
// A setup callback adds what is not about the experiment to every run's options: threads,
// observers (progress), checkpoints, an interrupt flag, which values to keep.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/results.hpp"

namespace ouro::inline v0::experiments {

/// The settings every experiment takes: the programs' common options that change the numbers.
/// An error in a setting throws config_error whose message starts with the setting's name
/// ("samples: ...").
struct common_settings {
  std::vector<std::size_t> samples;   ///< M, one run per value (each given once)
  std::size_t generations = 0;        ///< G (generation 0 is fitted on real data)
  std::size_t replicates = 0;         ///< R per run
  std::string regime = "replace";     ///< replace, accumulate, accumulate_subsample or mix
  double real_fraction = 0.1;         ///< mix: the fraction of real data in every generation
  std::string real_source = "fixed";  ///< mix: fixed (a subset of generation 0's) or fresh
  std::size_t budget = 0;  ///< accumulate_subsample: training-set size (0: M of the generation)
  std::uint64_t seed = 42;

  /// The regime as ouro::with_regime takes it.
  regime::choice regime_choice() const {
    return {
        regime, real_fraction,
        real_source == "fresh" ? regime::real_source_kind::fresh : regime::real_source_kind::fixed,
        budget};
  }
};

/// What the caller adds to the options of every run (threads, observers, checkpoints, an
/// interrupt flag, keep): it gets the options the experiment set (label, generations,
/// replicates, samples, seed, config) and must leave those as they are.
using run_setup = std::function<void(run_options&)>;

/// A setting that applies only when others have some value: `name` is refused when given while
/// `applies` is false ("name: applies only to <when>; ...").
template <class S>
struct setting_rule {
  std::string name;
  std::function<bool(const S&)> applies;
  std::string when;
  std::string otherwise;  ///< why it is ignored otherwise
};

/// Refuses a setting given where it does not apply (`given(name)`: whether it was given).
template <class S>
void check_given(const S& s, const std::vector<setting_rule<S>>& rules,
                 const std::function<bool(std::string_view)>& given) {
  for (const auto& r : rules)
    if (given(r.name) && !r.applies(s))
      throw config_error(fmt::format("{}: applies only to {}; {}", r.name, r.when, r.otherwise));
}

namespace detail {

/// Checks the common settings; throws config_error naming the setting.
inline void check_common(const common_settings& s, const char* samples_name = "samples") {
  if (s.samples.empty())
    throw config_error(
        fmt::format("{}: give at least one value (one run per value)", samples_name));
  for (std::size_t i = 0; i < s.samples.size(); ++i) {
    if (s.samples[i] == 0 || s.samples[i] > (std::size_t{1} << 32))
      throw config_error(
          fmt::format("{}: {} is outside [1, 4294967296]", samples_name, s.samples[i]));
    for (std::size_t j = 0; j < i; ++j)
      if (s.samples[j] == s.samples[i])
        throw config_error(fmt::format("{}: {} is given twice; each value makes one run",
                                       samples_name, s.samples[i]));
  }
  if (s.generations < 1 || s.generations > 100'000'000)
    throw config_error(fmt::format("generations: {} is outside [1, 100000000]", s.generations));
  if (s.replicates < 1 || s.replicates > 100'000'000)
    throw config_error(fmt::format("replicates: {} is outside [1, 100000000]", s.replicates));
  bool known = false;
  for (auto n : regime::choice::names) known = known || n == s.regime;
  if (!known)
    throw config_error(fmt::format(
        "regime: unknown regime '{}' (replace, accumulate, accumulate_subsample or mix)",
        s.regime));
  if (!(s.real_fraction >= 0.0 && s.real_fraction <= 1.0))
    throw config_error(fmt::format("real_fraction: {} is outside [0, 1]", s.real_fraction));
  if (s.real_source != "fixed" && s.real_source != "fresh")
    throw config_error(fmt::format("real_source: '{}' is neither fixed nor fresh", s.real_source));
  if (s.budget > (std::size_t{1} << 32))
    throw config_error(fmt::format("budget: {} is outside [0, 4294967296]", s.budget));
}

/// The options of the run of sample size M: label "M=<M>", the common settings, then `setup`.
inline run_options options_for(const common_settings& s, std::size_t M, const run_setup& setup,
                               std::string label_prefix = "M", std::string config_key = "samples") {
  run_options opt;
  opt.label = fmt::format("{}={}", label_prefix, M);
  opt.generations = s.generations;
  opt.replicates = s.replicates;
  opt.samples = schedule::constant{M};
  opt.seed = s.seed;
  opt.config = {{std::move(config_key), static_cast<std::int64_t>(M)}};
  if (setup) setup(opt);
  return opt;
}

/// The configuration every experiment records after its own: generations, replicates, then the
/// regime's settings.
inline void add_common_config(results& res, const common_settings& s) {
  res.config.emplace_back("generations", static_cast<std::int64_t>(s.generations));
  res.config.emplace_back("replicates", static_cast<std::int64_t>(s.replicates));
  for (auto& p : s.regime_choice().to_params()) res.config.push_back(std::move(p));
}

/// Whether the last run stopped at an interrupt (the experiment then runs no further run).
inline bool interrupted(const results& res) {
  return !res.runs.empty() && res.runs.back().interrupted;
}

/// Seconds since t0.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace detail
}  // namespace ouro::inline v0::experiments
