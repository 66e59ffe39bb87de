// Metrics of multivariate Gaussian models against a Gaussian truth N(mean, cov). See
// docs/metrics.md.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/models/mv_gaussian.hpp"

namespace ouro::inline v0::metrics {

/// Trace of the fitted covariance (the total variance).
struct trace_covariance {
  std::string name() const { return "trace_covariance"; }
  template <class S>
  double operator()(const generation_context<models::mv_gaussian, S>& c) const {
    return c.model.total_variance();
  }
};

/// Squared 2-Wasserstein distance to the truth, closed form:
/// |m - m0|^2 + tr(S + S0 - 2 (S0^1/2 S S0^1/2)^1/2).
struct mv_w2_sq {
  models::mv_gaussian truth;
  std::string name() const { return "w2_sq"; }
  template <class S>
  double operator()(const generation_context<models::mv_gaussian, S>& c) const {
    return w2_sq_between(c.model, truth);
  }
  static double w2_sq_between(const models::mv_gaussian& a, const models::mv_gaussian& b) {
    const std::size_t d = a.dim();
    ouro::matrix Sa(d), Sb(d);
    double dm = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const double t = a.mean()(i) - b.mean()(i);
      dm += t * t;
      for (std::size_t j = 0; j < d; ++j) {
        Sa(i, j) = a.covariance()(i, j);
        Sb(i, j) = b.covariance()(i, j);
      }
    }
    const auto rb = ouro::detail::sym_sqrt(Sb);
    auto mid = ouro::detail::matmul(ouro::detail::matmul(rb, Sa), rb);
    for (std::size_t i = 0; i < d; ++i)  // symmetrise against rounding
      for (std::size_t j = 0; j < i; ++j) mid(i, j) = mid(j, i) = 0.5 * (mid(i, j) + mid(j, i));
    const auto root = ouro::detail::sym_sqrt(mid);
    double tr = 0;
    for (std::size_t i = 0; i < d; ++i) tr += Sa(i, i) + Sb(i, i) - 2 * root(i, i);
    return dm + std::max(tr, 0.0);
  }
};

/// KL(truth || model) in nats, closed form; +inf when the model's covariance is singular.
struct mv_kl_to_truth {
  models::mv_gaussian truth;
  std::string name() const { return "kl_to_truth"; }
  template <class S>
  double operator()(const generation_context<models::mv_gaussian, S>& c) const {
    const auto& m = c.model;
    if (m.singular()) return std::numeric_limits<double>::infinity();
    const std::size_t d = m.dim();
    ouro::matrix Sm(d), St(d), Lm, Lt;
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) {
        Sm(i, j) = m.covariance()(i, j);
        St(i, j) = truth.covariance()(i, j);
      }
    ouro::detail::cholesky(Sm, Lm);
    if (!ouro::detail::cholesky(St, Lt)) return std::numeric_limits<double>::quiet_NaN();
    double tr = 0;
    std::vector<double> col(d);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t i = 0; i < d; ++i) col[i] = Lt(i, j);
      ouro::detail::forward_solve(Lm, col);
      for (double v : col) tr += v * v;
    }
    for (std::size_t i = 0; i < d; ++i) col[i] = m.mean()(i) - truth.mean()(i);
    ouro::detail::forward_solve(Lm, col);
    double q = 0;
    for (double v : col) q += v * v;
    return 0.5 * (tr + q - static_cast<double>(d) + m.log_det() - truth.log_det());
  }
};

}  // namespace ouro::inline v0::metrics
