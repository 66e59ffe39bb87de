// Sample-size schedules M_g: how many samples generation g is trained on.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

namespace ouro::inline v0 {

/// A schedule maps a generation g >= 0 to M_g >= 1. Any callable std::size_t(std::size_t) works;
/// these are the common ones.
using sample_schedule = std::function<std::size_t(std::size_t)>;

namespace schedule {

/// M_g = m for every generation.
struct constant {
  std::size_t m = 100;
  std::size_t operator()(std::size_t) const noexcept { return m; }
};

/// M_g = max(1, m0 + step * g), step may be negative.
struct linear {
  std::size_t m0 = 100;
  double step = 0.0;
  std::size_t operator()(std::size_t g) const noexcept {
    const double v = std::round(static_cast<double>(m0) + step * static_cast<double>(g));
    return v < 1.0 ? 1 : static_cast<std::size_t>(v);
  }
};

/// M_g = max(1, round(m0 * ratio^g)), capped at `cap` so a growing schedule cannot exhaust memory.
struct geometric {
  std::size_t m0 = 100;
  double ratio = 1.0;
  std::size_t cap = std::size_t{1} << 30;
  std::size_t operator()(std::size_t g) const noexcept {
    const double v = std::round(static_cast<double>(m0) * std::pow(ratio, static_cast<double>(g)));
    if (!(v >= 1.0)) return 1;
    return v > static_cast<double>(cap) ? cap : static_cast<std::size_t>(v);
  }
};

}  // namespace schedule
}  // namespace ouro::inline v0
