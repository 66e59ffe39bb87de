// Expectation-maximisation for Gaussian mixtures, with mlpack-style policies: an initialisation
// policy (k-means, random responsibilities, warm start from the previous generation), the
// covariance type, reg_covar, tol, max_iter and n_init restarts. See docs/gmm.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/events.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/random.hpp"

namespace ouro::models {

/// Initialisation policies for em_fit: each turns data into initial responsibilities.
namespace init {

/// k-means++ seeding (greedy, 2 + log K candidates per centre) then Lloyd iterations until the
/// squared centre shift falls below tol times the mean per-feature variance, as scikit-learn's
/// default; responsibilities are the one-hot cluster labels.
struct kmeans {
  std::size_t max_iter = 300;
  double tol = 1e-4;
  static constexpr std::string_view name = "kmeans";
};

/// Uniform random responsibilities, normalised per point.
struct random_responsibilities {
  static constexpr std::string_view name = "random";
};

/// Responsibilities of the previous generation's model on the new data; the first fit (no previous
/// model) uses `fallback`.
struct warm_start {
  kmeans fallback{};
  static constexpr std::string_view name = "warm_start";
};

}  // namespace init

namespace detail {

using points = xt::xtensor<double, 2>;

/// Squared Euclidean distance between row s of x and centre c.
inline double sq_dist(const points& x, std::size_t s, const double* c, std::size_t d) {
  double acc = 0;
  const double* xs = x.data() + s * d;
  for (std::size_t i = 0; i < d; ++i) acc += (xs[i] - c[i]) * (xs[i] - c[i]);
  return acc;
}

/// k-means++ (greedy) and Lloyd; returns the label of every point.
template <Rng G>
std::vector<std::size_t> kmeans_labels(const points& x, std::size_t K, const init::kmeans& opt,
                                       G& g) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  std::vector<double> centres(K * d);
  std::vector<double> closest(n);
  // seeding
  const std::size_t first = uniform_index(g, n);
  std::copy(x.data() + first * d, x.data() + (first + 1) * d, centres.begin());
  double pot = 0;
  for (std::size_t s = 0; s < n; ++s) pot += closest[s] = sq_dist(x, s, centres.data(), d);
  const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(K)));
  std::vector<double> cand_d(n), best_d(n);
  for (std::size_t c = 1; c < K; ++c) {
    std::size_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < trials; ++t) {
      // draw a point with probability proportional to its squared distance
      std::size_t pick = n - 1;
      if (pot > 0) {
        const double u = uniform01(g) * pot;
        double acc = 0;
        for (std::size_t s = 0; s < n; ++s)
          if ((acc += closest[s]) > u) {
            pick = s;
            break;
          }
      } else {
        pick = uniform_index(g, n);
      }
      double p = 0;
      for (std::size_t s = 0; s < n; ++s) {
        cand_d[s] = std::min(closest[s], sq_dist(x, s, x.data() + pick * d, d));
        p += cand_d[s];
      }
      if (p < best_pot) {
        best_pot = p;
        best = pick;
        best_d.swap(cand_d);
      }
    }
    std::copy(x.data() + best * d, x.data() + (best + 1) * d, centres.begin() + c * d);
    closest.swap(best_d);
    pot = best_pot;
  }
  // Lloyd
  std::vector<double> mean(d, 0.0), var(d, 0.0);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t i = 0; i < d; ++i) mean[i] += x(s, i) / static_cast<double>(n);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t i = 0; i < d; ++i) var[i] += (x(s, i) - mean[i]) * (x(s, i) - mean[i]);
  double mean_var = 0;
  for (double v : var) mean_var += v / static_cast<double>(n) / static_cast<double>(d);
  const double tol = opt.tol * mean_var;
  std::vector<std::size_t> label(n, 0);
  std::vector<double> next(K * d), count(K);
  for (std::size_t it = 0; it < std::max<std::size_t>(1, opt.max_iter); ++it) {
    for (std::size_t s = 0; s < n; ++s) {
      double bd = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < K; ++c) {
        const double dd = sq_dist(x, s, centres.data() + c * d, d);
        if (dd < bd) bd = dd, label[s] = c;
      }
    }
    std::fill(next.begin(), next.end(), 0.0);
    std::fill(count.begin(), count.end(), 0.0);
    for (std::size_t s = 0; s < n; ++s) {
      count[label[s]] += 1;
      for (std::size_t i = 0; i < d; ++i) next[label[s] * d + i] += x(s, i);
    }
    double shift = 0;
    for (std::size_t c = 0; c < K; ++c) {
      if (count[c] == 0) {  // an empty cluster keeps its centre
        std::copy(centres.begin() + c * d, centres.begin() + (c + 1) * d, next.begin() + c * d);
        continue;
      }
      for (std::size_t i = 0; i < d; ++i) {
        next[c * d + i] /= count[c];
        shift += (next[c * d + i] - centres[c * d + i]) * (next[c * d + i] - centres[c * d + i]);
      }
    }
    centres.swap(next);
    if (shift <= tol) break;
  }
  for (std::size_t s = 0; s < n; ++s) {  // labels for the final centres
    double bd = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < K; ++c) {
      const double dd = sq_dist(x, s, centres.data() + c * d, d);
      if (dd < bd) bd = dd, label[s] = c;
    }
  }
  return label;
}

/// What happened during one EM fit, reported once as events at its end.
struct em_flags {
  bool empty = false, singular = false;
  double jitter = 0;
};

/// The M-step: weights, means and covariances from responsibilities r (component-major, K x n).
inline gmm m_step(const points& x, const std::vector<double>& r, std::size_t K,
                  covariance_type type, double reg_covar, em_flags& flags) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  const double eps10 = 10 * std::numeric_limits<double>::epsilon();
  std::vector<double> w(K), mu(K * d, 0.0);
  std::vector<ouro::detail::sym_matrix> cov(K, ouro::detail::sym_matrix(d));
  // pooled mean and covariance, for components that receive no data
  std::vector<double> pm(d, 0.0);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t i = 0; i < d; ++i) pm[i] += x(s, i) / static_cast<double>(n);
  for (std::size_t k = 0; k < K; ++k) {
    const double* rk = r.data() + k * n;
    double nk = 0;
    for (std::size_t s = 0; s < n; ++s) nk += rk[s];
    auto& S = cov[k];
    if (!(nk > 1e-12)) {  // no data: weight 0, pooled mean, pooled covariance
      flags.empty = true;
      w[k] = 0;
      for (std::size_t i = 0; i < d; ++i) mu[k * d + i] = pm[i];
      for (std::size_t s = 0; s < n; ++s)
        for (std::size_t i = 0; i < d; ++i)
          for (std::size_t j = 0; j <= i; ++j)
            S(i, j) += (x(s, i) - pm[i]) * (x(s, j) - pm[j]) / static_cast<double>(n);
    } else {
      w[k] = nk + eps10;
      const double inv = 1.0 / w[k];
      double* m = mu.data() + k * d;
      for (std::size_t s = 0; s < n; ++s)
        for (std::size_t i = 0; i < d; ++i) m[i] += rk[s] * x(s, i);
      for (std::size_t i = 0; i < d; ++i) m[i] *= inv;
      if (d == 2 && type == covariance_type::full) {
        double s00 = 0, s10 = 0, s11 = 0;
        const double* xs = x.data();
        for (std::size_t s = 0; s < n; ++s) {
          const double d0 = xs[2 * s] - m[0], d1 = xs[2 * s + 1] - m[1];
          s00 += rk[s] * d0 * d0;
          s10 += rk[s] * d1 * d0;
          s11 += rk[s] * d1 * d1;
        }
        S(0, 0) = s00 * inv, S(1, 0) = s10 * inv, S(1, 1) = s11 * inv;
      } else {
        std::vector<double> dv(d);
        for (std::size_t s = 0; s < n; ++s) {
          for (std::size_t i = 0; i < d; ++i) dv[i] = x(s, i) - m[i];
          for (std::size_t i = 0; i < d; ++i)
            for (std::size_t j = 0; j <= i; ++j) S(i, j) += rk[s] * dv[i] * dv[j];
        }
        for (std::size_t i = 0; i < d; ++i)
          for (std::size_t j = 0; j <= i; ++j) S(i, j) *= inv;
      }
    }
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < i; ++j) S(j, i) = S(i, j);
    if (type == covariance_type::diagonal) {
      for (std::size_t i = 0; i < d; ++i)
        for (std::size_t j = 0; j < d; ++j)
          if (i != j) S(i, j) = 0;
    } else if (type == covariance_type::spherical) {
      double t = 0;
      for (std::size_t i = 0; i < d; ++i) t += S(i, i);
      S = ouro::detail::sym_matrix::identity(d);
      for (std::size_t i = 0; i < d; ++i) S(i, i) = t / static_cast<double>(d);
    }
    for (std::size_t i = 0; i < d; ++i) S(i, i) += reg_covar;
    // a covariance that is not positive definite gets the smallest jitter that makes it so
    ouro::detail::sym_matrix L;
    if (!ouro::detail::cholesky(S, L)) {
      double scale = 0;
      for (std::size_t i = 0; i < d; ++i)
        scale += std::abs(S(i, i)) + mu[k * d + i] * mu[k * d + i];
      double jitter = 1e-12 * std::max(1.0, scale / static_cast<double>(d));
      for (int tries = 0; tries < 200; ++tries, jitter *= 4) {
        auto T = S;
        for (std::size_t i = 0; i < d; ++i) T(i, i) += jitter;
        if (ouro::detail::cholesky(T, L)) {
          S = T;
          break;
        }
      }
      flags.singular = true;
      flags.jitter = std::max(flags.jitter, jitter);
    }
  }
  return gmm(std::move(w), std::move(mu), std::move(cov), type);
}

/// The E-step: responsibilities (component-major) and the mean log-likelihood per point.
inline double e_step(const gmm& m, const points& x, std::vector<double>& lc,
                     std::vector<double>& lp, std::vector<double>& r) {
  const std::size_t n = x.shape()[0], K = m.components();
  m.component_log_densities(x, lc);
  gmm::log_sum_exp_columns(lc, n, K, lp);
  r.resize(n * K);
  double total = 0;
  for (std::size_t s = 0; s < n; ++s) total += lp[s];
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t s = 0; s < n; ++s) r[k * n + s] = std::exp(lc[k * n + s] - lp[s]);
  return total / static_cast<double>(n);
}

}  // namespace detail

/// Fits a K-component Gaussian mixture by EM, as scikit-learn's GaussianMixture does: an M-step
/// from the initial responsibilities, then E- and M-steps until the mean log-likelihood per point
/// changes by less than `tol` (or `max_iter` iterations); `n_init` restarts keep the best.
/// Covariances get `reg_covar` added to their diagonal (explicit, and written into the results by
/// the examples; 0 is allowed). Degenerate data (all points equal, fewer points than components,
/// an empty component, a singular covariance) are recorded as events and never throw. The model
/// carries an em_report (converged, iterations, lower bound).
template <class Init = init::kmeans>
struct em_fit {
  using model_type = gmm;
  using dataset_type = xt::xtensor<double, 2>;

  std::size_t components = 2;
  covariance_type covariance = covariance_type::full;
  double reg_covar = 1e-6;
  double tol = 1e-5;
  std::size_t max_iter = 2000;
  std::size_t n_init = 1;
  Init init{};

  template <Rng G>
  gmm fit(const dataset_type& x, G& g, event_log& log) const {
    return fit_impl(x, nullptr, g, log);
  }

  /// Warm start: the previous generation's model gives the initial responsibilities.
  template <Rng G>
  requires std::same_as<Init, init::warm_start> gmm fit(const dataset_type& x, const gmm& previous,
                                                        G& g, event_log& log)
  const { return fit_impl(x, &previous, g, log); }

  /// EM from given initial responsibilities (n x K, rows summing to 1), one run, no restarts.
  gmm fit_from_responsibilities(const dataset_type& x, const xt::xtensor<double, 2>& resp0,
                                event_log& log) const {
    validate(x);
    const std::size_t n = x.shape()[0], K = resp0.shape()[1];
    std::vector<double> r(K * n);
    for (std::size_t s = 0; s < n; ++s)
      for (std::size_t k = 0; k < K; ++k) r[k * n + s] = resp0(s, k);
    detail::em_flags flags;
    gmm m = run_em(x, r, K, flags);
    report(flags, m, log);
    return m;
  }

 private:
  void validate(const dataset_type& x) const {
    if (x.shape()[0] == 0 || x.shape()[1] == 0)
      throw std::invalid_argument("ouro::models::em_fit: cannot fit an empty dataset");
    for (double v : x)
      if (!std::isfinite(v))
        throw std::invalid_argument(
            "ouro::models::em_fit: the data contain NaN or infinite values");
    if (components == 0)
      throw std::invalid_argument("ouro::models::em_fit: components must be >= 1");
    if (!(reg_covar >= 0) || !(tol >= 0))
      throw std::invalid_argument("ouro::models::em_fit: reg_covar and tol must be >= 0");
  }

  gmm run_em(const dataset_type& x, std::vector<double>& r, std::size_t K,
             detail::em_flags& flags) const {
    std::vector<double> lc, lp;
    gmm m = detail::m_step(x, r, K, covariance, reg_covar, flags);
    double lb = -std::numeric_limits<double>::infinity();
    em_report rep{true, false, 0, lb, 0};
    for (std::size_t it = 1; it <= max_iter; ++it) {
      const double prev = lb;
      lb = detail::e_step(m, x, lc, lp, r);
      m = detail::m_step(x, r, K, covariance, reg_covar, flags);
      rep.iterations = it;
      rep.lower_bound = lb;
      if (std::abs(lb - prev) < tol) {
        rep.converged = true;
        break;
      }
    }
    m.set_report(rep);
    return m;
  }

  template <Rng G>
  void initial_responsibilities(const dataset_type& x, const gmm* previous, std::size_t K, G& g,
                                std::vector<double>& r) const {
    const std::size_t n = x.shape()[0];
    r.assign(K * n, 0.0);
    if constexpr (std::same_as<Init, init::random_responsibilities>) {
      for (std::size_t s = 0; s < n; ++s) {
        double t = 0;
        for (std::size_t k = 0; k < K; ++k) t += r[k * n + s] = uniform01(g);
        for (std::size_t k = 0; k < K; ++k) r[k * n + s] /= t;
      }
      return;
    } else {
      if constexpr (std::same_as<Init, init::warm_start>) {
        if (previous && previous->components() == K && previous->dim() == x.shape()[1]) {
          std::vector<double> lc, lp;
          detail::e_step(*previous, x, lc, lp, r);
          return;
        }
      }
      init::kmeans km;
      if constexpr (std::same_as<Init, init::warm_start>)
        km = init.fallback;
      else
        km = init;
      const auto label = detail::kmeans_labels(x, K, km, g);
      for (std::size_t s = 0; s < n; ++s) r[label[s] * n + s] = 1.0;
    }
  }

  template <Rng G>
  gmm fit_impl(const dataset_type& x, const gmm* previous, G& g, event_log& log) const {
    validate(x);
    const std::size_t n = x.shape()[0], d = x.shape()[1];
    const std::size_t K = std::min(components, n);
    if (K < components)
      log.record(
          fmt::format("fewer points ({}) than components ({})", n, components),
          fmt::format("fitted {} components; the other {} have weight 0", K, components - K));
    std::optional<gmm> best;
    detail::em_flags best_flags;
    std::vector<double> r;
    for (std::size_t restart = 0; restart < std::max<std::size_t>(1, n_init); ++restart) {
      detail::em_flags flags;
      initial_responsibilities(x, previous, K, g, r);
      gmm m = run_em(x, r, K, flags);
      if (!best || m.report().lower_bound > best->report().lower_bound) {
        auto rep = m.report();
        rep.restart = restart;
        m.set_report(rep);
        best = std::move(m);
        best_flags = flags;
      }
    }
    gmm m = std::move(*best);
    if (K < components) m = pad(m, components, x);
    (void)d;
    report(best_flags, m, log);
    return m;
  }

  /// Adds weight-0 components (pooled mean and covariance) up to `total`.
  gmm pad(const gmm& m, std::size_t total, const dataset_type& x) const {
    std::vector<double> w = m.weights(), mu = m.means();
    auto cov = m.covariances();
    const auto pooled = m.overall_mean();
    const auto pc = m.overall_covariance();
    for (std::size_t k = m.components(); k < total; ++k) {
      w.push_back(0.0);
      mu.insert(mu.end(), pooled.begin(), pooled.end());
      cov.push_back(pc);
    }
    (void)x;
    gmm out(std::move(w), std::move(mu), std::move(cov), m.type());
    out.set_report(m.report());
    return out;
  }

  void report(const detail::em_flags& f, const gmm& m, event_log& log) const {
    if (f.empty)
      log.record("empty mixture component",
                 "weight 0; mean and covariance set to the pooled data's");
    if (f.singular)
      log.record("singular covariance",
                 fmt::format("added up to {:.3g} to the diagonal (beyond reg_covar = {})", f.jitter,
                             reg_covar));
    if (!m.report().converged)
      log.record(fmt::format("EM did not converge in {} iterations", max_iter),
                 "kept the last iterate");
  }
};

}  // namespace ouro::models
