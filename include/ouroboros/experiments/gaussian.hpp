// The 1-D Gaussian experiment of Shumailov et al. (the program gaussian_collapse): each generation
// fits N(mu, s^2) to M samples of the previous fit; generation 0 is fitted on M real draws of
// N(0, 1). The exact expectations of ouroboros/core/theory.hpp are attached where they exist
// (replace and accumulate without a floor; mix with fresh real data). See
// ouroboros/experiments/common.hpp and docs/theory.md.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gaussian_exact.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

namespace ouro::inline v0::experiments {

/// gaussian_collapse's settings, with its defaults.
struct gaussian_settings : common_settings {
  std::string estimator = "unbiased";  ///< unbiased (divide by M-1) or mle (divide by M)
  double variance_floor = 0;  ///< an explicit floor of the fitted variance (0: none; no theory)
  bool exact =
      false;  ///< draw each training set's mean and sum of squares (models::exact_gaussian)
  gaussian_settings() {
    samples = {100, 1000};
    generations = 1000;
    replicates = 1000;
  }
};

namespace detail {
template <class Estimator, class Regime>
auto gaussian_loop(std::optional<double> floor, Regime regime) {
  return collapse_loop{models::gaussian_fitter<Estimator>{floor},
                       sample::ancestral{},
                       regime,
                       metrics::mean{},
                       metrics::variance{},
                       metrics::std_dev{},
                       metrics::log_variance{},
                       metrics::mean_sq_error{},
                       metrics::w2_sq{}};
}
}  // namespace detail

/// The metrics of gaussian_collapse, in order.
inline std::vector<std::string> gaussian_metric_names() {
  return detail::gaussian_loop<models::unbiased>(std::nullopt, regime::replace{}).metric_names();
}

/// Throws config_error (starting with the setting's name) for settings the experiment refuses.
inline void check(const gaussian_settings& s) {
  detail::check_common(s);
  if (s.estimator != "unbiased" && s.estimator != "mle")
    throw config_error(fmt::format("estimator: '{}' is neither unbiased nor mle", s.estimator));
  if (!(s.variance_floor >= 0 && s.variance_floor < 1e300))
    throw config_error(
        fmt::format("variance_floor: {} must be a finite number >= 0", s.variance_floor));
  for (auto m : s.samples)
    if (m < 2)
      throw config_error(
          fmt::format("samples: M = {} is too small: every fit needs at least 2 samples", m));
  if (s.exact && s.regime == "accumulate_subsample")
    throw config_error(
        "exact: regime accumulate_subsample has no exact form (it subsamples the accumulated "
        "points, which the exact path does not keep); drop exact or choose another regime");
  if (s.exact && s.regime == "mix" && s.real_source != "fresh")
    throw config_error(
        "exact: regime mix with a fixed real subset has no exact form (the same real points "
        "return in every generation); set real source fresh or drop exact");
}

/// Runs gaussian_collapse: one run per M, labelled "M=<M>", with the theory attached.
inline results gaussian_collapse(const gaussian_settings& s, const run_setup& setup = {}) {
  check(s);
  const auto est = s.estimator == "mle" ? theory::estimator::mle : theory::estimator::unbiased;
  std::optional<theory::regime> theory_regime;
  if (s.variance_floor == 0 && s.regime == "replace") theory_regime = theory::regime::replace;
  if (s.variance_floor == 0 && s.regime == "accumulate") theory_regime = theory::regime::accumulate;
  const bool mix_fresh = s.variance_floor == 0 && s.regime == "mix" && s.real_source == "fresh";

  results res;
  res.experiment = "gaussian_collapse";
  res.config = {{"truth", std::string("N(0, 1)")},
                {"estimator", s.estimator},
                {"generations", static_cast<std::int64_t>(s.generations)},
                {"replicates", static_cast<std::int64_t>(s.replicates)},
                {"variance_floor", s.variance_floor},
                {"exact", s.exact}};
  for (auto& p : s.regime_choice().to_params()) res.config.push_back(p);

  const auto t0 = std::chrono::steady_clock::now();
  auto run_all = [&](auto estimator) {
    with_regime(s.regime_choice(), [&](auto regime) {
      std::optional<double> vf;
      if (s.variance_floor > 0) vf = s.variance_floor;
      const auto loop = detail::gaussian_loop<decltype(estimator)>(vf, regime);
      for (std::size_t M : s.samples) {
        if (detail::interrupted(res)) break;
        const run_options opt = detail::options_for(s, M, setup);
        run_result run =
            s.exact ? models::run_exact_gaussian(
                          models::exact_gaussian{0.0, 1.0},
                          models::exact_gaussian_fitter<decltype(estimator)>{vf}, regime, opt)
                    : loop.run(from_truth(models::gaussian{0.0, 1.0}), opt);
        if (theory_regime)  // generation g has been fitted n = g + 1 times
          for (const auto& name : run.metric_names)
            run.attach_theory(name, [&](std::size_t g) {
              return theory::expected(name, M, g + 1, est, *theory_regime);
            });
        if (mix_fresh) {  // the exact recursion of E[sigma^2] and E[mu^2] (docs/theory.md)
          std::vector<theory::mix_moments> law;
          for (std::size_t g = 0; g < run.generations; ++g)
            law.push_back(theory::expected_mix_fresh(M, g + 1, est, s.real_fraction));
          run.attach_theory("variance", [&](std::size_t g) { return law[g].variance; });
          run.attach_theory("mean_sq_error", [&](std::size_t g) { return law[g].mean_square; });
        }
        res.runs.push_back(std::move(run));
      }
    });
  };
  if (s.estimator == "mle")
    run_all(models::mle{});
  else
    run_all(models::unbiased{});
  res.seconds = detail::seconds_since(t0);
  return res;
}

/// The figure of gaussian_collapse: four panels of Monte Carlo means with 95% bands and the
/// theory dashed.
inline io::figure_options gaussian_figure() {
  io::figure_options f;
  f.title = "1-D Gaussian model collapse: Monte Carlo mean (95% CI) and theory (dashed)";
  f.panels = {{"log_variance", "E[log sigma^2]"},
              {"std", "E[sigma]"},
              {"mean_sq_error", "E[mu^2]"},
              {"w2_sq", "E[W2^2] to N(0,1)"}};
  f.columns = 2;
  f.panel_width = 700;
  f.panel_height = 480;
  return f;
}

}  // namespace ouro::inline v0::experiments
