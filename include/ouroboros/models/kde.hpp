// A 1-D Gaussian kernel density estimate (Kazdan et al. 2024, "Collapse or Thrive?"): fitting keeps
// the points and a bandwidth, sampling picks a kept point uniformly and adds N(0, h^2) noise. Under
// recursive refitting its spread grows rather than collapses. See docs/models.md#kernel-density.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"

namespace ouro::inline v0::models {

/// A fitted KDE: the kept points and the bandwidth h. No log_likelihood (the loop needs none).
struct kde {
  using dataset_type = std::vector<double>;
  std::vector<double> points;
  double h = 0;

  template <Rng G>
  dataset_type sample(std::size_t n, G& g) const {
    dataset_type out(n);
    if (points.empty()) return dataset_type(n, 0.0);
    for (auto& v : out) v = points[uniform_index(g, points.size())] + h * standard_normal(g);
    return out;
  }
  /// The mean of the KDE's distribution: the points' mean.
  double mean() const {
    double s = 0;
    for (double v : points) s += v;
    return points.empty() ? 0.0 : s / static_cast<double>(points.size());
  }
  /// The variance of the KDE's distribution: the points' variance (dividing by n) plus h^2.
  double variance() const {
    const double m = mean();
    double s = 0;
    for (double v : points) s += (v - m) * (v - m);
    return (points.empty() ? 0.0 : s / static_cast<double>(points.size())) + h * h;
  }
};

/// Fits a KDE: keeps the points, with Silverman's rule h = 1.06 s n^(-1/5) (s the sample standard
/// deviation dividing by n - 1) or a fixed bandwidth. Fewer than two points, or points all equal,
/// give h = 0 under Silverman's rule, with an event.
struct kde_fitter {
  using model_type = kde;
  std::optional<double> bandwidth;  ///< a fixed h > 0; none: Silverman's rule

  template <Rng G>
  kde fit(const std::vector<double>& x, G&, event_log& log) const {
    kde m{x, 0.0};
    if (bandwidth) {
      if (!(*bandwidth > 0) || !std::isfinite(*bandwidth))
        throw std::invalid_argument("ouro::models::kde_fitter: the bandwidth must be > 0");
      m.h = *bandwidth;
      return m;
    }
    const std::size_t n = x.size();
    if (n < 2) {
      log.record(fmt::format("{} point(s): no spread for Silverman's rule", n), "bandwidth 0");
      return m;
    }
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(n);
    double ss = 0;
    for (double v : x) ss += (v - mean) * (v - mean);
    const double s = std::sqrt(ss / static_cast<double>(n - 1));
    if (!(s > 0)) log.record("all points equal: no spread for Silverman's rule", "bandwidth 0");
    m.h = 1.06 * s * std::pow(static_cast<double>(n), -0.2);
    return m;
  }
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {

template <>
struct checkpoint_traits<models::kde> {
  static void save(const models::kde& m, io::binary_writer& w) {
    w.put_tag("kde");
    w.put_vector(m.points);
    w.put_f64(m.h);
  }
  static models::kde load(io::binary_reader& r) {
    r.expect_tag("kde");
    models::kde m;
    m.points = r.get_vector<double>("points");
    m.h = r.get_f64("bandwidth");
    return m;
  }
};

}  // namespace ouro::inline v0

namespace ouro::inline v0::metrics {

/// The variance of the fitted KDE's distribution: the points' variance (dividing by n) plus h^2.
struct kde_variance {
  std::string name() const { return "variance"; }
  template <class S>
  double operator()(const generation_context<models::kde, S>& c) const {
    return c.model.variance();
  }
};

/// The L2 distance between the KDE's density and a Gaussian truth N(mu, s^2), exactly:
/// sqrt(int (f - phi)^2), with int f^2 = mean_ij N(x_i - x_j; 0, 2h^2),
/// int f phi = mean_i N(x_i - mu; 0, h^2 + s^2) and int phi^2 = 1 / (2 s sqrt(pi)). O(n^2).
struct kde_l2_to_normal {
  double mu = 0, s = 1;
  std::string name() const { return "l2_distance"; }
  template <class S>
  double operator()(const generation_context<models::kde, S>& c) const {
    const auto& x = c.model.points;
    const double h2 = c.model.h * c.model.h;
    const double n = static_cast<double>(x.size());
    auto normal = [](double d, double var) {
      return var > 0 ? std::exp(-0.5 * d * d / var) / std::sqrt(2 * std::numbers::pi * var)
                     : (d == 0 ? std::numeric_limits<double>::infinity() : 0.0);
    };
    double ff = 0, fp = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      fp += normal(x[i] - mu, h2 + s * s);
      ff += normal(0, 2 * h2);
      for (std::size_t j = i + 1; j < x.size(); ++j) ff += 2 * normal(x[i] - x[j], 2 * h2);
    }
    const double pp = 1 / (2 * s * std::sqrt(std::numbers::pi));
    const double d2 = (n > 0 ? ff / (n * n) - 2 * fp / n : 0.0) + pp;
    return std::sqrt(std::max(d2, 0.0));
  }
};

}  // namespace ouro::inline v0::metrics
