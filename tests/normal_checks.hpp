// Distribution checks of a standard normal sample, shared by the portable and the AVX-512 tests.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "ouroboros/core/random.hpp"

/// Moments and a 40-bin chi-square test over [-4, 4] (plus two tail bins), bounds of 4 SE or
/// the chi-square's upper 0.1% point: a wrong table, sign or tail would fail them.
inline void check_standard_normal(std::span<const double> x) {
  const auto n = static_cast<double>(x.size());
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  std::size_t tail = 0;
  std::vector<double> bins(42, 0.0);
  for (double v : x) {
    m1 += v, m2 += v * v, m3 += v * v * v, m4 += v * v * v * v;
    tail += std::abs(v) > ouro::detail::ziggurat_tables::r;
    const int b = v < -4   ? 0
                  : v >= 4 ? 41
                           : std::min(40, 1 + static_cast<int>(std::floor((v + 4) / 0.2)));
    bins[static_cast<std::size_t>(b)] += 1;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  const double rn = std::sqrt(n);
  CHECK(std::abs(m1) < 4 / rn);
  CHECK(std::abs(m2 - 1) < 4 * std::sqrt(2.0) / rn);
  CHECK(std::abs(m3) < 4 * std::sqrt(15.0) / rn);
  CHECK(std::abs(m4 - 3) < 4 * std::sqrt(96.0) / rn);
  const double p_tail = std::erfc(ouro::detail::ziggurat_tables::r / std::sqrt(2.0));
  CHECK(std::abs(static_cast<double>(tail) / n - p_tail) < 4 * std::sqrt(p_tail / n));
  const auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  double chi2 = 0;
  for (std::size_t b = 0; b < bins.size(); ++b) {
    const double lo = b == 0 ? -INFINITY : -4 + 0.2 * static_cast<double>(b - 1);
    const double hi = b == 41 ? INFINITY : -4 + 0.2 * static_cast<double>(b);
    const double e = n * (cdf(hi) - cdf(lo));
    chi2 += (bins[b] - e) * (bins[b] - e) / e;
  }
  INFO("chi-square over 42 bins: " << chi2);
  CHECK(chi2 < 80.1);  // chi2_41 upper 0.1% point
}
