// The 1-D Gaussian reference model and its maximum-likelihood / unbiased fitters.
// The multivariate Gaussian is in ouroboros/models/mv_gaussian.hpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/events.hpp"
#include "ouroboros/random.hpp"

namespace ouro::models {

/// Variance estimator policy: divide the sum of squares by M (maximum likelihood).
struct mle {
  static constexpr std::string_view name = "mle";
  static constexpr double divisor(std::size_t m) noexcept { return static_cast<double>(m); }
};
/// Variance estimator policy: divide the sum of squares by M - 1 (unbiased).
struct unbiased {
  static constexpr std::string_view name = "unbiased";
  static constexpr double divisor(std::size_t m) noexcept { return static_cast<double>(m) - 1.0; }
};

namespace detail {
/// Sum with four independent accumulators: fast (no loop-carried latency chain) and with a fixed
/// order, so the result is the same on every run.
inline double sum4(std::span<const double> x) noexcept {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  const std::size_t n = x.size();
  for (; i + 4 <= n; i += 4) {
    a0 += x[i];
    a1 += x[i + 1];
    a2 += x[i + 2];
    a3 += x[i + 3];
  }
  for (; i < n; ++i) a0 += x[i];
  return (a0 + a1) + (a2 + a3);
}
/// Sum of squared deviations from c, four accumulators.
inline double sum_sq_dev4(std::span<const double> x, double c) noexcept {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  const std::size_t n = x.size();
  for (; i + 4 <= n; i += 4) {
    const double d0 = x[i] - c, d1 = x[i + 1] - c, d2 = x[i + 2] - c, d3 = x[i + 3] - c;
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  for (; i < n; ++i) a0 += (x[i] - c) * (x[i] - c);
  return (a0 + a1) + (a2 + a3);
}
}  // namespace detail

/// N(mean, variance) on the real line. A variance of 0 is allowed (a collapsed model: every draw
/// equals the mean); negative or non-finite parameters are rejected.
class gaussian {
 public:
  using dataset_type = std::vector<double>;

  gaussian() = default;
  gaussian(double mean, double variance) : mean_(mean), var_(variance), sd_(std::sqrt(variance)) {
    if (!std::isfinite(mean) || !std::isfinite(variance) || variance < 0)
      throw std::invalid_argument(fmt::format(
          "ouro::models::gaussian: need a finite mean and a finite variance >= 0, got mean = {}, "
          "variance = {}",
          mean, variance));
  }

  double mean() const noexcept { return mean_; }
  double variance() const noexcept { return var_; }
  double sd() const noexcept { return sd_; }

  /// n independent draws.
  template <Rng G>
  dataset_type sample(std::size_t n, G& g) const {
    dataset_type x(n);
    fill_normal(g, x, mean_, sd_);
    return x;
  }

  /// Log-density at x (+inf at the mean and -inf elsewhere when the variance is 0).
  double log_pdf(double x) const noexcept {
    const double d = x - mean_;
    if (var_ == 0)
      return d == 0 ? std::numeric_limits<double>::infinity()
                    : -std::numeric_limits<double>::infinity();
    return -0.5 * (std::log(2 * std::numbers::pi * var_) + d * d / var_);
  }

  /// Total log-likelihood of the samples.
  double log_likelihood(const dataset_type& x) const noexcept {
    if (x.empty()) return 0.0;
    if (var_ == 0) {
      for (double v : x)
        if (v != mean_) return -std::numeric_limits<double>::infinity();
      return std::numeric_limits<double>::infinity();
    }
    const double ss = detail::sum_sq_dev4(x, mean_);
    const double n = static_cast<double>(x.size());
    return -0.5 * (n * std::log(2 * std::numbers::pi * var_) + ss / var_);
  }

  /// P(X <= x).
  double cdf(double x) const noexcept {
    if (var_ == 0) return x < mean_ ? 0.0 : 1.0;
    return 0.5 * std::erfc(-(x - mean_) / (sd_ * std::numbers::sqrt2));
  }

  friend bool operator==(const gaussian&, const gaussian&) = default;

 private:
  double mean_ = 0, var_ = 1, sd_ = 1;
};

/// Fits a gaussian by the sample mean and the sample variance with divisor Estimator::divisor(M)
/// (`mle`: M, `unbiased`: M - 1). The optional variance floor is explicit and recorded: a fitted
/// variance below it is raised to it, and an event says so. With no floor a zero variance is kept
/// (the collapse the experiment measures) and recorded.
template <class Estimator = unbiased>
struct gaussian_fitter {
  using model_type = gaussian;
  using estimator = Estimator;

  std::optional<double> variance_floor{};

  template <Rng G>
  gaussian fit(const std::vector<double>& x, G&, event_log& log) const {
    const std::size_t m = x.size();
    if (m == 0)
      throw std::invalid_argument("ouro::models::gaussian_fitter: cannot fit an empty dataset");
    const double mean = detail::sum4(x) / static_cast<double>(m);
    if (!std::isfinite(mean))
      throw std::invalid_argument(
          "ouro::models::gaussian_fitter: the data contain NaN or infinite values");
    double div = Estimator::divisor(m);
    if (div <= 0) {
      log.record(fmt::format("{} sample(s): the {} variance is undefined", m, Estimator::name),
                 "used the maximum-likelihood variance (divisor M)");
      div = static_cast<double>(m);
    }
    double var = detail::sum_sq_dev4(x, mean) / div;
    if (variance_floor && var < *variance_floor) {
      log.record(fmt::format("variance {} below the floor", var),
                 fmt::format("raised to the floor {}", *variance_floor));
      var = *variance_floor;
    } else if (var == 0) {
      log.record("zero variance (all samples equal)", "kept: no variance floor configured");
    }
    return gaussian(mean, var);
  }
};

}  // namespace ouro::models
