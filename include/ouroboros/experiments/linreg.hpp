// The regression experiment of Dohmatob et al. and Gerstgrasser et al. (the program
// linreg_collapse): least squares (optionally ridge) with a fixed design of T rows refitted on its
// own labels; ||w_n - w*||^2 against its exact laws under replace and accumulate. See
// ouroboros/experiments/common.hpp and docs/models.md#linear-regression.
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
#include "ouroboros/models/linear_regression.hpp"

namespace ouro::inline v0::experiments {

/// linreg_collapse's settings, with its defaults. Every generation labels all T rows of the
/// design, so `rows` takes the place of `samples` (which must stay empty).
struct linreg_settings : common_settings {
  std::size_t dim = 10;               ///< inputs per row d
  std::vector<std::size_t> rows{50};  ///< T, one run per value
  double noise = 1.0;                 ///< sigma of the label noise
  double ridge = 0.0;                 ///< lambda (0: least squares; the laws need 0)
  linreg_settings() {
    generations = 50;
    replicates = 2000;
  }
};

/// w* = (1, -1/2, 1/3, -1/4, ...): fixed, of norm below 1.3 whatever d.
inline std::vector<double> linreg_true_weights(std::size_t d) {
  std::vector<double> w(d);
  for (std::size_t j = 0; j < d; ++j) w[j] = (j % 2 ? -1.0 : 1.0) / static_cast<double>(j + 1);
  return w;
}

namespace detail {
template <class Regime>
auto linreg_loop(std::size_t dim, double noise, double ridge, std::vector<double> w_star,
                 Regime regime) {
  return collapse_loop{models::linear_regression_fitter{dim, noise, ridge}, sample::relabel{},
                       regime, metrics::test_error{std::move(w_star)}, metrics::weight_norm{}};
}
}  // namespace detail

/// The metrics of linreg_collapse, in order.
inline std::vector<std::string> linreg_metric_names() {
  return detail::linreg_loop(1, 1.0, 0.0, {1.0}, regime::replace{}).metric_names();
}

/// Throws config_error (starting with the setting's name) for settings the experiment refuses.
inline void check(const linreg_settings& s) {
  if (!s.samples.empty())
    throw config_error(
        "samples: every generation labels the T rows of the design; give rows instead");
  common_settings c = s;
  c.samples = s.rows;
  detail::check_common(c, "rows");
  if (s.dim < 1 || s.dim > 1000)
    throw config_error(fmt::format("dim: {} is outside [1, 1000]", s.dim));
  if (!(s.noise > 0 && s.noise <= 1e6))
    throw config_error(fmt::format("noise: {} is outside (0, 1000000]", s.noise));
  if (!(s.ridge >= 0 && s.ridge <= 1e12))
    throw config_error(fmt::format("ridge: {} is outside [0, 1e12]", s.ridge));
  for (std::size_t T : s.rows) {
    if (T > (std::size_t{1} << 24))
      throw config_error(fmt::format("rows: {} is outside [1, 16777216]", T));
    if (T < s.dim && s.ridge == 0)
      throw config_error(fmt::format(
          "rows: {} is fewer than dim {}: least squares needs T >= d rows (or a ridge penalty)", T,
          s.dim));
  }
}

/// Runs linreg_collapse: one run per T, labelled "T=<T>", with the laws where they hold (no
/// ridge, replace or accumulate, T > d + 1).
inline results linreg_collapse(const linreg_settings& s, const run_setup& setup = {}) {
  check(s);
  const auto w_star = linreg_true_weights(s.dim);
  results res;
  res.experiment = "linreg_collapse";
  res.config = {{"dim", static_cast<std::int64_t>(s.dim)},
                {"noise", s.noise},
                {"ridge", s.ridge},
                {"w_star", w_star}};
  detail::add_common_config(res, s);
  const bool laws = s.ridge == 0 && (s.regime == "replace" || s.regime == "accumulate");
  const models::linear_design_truth truth{w_star, s.noise};
  const auto t0 = std::chrono::steady_clock::now();
  with_regime(s.regime_choice(), [&](auto regime) {
    const auto loop = detail::linreg_loop(s.dim, s.noise, s.ridge, w_star, regime);
    for (std::size_t T : s.rows) {
      if (detail::interrupted(res)) break;
      run_result run = loop.run(from_truth(truth), detail::options_for(s, T, setup, "T", "rows"));
      if (laws && T > s.dim + 1)  // generation g has been fitted n = g + 1 times
        run.attach_theory("test_error", [&](std::size_t g) {
          return s.regime == "replace"
                     ? theory::regression_replace_error(s.noise, s.dim, T, g + 1)
                     : theory::regression_accumulate_error(s.noise, s.dim, T, g + 1);
        });
      res.runs.push_back(std::move(run));
    }
  });
  res.seconds = detail::seconds_since(t0);
  return res;
}

/// The figure of linreg_collapse.
inline io::figure_options linreg_figure() {
  io::figure_options f;
  f.title = "Linear regression, fixed design: ||w_n - w*||^2 (mean, 95% CI; theory dashed)";
  f.panels = {{"test_error", "test error ||w - w*||^2"}, {"weight_norm", "||w||"}};
  return f;
}

}  // namespace ouro::inline v0::experiments
