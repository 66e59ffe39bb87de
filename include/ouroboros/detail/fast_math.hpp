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
  constexpr double ln2_lo = 1.9082149292705877000220e-10;          // ln 2 - ln2_hi
  constexpr double inv_ln2 = 1.4426950408889634073599246810019;
  constexpr double shifter = 6755399441055744.0;                // 1.5 * 2^52: rounds to an integer
  const double xc = x < -708.0 ? -708.0 : (x > 0.0 ? 0.0 : x);  // also maps -inf and NaN-free
  const double kd = (xc * inv_ln2 + shifter) - shifter;         // round(xc / ln 2)
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

/// log(x) for finite x >= 1 (the sum in a shifted log-sum-exp): x = 2^e m with m in
/// [sqrt(1/2), sqrt(2)), log x = e ln 2 + 2 atanh((m - 1) / (m + 1)), the series to t^23
/// (|t| <= 0.172, truncation error below 1e-18). Branch-free, so loops over it vectorise.
inline double log_ge1(double x) noexcept {
  constexpr double ln2_hi = 0.6931471803691238164901733398437500;
  constexpr double ln2_lo = 1.9082149292705877000220e-10;
  const auto bits = std::bit_cast<std::uint64_t>(x);
  auto e = static_cast<std::int64_t>(bits >> 52) - 1023;
  double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
  const bool high = m > 1.4142135623730951;
  m = high ? m * 0.5 : m;
  e += high ? 1 : 0;
  const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
  double p = 1.0 / 23;
  p = p * t2 + 1.0 / 21;
  p = p * t2 + 1.0 / 19;
  p = p * t2 + 1.0 / 17;
  p = p * t2 + 1.0 / 15;
  p = p * t2 + 1.0 / 13;
  p = p * t2 + 1.0 / 11;
  p = p * t2 + 1.0 / 9;
  p = p * t2 + 1.0 / 7;
  p = p * t2 + 1.0 / 5;
  p = p * t2 + 1.0 / 3;
  p = p * t2 + 1.0;
  const double ed = static_cast<double>(e);
  return (ed * ln2_hi + 2.0 * t * p) + ed * ln2_lo;
}

}  // namespace ouro::detail
