// Branch-free exp() and log() for the log-sum-exp of mixture models, scalar and on vectors of
// doubles. Written as plain arithmetic so that the kernels vectorise (the C library's exp() is a
// function call per element unless -ffast-math is given), with short dependency chains (a table
// for exp, Estrin's scheme for the polynomials), since a log-sum-exp over points is bound by the
// latency of these chains, not by the number of operations.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "ouroboros/core/detail/simd.hpp"

#if OURO_SIMD_DISPATCH
#include <immintrin.h>
#endif

namespace ouro::inline v0::detail {

/// 2^(j/64) for j = 0..63, each the double nearest to the exact value.
inline constexpr double exp2_table64[64] = {
    1.0,
    1.0108892860517005,
    1.0218971486541166,
    1.0330248790212284,
    1.0442737824274138,
    1.0556451783605572,
    1.0671404006768237,
    1.0787607977571199,
    1.0905077326652577,
    1.102382583307841,
    1.1143867425958924,
    1.1265216186082418,
    1.1387886347566916,
    1.1511892299529827,
    1.1637248587775775,
    1.1763969916502812,
    1.189207115002721,
    1.202156731452703,
    1.215247359980469,
    1.22848053610687,
    1.241857812073484,
    1.255380757024691,
    1.2690509571917332,
    1.2828700160787783,
    1.2968395546510096,
    1.3109612115247644,
    1.3252366431597413,
    1.339667524053303,
    1.3542555469368927,
    1.3690024229745905,
    1.383909881963832,
    1.3989796725383112,
    1.4142135623730951,
    1.42961333839197,
    1.4451808069770467,
    1.460917794180647,
    1.4768261459394993,
    1.4929077282912648,
    1.5091644275934228,
    1.5255981507445384,
    1.5422108254079407,
    1.559004400237837,
    1.5759808451078865,
    1.593142151342267,
    1.6104903319492543,
    1.6280274218573478,
    1.645755478153965,
    1.6636765803267364,
    1.681792830507429,
    1.7001063537185235,
    1.718619298122478,
    1.7373338352737062,
    1.7562521603732995,
    1.7753764925265212,
    1.7947090750031072,
    1.8142521755003989,
    1.8340080864093424,
    1.8539791250833855,
    1.8741676341103,
    1.8945759815869656,
    1.9152065613971474,
    1.9360617934922943,
    1.9571441241754002,
    1.978456026387951,
};

namespace fm {
inline constexpr double ln2_hi = 0.6931471803691238164901733398437500;        // 33 bits of ln 2
inline constexpr double ln2_lo = 1.9082149292705877000220e-10;                // ln 2 - ln2_hi
inline constexpr double inv_ln2_64 = 64 * 1.4426950408889634073599246810019;  // 64 / ln 2
inline constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52: x + shifter rounds x
}  // namespace fm

/// exp(x) for x <= 0 (and -inf): with k = round(64 x / ln 2) = 64 e + j (0 <= j < 64),
/// exp(x) = 2^e 2^(j/64) exp(r), r = x - k ln2 / 64 in [-ln2/128, ln2/128] (ln 2 split in two
/// parts so r is exact), exp(r) - 1 by its Taylor polynomial of degree 5 (truncation error below
/// 4e-17). Relative error about 1 ulp for x >= -708; 0 below (where exp(x) < 3.3e-308 anyway).
/// Positive arguments are clamped to 0.
inline double exp_nonpositive(double x) noexcept {
  const double xc = x < -708.0 ? -708.0 : (x > 0.0 ? 0.0 : x);
  const double t = xc * fm::inv_ln2_64 + fm::shifter;  // shifter + k, exactly
  const double kd = t - fm::shifter;
  const double r = (xc - kd * (fm::ln2_hi / 64)) - kd * (fm::ln2_lo / 64);
  const double r2 = r * r;
  const double a = 0.5 + r * (1.0 / 6), b = 1.0 / 24 + r * (1.0 / 120);
  const double q = r + r2 * (a + r2 * b);  // exp(r) - 1
  const auto k = static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(t) -
                                           std::bit_cast<std::uint64_t>(fm::shifter));
  const double tj = exp2_table64[k & 63];
  // 2^e through the exponent bits (e = floor(k / 64) in [-1022, 0]: a normal number)
  const double scale = std::bit_cast<double>(static_cast<std::uint64_t>((k >> 6) + 1023) << 52);
  return x < -708.0 ? 0.0 : (tj + tj * q) * scale;
}

/// log(x) for finite x >= 1 (the sum in a shifted log-sum-exp): x = 2^e m with m in
/// [sqrt(1/2), sqrt(2)), log x = e ln 2 + 2 atanh((m - 1) / (m + 1)), the series to t^23
/// (|t| <= 0.172, truncation error below 1e-18), evaluated by Estrin's scheme in t^2.
inline double log_ge1(double x) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  auto e = static_cast<std::int64_t>((bits >> 52) & 0x7FF) - 1023;
  double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
  const bool high = m > 1.4142135623730951;
  m = high ? m * 0.5 : m;
  e += high ? 1 : 0;
  const double t = (m - 1.0) / (m + 1.0), w = 2.0 * t, u = t * t, u2 = u * u, u4 = u2 * u2,
               u8 = u4 * u4;
  // log m = 2t + 2t u q(u), q = 1/3 + u/5 + ... + u^10/23: the leading term exact, the
  // small correction by Estrin's scheme
  const double c0 = 1.0 / 3 + u * (1.0 / 5), c1 = 1.0 / 7 + u * (1.0 / 9);
  const double c2 = 1.0 / 11 + u * (1.0 / 13), c3 = 1.0 / 15 + u * (1.0 / 17);
  const double c4 = 1.0 / 19 + u * (1.0 / 21);
  const double q = (c0 + u2 * c1) + u4 * (c2 + u2 * c3) + u8 * (c4 + u2 * (1.0 / 23));
  const double ed = static_cast<double>(e);
  return (ed * fm::ln2_hi + (w + w * (u * q))) + ed * fm::ln2_lo;
}

// ---------------------------------------------------------------------------------------------
// The same two functions on vectors of W doubles (GCC/clang vector extensions). The kernels that
// use them are compiled once per instruction set (detail/simd.hpp): W = 2 for the x86-64 baseline,
// 4 with AVX2, 8 with AVX-512. Every lane performs the scalar function's operations in the same
// order and nothing is contracted into a fused multiply-add, so a lane's result has the same bits
// as the scalar function's (compiled without contraction) for every W. The helpers take and give
// vectors by reference: they are always inlined into a kernel, and a vector passed by value
// through a function compiled for a narrower instruction set would change its calling
// convention.

/// Vector types of W lanes: doubles, and signed and unsigned 64-bit integers (a comparison of two
/// `d` gives an `i`: -1 where true, 0 where false).
template <std::size_t W>
struct vec {
  typedef double d __attribute__((vector_size(W * sizeof(double))));
  typedef std::int64_t i __attribute__((vector_size(W * sizeof(double))));
  typedef std::uint64_t u __attribute__((vector_size(W * sizeof(double))));
};

/// The number of lanes of a vector of doubles.
template <class V>
inline constexpr std::size_t lanes_of = sizeof(V) / sizeof(double);

/// Loads lanes_of<V> doubles from p (no alignment needed).
template <class V>
OURO_INLINE void vload(V& v, const double* p) noexcept {
  __builtin_memcpy(&v, p, sizeof v);
}
/// Stores lanes_of<V> doubles to p (no alignment needed).
template <class V>
OURO_INLINE void vstore(double* p, const V& v) noexcept {
  __builtin_memcpy(p, &v, sizeof v);
}

/// out = exp2_table64[j[i]] in lane i (built as one vector, not lane by lane through memory,
/// which would stall on store forwarding).
template <class V, class I, std::size_t... L>
OURO_INLINE void table_lookup(V& out, const I& j, std::index_sequence<L...>) noexcept {
  out = V{exp2_table64[j[L]]...};
}

#if OURO_SIMD_DISPATCH
// GCC 12 reports a false -Wmaybe-uninitialized inside its gather intrinsics (GCC bug 105593)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
/// The same for eight lanes with one AVX-512 gather (the same values). Compiled for AVX-512 and
/// not forced inline: inside a kernel compiled for AVX-512 the compiler inlines it; a caller
/// compiled for less must not call it on a processor without AVX-512 (the kernels of
/// detail/gmm_kernels.hpp call it only from their AVX-512 entry).
template <std::size_t... L>
__attribute__((target("avx512f"))) inline void table_lookup(vec<8>::d& out, const vec<8>::u& j,
                                                            std::index_sequence<L...>) noexcept {
  out = reinterpret_cast<vec<8>::d>(
      _mm512_i64gather_pd(reinterpret_cast<__m512i>(j), exp2_table64, sizeof(double)));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

/// out = exp_nonpositive(x), lane by lane.
template <class V>
OURO_INLINE void vexp_nonpositive(V& out, const V& x) noexcept {
  OURO_NO_CONTRACT
  using U = typename vec<lanes_of<V>>::u;
  const V zero = V{} + 0.0, lo = V{} + -708.0;
  const auto below = x < lo;
  const V xc = below ? lo : (x > zero ? zero : x);
  const V t = xc * fm::inv_ln2_64 + fm::shifter;
  const V kd = t - fm::shifter;
  const V r = (xc - kd * (fm::ln2_hi / 64)) - kd * (fm::ln2_lo / 64);
  const V r2 = r * r;
  const V a = 0.5 + r * (1.0 / 6), b = 1.0 / 24 + r * (1.0 / 120);
  const V q = r + r2 * (a + r2 * b);
  // k = t - shifter in the low bits; k + 64 * 1023 >= 0 for x >= -708, so 2^e = 2^(k >> 6)
  // comes from logical shifts (arithmetic 64-bit shifts need AVX-512)
  const U k = reinterpret_cast<U>(t) - reinterpret_cast<U>(V{} + fm::shifter);
  V tj;
  table_lookup(tj, k & 63, std::make_index_sequence<lanes_of<V>>{});
  const V scale = reinterpret_cast<V>(((k + 64 * 1023) >> 6) << 52);
  out = below ? zero : (tj + tj * q) * scale;
}

/// out = log_ge1(x), lane by lane.
template <class V>
OURO_INLINE void vlog_ge1(V& out, const V& x) noexcept {
  OURO_NO_CONTRACT
  using I = typename vec<lanes_of<V>>::i;
  using U = typename vec<lanes_of<V>>::u;
  const U bits = reinterpret_cast<U>(x);
  I e = reinterpret_cast<I>(bits >> 52) - 1023;  // x >= 1: the sign bit is clear
  V m = reinterpret_cast<V>((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
  const I high = m > 1.4142135623730951;
  m = high ? m * 0.5 : m;
  e -= high;  // high is -1 where true
  const V t = (m - 1.0) / (m + 1.0), w = 2.0 * t, u = t * t, u2 = u * u, u4 = u2 * u2, u8 = u4 * u4;
  // log m = 2t + 2t u q(u), q = 1/3 + u/5 + ... + u^10/23: the leading term exact, the
  // small correction by Estrin's scheme
  const V c0 = 1.0 / 3 + u * (1.0 / 5), c1 = 1.0 / 7 + u * (1.0 / 9);
  const V c2 = 1.0 / 11 + u * (1.0 / 13), c3 = 1.0 / 15 + u * (1.0 / 17);
  const V c4 = 1.0 / 19 + u * (1.0 / 21);
  const V q = (c0 + u2 * c1) + u4 * (c2 + u2 * c3) + u8 * (c4 + u2 * (1.0 / 23));
  // e (|e| < 2048) to double exactly: 2^52 + 2048 + e has e + 2048 as its low mantissa bits
  const V ed =
      reinterpret_cast<V>((e + 2048) | 0x4330000000000000LL) - (4503599627370496.0 + 2048.0);
  out = (ed * fm::ln2_hi + (w + w * (u * q))) + ed * fm::ln2_lo;
}

}  // namespace ouro::detail
