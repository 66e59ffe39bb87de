// The categorical experiment (the program categorical_collapse): Wright-Fisher resampling of a
// categorical distribution refitted by its frequencies; the heterozygosity against its exact
// decay under replace. See ouroboros/experiments/common.hpp and docs/theory.md.
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/categorical_exact.hpp"
#include "ouroboros/models/metrics/categorical.hpp"

namespace ouro::inline v0::experiments {

/// categorical_collapse's settings, with its defaults.
struct categorical_settings : common_settings {
  std::vector<double> probs{0.5, 0.3, 0.15, 0.05};  ///< true probabilities (normalised)
  /// Zipf truth instead of probs: {K, s} gives p_i proportional to 1/(i+1)^s (empty: probs)
  std::vector<double> zipf;
  double pseudocount = 0;  ///< add-k smoothing of the fitted frequencies (0: no theory otherwise)
  bool exact = false;      ///< draw the counts per state (models::exact_categorical)
  categorical_settings() {
    samples = {100};
    generations = 500;
    replicates = 2000;
  }
};

/// The true probabilities the settings name (zipf, else probs), normalised; throws config_error
/// naming the setting when they name none.
inline std::vector<double> categorical_truth(const categorical_settings& s) {
  std::vector<double> probs = s.probs;
  if (!s.zipf.empty()) {
    if (s.zipf.size() != 2)
      throw config_error(fmt::format("zipf: takes 2 values (K, s), not {}", s.zipf.size()));
    const double k = s.zipf[0], e = s.zipf[1];
    if (!(k >= 1 && k <= 1e7 && std::floor(k) == k))
      throw config_error(fmt::format("zipf: K = {} must be a whole number in [1, 1e7]", k));
    if (!(e >= 0 && std::isfinite(e)))
      throw config_error(fmt::format("zipf: s = {} must be finite and >= 0", e));
    probs.assign(static_cast<std::size_t>(k), 0.0);
    for (std::size_t i = 0; i < probs.size(); ++i)
      probs[i] = std::pow(static_cast<double>(i + 1), -e);
  }
  double total = 0;
  for (double p : probs) {
    if (!(p >= 0 && std::isfinite(p)))
      throw config_error(fmt::format("probs: {} is not a finite number >= 0", p));
    total += p;
  }
  if (!std::isfinite(total))
    throw config_error(
        "probs: the values add up to more than a double holds; give relative weights of a "
        "smaller scale");
  if (probs.empty() || !(total > 0))
    throw config_error("probs: need at least one state with positive probability");
  for (double& p : probs) p /= total;
  return probs;
}

namespace detail {
template <class Regime, class Fitter>
auto categorical_loop(Regime regime, Fitter fitter, std::size_t K) {
  return collapse_loop{fitter,
                       sample::ancestral{},
                       regime,
                       metrics::heterozygosity{},
                       metrics::entropy{},
                       metrics::support_size{},
                       metrics::fixed_states{K}};
}
}  // namespace detail

/// The metrics of categorical_collapse for K states, in order.
inline std::vector<std::string> categorical_metric_names(std::size_t K) {
  return detail::categorical_loop(regime::replace{}, models::categorical_fitter{K, 0.0}, K)
      .metric_names();
}

/// Throws config_error (starting with the setting's name) for settings the experiment refuses.
inline void check(const categorical_settings& s) {
  detail::check_common(s);
  (void)categorical_truth(s);
  if (!(s.pseudocount >= 0 && s.pseudocount <= 1e12))
    throw config_error(fmt::format(
        "pseudocount: {} is outside [0, 1e12] (larger ones leave no frequency a double holds)",
        s.pseudocount));
  if (s.exact && s.regime == "accumulate_subsample")
    throw config_error(
        "exact: regime accumulate_subsample has no exact form (it subsamples the accumulated "
        "states, which the exact path keeps only as counts); drop exact or choose another "
        "regime");
  if (s.exact && s.regime == "mix" && s.real_source != "fresh")
    throw config_error(
        "exact: regime mix with a fixed real subset has no exact form (the same real states "
        "return in every generation); set real source fresh or drop exact");
}

/// The settings of categorical_collapse that exclude each other: probs and zipf name the truth.
inline std::vector<setting_rule<categorical_settings>> categorical_rules() {
  return {{"probs", [](const categorical_settings& s) { return s.zipf.empty(); },
           "a truth without zipf", "zipf and probs exclude each other; give one of them"}};
}

/// Runs categorical_collapse: one run per M, with the heterozygosity's law under replace.
inline results categorical_collapse(const categorical_settings& s, const run_setup& setup = {}) {
  check(s);
  const std::vector<double> probs = categorical_truth(s);
  double h0 = 1;
  for (double p : probs) h0 -= p * p;
  const std::size_t K = probs.size();
  const models::categorical_fitter sampled_fitter{K, s.pseudocount};
  const models::exact_categorical_fitter exact_fitter{K, s.pseudocount};

  results res;
  res.experiment = "categorical_collapse";
  res.config = {{"probs", probs}, {"pseudocount", s.pseudocount}, {"exact", s.exact}};
  detail::add_common_config(res, s);
  const bool theory_applies = s.pseudocount == 0 && s.regime == "replace";

  const auto t0 = std::chrono::steady_clock::now();
  with_regime(s.regime_choice(), [&](auto regime) {
    const auto loop = detail::categorical_loop(regime, sampled_fitter, K);
    const auto exact_loop = detail::categorical_loop(regime, exact_fitter, K);
    for (std::size_t M : s.samples) {
      if (detail::interrupted(res)) break;
      const run_options opt = detail::options_for(s, M, setup);
      run_result run = s.exact ? exact_loop.run(from_truth(models::exact_categorical{probs}), opt)
                               : loop.run(from_truth(models::categorical{probs}), opt);
      if (theory_applies)  // generation g has been fitted n = g + 1 times
        run.attach_theory("heterozygosity", [&](std::size_t g) {
          return theory::expected_heterozygosity(h0, M, g + 1);
        });
      res.runs.push_back(std::move(run));
    }
  });
  res.seconds = detail::seconds_since(t0);
  return res;
}

/// The figure of categorical_collapse.
inline io::figure_options categorical_figure() {
  io::figure_options f;
  f.title = "Categorical (Wright-Fisher) collapse: Monte Carlo mean (95% CI), theory dashed";
  f.panels = {{"heterozygosity"}, {"entropy"}, {"support_size"}};
  return f;
}

}  // namespace ouro::inline v0::experiments
