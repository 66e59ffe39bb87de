// Fast random variates from any engine: uniform doubles and indices, normal variates (ziggurat,
// eight lanes side by side for long fills). The engines and streams are in
// ouroboros/core/engine.hpp.
//
// Every random number in Ouroboros comes from an engine the caller passes in; the library keeps no
// global engine. The collapse loop gives each (seed, replicate, generation, role) its own engine
// through make_stream(), so results do not depend on how work is spread over threads.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "ouroboros/core/concepts/rng.hpp"
#include "ouroboros/core/detail/fast_math.hpp"
#include "ouroboros/core/detail/simd.hpp"
#include "ouroboros/core/engine.hpp"

#if OURO_SIMD_DISPATCH
#include <immintrin.h>
#endif

namespace ouro::inline v0 {

/// 64 uniformly random bits from any engine (engines with a narrower range are called repeatedly).
template <Rng G>
constexpr std::uint64_t random_bits64(G& g) {
  using T = typename G::result_type;
  constexpr auto lo = G::min();
  constexpr auto hi = G::max();
  if constexpr (lo == 0 && hi == std::numeric_limits<std::uint64_t>::max()) {
    return static_cast<std::uint64_t>(g());
  } else if constexpr (lo == 0 && static_cast<std::uint64_t>(hi) == 0xFFFFFFFFULL) {
    const std::uint64_t a = static_cast<std::uint64_t>(static_cast<T>(g()));
    return (a << 32) | static_cast<std::uint64_t>(g());
  } else {
    // General range: take 16 bits at a time from the largest power-of-two part of the range.
    static_assert(static_cast<std::uint64_t>(hi - lo) >= 0xFFFFULL,
                  "ouro::random_bits64: the engine's range is narrower than 16 bits");
    std::uint64_t r = 0;
    for (int i = 0; i < 4; ++i)
      r = (r << 16) | ((static_cast<std::uint64_t>(g() - lo)) & 0xFFFFULL);
    return r;
  }
}

/// Uniform double in [0, 1) with 53 random bits.
template <Rng G>
constexpr double uniform01(G& g) {
  return static_cast<double>(random_bits64(g) >> 11) * 0x1.0p-53;
}

/// Uniform double in (0, 1]: never zero, safe for log().
template <Rng G>
constexpr double uniform01_open_low(G& g) {
  return (static_cast<double>(random_bits64(g) >> 11) + 1.0) * 0x1.0p-53;
}

/// Unbiased uniform integer in [0, n), n > 0 (Lemire 2019, multiply-shift with rejection).
template <Rng G>
constexpr std::uint64_t uniform_index(G& g, std::uint64_t n) {
  std::uint64_t x = random_bits64(g);
  __uint128_t m = static_cast<__uint128_t>(x) * n;
  auto l = static_cast<std::uint64_t>(m);
  if (l < n) {
    const std::uint64_t t = (0 - n) % n;
    while (l < t) {
      x = random_bits64(g);
      m = static_cast<__uint128_t>(x) * n;
      l = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

namespace detail {

/// Tables of the 256-layer ziggurat for the standard normal (Marsaglia & Tsang 2000): layer i is a
/// rectangle of width x[i] under the half density; a draw in layer i below x[i+1] is accepted at
/// once.
struct ziggurat_tables {
  static constexpr int layers = 256;
  static constexpr double r = 3.6541528853610088;  // start of the tail
  static constexpr double v = 0.00492867323399;    // area of every layer
  std::array<double, layers> w{};                  // x[i] / 2^52: scales a 52-bit integer
  std::array<std::uint64_t, layers> k{};           // 2^52 * x[i+1] / x[i]: quick acceptance
  std::array<double, layers + 1> f{};              // exp(-x[i]^2 / 2)
  std::array<double, layers + 1> x{};   // layer edges: x[0] virtual, x[1] = r, ..., x[256] = 0
  std::array<double, layers> inv_dx{};  // 1 / (x[i] - x[i+1])

  ziggurat_tables() {
    const auto dens = [](double t) { return std::exp(-0.5 * t * t); };
    x[0] = v / dens(r);
    x[1] = r;
    for (int i = 1; i < layers - 1; ++i)
      x[i + 1] = std::sqrt(-2.0 * std::log(v / x[i] + dens(x[i])));
    x[layers] = 0.0;
    constexpr double two52 = 4503599627370496.0;
    for (int i = 0; i < layers; ++i) {
      w[i] = x[i] / two52;
      k[i] = static_cast<std::uint64_t>(x[i + 1] / x[i] * two52);
      f[i] = dens(x[i]);
      inv_dx[i] = 1.0 / (x[i] - x[i + 1]);
    }
    f[layers] = 1.0;
  }
};

inline const ziggurat_tables& zig() {
  static const ziggurat_tables t;  // immutable after thread-safe initialisation
  return t;
}

template <Rng G>
double normal_slow(G& g, const ziggurat_tables& t, std::uint64_t idx, double x) {
  if (idx == 0) {  // tail beyond r (Marsaglia 1964)
    double a, b;
    do {
      a = -std::log(uniform01_open_low(g)) / ziggurat_tables::r;
      b = -std::log(uniform01_open_low(g));
    } while (b + b < a * a);
    return x < 0 ? -(ziggurat_tables::r + a) : ziggurat_tables::r + a;
  }
  // wedge between the rectangle's top and the density: y uniform in [f(x_i), f(x_i+1)]
  const double y = t.f[idx] + uniform01(g) * (t.f[idx + 1] - t.f[idx]);
  // Squeeze: within a layer the density lies between its chord and its tangent (which is which
  // depends on the curvature, changing sign at |x| = 1), so most points are decided without exp().
  const double ax = std::abs(x), xi = t.x[idx], xn = t.x[idx + 1];
  const double chord = t.f[idx] + (t.f[idx + 1] - t.f[idx]) * (xi - ax) * t.inv_dx[idx];
  if (xn >= 1.0) {  // convex: tangent at x_i below, chord above
    if (y < t.f[idx] * (1.0 + xi * (xi - ax))) return x;
    if (y > chord) return std::numeric_limits<double>::quiet_NaN();
  } else if (xi <= 1.0) {  // concave: chord below
    if (y < chord) return x;
  }
  if (y < std::exp(-0.5 * x * x)) return x;
  return std::numeric_limits<double>::quiet_NaN();  // rejected: caller draws again
}

template <Rng G>
inline double normal_one(G& g, const ziggurat_tables& t) {
  for (;;) {
    const std::uint64_t u = random_bits64(g);
    const std::uint64_t idx = u & 0xFF;
    const std::uint64_t mant = u >> 12;  // 52 bits
    const double x0 = static_cast<double>(mant) * t.w[idx];
    // sign from bit 8, applied without a branch (a data-dependent branch mispredicts half the time)
    const double x = std::bit_cast<double>(std::bit_cast<std::uint64_t>(x0) ^ ((u & 0x100) << 55));
    if (mant < t.k[idx]) [[likely]]
      return x;
    const double s = normal_slow(g, t, idx, x);
    if (s == s) return s;
  }
}

}  // namespace detail

/// One standard normal variate (ziggurat; about 1.5 ns with xoshiro256++).
template <Rng G>
double standard_normal(G& g) {
  return detail::normal_one(g, detail::zig());
}

/// One Gamma(shape, 1) variate, shape > 0 (Marsaglia & Tsang 2000: a cubed normal accepted by a
/// squeeze and, rarely, a log test; for shape < 1, Gamma(shape + 1) U^(1/shape)). Exact up to
/// rounding; about one normal and one uniform per draw. NaN for a shape that is not positive and
/// finite.
template <Rng G>
double gamma_variate(G& g, double shape);

namespace detail {
/// Marsaglia & Tsang's loop for Gamma(shape >= 1) with d = shape - 1/3 and c = 1 / sqrt(9 d)
/// given (callers drawing many variates of one shape compute them once).
template <Rng G>
double gamma_mt(G& g, double d, double c) {
  const auto& t = zig();
  for (;;) {
    double x, v;
    do {
      x = normal_one(g, t);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = uniform01_open_low(g);
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}
/// The constants of gamma_mt for a shape >= 1.
struct gamma_constants {
  double d, c;
  explicit gamma_constants(double shape) noexcept
      : d(shape - 1.0 / 3.0), c(1.0 / std::sqrt(9.0 * (shape - 1.0 / 3.0))) {}
};
}  // namespace detail

template <Rng G>
double gamma_variate(G& g, double shape) {
  if (!(shape > 0) || !std::isfinite(shape)) return std::numeric_limits<double>::quiet_NaN();
  // Gamma(shape + 1) first, then the uniform: the order of the draws is fixed
  if (shape < 1.0)
    return gamma_variate(g, shape + 1.0) * std::pow(uniform01_open_low(g), 1.0 / shape);
  const detail::gamma_constants k(shape);
  return detail::gamma_mt(g, k.d, k.c);
}

/// One chi-squared variate with k degrees of freedom (k >= 0): 0 for k = 0, Z^2 for k = 1 and
/// 2 Gamma(k / 2) otherwise. The sum of squared deviations of n normal draws from their mean is
/// sigma^2 times a chi-squared variate with n - 1 degrees of freedom.
template <Rng G>
double chi_squared(G& g, double k) {
  if (k == 0) return 0.0;
  if (k == 1) {
    const double z = standard_normal(g);
    return z * z;
  }
  return 2.0 * gamma_variate(g, 0.5 * k);
}

/// One Binomial(n, p) variate, exact, in O(log n + min(n p, n (1 - p))) time: while the smaller
/// of the two means is 16 or more, Devroye's split on the middle order statistic of n uniforms
/// (U_(i) ~ Beta(i, n + 1 - i), drawn as a ratio of two gamma variates: when it lies below p, i
/// uniforms do and the n - i above it are uniform on (U_(i), 1); otherwise the i - 1 below it are
/// uniform on (0, U_(i))); then inversion by sequential search from 0 for the rarer outcome.
/// p outside [0, 1] is clamped; NaN counts as 0.
template <Rng G>
std::uint64_t binomial(G& g, std::uint64_t n, double p) {
  std::uint64_t x = 0;  // successes found so far
  for (;;) {
    if (n == 0 || !(p > 0)) return x;
    if (p >= 1) return x + n;
    const double q = 1.0 - p, dn = static_cast<double>(n);
    if (dn * std::min(p, q) < 16) {
      // inversion for the rarer outcome, whose probability r is at most 1/2
      const double r = std::min(p, q), t = 1.0 - r, ratio = r / t, a = (dn + 1.0) * ratio;
      double pmf = std::pow(t, dn), u = uniform01(g);
      std::uint64_t k = 0;
      while (u > pmf && k < n) {
        u -= pmf;
        ++k;
        pmf *= a / static_cast<double>(k) - ratio;
      }
      return x + (p <= 0.5 ? k : n - k);
    }
    const std::uint64_t i = (n + 1) / 2;
    const double ga = gamma_variate(g, static_cast<double>(i));
    const double gb = gamma_variate(g, static_cast<double>(n + 1 - i));
    const double y = ga / (ga + gb);
    if (y < p) {
      x += i;
      n -= i;
      p = (p - y) / (1.0 - y);
    } else {
      n = i - 1;
      p = p / y;
    }
  }
}

namespace detail {

// GCC 12 reports a false -Wuninitialized inside its own AVX-512 intrinsics when they are inlined
// (GCC bug 105593, fixed in GCC 13); the code below initialises everything it reads.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/// Eight xoshiro256++ generators side by side (structure of arrays), seeded from a parent engine
/// and used only inside one fill. The eight lanes are advanced with AVX-512 where the compiler
/// targets it and by a plain loop otherwise; both give the same numbers.
struct xoshiro_x8 {
  alignas(64) std::uint64_t s0[8], s1[8], s2[8], s3[8];

  /// Lane j takes SplitMix64 outputs 4j+1 .. 4j+4 of the sequence started at one output of the
  /// parent (the usual way to seed several xoshiro generators), so the parent advances by one.
  template <Rng G>
  explicit xoshiro_x8(G& parent) {
    constexpr std::uint64_t golden = 0x9E3779B97F4A7C15ULL;
    const std::uint64_t p = random_bits64(parent);
    std::uint64_t* dst[4] = {s0, s1, s2, s3};
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    const __m512i m1 = _mm512_set1_epi64(static_cast<long long>(0xBF58476D1CE4E5B9ULL));
    const __m512i m2 = _mm512_set1_epi64(static_cast<long long>(0x94D049BB133111EBULL));
    const __m512i lane = _mm512_set_epi64(28, 24, 20, 16, 12, 8, 4, 0);
    const __m512i base = _mm512_add_epi64(
        _mm512_set1_epi64(static_cast<long long>(p)),
        _mm512_mullo_epi64(lane, _mm512_set1_epi64(static_cast<long long>(golden))));
    for (int k = 0; k < 4; ++k) {
      __m512i z = _mm512_add_epi64(
          base,
          _mm512_set1_epi64(static_cast<long long>(golden * static_cast<std::uint64_t>(k + 1))));
      z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), m1);
      z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), m2);
      z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
      _mm512_store_si512(dst[k], z);
    }
#else
    for (int j = 0; j < 8; ++j)
      for (int k = 0; k < 4; ++k)
        dst[k][j] = mix64(p + golden * static_cast<std::uint64_t>(4 * j + k + 1));
#endif
  }
  void next(std::uint64_t* out) {
    for (int j = 0; j < 8; ++j) {
      out[j] = std::rotl(s0[j] + s3[j], 23) + s0[j];
      const std::uint64_t t = s1[j] << 17;
      s2[j] ^= s0[j];
      s3[j] ^= s1[j];
      s1[j] ^= s2[j];
      s0[j] ^= s3[j];
      s2[j] ^= t;
      s3[j] = std::rotl(s3[j], 45);
    }
  }
};

/// Finishes the lanes of a block that the ziggurat's fast path rejected, from the parent engine.
template <Rng G>
inline void normal_fix_lanes(G& g, const ziggurat_tables& t, unsigned reject,
                             const std::uint64_t* u, double* x) {
  while (reject != 0) {
    const int j = std::countr_zero(reject);
    reject &= reject - 1;
    const double s = normal_slow(g, t, u[j] & 0xFF, x[j]);
    x[j] = s == s ? s : normal_one(g, t);
  }
}

/// out[i] = mean + sd * z_i for standard normals z_i made in blocks of eight: eight xoshiro256++
/// lanes feed the ziggurat's branch-free fast path (98.8% of draws); the rare rejected lanes are
/// finished from the parent engine; a last partial block is drawn whole and cut. The values
/// depend only on the parent's state and n.
template <Rng G>
OURO_KERNEL_BASE void normal_blocks_portable(G& g, double* out, std::size_t n, double mean,
                                             double sd) {
  OURO_NO_CONTRACT
  const auto& t = zig();
  xoshiro_x8 lanes(g);
  alignas(64) std::uint64_t u[8];
  alignas(64) double x[8];
  for (std::size_t i = 0; i < n; i += 8) {
    lanes.next(u);
    unsigned reject = 0;
    for (int j = 0; j < 8; ++j) {
      const std::uint64_t idx = u[j] & 0xFF;
      const std::uint64_t mant = u[j] >> 12;
      const double x0 = static_cast<double>(static_cast<std::int64_t>(mant)) * t.w[idx];
      x[j] = std::bit_cast<double>(std::bit_cast<std::uint64_t>(x0) ^ ((u[j] & 0x100) << 55));
      reject |= static_cast<unsigned>(mant >= t.k[idx]) << j;
    }
    if (reject != 0) [[unlikely]]
      normal_fix_lanes(g, t, reject, u, x);
    const std::size_t m = std::min<std::size_t>(8, n - i);
    for (std::size_t j = 0; j < m; ++j) out[i + j] = mean + sd * x[j];
  }
}

#if OURO_SIMD_DISPATCH
/// The same computation as normal_blocks_portable with AVX-512 intrinsics (gathers from the
/// tables, 64-bit rotates): about three times faster, identical numbers. Compiled for AVX-512
/// whatever the compile target; call it only where simd_active() is simd_level::avx512.
template <Rng G>
OURO_KERNEL_AVX512 void normal_blocks_avx512(G& g, double* out, std::size_t n, double mean,
                                             double sd) {
  const auto& t = zig();
  xoshiro_x8 lanes(g);
  __m512i s0 = _mm512_load_si512(lanes.s0), s1 = _mm512_load_si512(lanes.s1);
  __m512i s2 = _mm512_load_si512(lanes.s2), s3 = _mm512_load_si512(lanes.s3);
  const __m512i byte = _mm512_set1_epi64(0xFF), signbit = _mm512_set1_epi64(0x100);
  const __m512d vmean = _mm512_set1_pd(mean), vsd = _mm512_set1_pd(sd);
  alignas(64) std::uint64_t u[8];
  alignas(64) double x[8];
  for (std::size_t i = 0; i < n; i += 8) {
    const __m512i r = _mm512_add_epi64(_mm512_rol_epi64(_mm512_add_epi64(s0, s3), 23), s0);
    const __m512i tt = _mm512_slli_epi64(s1, 17);
    s2 = _mm512_xor_si512(s2, s0);
    s3 = _mm512_xor_si512(s3, s1);
    s1 = _mm512_xor_si512(s1, s2);
    s0 = _mm512_xor_si512(s0, s3);
    s2 = _mm512_xor_si512(s2, tt);
    s3 = _mm512_rol_epi64(s3, 45);

    const __m512i idx = _mm512_and_si512(r, byte);
    const __m512i mant = _mm512_srli_epi64(r, 12);
    const __m512d w = _mm512_i64gather_pd(idx, t.w.data(), 8);
    const __m512i k =
        _mm512_i64gather_epi64(idx, reinterpret_cast<const long long*>(t.k.data()), 8);
    const __m512d x0 = _mm512_mul_pd(_mm512_cvtepi64_pd(mant), w);
    const __m512i sign = _mm512_slli_epi64(_mm512_and_si512(r, signbit), 55);
    __m512d xv = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x0), sign));
    const __mmask8 reject = _mm512_cmpge_epu64_mask(mant, k);
    if (reject != 0) [[unlikely]] {
      _mm512_store_si512(u, r);
      _mm512_store_pd(x, xv);
      normal_fix_lanes(g, t, reject, u, x);
      xv = _mm512_load_pd(x);
    }
    const __m512d y = _mm512_add_pd(vmean, _mm512_mul_pd(vsd, xv));
    if (i + 8 <= n)
      _mm512_storeu_pd(out + i, y);
    else
      _mm512_mask_storeu_pd(out + i, static_cast<__mmask8>((1u << (n - i)) - 1), y);
  }
}
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

template <Rng G>
void normal_blocks(G& g, double* out, std::size_t n, double mean, double sd) {
#if OURO_SIMD_DISPATCH
  if (simd_active() == simd_level::avx512) return normal_blocks_avx512(g, out, n, mean, sd);
#endif
  normal_blocks_portable(g, out, n, mean, sd);
}

/// out[i] = (u_i >> 11) 2^-53 (53 random bits, in [0, 1)) for the outputs u_i of the eight
/// xoshiro256++ lanes of `lanes` (value i from lane i mod 8, as xoshiro_x8::next), n values, the
/// lanes' state in W-wide vectors. u >> 11 is converted exactly in two parts (its upper 32 and
/// lower 21 bits, each through the 2^52 bit pattern), which needs no 64-bit conversion
/// instruction.
template <std::size_t W>
OURO_INLINE void uniform_lanes(const xoshiro_x8& lanes, double* out, std::size_t n) {
  OURO_NO_CONTRACT
  using U = typename vec<W>::u;
  using V = typename vec<W>::d;
  constexpr std::size_t G = 8 / W;
  U s0[G], s1[G], s2[G], s3[G];
  for (std::size_t g = 0; g < G; ++g) {
    __builtin_memcpy(&s0[g], lanes.s0 + g * W, sizeof(U));
    __builtin_memcpy(&s1[g], lanes.s1 + g * W, sizeof(U));
    __builtin_memcpy(&s2[g], lanes.s2 + g * W, sizeof(U));
    __builtin_memcpy(&s3[g], lanes.s3 + g * W, sizeof(U));
  }
  const U magic = U{} + 0x4330000000000000ULL;
  for (std::size_t i = 0; i < n; i += 8) {
    alignas(64) double v[8];
    double* dst = i + 8 <= n ? out + i : v;  // the last partial block through v
    for (std::size_t g = 0; g < G; ++g) {
      const U a = s0[g] + s3[g];
      const U r = ((a << 23) | (a >> 41)) + s0[g];
      const U t = s1[g] << 17;
      s2[g] ^= s0[g];
      s3[g] ^= s1[g];
      s1[g] ^= s2[g];
      s0[g] ^= s3[g];
      s2[g] ^= t;
      s3[g] = (s3[g] << 45) | (s3[g] >> 19);
      const V hi = reinterpret_cast<V>((r >> 32) | magic) - 4503599627370496.0;
      const V lo = reinterpret_cast<V>(((r >> 11) & 0x1FFFFFULL) | magic) - 4503599627370496.0;
      const V u = (hi * 2097152.0 + lo) * 0x1.0p-53;
      vstore(dst + g * W, u);
    }
    if (dst == v)
      for (std::size_t j = 0; j < n - i; ++j) out[i + j] = v[j];
  }
}
OURO_DISPATCH_KERNEL(uniform_lanes, void, (const xoshiro_x8& lanes, double* out, std::size_t n),
                     (lanes, out, n))

}  // namespace detail

/// Fills `out` with uniform doubles in [0, 1) (53 random bits each, as uniform01). Fills of 32
/// values or more run eight xoshiro256++ generators seeded from `g` side by side (as
/// fill_standard_normal), on vectors as wide as the processor has, with the same values on
/// every processor; shorter fills call uniform01(g). The same engine state always gives the same
/// values.
template <Rng G>
void fill_uniform01(G& g, std::span<double> out) {
  if (out.size() < 32) {
    for (double& o : out) o = uniform01(g);
    return;
  }
  const detail::xoshiro_x8 lanes(g);
  detail::run_uniform_lanes(lanes, out.data(), out.size());
}

/// Fills `out` with N(mean, sd^2) variates.
template <Rng G>
void fill_normal(G& g, std::span<double> out, double mean, double sd) {
  if (out.size() < 32) {
    const auto& t = detail::zig();
    for (double& o : out) o = mean + sd * detail::normal_one(g, t);
    return;
  }
  detail::normal_blocks(g, out.data(), out.size(), mean, sd);
}

/// Fills `out` with independent standard normal variates; the same engine state always gives the
/// same values. Long fills run eight generators seeded from `g` side by side.
template <Rng G>
void fill_standard_normal(G& g, std::span<double> out) {
  fill_normal(g, out, 0.0, 1.0);
}

}  // namespace ouro::inline v0
