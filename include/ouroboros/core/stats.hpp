// Summary statistics over replicates: mean, standard deviation, standard error, a 95% confidence
// interval for the mean (Student t) and the median. Sums run in replicate order, so the result
// does not depend on how the replicates were spread over threads.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace ouro::inline v0 {

/// 97.5% quantile of Student's t with `df` degrees of freedom: exact table up to 30, then the
/// Cornish-Fisher expansion (error below 1e-6 there); the normal quantile for df = infinity.
inline double student_t_975(std::size_t df) {
  static constexpr std::array<double, 30> table{
      12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
      2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
      2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
      2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
      2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};
  if (df == 0) return std::numeric_limits<double>::quiet_NaN();
  if (df <= table.size()) return table[df - 1];
  constexpr double z = 1.959963984540054;
  const double n = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n) +
         (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * n * n * n * n);
}

/// Summary of one metric at one generation over its replicates.
struct summary_point {
  double mean = 0, sd = 0, se = 0, ci95_lo = 0, ci95_hi = 0, median = 0;
  std::size_t n = 0;
};

namespace detail {
/// x * 2^e, by a multiplication where 2^e is a normal double (the same correctly rounded result
/// as std::ldexp, which is a library call per element), by std::ldexp elsewhere.
inline double times_pow2(double x, int e) noexcept {
  return e >= -1022 && e <= 1023 ? x * std::ldexp(1.0, e) : std::ldexp(x, e);
}

/// Sum of f(x_i) in a fixed order that vectorises: blocks of eight go alternately to two sets of
/// eight lane accumulators, the n mod 8 last values to lane 0; the lanes are added pairwise.
template <class F>
inline double lane_sum8(std::span<const double> x, F f) noexcept {
  const std::size_t n = x.size(), n8 = n - n % 8;
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
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
  for (int j = 0; j < 8; ++j) a[j] += b[j];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/// The order statistics of ranks lo <= hi (hi <= lo + 1) of values without NaN. Large inputs are
/// bracketed first by two order statistics of a strided sample of (4n)^(2/3) values (3.5
/// standard deviations of their rank on either side), so that one counting pass and a selection
/// among a few percent of the values suffice; where the bracket misses (values sorted against
/// the stride), all values are selected from. Exact in every case.
inline std::pair<double, double> order_statistics(std::span<const double> v, std::size_t lo,
                                                  std::size_t hi, std::vector<double>& scratch) {
  const std::size_t n = v.size();
  auto select_all = [&] {
    scratch.assign(v.begin(), v.end());
    std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(hi),
                     scratch.end());
    const double h = scratch[hi];
    const double l =
        lo == hi
            ? h
            : *std::max_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(hi));
    return std::pair{l, h};
  };
  if (n < 8192) return select_all();
  // a sample of (4n)^(2/3) values balances selecting in the sample against selecting in the
  // bracket (about 7n / sqrt(s) values)
  const auto s =
      static_cast<std::size_t>(std::cbrt(16.0 * static_cast<double>(n) * static_cast<double>(n)));
  scratch.resize(n + s);
  double* sample = scratch.data() + n;
  for (std::size_t i = 0; i < s; ++i) sample[i] = v[(i * n) / s];
  const double sd = 3.5 * std::sqrt(static_cast<double>(s));
  const auto r_lo = static_cast<std::ptrdiff_t>(
      std::floor(static_cast<double>(lo) * static_cast<double>(s) / static_cast<double>(n) - sd));
  const auto r_hi = static_cast<std::ptrdiff_t>(
      std::ceil(static_cast<double>(hi) * static_cast<double>(s) / static_cast<double>(n) + sd));
  const double inf = std::numeric_limits<double>::infinity();
  double p_lo = -inf, p_hi = inf;
  if (r_hi < static_cast<std::ptrdiff_t>(s)) {
    std::nth_element(sample, sample + r_hi, sample + s);
    p_hi = sample[r_hi];
  }
  if (r_lo >= 0) {
    std::nth_element(sample, sample + r_lo,
                     sample + (r_hi < static_cast<std::ptrdiff_t>(s) ? r_hi : s));
    p_lo = sample[r_lo];
  }
  std::size_t less = 0, k = 0;
  double* c = scratch.data();
  for (std::size_t i = 0; i < n; ++i) {
    const double x = v[i];
    c[k] = x;
    less += x < p_lo;
    k += (x >= p_lo) & (x <= p_hi);
  }
  if (!(less <= lo && hi < less + k)) return select_all();
  const std::size_t at = hi - less;
  std::nth_element(c, c + at, c + k);
  const double h = c[at];
  return {lo == hi ? h : *std::max_element(c, c + at), h};
}
}  // namespace detail

namespace detail {
/// What summarize computes but the median (left 0), and whether a value is NaN and whether all
/// are equal (which decide the median without a selection).
struct moments_info {
  bool has_nan = false, all_equal = false;
};
inline summary_point summarize_moments(std::span<const double> values, moments_info& info) {
  summary_point s;
  s.n = values.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  if (s.n == 0) return {nan, nan, nan, nan, nan, nan, 0};
  // one pass: the largest magnitude, the smallest and largest value, NaN and non-finite values
  double big = 0, lo = inf, hi = -inf;
  unsigned bad = 0, has_nan = 0;
  for (double v : values) {
    const double a = std::fabs(v);
    big = a > big ? a : big;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    bad |= !(a <= std::numeric_limits<double>::max());
    has_nan |= v != v;
  }
  const bool finite = bad == 0;
  const double dn = static_cast<double>(s.n);
  // Sums run on the values divided by a power of two near the largest magnitude (exact), so
  // that values near the largest double do not overflow the sum of squares.
  const int e = finite && big > 0 ? std::ilogb(big) + 1 : 0;
  // f(v * 2^-e) summed: a multiplication by 2^-e where that is a normal double
  const bool by_mul = e >= -1022 && e <= 1022;
  const double down = by_mul ? std::ldexp(1.0, -e) : 1.0;
  auto scaled_sum = [&](auto f) {
    return by_mul ? detail::lane_sum8(values, [&](double v) { return f(v * down); })
                  : detail::lane_sum8(values, [&](double v) { return f(std::ldexp(v, -e)); });
  };
  const double scaled_mean = scaled_sum([](double y) { return y; }) / dn;
  s.mean = detail::times_pow2(scaled_mean, e);
  const bool all_equal = has_nan == 0 && lo == hi;
  if (s.n > 1 && all_equal) {  // no spread, also for infinite values
    s.mean = values[0];
    s.sd = s.se = 0;
    s.ci95_lo = s.ci95_hi = values[0];
  } else if (s.n > 1 && !finite) {  // infinite values among others: an unbounded spread
    s.sd = s.se = std::isnan(s.mean) ? nan : inf;
    s.ci95_lo = std::isnan(s.mean) ? nan : -inf;
    s.ci95_hi = std::isnan(s.mean) ? nan : inf;
  } else if (s.n > 1) {
    const double ss = scaled_sum([&](double y) {
      const double d = y - scaled_mean;
      return d * d;
    });
    const double c = scaled_sum([&](double y) { return y - scaled_mean; });
    // corrected two-pass formula (Chan, Golub & LeVeque)
    const double var = (ss - c * c / dn) / static_cast<double>(s.n - 1);
    s.sd = detail::times_pow2(std::sqrt(std::max(var, 0.0)), e);
    s.se = s.sd / std::sqrt(dn);
    const double t = student_t_975(s.n - 1);
    s.ci95_lo = s.mean - t * s.se;
    s.ci95_hi = s.mean + t * s.se;
  } else {
    s.sd = s.se = s.ci95_lo = s.ci95_hi = nan;
  }
  info.has_nan = has_nan != 0;
  info.all_equal = all_equal;
  return s;
}

/// The median from the two middle order statistics (equal for an odd count): their midpoint,
/// without overflow (equal or infinite middle values: no difference to take).
inline double median_of(double l, double h) noexcept {
  return l == h ? l : std::isfinite(l) && std::isfinite(h) ? l + (h - l) / 2 : (l + h) / 2;
}
/// The ranks of the two middle order statistics of n values.
inline std::pair<std::size_t, std::size_t> middle_ranks(std::size_t n) noexcept {
  const std::size_t mid = n / 2;
  return {n % 2 == 1 ? mid : mid - 1, mid};
}
}  // namespace detail

/// Summarises `values`. The sums run in a fixed order of eight lanes (detail::lane_sum8) that
/// does not depend on threads or instruction set. `scratch` is reused to avoid allocation. With
/// one value, sd, se and the interval are NaN: one replicate says nothing about the spread.
/// Infinite values give an infinite mean and, unless all are equal (spread 0), an infinite spread;
/// NaN comes out only where a value is NaN or +inf meets -inf.
inline summary_point summarize(std::span<const double> values, std::vector<double>& scratch) {
  detail::moments_info info;
  summary_point s = detail::summarize_moments(values, info);
  if (s.n == 0) return s;
  if (info.has_nan) {
    s.median = std::numeric_limits<double>::quiet_NaN();
  } else if (info.all_equal) {
    s.median = values[0];
  } else {
    const auto [lo, hi] = detail::middle_ranks(s.n);
    const auto [l, h] = detail::order_statistics(values, lo, hi, scratch);
    s.median = detail::median_of(l, h);
  }
  return s;
}

inline summary_point summarize(std::span<const double> values) {
  std::vector<double> scratch;
  return summarize(values, scratch);
}

}  // namespace ouro::inline v0
