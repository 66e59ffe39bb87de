// Metrics of Gaussian mixture models. See docs/metrics.md and docs/gmm.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/models/gmm.hpp"

namespace ouro::inline v0::metrics {

namespace detail {
/// log N(a; b, S) for a small symmetric positive-definite S.
inline double log_gauss(std::span<const double> a, std::span<const double> b,
                        const ouro::matrix& S) {
  const std::size_t d = S.d;
  ouro::matrix L;
  if (!ouro::detail::cholesky(S, L)) return -std::numeric_limits<double>::infinity();
  std::vector<double> r(d);
  for (std::size_t i = 0; i < d; ++i) r[i] = a[i] - b[i];
  ouro::detail::forward_solve(L, r);
  double q = 0, ld = 0;
  for (std::size_t i = 0; i < d; ++i) q += r[i] * r[i], ld += 2 * std::log(L(i, i));
  return -0.5 * (static_cast<double>(d) * std::log(2 * std::numbers::pi) + ld + q);
}

/// The integral of p * q for two mixtures: sum_ij w_i v_j N(mu_i; nu_j, S_i + T_j).
inline double product_integral(const models::gmm& p, const models::gmm& q) {
  double s = 0;
  for (std::size_t i = 0; i < p.components(); ++i) {
    if (p.weight(i) == 0) continue;
    for (std::size_t j = 0; j < q.components(); ++j) {
      if (q.weight(j) == 0) continue;
      auto S = p.covariance(i);
      const auto& T = q.covariance(j);
      for (std::size_t k = 0; k < S.a.size(); ++k) S.a[k] += T.a[k];
      s += p.weight(i) * q.weight(j) * std::exp(log_gauss(p.mean(i), q.mean(j), S));
    }
  }
  return s;
}
}  // namespace detail

/// The L2 distance sqrt(integral of (p - q)^2) between two mixtures, in closed form through the
/// Gaussian product integrals.
inline double l2_distance_between(const models::gmm& p, const models::gmm& q) {
  const double v = detail::product_integral(p, p) - 2 * detail::product_integral(p, q) +
                   detail::product_integral(q, q);
  return std::sqrt(std::max(v, 0.0));
}

/// Trace of the mixture's covariance (law of total variance: within plus between components).
struct total_variance {
  std::string name() const { return "total_variance"; }
  template <class S>
  double operator()(const generation_context<models::gmm, S>& c) const {
    const auto cov = c.model.overall_covariance();
    double t = 0;
    for (std::size_t i = 0; i < cov.d; ++i) t += cov(i, i);
    return t;
  }
};

/// Mean over the components of positive weight of sqrt(trace(S_k) / D).
struct component_std {
  std::string name() const { return "component_std"; }
  template <class S>
  double operator()(const generation_context<models::gmm, S>& c) const {
    double s = 0;
    std::size_t n = 0;
    for (std::size_t k = 0; k < c.model.components(); ++k) {
      if (c.model.weight(k) == 0) continue;
      double t = 0;
      for (std::size_t i = 0; i < c.model.dim(); ++i) t += c.model.covariance(k)(i, i);
      s += std::sqrt(t / static_cast<double>(c.model.dim()));
      ++n;
    }
    return n ? s / static_cast<double>(n) : 0.0;
  }
};

/// L2 distance to the true distribution.
struct l2_distance {
  models::gmm truth;
  std::string name() const { return "l2_distance"; }
  template <class S>
  double operator()(const generation_context<models::gmm, S>& c) const {
    return l2_distance_between(c.model, truth);
  }
};

/// L2 distance to the replicate's generation-0 model.
struct l2_distance_to_first {
  std::string name() const { return "l2_distance_to_first"; }
  template <class S>
  double operator()(const generation_context<models::gmm, S>& c) const {
    return l2_distance_between(c.model, c.first_model);
  }
};

/// Monte Carlo estimate of KL(p_true || p_g) = E_true[log p_true - log p_g] over a fixed sample of
/// draws of the truth (the same points for every replicate and generation, so the curve over
/// generations is not blurred by fresh Monte Carlo noise and log p_true is computed once), with
/// its standard error. make() draws the sample (fixed seed); on_heldout() takes a held-out real
/// sample and also reports `heldout_loglik`, the mean log p_g over it, from the same density
/// evaluations (so the pair costs one pass over the points, not two).
struct kl_to_truth_mc {
  models::gmm truth;
  models::gmm::dataset_type points;
  std::vector<double> log_true;
  bool report_heldout = false;  ///< also report heldout_loglik (third value)

  static kl_to_truth_mc make(models::gmm truth, std::size_t samples = 2000,
                             std::uint64_t seed = 0x4B4C) {
    default_rng g(seed);
    auto x = truth.sample(samples, g);
    return on_points(std::move(truth), std::move(x), false);
  }
  /// KL over the given draws of the truth, and heldout_loglik over the same points.
  static kl_to_truth_mc on_heldout(models::gmm truth, models::gmm::dataset_type heldout) {
    return on_points(std::move(truth), std::move(heldout), true);
  }
  std::vector<std::string> names() const {
    if (report_heldout) return {"kl_to_truth", "kl_to_truth_se", "heldout_loglik"};
    return {"kl_to_truth", "kl_to_truth_se"};
  }
  template <class S>
  std::vector<double> operator()(const generation_context<models::gmm, S>& c) const {
    const std::size_t n = log_true.size();
    if (n == 0)
      return report_heldout ? std::vector<double>{0.0, 0.0, 0.0} : std::vector<double>{0.0, 0.0};
    const auto lm = c.model.log_pdf(points);
    const double* lt = log_true.data();
    const double* lp = lm.data();
    const double nn = static_cast<double>(n);
    using ouro::detail::lane_sums;
    const double m =
        lane_sums<1>(n, [lt, lp](std::size_t s, double* v) { v[0] = lt[s] - lp[s]; })[0] / nn;
    const double m2 = lane_sums<1>(n, [lt, lp, m](std::size_t s, double* v) {
      const double d = (lt[s] - lp[s]) - m;
      v[0] = d * d;
    })[0];
    const double se = n > 1 ? std::sqrt(m2 / (nn - 1) / nn) : 0.0;
    if (!report_heldout) return {m, se};
    return {m, se, lane_sums<1>(n, [lp](std::size_t s, double* v) { v[0] = lp[s]; })[0] / nn};
  }

 private:
  static kl_to_truth_mc on_points(models::gmm truth, models::gmm::dataset_type x, bool heldout) {
    if (x.dimension() != 2 || (x.shape()[0] > 0 && x.shape()[1] != truth.dim()))
      throw std::invalid_argument(
          "ouro::metrics::kl_to_truth_mc: the points must be rows of the truth's dimension");
    auto lt = truth.log_pdf(x);
    return kl_to_truth_mc{std::move(truth), std::move(x), std::move(lt), heldout};
  }
};

/// Norm of the mixture's mean.
struct mean_norm {
  std::string name() const { return "mean_norm"; }
  template <class S>
  double operator()(const generation_context<models::gmm, S>& c) const {
    double s = 0;
    for (double v : c.model.overall_mean()) s += v * v;
    return std::sqrt(s);
  }
};

/// The model's probability mass outside the truth's 99% region (the set where the true density is
/// above the level that holds 99% of the true mass), by Monte Carlo: `samples` draws of the model
/// from the metric's own stream. The level is estimated once, from `level_samples` draws of the
/// truth with a fixed seed.
struct tail_mass_gmm {
  models::gmm truth;
  double coverage = 0.99;
  std::size_t samples = 2000;
  double level = 0;  ///< log-density level of the region; computed by make()

  static tail_mass_gmm make(models::gmm truth, double coverage = 0.99, std::size_t samples = 2000,
                            std::size_t level_samples = 200000) {
    default_rng g(0x7A11);
    const auto x = truth.sample(level_samples, g);
    auto lp = truth.log_pdf(x);
    const auto idx = static_cast<std::size_t>((1 - coverage) * static_cast<double>(level_samples));
    std::nth_element(lp.begin(), lp.begin() + static_cast<std::ptrdiff_t>(idx), lp.end());
    return tail_mass_gmm{std::move(truth), coverage, samples, lp[idx]};
  }
  std::string name() const { return "tail_mass"; }
  template <class S>
  double operator()(const generation_context<models::gmm, S>& c) const {
    const auto x = c.model.sample(samples, c.rng());
    const auto lp = truth.log_pdf(x);
    std::size_t out = 0;
    for (double v : lp) out += v < level;
    return static_cast<double>(out) / static_cast<double>(samples);
  }
};

}  // namespace ouro::inline v0::metrics
