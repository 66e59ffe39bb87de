// Metrics of 1-D Gaussian models (MetricFor<X, models::gaussian>). See docs/metrics.md.
#pragma once

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/models/gaussian.hpp"

namespace ouro::inline v0::metrics {

namespace detail {
template <class X>
concept has_mean_variance = requires(const X& m) {
  { m.mean() } -> std::convertible_to<double>;
  { m.variance() } -> std::convertible_to<double>;
};
}  // namespace detail

/// The fitted mean mu_g.
struct mean {
  std::string name() const { return "mean"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    return c.model.mean();
  }
};

/// The fitted variance sigma_g^2.
struct variance {
  std::string name() const { return "variance"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    return c.model.variance();
  }
};

/// The fitted standard deviation sigma_g.
struct std_dev {
  std::string name() const { return "std"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    return std::sqrt(c.model.variance());
  }
};

/// log sigma_g^2 (natural log; -inf for a collapsed model with zero variance).
struct log_variance {
  std::string name() const { return "log_variance"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    return std::log(c.model.variance());
  }
};

/// (mu_g - mu_true)^2: squared error of the fitted mean.
struct mean_sq_error {
  double true_mean = 0.0;
  std::string name() const { return "mean_sq_error"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    const double d = c.model.mean() - true_mean;
    return d * d;
  }
};

/// Squared 2-Wasserstein distance to N(true_mean, true_variance), closed form for 1-D Gaussians:
/// (mu - mu0)^2 + (sigma - sigma0)^2.
struct w2_sq {
  double true_mean = 0.0;
  double true_variance = 1.0;
  std::string name() const { return "w2_sq"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    const double dm = c.model.mean() - true_mean;
    const double ds = std::sqrt(c.model.variance()) - std::sqrt(true_variance);
    return dm * dm + ds * ds;
  }
};

/// KL(truth || model) for 1-D Gaussians, in nats:
/// log(s/s0) + (s0^2 + (mu0 - mu)^2) / (2 s^2) - 1/2. Infinite for a collapsed model.
struct kl_to_truth {
  double true_mean = 0.0;
  double true_variance = 1.0;
  std::string name() const { return "kl_to_truth"; }
  template <detail::has_mean_variance M, class S>
  double operator()(const generation_context<M, S>& c) const {
    const double v = c.model.variance();
    if (v == 0) return std::numeric_limits<double>::infinity();
    const double d = true_mean - c.model.mean();
    return 0.5 * (std::log(v / true_variance) + (true_variance + d * d) / v - 1.0);
  }
};

/// The model's probability mass outside [q_lo, q_hi], where q_lo and q_hi are the truth's
/// `tail`- and (1 - `tail`)-quantiles (default tail = 0.01). For the truth itself it is 2 * tail;
/// a collapsing model loses it.
struct tail_mass {
  double true_mean = 0.0;
  double true_variance = 1.0;
  double tail = 0.01;
  std::string name() const { return "tail_mass"; }
  template <class S>
  double operator()(const generation_context<models::gaussian, S>& c) const {
    const double z = inverse_normal_cdf(1.0 - tail);
    const double sd0 = std::sqrt(true_variance);
    const double lo = true_mean - z * sd0, hi = true_mean + z * sd0;
    return c.model.cdf(lo) + (1.0 - c.model.cdf(hi));
  }
  /// Inverse of the standard normal CDF (Acklam's rational approximation refined by one Halley
  /// step; relative error below 1e-15).
  static double inverse_normal_cdf(double p) {
    if (!(p > 0 && p < 1)) throw std::invalid_argument("tail_mass: tail must lie in (0, 0.5)");
    static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                   -2.759285104469687e+02, 1.383577518672690e+02,
                                   -3.066479806614716e+01, 2.506628277459239e+00};
    static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                   -1.556989798598866e+02, 6.680131188771972e+01,
                                   -1.328068155288572e+01};
    static constexpr double cc[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                    -2.400758277161838e+00, -2.549732539343734e+00,
                                    4.374664141464968e+00,  2.938163982698783e+00};
    static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                   2.445134137142996e+00, 3.754408661907416e+00};
    double x;
    if (p < 0.02425) {
      const double q = std::sqrt(-2 * std::log(p));
      x = (((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) /
          ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
      const double q = std::sqrt(-2 * std::log(1 - p));
      x = -(((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q + cc[4]) * q + cc[5]) /
          ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
      const double q = p - 0.5, r = q * q;
      x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
          (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
    const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
    return x - u / (1 + x * u / 2);
  }
};

}  // namespace ouro::inline v0::metrics
