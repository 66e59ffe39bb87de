// The 1-D Gaussian reference model and its maximum-likelihood / unbiased fitters.
// The multivariate Gaussian is in ouroboros/models/mv_gaussian.hpp.
#pragma once

#include <algorithm>
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

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/detail/simd.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"

namespace ouro::inline v0::models {

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
// Sums in a fixed order with no long latency chain: blocks of eight consecutive elements go
// alternately to two sets of eight lane accumulators (A, B); the n mod 8 last elements go to
// lane 0 of A; the result is combine8(A + B) with combine8(a) =
// ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)). The compiler vectorises the lane loops for the target it is
// given (-march=native: eight lanes in one AVX-512 register) without changing the order; on a
// target with fused multiply-add it may contract d * d + q, which changes the last bits
// (tests/march_bound.cpp bounds the difference).
inline double combine8(const double* a, const double* b) noexcept {
  double c[8];
  for (int j = 0; j < 8; ++j) c[j] = a[j] + b[j];
  return ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
}

/// Sum of f(x_i) in the fixed order above.
template <class F>
inline double lane_sum(std::span<const double> x, F f) noexcept {
  const std::size_t n = x.size(), n8 = n - n % 8;
  alignas(64) double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 16 <= n8; i += 16)
    for (int j = 0; j < 8; ++j) {
      a[j] += f(x[i + j]);
      b[j] += f(x[i + 8 + j]);
    }
  if (i < n8) {
    for (int j = 0; j < 8; ++j) a[j] += f(x[i + j]);
    i += 8;
  }
  for (; i < n; ++i) a[0] += f(x[i]);
  return combine8(a, b);
}

/// Sums of d and d^2 for d = x - c, in one pass (the same lane order as lane_sum). With c one of
/// the samples, the shifted formula SS = S2 - S1^2 / n loses no accuracy that matters: its
/// condition number is about 1 + n (mean - c)^2 / SS, near 2 (Chan, Golub & LeVeque 1983).
struct shifted_sums {
  double s1 = 0, s2 = 0;
};
// The shifted sums on the run-time dispatch of core/detail/simd.hpp: eight lanes as one vector of
// eight doubles, which each entry compiles for its instruction set (one AVX-512 register, two AVX2
// or four SSE2 registers). Every entry adds the same lanes in the same order, a multiply then an
// add (no fused multiply-add), so all give the same bits; test_simd checks it. (W only selects
// the entry.)
template <int W>
OURO_INLINE shifted_sums shifted_sum8_kernel(const double* x, std::size_t n, double c) noexcept {
  using v8 = ouro::detail::vec<8>::d;
  const std::size_t n8 = n - n % 8;
  const v8 vc = {c, c, c, c, c, c, c, c};
  v8 va = {}, vb = {}, wa = {}, wb = {};
  std::size_t i = 0;
  for (; i + 16 <= n8; i += 16) {
    v8 da, db;
    ouro::detail::vload(da, x + i);
    ouro::detail::vload(db, x + i + 8);
    da -= vc;
    db -= vc;
    va += da;
    vb += db;
    wa += da * da;
    wb += db * db;
  }
  if (i < n8) {
    v8 da;
    ouro::detail::vload(da, x + i);
    da -= vc;
    va += da;
    wa += da * da;
    i += 8;
  }
  alignas(64) double a[8], b[8], qa[8], qb[8];
  ouro::detail::vstore(a, va);
  ouro::detail::vstore(b, vb);
  ouro::detail::vstore(qa, wa);
  ouro::detail::vstore(qb, wb);
  double t1 = 0, t2 = 0;  // the n mod 8 last elements, in their own accumulators
  for (; i < n; ++i) {
    const double d = x[i] - c;
    t1 += d;
    t2 += d * d;
  }
  return {combine8(a, b) + t1, combine8(qa, qb) + t2};
}
OURO_DISPATCH_KERNEL(shifted_sum8_kernel, shifted_sums, (const double* x, std::size_t n, double c),
                     (x, n, c))

/// The sums of x - c and of (x - c)^2 over x, in eight lanes (see combine8).
inline shifted_sums shifted_sum8(std::span<const double> x, double c) noexcept {
  return run_shifted_sum8_kernel(x.data(), x.size(), c);
}

/// Sum of x.
inline double sum8(std::span<const double> x) noexcept {
  return lane_sum(x, [](double v) { return v; });
}

/// Sum of (x - c)^2.
inline double sum_sq_dev8(std::span<const double> x, double c) noexcept {
  const auto f = [c](double v) {
    const double d = v - c;
    return d * d;
  };
  return lane_sum(x, f);
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
    const double ss = detail::sum_sq_dev8(x, mean_);
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
    const double nm = static_cast<double>(m);
    double div = Estimator::divisor(m);
    if (div <= 0) {
      log.record(fmt::format("{} sample(s): the {} variance is undefined", m, Estimator::name),
                 "used the maximum-likelihood variance (divisor M)");
      div = static_cast<double>(m);
    }
    const auto [s1, s2] = detail::shifted_sum8(x, x[0]);
    double mean = x[0] + s1 / nm;
    double var = std::max(s2 - s1 * (s1 / nm), 0.0) / div;
    if (!std::isfinite(mean) || !std::isfinite(var)) {
      // NaN or infinite data are refused; finite data so spread that the sums overflow are
      // summed again divided by a power of two (exactly), and a variance beyond the largest
      // double is capped, with an event
      double big = 0;
      for (double v : x) {
        if (!std::isfinite(v))
          throw std::invalid_argument(
              "ouro::models::gaussian_fitter: the data contain NaN or infinite values");
        big = std::max(big, std::abs(v));
      }
      const int e = std::ilogb(big) + 2;
      std::vector<double> y(x.size());
      for (std::size_t i = 0; i < m; ++i) y[i] = std::ldexp(x[i], -e);
      const auto [t1, t2] = detail::shifted_sum8(y, y[0]);
      mean = std::ldexp(y[0] + t1 / nm, e);
      var = std::ldexp(std::max(t2 - t1 * (t1 / nm), 0.0) / div, 2 * e);
      if (!std::isfinite(var)) {
        log.record(
            fmt::format("the variance overflows double precision (data of magnitude {:.3g})", big),
            "capped at the largest double");
        var = std::numeric_limits<double>::max();
      }
    }
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

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
/// Mean and variance.
template <>
struct checkpoint_traits<models::gaussian> {
  static void save(const models::gaussian& m, io::binary_writer& w) {
    w.put_tag("gaussian");
    w.put_f64(m.mean());
    w.put_f64(m.variance());
  }
  static models::gaussian load(io::binary_reader& r) {
    r.expect_tag("gaussian");
    const double mean = r.get_f64("mean"), var = r.get_f64("variance");
    if (!std::isfinite(mean) || !std::isfinite(var) || var < 0)
      r.fail("a Gaussian needs a finite mean and a finite, non-negative variance");
    return models::gaussian(mean, var);
  }
};
}  // namespace ouro::inline v0
