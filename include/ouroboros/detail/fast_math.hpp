// A branch-free exp() for the log-sum-exp of mixture models. Written as plain arithmetic on
// doubles so that the compiler vectorises loops over it (the C library's exp() is a function call
// per element unless -ffast-math is given).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace ouro::detail {

/// exp(x) for x <= 0 (and -inf): 2^k exp(r) with k = round(x / ln 2), r = x - k ln 2 in
/// [-ln2/2, ln2/2] (ln 2 split in two parts so r is exact), exp(r) by its Taylor polynomial of
/// degree 13 (truncation error below 1e-17). Relative error within a few ulp for x >= -708;
/// 0 below (where exp(x) < 3.3e-308 anyway). Positive arguments are clamped to 0.
inline double exp_nonpositive(double x) noexcept {
  constexpr double ln2_hi = 0.6931471803691238164901733398437500;  // 33 bits of ln 2
  constexpr double ln2_lo = 1.9082149292705877000220e-10;           // ln 2 - ln2_hi
  constexpr double inv_ln2 = 1.4426950408889634073599246810019;
  constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer
  const double xc = x < -708.0 ? -708.0 : (x > 0.0 ? 0.0 : x);  // also maps -inf and NaN-free
  const double kd = (xc * inv_ln2 + shifter) - shifter;        // round(xc / ln 2)
  const double r = (xc - kd * ln2_hi) - kd * ln2_lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k through the exponent bits (k in [-1022, 0], so the result is a normal number)
  const auto k = static_cast<std::int64_t>(kd);
  const double scale = std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
  return x < -708.0 ? 0.0 : p * scale;
}

}  // namespace ouro::detail
