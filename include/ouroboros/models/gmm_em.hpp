// Expectation-maximisation for Gaussian mixtures, with mlpack-style policies: an initialisation
// policy (k-means, random responsibilities, warm start from the previous generation), the
// covariance type, reg_covar, tol, max_iter and n_init restarts. See docs/gmm.md.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "ouroboros/core/detail/thread_pool.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/gmm.hpp"

namespace ouro::inline v0::models {

/// What an EM initialisation policy is given: the data (n points x d), the previous generation's
/// model (nullptr on the first fit, or when the policy does not use it), the number of components
/// K, the fit's engine, and the responsibilities to write: K * n values, zero on entry,
/// responsibilities[k * n + s] for component k and point s, each point's summing to 1.
template <Rng G>
struct em_start {
  const xt::xtensor<double, 2>& data;
  const gmm* previous;
  std::size_t components;
  G& rng;
  std::span<double> responsibilities;
};

/// Initialisation policies for gmm_fitter: each turns the data into initial responsibilities.
/// A policy is any copyable type with
///   template <Rng G> void operator()(const em_start<G>& start) const;
/// that writes start.responsibilities (see EmInitialisation); it may set
/// `static constexpr bool uses_previous = true` to be given the previous generation's model
/// (gmm_fitter then offers warm starts). The three below are the library's; docs/gmm.md shows a
/// policy written outside the library.
namespace init {

/// k-means++ seeding (greedy, 2 + log K candidates per centre) then Lloyd iterations until the
/// squared centre shift falls below tol times the mean per-feature variance, as scikit-learn's
/// default; responsibilities are the one-hot cluster labels.
struct kmeans {
  std::size_t max_iter = 300;
  double tol = 1e-4;
  static constexpr std::string_view name = "kmeans";
  template <Rng G>
  void operator()(const em_start<G>& start) const;
};

/// Uniform random responsibilities, normalised per point.
struct random_responsibilities {
  static constexpr std::string_view name = "random";
  template <Rng G>
  void operator()(const em_start<G>& start) const;
};

/// Responsibilities of the previous generation's model on the new data; the first fit (no previous
/// model, or one with other components or dimensions) uses `fallback`.
struct warm_start {
  kmeans fallback{};
  static constexpr std::string_view name = "warm_start";
  static constexpr bool uses_previous = true;
  template <Rng G>
  void operator()(const em_start<G>& start) const;
};

}  // namespace init

/// Concept EmInitialisation<I>: an EM initialisation policy (see namespace init).
template <class I>
concept EmInitialisation = std::copy_constructible<I> &&
    requires(const I& i, const em_start<default_rng>& s) {
  i(s);
};

/// Whether policy I is given the previous generation's model.
template <class I>
inline constexpr bool uses_previous_model = requires {
  requires I::uses_previous;
};

namespace detail {

using points = xt::xtensor<double, 2>;

using ouro::detail::lane_sums;

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
  const double* X = x.data();
  // out[s] = min(limit[s], |x_s - c|^2) (no limit: the distance) for every point; returns their
  // sum (eight interleaved lanes, no latency chain)
  const auto distances = [&](const double* c, const double* limit, double* out) {
    return lane_sums<1>(n, [&](std::size_t s, double* v) {
      double q = 0;
      if (d == 2) {
        const double a = X[2 * s] - c[0], b = X[2 * s + 1] - c[1];
        q = a * a + b * b;
      } else {
        q = sq_dist(x, s, c, d);
      }
      v[0] = out[s] = limit ? std::min(limit[s], q) : q;
    })[0];
  };
  // seeding
  const std::size_t first = uniform_index(g, n);
  std::copy(X + first * d, X + (first + 1) * d, centres.begin());
  double pot = distances(centres.data(), nullptr, closest.data());
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
      const double p = distances(X + pick * d, closest.data(), cand_d.data());
      if (p < best_pot) {
        best_pot = p;
        best = pick;
        best_d.swap(cand_d);
      }
    }
    std::copy(X + best * d, X + (best + 1) * d, centres.begin() + c * d);
    closest.swap(best_d);
    pot = best_pot;
  }
  // Lloyd; tol is relative to the mean per-feature variance
  double mean_var = 0;
  for (std::size_t i = 0; i < d; ++i) {
    const double mi = lane_sums<1>(n, [&](std::size_t s, double* v) { v[0] = X[s * d + i]; })[0] /
                      static_cast<double>(n);
    const double vi = lane_sums<1>(
        n, [&](std::size_t s, double* v) { v[0] = (X[s * d + i] - mi) * (X[s * d + i] - mi); })[0];
    mean_var += vi / static_cast<double>(n) / static_cast<double>(d);
  }
  const double tol = opt.tol * mean_var;
  std::vector<std::size_t> label(n, 0);
  std::vector<double> next(K * d), count(K);
  if (d == 2 && K <= ouro::detail::gmm_kernels::kmeans_max_k) {
    // 2-D, few centres: one vectorised pass per Lloyd step assigns the labels and sums the
    // members of every centre
    std::vector<double> labd(n, 0.0), sums(3 * K);
    for (std::size_t it = 0; it < std::max<std::size_t>(1, opt.max_iter); ++it) {
      const bool changed = ouro::detail::gmm_kernels::run_kmeans_step_d2(
                               X, n, centres.data(), K, labd.data(), sums.data()) ||
                           it == 0;
      if (!changed) break;  // strict convergence: the labels are final (as scikit-learn)
      double shift = 0;
      for (std::size_t c = 0; c < K; ++c) {
        const double cnt = sums[3 * c];
        if (cnt == 0) continue;  // an empty cluster keeps its centre
        for (std::size_t i = 0; i < 2; ++i) {
          const double v = sums[3 * c + 1 + i] / cnt;
          shift += (v - centres[c * 2 + i]) * (v - centres[c * 2 + i]);
          centres[c * 2 + i] = v;
        }
      }
      if (shift <= tol) break;
    }
    ouro::detail::gmm_kernels::run_kmeans_step_d2(X, n, centres.data(), K, labd.data(),
                                                  sums.data());
    for (std::size_t s = 0; s < n; ++s) label[s] = static_cast<std::size_t>(labd[s]);
    return label;
  }
  // the nearest centre of every point (the first of equals); true if a label changed
  const auto assign = [&]<std::size_t DC>(std::integral_constant<std::size_t, DC>) {
    const std::size_t dd_ = DC ? DC : d;  // a compile-time dimension unrolls the distances
    bool changed = false;
    for (std::size_t s = 0; s < n; ++s) {
      double bd = std::numeric_limits<double>::infinity();
      std::size_t best = 0;
      const double* xs = X + s * dd_;
      for (std::size_t c = 0; c < K; ++c) {
        const double* cc = centres.data() + c * dd_;
        double acc = 0;
        for (std::size_t i = 0; i < dd_; ++i) acc += (xs[i] - cc[i]) * (xs[i] - cc[i]);
        if (acc < bd) bd = acc, best = c;
      }
      changed = changed || best != label[s];
      label[s] = best;
    }
    return changed;
  };
  for (std::size_t it = 0; it < std::max<std::size_t>(1, opt.max_iter); ++it) {
    const bool changed = (d == 2 ? assign(std::integral_constant<std::size_t, 2>{})
                                 : assign(std::integral_constant<std::size_t, 0>{})) ||
                         it == 0;
    if (!changed) break;  // strict convergence: the labels are final (as scikit-learn)
    std::fill(next.begin(), next.end(), 0.0);
    std::fill(count.begin(), count.end(), 0.0);
    for (std::size_t s = 0; s < n; ++s) {
      count[label[s]] += 1;
      for (std::size_t i = 0; i < d; ++i) next[label[s] * d + i] += X[s * d + i];
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

/// Regularises a fitted covariance: the covariance type's structure, reg_covar on the diagonal,
/// and the smallest jitter that makes it positive definite if it is not.
inline void finish_covariance(ouro::matrix& S, std::span<const double> mean, covariance_type type,
                              double reg_covar, em_flags& flags) {
  const std::size_t d = S.d;
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < i; ++j) S(j, i) = S(i, j);
  if (type == covariance_type::diagonal) {
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j)
        if (i != j) S(i, j) = 0;
  } else if (type == covariance_type::spherical) {
    double t = 0;
    for (std::size_t i = 0; i < d; ++i) t += S(i, i);
    S = ouro::matrix::identity(d);
    for (std::size_t i = 0; i < d; ++i) S(i, i) = t / static_cast<double>(d);
  }
  for (std::size_t i = 0; i < d; ++i) S(i, i) += reg_covar;
  thread_local ouro::matrix L;
  if (!ouro::detail::cholesky(S, L)) {
    double scale = 0;
    for (std::size_t i = 0; i < d; ++i) scale += std::abs(S(i, i)) + mean[i] * mean[i];
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

inline void moments_block(const double* XT, std::size_t ld, std::size_t cnt, std::size_t d,
                          const double* rk, std::span<const double> c, double& nk, double* s1,
                          double* s2);

/// Points (n x d, row-major) transposed into xt: coordinate j of point s at xt[j * ld + s];
/// returns ld (rows padded to a multiple of 8 plus 8, so that they do not share cache sets).
inline std::size_t transpose_points(const double* X, std::size_t n, std::size_t d,
                                    std::vector<double>& xt) {
  const std::size_t ld = (n + 7) / 8 * 8 + 8;
  xt.resize(d * ld);
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t j = 0; j < d; ++j) xt[j * ld + s] = X[s * d + j];
  return ld;
}

/// The M-step: weights, means and covariances from responsibilities r (component-major, K x n).
/// Centred (two-pass) sums, as scikit-learn; loops run over points so they vectorise.
inline gmm m_step(const points& x, const std::vector<double>& r, std::size_t K,
                  covariance_type type, double reg_covar, em_flags& flags) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  const double* X = x.data();
  const double eps10 = 10 * std::numeric_limits<double>::epsilon();
  std::vector<double> w(K), mu(K * d, 0.0);
  std::vector<ouro::matrix> cov(K, ouro::matrix(d));
  std::vector<double> dv(d), xt;
  const std::size_t ld = d == 2 ? 0 : transpose_points(X, n, d, xt);
  for (std::size_t k = 0; k < K; ++k) {
    const double* rk = r.data() + k * n;
    const double nk = lane_sums<1>(n, [rk](std::size_t s, double* v) { v[0] = rk[s]; })[0];
    auto& S = cov[k];
    double* m = mu.data() + k * d;
    const bool empty = !(nk > 1e-12);
    if (empty) flags.empty = true;
    // an empty component gets weight 0 and the pooled (unweighted) mean and covariance
    const double inv = empty ? 1.0 / static_cast<double>(n) : 1.0 / (nk + eps10);
    w[k] = empty ? 0.0 : nk + eps10;
    auto weight = [&](std::size_t s) { return empty ? 1.0 : rk[s]; };
    if (d == 2 && !empty) {
      const auto a = lane_sums<2>(n, [rk, X](std::size_t s, double* v) {
        v[0] = rk[s] * X[2 * s];
        v[1] = rk[s] * X[2 * s + 1];
      });
      m[0] = a[0] * inv, m[1] = a[1] * inv;
      const double m0 = m[0], m1 = m[1];
      const auto c = lane_sums<3>(n, [rk, X, m0, m1](std::size_t s, double* v) {
        const double d0 = X[2 * s] - m0, d1 = X[2 * s + 1] - m1;
        v[0] = rk[s] * d0 * d0;
        v[1] = rk[s] * d1 * d0;
        v[2] = rk[s] * d1 * d1;
      });
      S(0, 0) = c[0] * inv, S(1, 0) = c[1] * inv, S(1, 1) = c[2] * inv;
    } else {
      for (std::size_t s = 0; s < n; ++s) {
        const double ws = weight(s);
        for (std::size_t i = 0; i < d; ++i) m[i] += ws * X[s * d + i];
      }
      for (std::size_t i = 0; i < d; ++i) m[i] *= inv;
      if (!empty) {  // the moments about the new mean, by the same kernel as the EM passes
        double mass = 0;
        std::vector<double> s1(d, 0.0), s2(d * d, 0.0), delta(d);
        moments_block(xt.data(), ld, n, d, rk, std::span<const double>(m, d), mass, s1.data(),
                      s2.data());
        for (std::size_t i = 0; i < d; ++i) delta[i] = s1[i] * inv;
        for (std::size_t i = 0; i < d; ++i)
          for (std::size_t j = 0; j <= i; ++j)
            S(i, j) =
                (s2[i * d + j] - s1[i] * delta[j] - delta[i] * s1[j] + mass * delta[i] * delta[j]) *
                inv;
      } else {
        for (std::size_t s = 0; s < n; ++s) {
          for (std::size_t i = 0; i < d; ++i) dv[i] = X[s * d + i] - m[i];
          for (std::size_t i = 0; i < d; ++i)
            for (std::size_t j = 0; j <= i; ++j) S(i, j) += dv[i] * dv[j];
        }
        for (std::size_t i = 0; i < d; ++i)
          for (std::size_t j = 0; j <= i; ++j) S(i, j) *= inv;
      }
    }
    finish_covariance(S, std::span<const double>(m, d), type, reg_covar, flags);
  }
  return gmm(std::move(w), std::move(mu), std::move(cov), type);
}

/// Sufficient statistics of one EM pass: per component the responsibility mass, and the first and
/// second moments of x - c_k (c_k: the current mean of component k, which keeps them well
/// centred); and the total log-likelihood.
struct em_stats {
  std::vector<double> nk, s1, s2;  // K; K x D; K x D x D (row-major)
  double loglik = 0;
};

/// One fused E-step and accumulation of the M-step's statistics, over blocks of points so that the
/// log-densities and responsibilities of a block stay in cache: the data are read once per
/// iteration. Blocks are combined in order, so the result does not depend on the block size's
/// relation to anything but itself.
inline constexpr std::size_t em_block_size = 2048;

// GCC 12 reports a false -Wuninitialized inside its own AVX-512 intrinsics when they are inlined
// (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/// Adds the responsibility mass and the first and second moments of x - c over `cnt` points
/// (D > 2, transposed: XT[i * ld + s], see transpose_points) weighted by rk: nk += sum r,
/// s1 += sum r (x - c), s2 += sum r (x - c)(x - c)' (lower triangle, row-major D x D).
inline void moments_block(const double* XT, std::size_t ld, std::size_t cnt, std::size_t d,
                          const double* rk, std::span<const double> c, double& nk, double* s1,
                          double* s2) {
  thread_local std::vector<double> xt_block, wx;
  // sub-blocks of 128 points transposed to D x 128 and centred at c (they stay in L1):
  // the moments become dot products over points, accumulated in eight lanes
  // (rows LS = SB + 8 apart, not a power of two: no cache-set conflicts between the rows)
  constexpr std::size_t SB = 128, LS = SB + 8;
  xt_block.resize(d * LS);
  wx.resize(d * LS);
#if defined(__AVX512F__)
  // the 4 x 4 tiles' accumulators (at most 10 tiles for d <= 16) and the first moments' ones,
  // carried over the sub-blocks
  __m512d tiles[10][16], firsts[16];
  for (auto& t : tiles)
    for (auto& a : t) a = _mm512_setzero_pd();
  for (auto& a : firsts) a = _mm512_setzero_pd();
#endif
  for (std::size_t t0 = 0; t0 < cnt; t0 += SB) {
    const std::size_t c2 = std::min(SB, cnt - t0);
    const double* rr = rk + t0;
    nk += lane_sums<1>(c2, [rr](std::size_t s, double* v) { v[0] = rr[s]; })[0];
#if defined(__AVX512F__)
    if (d <= 16) {
      // 4 x 4 register tiles of the second moments: per step of eight points, the weights and
      // eight rows, centred in registers (four of them weighted), feed sixteen fused
      // multiply-adds. Rows beyond d read zeros; points beyond c2 have weight 0.
      const std::size_t dp = (d + 3) / 4 * 4, c2p = (c2 + 7) / 8 * 8;
      static constexpr double zeros[SB] = {};
      const double* row[16];
      double centre[16];
      for (std::size_t i = 0; i < dp; ++i) {
        row[i] = i < d ? XT + i * ld + t0 : zeros;
        centre[i] = i < d ? c[i] : 0.0;
      }
      alignas(64) double rpad[SB];
      for (std::size_t s = 0; s < c2p; ++s) rpad[s] = s < c2 ? rr[s] : 0.0;
      std::size_t tile = 0;
      for (std::size_t ti = 0; ti < dp; ti += 4)
        for (std::size_t tj = 0; tj <= ti; tj += 4, ++tile) {
          __m512d acc[4][4];
          for (std::size_t r = 0; r < 4; ++r)
            for (std::size_t q = 0; q < 4; ++q) acc[r][q] = tiles[tile][r * 4 + q];
          __m512d ca[4], cb[4];
          for (std::size_t r = 0; r < 4; ++r) {
            ca[r] = _mm512_set1_pd(centre[ti + r]);
            cb[r] = _mm512_set1_pd(centre[tj + r]);
          }
          if (ti == tj) {  // a diagonal tile: the same rows, and its lower half only; it also
                           // sums the weighted rows (the first moments)
            __m512d first[4];
            for (std::size_t r = 0; r < 4; ++r) first[r] = firsts[ti + r];
            for (std::size_t s = 0; s < c2p; s += 8) {
              __m512d b[4];
              const __m512d rv = _mm512_load_pd(rpad + s);
              for (std::size_t r = 0; r < 4; ++r)
                b[r] = _mm512_sub_pd(_mm512_loadu_pd(row[ti + r] + s), cb[r]);
              for (std::size_t r = 0; r < 4; ++r) {
                const __m512d a = _mm512_mul_pd(rv, b[r]);
                first[r] = _mm512_add_pd(first[r], a);
                for (std::size_t q = 0; q <= r; ++q)
                  acc[r][q] = _mm512_fmadd_pd(a, b[q], acc[r][q]);
              }
            }
            for (std::size_t r = 0; r < 4; ++r) firsts[ti + r] = first[r];
          } else {
            for (std::size_t s = 0; s < c2p; s += 8) {
              __m512d a[4], b[4];
              const __m512d rv = _mm512_load_pd(rpad + s);
              for (std::size_t r = 0; r < 4; ++r) {
                a[r] = _mm512_mul_pd(rv, _mm512_sub_pd(_mm512_loadu_pd(row[ti + r] + s), ca[r]));
                b[r] = _mm512_sub_pd(_mm512_loadu_pd(row[tj + r] + s), cb[r]);
              }
              for (std::size_t r = 0; r < 4; ++r)
                for (std::size_t q = 0; q < 4; ++q)
                  acc[r][q] = _mm512_fmadd_pd(a[r], b[q], acc[r][q]);
            }
          }
          for (std::size_t r = 0; r < 4; ++r)
            for (std::size_t q = 0; q < 4; ++q) tiles[tile][r * 4 + q] = acc[r][q];
        }
      continue;
    }
#endif
    for (std::size_t i = 0; i < d; ++i) {
      const double* xi = XT + i * ld + t0;
      double* bi = xt_block.data() + i * LS;
      const double ci = c[i];
      for (std::size_t s = 0; s < c2; ++s) bi[s] = xi[s] - ci;
    }
    for (std::size_t i = 0; i < d; ++i) {
      const double* xi = xt_block.data() + i * LS;
      double* wi = wx.data() + i * LS;
      for (std::size_t s = 0; s < c2; ++s) wi[s] = rr[s] * xi[s];
    }
    for (std::size_t i = 0; i < d; ++i) {
      const double* wi = wx.data() + i * LS;
      s1[i] += lane_sums<1>(c2, [wi](std::size_t s, double* v) { v[0] = wi[s]; })[0];
      for (std::size_t jj = 0; jj <= i; ++jj) {
        const double* xj = xt_block.data() + jj * LS;
        s2[i * d + jj] +=
            lane_sums<1>(c2, [wi, xj](std::size_t s, double* v) { v[0] = wi[s] * xj[s]; })[0];
      }
    }
  }
#if defined(__AVX512F__)
  if (d <= 16) {
    for (std::size_t i = 0; i < d; ++i) s1[i] += _mm512_reduce_add_pd(firsts[i]);
    std::size_t tile = 0;
    for (std::size_t ti = 0; ti < d; ti += 4)
      for (std::size_t tj = 0; tj <= ti; tj += 4, ++tile)
        for (std::size_t r = 0; r < 4; ++r)
          for (std::size_t q = 0; q < 4; ++q) {
            const std::size_t i = ti + r, j = tj + q;
            if (i < d && j <= i) s2[i * d + j] += _mm512_reduce_add_pd(tiles[tile][r * 4 + q]);
          }
  }
#endif
}

/// The statistics of the points [b0, b0 + cnt) only, into a zeroed `st`.
inline void em_block(const gmm& m, const points& x, std::size_t b0, std::size_t cnt, em_stats& st) {
  const std::size_t d = x.shape()[1], K = m.components();
  thread_local std::vector<double> lc, r, xt;
  {
    const double* X = x.data() + b0 * d;
    // the block transposed once, for the densities and the moments of every component
    const std::size_t ld = d == 2 ? 0 : transpose_points(X, cnt, d, xt);
    if (d == 2) {
      m.component_log_densities(X, cnt, lc);
    } else {
      lc.resize(cnt * K);
      m.log_densities_transposed(xt.data(), ld, cnt, lc.data(), cnt);
    }
    st.loglik += gmm::log_sum_exp_total(lc, cnt, K, r);
    for (std::size_t k = 0; k < K; ++k) {
      const double* rk = r.data() + k * cnt;
      const auto c = m.mean(k);
      double* s1 = st.s1.data() + k * d;
      double* s2 = st.s2.data() + k * d * d;
      if (d == 2) {
        double a[6];
        ouro::detail::gmm_kernels::run_moments_d2(rk, X, cnt, c[0], c[1], a);
        st.nk[k] += a[0];
        s1[0] += a[1], s1[1] += a[2];
        s2[0] += a[3], s2[2] += a[4], s2[3] += a[5];
      } else {
        moments_block(xt.data(), ld, cnt, d, rk, c, st.nk[k], s1, s2);
      }
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

inline em_stats zero_stats(std::size_t K, std::size_t d) {
  em_stats st;
  st.nk.assign(K, 0.0);
  st.s1.assign(K * d, 0.0);
  st.s2.assign(K * d * d, 0.0);
  return st;
}

/// One EM pass over all points: blocks computed in any order (in parallel on `pool` if given),
/// their statistics added in block order, so the result is the same for any thread count.
inline em_stats em_pass(const gmm& m, const points& x, ouro::detail::thread_pool* pool = nullptr) {
  const std::size_t n = x.shape()[0], d = x.shape()[1], K = m.components();
  const std::size_t blocks = (n + em_block_size - 1) / em_block_size;
  em_stats st = zero_stats(K, d);
  auto add = [&](const em_stats& b) {
    for (std::size_t i = 0; i < K; ++i) st.nk[i] += b.nk[i];
    for (std::size_t i = 0; i < st.s1.size(); ++i) st.s1[i] += b.s1[i];
    for (std::size_t i = 0; i < st.s2.size(); ++i) st.s2[i] += b.s2[i];
    st.loglik += b.loglik;
  };
  if (blocks == 1) {  // one block: its statistics are the pass's
    em_block(m, x, 0, n, st);
    return st;
  }
  if (!pool || pool->size() == 1) {
    em_stats b = zero_stats(K, d);
    for (std::size_t i = 0; i < blocks; ++i) {
      b = zero_stats(K, d);
      em_block(m, x, i * em_block_size, std::min(em_block_size, n - i * em_block_size), b);
      add(b);
    }
    return st;
  }
  std::vector<em_stats> parts(blocks, zero_stats(K, d));
  pool->parallel_for(blocks, [&](std::size_t i) {
    em_block(m, x, i * em_block_size, std::min(em_block_size, n - i * em_block_size), parts[i]);
  });
  for (const auto& b : parts) add(b);
  return st;
}

/// The M-step from em_pass statistics, into m (whose means are the centres the statistics were
/// taken around): with N_k = n_k + 10 eps (as scikit-learn), mu_k = c_k + s1 / N_k and
/// S_k = (s2 - 2 s1 delta' + n_k delta delta') / N_k, delta = mu_k - c_k, which equals
/// sum_s r_sk (x_s - mu_k)(x_s - mu_k)' / N_k. A component with no mass gets weight 0 and the
/// pooled mean and covariance. The model's storage is reused (no allocation per iteration).
template <class Pooled>
void update_from_stats(const em_stats& st, gmm& m, covariance_type type, double reg_covar,
                       Pooled&& pooled, em_flags& flags) {
  const std::size_t K = m.components(), d = m.dim();
  const double eps10 = 10 * std::numeric_limits<double>::epsilon();
  thread_local std::vector<double> w, mu, delta;
  thread_local std::vector<ouro::matrix> cov;
  w.assign(K, 0.0);
  mu.assign(K * d, 0.0);
  delta.assign(d, 0.0);
  cov.resize(K);
  for (auto& S : cov) S.d = d, S.a.assign(d * d, 0.0);
  for (std::size_t k = 0; k < K; ++k) {
    const double nk = st.nk[k];
    double* mk = mu.data() + k * d;
    auto& S = cov[k];
    if (!(nk > 1e-12)) {
      flags.empty = true;
      w[k] = 0;
      const gmm& p = pooled();  // a one-component model of all the data
      for (std::size_t i = 0; i < d; ++i) mk[i] = p.mean(0)[i];
      S.a = p.covariance(0).a;
    } else {
      const double Nk = nk + eps10;
      w[k] = Nk;
      const auto c = m.mean(k);
      const double* s1 = st.s1.data() + k * d;
      const double* s2 = st.s2.data() + k * d * d;
      for (std::size_t i = 0; i < d; ++i) {
        delta[i] = s1[i] / Nk;
        mk[i] = c[i] + delta[i];
      }
      for (std::size_t i = 0; i < d; ++i)
        for (std::size_t j = 0; j <= i; ++j)
          S(i, j) =
              (s2[i * d + j] - s1[i] * delta[j] - delta[i] * s1[j] + nk * delta[i] * delta[j]) / Nk;
    }
    finish_covariance(S, std::span<const double>(mk, d), type, reg_covar, flags);
  }
  m.set_parameters(w, mu, cov);
}

/// The E-step: responsibilities (component-major) and the mean log-likelihood per point.
inline double e_step(const gmm& m, const points& x, std::vector<double>& lc,
                     std::vector<double>& r) {
  const std::size_t n = x.shape()[0], K = m.components();
  m.component_log_densities(x, lc);
  return gmm::log_sum_exp_total(lc, n, K, r) / static_cast<double>(n);
}

}  // namespace detail

namespace init {
template <Rng G>
void kmeans::operator()(const em_start<G>& s) const {
  const std::size_t n = s.data.shape()[0];
  const auto label = detail::kmeans_labels(s.data, s.components, *this, s.rng);
  for (std::size_t i = 0; i < n; ++i) s.responsibilities[label[i] * n + i] = 1.0;
}
template <Rng G>
void random_responsibilities::operator()(const em_start<G>& s) const {
  const std::size_t n = s.data.shape()[0], K = s.components;
  auto& r = s.responsibilities;
  for (std::size_t i = 0; i < n; ++i) {
    double t = 0;
    for (std::size_t k = 0; k < K; ++k) t += r[k * n + i] = uniform01(s.rng);
    for (std::size_t k = 0; k < K; ++k) r[k * n + i] /= t;
  }
}
template <Rng G>
void warm_start::operator()(const em_start<G>& s) const {
  const gmm* p = s.previous;
  if (p && p->components() == s.components && p->dim() == s.data.shape()[1]) {
    std::vector<double> lc, r(s.responsibilities.size());
    detail::e_step(*p, s.data, lc, r);
    std::copy(r.begin(), r.end(), s.responsibilities.begin());
    return;
  }
  fallback(s);
}
}  // namespace init

/// Fits a K-component Gaussian mixture by EM, as scikit-learn's GaussianMixture does: an M-step
/// from the initial responsibilities, then E- and M-steps until the mean log-likelihood per point
/// changes by less than `tol` (or `max_iter` iterations); `n_init` restarts keep the best.
/// Covariances get `reg_covar` added to their diagonal (explicit, and written into the results by
/// the examples; 0 is allowed). Degenerate data (all points equal, fewer points than components,
/// an empty component, a singular covariance) are recorded as events and never throw. The model
/// carries an em_report (converged, iterations, lower bound).
template <class Init = init::kmeans>
struct gmm_fitter {
  static_assert(EmInitialisation<Init>,
                "ouro::models::gmm_fitter: the initialisation is not callable as "
                "'init(const em_start<G>&) const' (see docs/gmm.md)");
  using model_type = gmm;
  using dataset_type = xt::xtensor<double, 2>;

  std::size_t components = 2;
  covariance_type covariance = covariance_type::full;
  double reg_covar = 1e-6;
  double tol = 1e-5;
  std::size_t max_iter = 2000;
  std::size_t n_init = 1;
  Init init{};
  /// Threads for one fit's E- and M-steps (blocks of points in parallel; the result does not
  /// depend on it). Keep 1 inside collapse_loop, which already runs replicates in parallel.
  std::size_t threads = 1;

  template <Rng G>
  gmm fit(const dataset_type& x, G& g, event_log& log) const {
    return fit_impl(x, nullptr, g, log);
  }

  /// Warm start: the previous generation's model gives the initial responsibilities.
  template <Rng G>
  requires uses_previous_model<Init> gmm fit(const dataset_type& x, const gmm& previous, G& g,
                                             event_log& log)
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
      throw std::invalid_argument("ouro::models::gmm_fitter: cannot fit an empty dataset");
    for (double v : x)
      if (!std::isfinite(v))
        throw std::invalid_argument(
            "ouro::models::gmm_fitter: the data contain NaN or infinite values");
    if (components == 0)
      throw std::invalid_argument("ouro::models::gmm_fitter: components must be >= 1");
    if (!(reg_covar >= 0) || !(tol >= 0))
      throw std::invalid_argument("ouro::models::gmm_fitter: reg_covar and tol must be >= 0");
  }

  gmm run_em(const dataset_type& x, std::vector<double>& r, std::size_t K,
             detail::em_flags& flags) const {
    gmm m = detail::m_step(x, r, K, covariance, reg_covar, flags);
    // pooled mean and covariance, for components that lose all their mass (computed when needed)
    const std::size_t n = x.shape()[0];
    std::optional<gmm> pooled;
    auto pooled_model = [&]() -> const gmm& {
      if (!pooled) {
        std::vector<double> ones(n, 1.0);
        detail::em_flags unused;
        pooled.emplace(detail::m_step(x, ones, 1, covariance_type::full, 0.0, unused));
      }
      return *pooled;
    };
    std::optional<ouro::detail::thread_pool> pool;
    if (threads > 1 && n > detail::em_block_size) pool.emplace(static_cast<unsigned>(threads));
    double lb = -std::numeric_limits<double>::infinity();
    em_report rep{true, false, 0, lb, 0};
    for (std::size_t it = 1; it <= max_iter; ++it) {
      const double prev = lb;
      const auto st = detail::em_pass(m, x, pool ? &*pool : nullptr);
      lb = st.loglik / static_cast<double>(n);
      detail::update_from_stats(st, m, covariance, reg_covar, pooled_model, flags);
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
    r.assign(K * x.shape()[0], 0.0);
    init(em_start<G>{x, uses_previous_model<Init> ? previous : nullptr, K, g, r});
  }

  template <Rng G>
  gmm fit_impl(const dataset_type& x, const gmm* previous, G& g, event_log& log) const {
    validate(x);
    double big = 0;
    for (double v : x) big = std::max(big, std::abs(v));
    if (big > 0x1p400) return fit_rescaled(x, big, g, log);
    const std::size_t n = x.shape()[0];
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
    if (K < components) m = pad(m, components);
    report(best_flags, m, log);
    return m;
  }

  /// Data so large that EM's sums of squares could overflow (beyond 2^400, about 2.6e120) are
  /// fitted divided by a power of two (exactly), and the mixture is scaled back: means exactly,
  /// covariances as far as a double allows (scaled down otherwise). No warm start. An event says
  /// so.
  template <Rng G>
  gmm fit_rescaled(const dataset_type& x, double big, G& g, event_log& log) const {
    const int e = std::ilogb(big) - 8;
    const dataset_type y = x * std::ldexp(1.0, -e);
    const gmm m = fit_impl(y, nullptr, g, log);
    const std::size_t d = m.dim();
    double top = 0;
    for (std::size_t k = 0; k < m.components(); ++k)
      for (double v : m.covariance(k).a) top = std::max(top, std::abs(v));
    const double room = std::numeric_limits<double>::max() / (4.0 * static_cast<double>(d));
    int ec = 2 * e;
    const bool capped = top > 0 && std::ilogb(top) + ec >= std::ilogb(room);
    if (capped) ec = std::ilogb(room) - std::ilogb(top) - 1;
    std::vector<double> means = m.means();
    for (double& v : means) v = std::ldexp(v, e);
    std::vector<ouro::matrix> covs;
    for (std::size_t k = 0; k < m.components(); ++k) {
      covs.push_back(m.covariance(k));
      for (double& v : covs.back().a) v = std::ldexp(v, ec);
    }
    gmm out(m.weights(), std::move(means), std::move(covs), m.type());
    out.set_report(m.report());
    log.record(fmt::format("data of magnitude {:.3g}, beyond the safe range of EM's sums", big),
               fmt::format("fitted on the data divided by 2^{} and scaled the mixture back{}", e,
                           capped ? "; covariances scaled down to fit in a double" : ""));
    return out;
  }

  /// Adds weight-0 components (pooled mean and covariance) up to `total`.
  gmm pad(const gmm& m, std::size_t total) const {
    std::vector<double> w = m.weights(), mu = m.means();
    auto cov = m.covariances();
    const auto pooled = m.overall_mean();
    const auto pc = m.overall_covariance();
    for (std::size_t k = m.components(); k < total; ++k) {
      w.push_back(0.0);
      mu.insert(mu.end(), pooled.begin(), pooled.end());
      cov.push_back(pc);
    }
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

/// The former name of gmm_fitter.
template <class Init = init::kmeans>
using em_fit [[deprecated("ouro::models::em_fit is now gmm_fitter")]] = gmm_fitter<Init>;

}  // namespace ouro::inline v0::models
