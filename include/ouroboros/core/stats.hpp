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

/// Summarises `values` (the order of values matters only through floating-point summation, which
/// always runs front to back). `scratch` is reused to avoid allocation. With one value, sd, se and
/// the interval are NaN: one replicate says nothing about the spread. Infinite values give an
/// infinite mean and, unless all are equal (spread 0), an infinite spread; NaN comes out only
/// where a value is NaN or +inf meets -inf.
inline summary_point summarize(std::span<const double> values, std::vector<double>& scratch) {
  summary_point s;
  s.n = values.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  if (s.n == 0) return {nan, nan, nan, nan, nan, nan, 0};
  // Sums run on the values divided by a power of two near the largest magnitude (exact), so
  // that values near the largest double do not overflow the sum of squares.
  double big = 0;
  bool finite = true;
  for (double v : values) {
    finite = finite && std::isfinite(v);
    big = std::max(big, std::abs(v));
  }
  const int e = finite && big > 0 ? std::ilogb(big) + 1 : 0;
  double sum = 0;
  for (double v : values) sum += std::ldexp(v, -e);
  const double scaled_mean = sum / static_cast<double>(s.n);
  s.mean = std::ldexp(scaled_mean, e);
  const bool all_equal =
      std::all_of(values.begin(), values.end(), [&](double v) { return v == values[0]; });
  if (s.n > 1 && all_equal) {  // no spread, also for infinite values
    s.sd = s.se = 0;
    s.ci95_lo = s.ci95_hi = values[0];
  } else if (s.n > 1 && !finite) {  // infinite values among others: an unbounded spread
    s.sd = s.se = std::isnan(s.mean) ? nan : inf;
    s.ci95_lo = std::isnan(s.mean) ? nan : -inf;
    s.ci95_hi = std::isnan(s.mean) ? nan : inf;
  } else if (s.n > 1) {
    double ss = 0, c = 0;
    for (double v : values) {
      const double d = std::ldexp(v, -e) - scaled_mean;
      ss += d * d;
      c += d;
    }
    // corrected two-pass formula (Chan, Golub & LeVeque)
    const double var = (ss - c * c / static_cast<double>(s.n)) / static_cast<double>(s.n - 1);
    s.sd = std::ldexp(std::sqrt(std::max(var, 0.0)), e);
    s.se = s.sd / std::sqrt(static_cast<double>(s.n));
    const double t = student_t_975(s.n - 1);
    s.ci95_lo = s.mean - t * s.se;
    s.ci95_hi = s.mean + t * s.se;
  } else {
    s.sd = s.se = s.ci95_lo = s.ci95_hi = nan;
  }
  scratch.assign(values.begin(), values.end());
  const bool has_nan = std::any_of(scratch.begin(), scratch.end(), [](double v) { return v != v; });
  if (has_nan) {
    s.median = nan;
  } else {
    const std::size_t mid = s.n / 2;
    std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(mid),
                     scratch.end());
    const double hi = scratch[mid];
    if (s.n % 2 == 1) {
      s.median = hi;
    } else {
      const double lo =
          *std::max_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(mid));
      // (equal or infinite middle values: no difference to take)
      s.median = lo == hi                                 ? lo
                 : std::isfinite(lo) && std::isfinite(hi) ? lo + (hi - lo) / 2
                                                          : (lo + hi) / 2;
    }
  }
  return s;
}

inline summary_point summarize(std::span<const double> values) {
  std::vector<double> scratch;
  return summarize(values, scratch);
}

}  // namespace ouro::inline v0
