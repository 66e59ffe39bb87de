// Linear regression with a fixed design (Dohmatob, Feng & Kempe 2024; Gerstgrasser et al. 2024):
// a ConditionalModel (docs/conditional_model.md). A sample is a row [x_1 .. x_d, y]; the truth
// draws each replicate's design (T rows of N(0, I_d) inputs) and labels it with w*; every later
// generation's labels are the previous fit's predictions plus fresh N(0, sigma^2) noise on the same
// inputs (sample::relabel). See docs/models.md#linear-regression.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xtensor.hpp>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/dataset_xtensor.hpp"

namespace ouro::inline v0::models {

/// Rows [x_1 .. x_d, y]: d inputs and the label, one row per sample.
using regression_rows = xt::xtensor<double, 2>;

/// A fitted linear model y = x.w + N(0, sigma^2): labels inputs (relabel), has no sample().
struct linear_regression {
  using dataset_type = regression_rows;
  std::vector<double> w;  ///< d weights
  double sigma = 1;       ///< the noise of the labels it draws

  std::size_t dim() const noexcept { return w.size(); }
  /// The rows of `inputs` (d + 1 columns; the last is replaced) labelled x.w + N(0, sigma^2).
  template <Rng G>
  regression_rows relabel(const regression_rows& inputs, G& g) const {
    const std::size_t d = w.size();
    if (inputs.dimension() != 2 || inputs.shape()[1] != d + 1)
      throw std::invalid_argument(fmt::format(
          "ouro::models::linear_regression: rows of {} columns given to a model of {} inputs",
          inputs.dimension() == 2 ? inputs.shape()[1] : 0, d));
    regression_rows out = inputs;
    for (std::size_t i = 0; i < out.shape()[0]; ++i) {
      double y = 0;
      for (std::size_t j = 0; j < d; ++j) y += out(i, j) * w[j];
      out(i, d) = y + sigma * standard_normal(g);
    }
    return out;
  }
};

/// The truth of the fixed-design setting: inputs N(0, I_d) and labels x.w* + N(0, sigma^2). It
/// draws each replicate's real rows (the design every later generation keeps) from the replicate's
/// real-data stream.
struct linear_design_truth {
  using dataset_type = regression_rows;
  std::vector<double> w;  ///< w*
  double sigma = 1;

  template <Rng G>
  regression_rows sample(std::size_t n, G& g) const {
    const std::size_t d = w.size();
    auto out = regression_rows::from_shape({n, d + 1});
    for (std::size_t i = 0; i < n; ++i) {
      double y = 0;
      for (std::size_t j = 0; j < d; ++j) {
        out(i, j) = standard_normal(g);
        y += out(i, j) * w[j];
      }
      out(i, d) = y + sigma * standard_normal(g);
    }
    return out;
  }
};

/// Least squares on every row it is given (any order), with an optional ridge penalty lambda >= 0:
/// w = (X'X + lambda I)^-1 X'y, solved by Cholesky. The noise level sigma is known and handed to
/// the model. A singular system (fewer independent rows than inputs, lambda = 0) is an event, and
/// the weights are then set to 0.
struct linear_regression_fitter {
  using model_type = linear_regression;
  std::size_t dim = 1;
  double sigma = 1;
  double ridge = 0;

  template <Rng G>
  linear_regression fit(const regression_rows& x, G&, event_log& log) const {
    const std::size_t d = dim;
    if (!(ridge >= 0) || !std::isfinite(ridge))
      throw std::invalid_argument("ouro::models::linear_regression_fitter: ridge must be >= 0");
    if (x.dimension() != 2 || x.shape()[1] != d + 1)
      throw std::invalid_argument(
          fmt::format("ouro::models::linear_regression_fitter: rows of {} columns for {} inputs",
                      x.dimension() == 2 ? x.shape()[1] : 0, d));
    std::vector<double> a(d * d, 0.0), b(d, 0.0);
    for (std::size_t i = 0; i < x.shape()[0]; ++i)
      for (std::size_t j = 0; j < d; ++j) {
        b[j] += x(i, j) * x(i, d);
        for (std::size_t k = 0; k <= j; ++k) a[j * d + k] += x(i, j) * x(i, k);
      }
    for (std::size_t j = 0; j < d; ++j) a[j * d + j] += ridge;
    linear_regression m{std::vector<double>(d, 0.0), sigma};
    for (std::size_t j = 0; j < d; ++j) {  // a = L L', L in the lower triangle
      for (std::size_t k = 0; k < j; ++k) a[j * d + j] -= a[j * d + k] * a[j * d + k];
      if (!(a[j * d + j] > 1e-12 * (1 + std::abs(a[j * d + j])))) {
        log.record(fmt::format("singular design ({} rows for {} inputs)", x.shape()[0], d),
                   "weights set to 0");
        return m;
      }
      a[j * d + j] = std::sqrt(a[j * d + j]);
      for (std::size_t i = j + 1; i < d; ++i) {
        for (std::size_t k = 0; k < j; ++k) a[i * d + j] -= a[i * d + k] * a[j * d + k];
        a[i * d + j] /= a[j * d + j];
      }
    }
    for (std::size_t i = 0; i < d; ++i) {  // L z = b, then L' w = z
      for (std::size_t k = 0; k < i; ++k) b[i] -= a[i * d + k] * b[k];
      b[i] /= a[i * d + i];
    }
    for (std::size_t i = d; i-- > 0;) {
      for (std::size_t k = i + 1; k < d; ++k) b[i] -= a[k * d + i] * m.w[k];
      m.w[i] = b[i] / a[i * d + i];
    }
    return m;
  }
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {

template <>
struct checkpoint_traits<models::linear_regression> {
  static void save(const models::linear_regression& m, io::binary_writer& w) {
    w.put_tag("linear_regression");
    w.put_vector(m.w);
    w.put_f64(m.sigma);
  }
  static models::linear_regression load(io::binary_reader& r) {
    r.expect_tag("linear_regression");
    models::linear_regression m;
    m.w = r.get_vector<double>("weights");
    m.sigma = r.get_f64("noise");
    return m;
  }
};

}  // namespace ouro::inline v0

namespace ouro::inline v0::metrics {

/// ||w_hat - w*||^2: the squared distance of the fitted weights from the truth's (the test error of
/// the fixed-design papers, up to the noise floor).
struct test_error {
  std::vector<double> w_star;
  std::string name() const { return "test_error"; }
  template <class S>
  double operator()(const generation_context<models::linear_regression, S>& c) const {
    double s = 0;
    for (std::size_t j = 0; j < w_star.size() && j < c.model.w.size(); ++j)
      s += (c.model.w[j] - w_star[j]) * (c.model.w[j] - w_star[j]);
    return s;
  }
};

/// The norm of the fitted weights.
struct weight_norm {
  std::string name() const { return "weight_norm"; }
  template <class S>
  double operator()(const generation_context<models::linear_regression, S>& c) const {
    double s = 0;
    for (double v : c.model.w) s += v * v;
    return std::sqrt(s);
  }
};

}  // namespace ouro::inline v0::metrics
