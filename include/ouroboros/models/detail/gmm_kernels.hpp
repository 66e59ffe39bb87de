// The vector kernels of the Gaussian mixture: log-sum-exp over components (per point, or summed
// with the responsibilities, for EM), the 2-D component log-densities and the 2-D weighted moments.
// Each is written once for vectors of W doubles and compiled for the baseline (W = 2), AVX2
// (W = 4) and AVX-512 (W = 8); the entry points choose by simd_active(). Every path performs the
// same operations on every point in the same order (points that do not fill a vector are padded,
// not computed apart), so all give the same bits.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "ouroboros/core/detail/fast_math.hpp"
#include "ouroboros/core/detail/simd.hpp"

namespace ouro::inline v0::detail {

/// The sum of eight lanes in a fixed order: ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7)).
inline double sum_lanes8(const double* v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/// M sums over s in [0, n) of the values f(s, v) writes into v[0..M), each accumulated in eight
/// interleaved lanes (fixed order, no latency chain; the compiler vectorises the lanes).
template <std::size_t M, class F>
inline std::array<double, M> lane_sums(std::size_t n, F f) {
  alignas(64) double acc[M][8] = {};
  std::size_t s = 0;
  for (; s + 8 <= n; s += 8)
    for (std::size_t j = 0; j < 8; ++j) {
      double v[M];
      f(s + j, v);
      for (std::size_t q = 0; q < M; ++q) acc[q][j] += v[q];
    }
  for (; s < n; ++s) {
    double v[M];
    f(s, v);
    for (std::size_t q = 0; q < M; ++q) acc[q][0] += v[q];
  }
  std::array<double, M> out{};
  for (std::size_t q = 0; q < M; ++q) out[q] = sum_lanes8(acc[q]);
  return out;
}

}  // namespace ouro::detail

namespace ouro::inline v0::detail::gmm_kernels {

inline constexpr double ninf = -std::numeric_limits<double>::infinity();

/// The log-sum-exp of W points, in two parts: l[k * ls + j] is the term of component k for point
/// j; `m` gets the points' largest terms and `sum` the sums of exp(term - m), so that the
/// log-sum-exp is m + log(sum); the responsibilities go to e[k * es + j] (if e is not null). The
/// largest term is exp(0) = 1 exactly, so the sum is >= 1 unless no component has any density
/// (sum 0, responsibilities 0).
template <class V>
OURO_INLINE void lse_vector(const double* l, std::size_t ls, std::size_t K, double* e,
                            std::size_t es, V& m, V& sum) {
  OURO_NO_CONTRACT
  const V zero = V{} + 0.0, one = V{} + 1.0;
  if (K == 2) {  // one exp per point (1 + v and v + 1 are the same sum)
    V a, b;
    vload(a, l);
    vload(b, l + ls);
    const auto a_max = a >= b;
    m = a_max ? a : b;
    const V lo = a_max ? b : a;
    const auto none = m == ninf;
    m = none ? zero : m;
    const V first = none ? zero : one;
    V v;
    vexp_nonpositive(v, lo - m);
    sum = first + v;
    if (e) {
      const auto pos = sum > 0.0;
      const V inv = pos ? 1.0 / (pos ? sum : one) : zero;
      vstore(e, (a_max ? first : v) * inv);
      vstore(e + es, (a_max ? v : first) * inv);
    }
    return;
  }
  m = V{} + ninf;
  for (std::size_t k = 0; k < K; ++k) {
    V v;
    vload(v, l + k * ls);
    m = v > m ? v : m;
  }
  m = m == ninf ? zero : m;  // no component: sum 0
  sum = zero;
  for (std::size_t k = 0; k < K; ++k) {
    V v;
    vload(v, l + k * ls);
    vexp_nonpositive(v, v - m);
    if (e) vstore(e + k * es, v);
    sum += v;
  }
  if (e) {
    const auto pos = sum > 0.0;
    const V inv = pos ? 1.0 / (pos ? sum : one) : zero;
    for (std::size_t k = 0; k < K; ++k) {
      V v;
      vload(v, e + k * es);
      vstore(e + k * es, v * inv);
    }
  }
}

/// Copies the last cnt < W points of every component (l[k * n + s0 + j]) into buf (K x W), padded
/// with terms (0, -inf, -inf, ...): a padded point has lse 0 and sum 1.
inline void pad_terms(const double* l, std::size_t n, std::size_t s0, std::size_t cnt,
                      std::size_t K, std::size_t W, double* buf) {
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t j = 0; j < W; ++j)
      buf[k * W + j] = j < cnt ? l[k * n + s0 + j] : (k ? ninf : 0.0);
}

/// out[s] = log sum_k exp(l[k * n + s]) for every point; with e, also the responsibilities.
template <std::size_t W>
OURO_INLINE void lse_points(const double* l, std::size_t n, std::size_t K, double* out, double* e) {
  OURO_NO_CONTRACT
  using V = typename vec<W>::d;
  std::size_t s = 0;
  for (; s + W <= n; s += W) {
    V m, sum, lg;
    lse_vector(l + s, n, K, e ? e + s : nullptr, n, m, sum);
    vlog_ge1(lg, sum >= 1.0 ? sum : V{} + 1.0);
    vstore(out + s, sum >= 1.0 ? m + lg : V{} + ninf);
  }
  if (s == n) return;
  const std::size_t cnt = n - s;
  thread_local std::vector<double> buf;
  buf.resize(2 * K * W + W);
  double *lt = buf.data(), *et = lt + K * W, *ot = et + K * W;
  pad_terms(l, n, s, cnt, K, W, lt);
  V m, sum, lg;
  lse_vector(lt, W, K, e ? et : nullptr, W, m, sum);
  vlog_ge1(lg, sum >= 1.0 ? sum : V{} + 1.0);
  vstore(ot, sum >= 1.0 ? m + lg : V{} + ninf);
  for (std::size_t j = 0; j < cnt; ++j) {
    out[s + j] = ot[j];
    if (e)
      for (std::size_t k = 0; k < K; ++k) e[k * n + s + j] = et[k * W + j];
  }
}

/// Points per chunk of lse_total: a multiple of 8 whose product of sums (each in [1, K]) stays
/// below 2^1000.
inline std::size_t lse_chunk(std::size_t K) {
  std::size_t bits = 1;
  while (bits < 64 && (std::size_t{1} << bits) < K) ++bits;
  const std::size_t per = 125 / bits;
  return 8 * (per < 1 ? 1 : (per > 16 ? 16 : per));
}

/// Adds the log of the product of the eight lanes' products (multiplied in a fixed order) to
/// logs, and resets the products; a product below 1 means a point without density (or NaN terms).
template <class V, std::size_t G>
OURO_INLINE void close_chunk(V (&prod)[G], double& logs, bool& none) {
  OURO_NO_CONTRACT
  constexpr std::size_t W = lanes_of<V>;
  alignas(64) double p[8];
  for (std::size_t g = 0; g < G; ++g) vstore(p + g * W, prod[g]), prod[g] = V{} + 1.0;
  const double t = ((p[0] * p[1]) * (p[2] * p[3])) * ((p[4] * p[5]) * (p[6] * p[7]));
  if (t >= 1.0)
    logs += log_ge1(t);
  else
    none = true;
}

/// sum_s log sum_k exp(l[k * n + s]) and the responsibilities e (component-major, as l). The
/// maxima are summed in eight interleaved lanes (point s in lane s mod 8); the sums' logarithms
/// are taken once per chunk of lse_chunk(K) points, of the product of the sums (the eight lanes'
/// products multiplied in a fixed order), so a point costs one exp per component and a share of
/// a log. The lanes do not depend on W, so neither does the result.
template <std::size_t W>
OURO_INLINE double lse_total(const double* l, std::size_t n, std::size_t K, double* e) {
  OURO_NO_CONTRACT
  using V = typename vec<W>::d;
  constexpr std::size_t G = 8 / W;  // vectors per group of eight points
  const std::size_t chunk = lse_chunk(K);
  V msum[G], prod[G];
  for (std::size_t g = 0; g < G; ++g) msum[g] = V{} + 0.0, prod[g] = V{} + 1.0;
  double logs = 0;
  bool none = false;
  thread_local std::vector<double> buf;
  std::size_t s = 0, in_chunk = 0;
  for (; s < n; s += 8) {
    const std::size_t cnt = n - s < 8 ? n - s : 8;
    const double* lp = l + s;
    std::size_t ls = n;
    double* ep = e ? e + s : nullptr;
    std::size_t es = n;
    if (cnt < 8) {  // the last points, padded to a group
      buf.resize(2 * K * 8);
      pad_terms(l, n, s, cnt, K, 8, buf.data());
      lp = buf.data(), ls = 8;
      ep = e ? buf.data() + K * 8 : nullptr, es = 8;
    }
    for (std::size_t g = 0; g < G; ++g) {
      V m, sum;
      lse_vector(lp + g * W, ls, K, ep ? ep + g * W : nullptr, es, m, sum);
      msum[g] += m;
      prod[g] *= sum;
    }
    if (cnt < 8 && e)
      for (std::size_t j = 0; j < cnt; ++j)
        for (std::size_t k = 0; k < K; ++k) e[k * n + s + j] = ep[k * 8 + j];
    if ((in_chunk += 8) == chunk) close_chunk(prod, logs, none), in_chunk = 0;
  }
  if (in_chunk) close_chunk(prod, logs, none);
  alignas(64) double ms[8];
  for (std::size_t g = 0; g < G; ++g) vstore(ms + g * W, msum[g]);
  if (none) return ninf;
  return sum_lanes8(ms) + logs;
}

/// Splits 2W interleaved values (lo, hi) into the even and the odd ones.
template <class V, std::size_t... L>
OURO_INLINE void deinterleave(V& even, V& odd, const V& lo, const V& hi,
                              std::index_sequence<L...>) {
  even = __builtin_shufflevector(lo, hi, (2 * L)...);
  odd = __builtin_shufflevector(lo, hi, (2 * L + 1)...);
}

/// The parameters of one 2-D component's log-density: base - |P'(x - m)|^2 / 2 with P lower
/// triangular (the Cholesky factor of the precision).
struct d2_component {
  double m0, m1, p00, p10, p11, base;
};

/// out[j] = the log-density (plus log weight) of component c at the W 2-D points x[2j], x[2j + 1].
template <class V>
OURO_INLINE void log_density_d2_vector(const double* x, const d2_component& c, double* out) {
  OURO_NO_CONTRACT
  constexpr std::size_t W = lanes_of<V>;
  V lo, hi, x0, x1;
  vload(lo, x);
  vload(hi, x + W);
  deinterleave(x0, x1, lo, hi, std::make_index_sequence<W>{});
  const V d0 = x0 - c.m0, d1 = x1 - c.m1;
  const V y0 = c.p00 * d0, y1 = c.p10 * d0 + c.p11 * d1;
  vstore(out, c.base - 0.5 * (y0 * y0 + y1 * y1));
}

/// o[s] = the log-density (plus log weight) of component c at the 2-D point xs[2s], xs[2s + 1].
template <std::size_t W>
OURO_INLINE void log_density_d2(const double* xs, std::size_t n, const d2_component& c, double* o) {
  using V = typename vec<W>::d;
  std::size_t s = 0;
  for (; s + W <= n; s += W) log_density_d2_vector<V>(xs + 2 * s, c, o + s);
  if (s < n) {
    alignas(64) double x[2 * W] = {}, out[W];
    for (std::size_t j = 0; j < 2 * (n - s); ++j) x[j] = xs[2 * s + j];
    log_density_d2_vector<V>(x, c, out);
    for (std::size_t j = 0; j < n - s; ++j) o[s + j] = out[j];
  }
}

/// Adds the moments of eight 2-D points (weights rr, points x) around (c0, c1) to the lanes.
template <class V, std::size_t G>
OURO_INLINE void moments_d2_group(V (&acc)[6][G], const double* rr, const double* x, double c0,
                                  double c1) {
  OURO_NO_CONTRACT
  constexpr std::size_t W = lanes_of<V>;
  for (std::size_t g = 0; g < G; ++g) {
    V w, lo, hi, x0, x1;
    vload(w, rr + g * W);
    vload(lo, x + 2 * g * W);
    vload(hi, x + 2 * g * W + W);
    deinterleave(x0, x1, lo, hi, std::make_index_sequence<W>{});
    const V d0 = x0 - c0, d1 = x1 - c1;
    const V w0 = w * d0, w1 = w * d1;
    acc[0][g] += w;
    acc[1][g] += w0;
    acc[2][g] += w1;
    acc[3][g] += w0 * d0;
    acc[4][g] += w1 * d0;
    acc[5][g] += w1 * d1;
  }
}

/// The weighted sums of 2-D points around (c0, c1): a[0] = sum r, a[1..2] = sum r d, a[3..5] =
/// sum r d0 d0, r d1 d0, r d1 d1 (d = x - c), each in eight interleaved lanes (point s in lane
/// s mod 8; the last points padded with weight 0) added in a fixed order.
template <std::size_t W>
OURO_INLINE void moments_d2(const double* r, const double* xs, std::size_t n, double c0, double c1,
                            double* a) {
  OURO_NO_CONTRACT
  using V = typename vec<W>::d;
  constexpr std::size_t G = 8 / W;
  V acc[6][G];
  for (auto& q : acc)
    for (auto& v : q) v = V{} + 0.0;
  std::size_t s = 0;
  for (; s + 8 <= n; s += 8) moments_d2_group(acc, r + s, xs + 2 * s, c0, c1);
  if (s < n) {
    alignas(64) double rr[8] = {}, x[16] = {};
    for (std::size_t j = 0; j < n - s; ++j) {
      rr[j] = r[s + j];
      x[2 * j] = xs[2 * (s + j)];
      x[2 * j + 1] = xs[2 * (s + j) + 1];
    }
    moments_d2_group(acc, rr, x, c0, c1);
  }
  for (std::size_t q = 0; q < 6; ++q) {
    alignas(64) double v[8];
    for (std::size_t g = 0; g < G; ++g) vstore(v + g * W, acc[q][g]);
    a[q] = sum_lanes8(v);
  }
}

/// The most centres kmeans_step_d2 takes.
inline constexpr std::size_t kmeans_max_k = 16;

/// One Lloyd step for eight 2-D points (x: 16 interleaved values, labels: 8): see kmeans_step_d2.
/// `valid` marks the lanes that hold points.
template <class V, std::size_t G>
OURO_INLINE void kmeans_group_d2(const double* x, const double* centres, std::size_t K,
                                 double* labels, const double* valid, V (&acc)[kmeans_max_k][3][G],
                                 V& changed) {
  OURO_NO_CONTRACT
  constexpr std::size_t W = lanes_of<V>;
  for (std::size_t g = 0; g < G; ++g) {
    V lo, hi, x0, x1, old, ok;
    vload(lo, x + 2 * g * W);
    vload(hi, x + 2 * g * W + W);
    deinterleave(x0, x1, lo, hi, std::make_index_sequence<W>{});
    V bd = V{} + std::numeric_limits<double>::infinity(), best = V{} + 0.0;
    for (std::size_t c = 0; c < K; ++c) {
      const V d0 = x0 - centres[2 * c], d1 = x1 - centres[2 * c + 1];
      const V dc = d0 * d0 + d1 * d1;
      const auto nearer = dc < bd;
      bd = nearer ? dc : bd;
      best = nearer ? V{} + static_cast<double>(c) : best;
    }
    vload(old, labels + g * W);
    vload(ok, valid + g * W);
    changed = ((best != old) & (ok != 0.0)) ? V{} + 1.0 : changed;
    vstore(labels + g * W, best);
    for (std::size_t c = 0; c < K; ++c) {
      const auto member = (best == static_cast<double>(c)) & (ok != 0.0);
      acc[c][0][g] += member ? V{} + 1.0 : V{} + 0.0;
      acc[c][1][g] += member ? x0 : V{} + 0.0;
      acc[c][2][g] += member ? x1 : V{} + 0.0;
    }
  }
}

/// One Lloyd step on n 2-D points (interleaved) and K <= kmeans_max_k centres: labels[s] (the
/// label as a double) becomes the index of the nearest centre (the first of equals; squared
/// distances d0 d0 + d1 d1), and sums[3c], sums[3c + 1], sums[3c + 2] the count and coordinate
/// sums of centre c's new members (eight interleaved lanes added in a fixed order). Returns
/// whether a label changed.
template <std::size_t W>
OURO_INLINE bool kmeans_step_d2(const double* xs, std::size_t n, const double* centres,
                                std::size_t K, double* labels, double* sums) {
  OURO_NO_CONTRACT
  using V = typename vec<W>::d;
  constexpr std::size_t G = 8 / W;
  V acc[kmeans_max_k][3][G];
  for (std::size_t c = 0; c < K; ++c)
    for (auto& q : acc[c])
      for (auto& v : q) v = V{} + 0.0;
  V changed = V{} + 0.0;
  alignas(64) static constexpr double all[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  std::size_t s = 0;
  for (; s + 8 <= n; s += 8) kmeans_group_d2(xs + 2 * s, centres, K, labels + s, all, acc, changed);
  if (s < n) {
    alignas(64) double x[16] = {}, lab[8] = {}, ok[8] = {};
    for (std::size_t j = 0; j < n - s; ++j) {
      x[2 * j] = xs[2 * (s + j)];
      x[2 * j + 1] = xs[2 * (s + j) + 1];
      lab[j] = labels[s + j];
      ok[j] = 1;
    }
    kmeans_group_d2(x, centres, K, lab, ok, acc, changed);
    for (std::size_t j = 0; j < n - s; ++j) labels[s + j] = lab[j];
  }
  for (std::size_t c = 0; c < K; ++c)
    for (std::size_t q = 0; q < 3; ++q) {
      alignas(64) double v[8];
      for (std::size_t g = 0; g < G; ++g) vstore(v + g * W, acc[c][q][g]);
      sums[3 * c + q] = sum_lanes8(v);
    }
  alignas(64) double ch[W];
  vstore(ch, changed);
  bool any = false;
  for (std::size_t j = 0; j < W; ++j) any = any || ch[j] != 0;
  return any;
}

// The entry points (detail/simd.hpp).
OURO_DISPATCH_KERNEL(lse_points, void,
                     (const double* l, std::size_t n, std::size_t K, double* out, double* e),
                     (l, n, K, out, e))
OURO_DISPATCH_KERNEL(lse_total, double, (const double* l, std::size_t n, std::size_t K, double* e),
                     (l, n, K, e))
OURO_DISPATCH_KERNEL(log_density_d2, void,
                     (const double* xs, std::size_t n, const d2_component& c, double* o),
                     (xs, n, c, o))
OURO_DISPATCH_KERNEL(moments_d2, void,
                     (const double* r, const double* xs, std::size_t n, double c0, double c1,
                      double* a),
                     (r, xs, n, c0, c1, a))
OURO_DISPATCH_KERNEL(kmeans_step_d2, bool,
                     (const double* xs, std::size_t n, const double* centres, std::size_t K,
                      double* labels, double* sums),
                     (xs, n, centres, K, labels, sums))

}  // namespace ouro::detail::gmm_kernels
