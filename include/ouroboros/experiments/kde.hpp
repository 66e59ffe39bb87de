// The kernel density experiment of Kazdan et al. (the program kde_collapse): each generation keeps
// M draws of the previous estimate, with Silverman's bandwidth or a fixed one; the variance grows
// instead of collapsing. The exact laws are attached under replace and accumulate. See
// ouroboros/experiments/common.hpp and docs/models.md#kernel-density-estimate.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/core/values.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/kde.hpp"

namespace ouro::inline v0::experiments {

/// kde_collapse's settings, with its defaults.
struct kde_settings : common_settings {
  /// silverman (1.06 s n^(-1/5) of the points kept) or a fixed h > 0 written as a number
  std::string bandwidth = "silverman";
  kde_settings() {
    samples = {50, 200};
    generations = 30;
    replicates = 2000;
  }
};

/// The fixed bandwidth the settings name, or nullopt for Silverman's rule; throws config_error
/// naming the setting for anything else.
inline std::optional<double> kde_bandwidth(const kde_settings& s) {
  if (s.bandwidth == "silverman") return std::nullopt;
  const auto p = parse_real(s.bandwidth, real_range::above_to(0, 1e6));
  if (!p.ok()) throw config_error("bandwidth: must be silverman or a fixed h: " + p.why());
  return p.value();
}

namespace detail {
template <class Regime>
auto kde_loop(std::optional<double> h, Regime regime) {
  return collapse_loop{models::kde_fitter{h}, sample::ancestral{}, regime, metrics::kde_variance{},
                       metrics::kde_l2_to_normal{0.0, 1.0}};
}
}  // namespace detail

/// The metrics of kde_collapse, in order.
inline std::vector<std::string> kde_metric_names() {
  return detail::kde_loop(std::nullopt, regime::replace{}).metric_names();
}

/// Throws config_error (starting with the setting's name) for settings the experiment refuses.
inline void check(const kde_settings& s) {
  detail::check_common(s);
  (void)kde_bandwidth(s);
  for (auto m : s.samples)
    if (m < 2)
      throw config_error(fmt::format(
          "samples: M = {} is too small: the bandwidth rule needs at least 2 points", m));
}

/// Runs kde_collapse: one run per M, with the variance's law under replace and accumulate.
inline results kde_collapse(const kde_settings& s, const run_setup& setup = {}) {
  check(s);
  const std::optional<double> h = kde_bandwidth(s);
  results res;
  res.experiment = "kde_collapse";
  res.config = {{"truth", std::string("N(0, 1)")}, {"bandwidth", s.bandwidth}};
  detail::add_common_config(res, s);
  const bool replace = s.regime == "replace", accumulate = s.regime == "accumulate";
  const auto t0 = std::chrono::steady_clock::now();
  with_regime(s.regime_choice(), [&](auto regime) {
    const auto loop = detail::kde_loop(h, regime);
    for (std::size_t M : s.samples) {
      if (detail::interrupted(res)) break;
      run_result run =
          loop.run(from_truth(models::gaussian{0.0, 1.0}), detail::options_for(s, M, setup));
      if (replace || accumulate)  // generation g has been fitted n = g + 1 times
        run.attach_theory("variance", [&](std::size_t g) {
          return replace ? theory::kde_replace_variance(M, g + 1, h)
                         : theory::kde_accumulate_variance(M, g + 1, h);
        });
      res.runs.push_back(std::move(run));
    }
  });
  res.seconds = detail::seconds_since(t0);
  return res;
}

/// The figure of kde_collapse.
inline io::figure_options kde_figure() {
  io::figure_options f;
  f.title = "Kernel density estimates refitted to their own samples (mean, 95% CI; theory dashed)";
  f.panels = {{"variance", "variance of the estimate", true},
              {"l2_distance", "L2 distance to N(0, 1)"}};
  return f;
}

}  // namespace ouro::inline v0::experiments
