// Random engines, reproducible stream derivation and fast variates.
//
// Every random number in Ouroboros comes from an engine the caller passes in; the library keeps no
// global engine. The collapse loop gives each (seed, replicate, generation, role) its own engine
// through make_stream(), so results do not depend on how work is spread over threads.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "ouroboros/concepts/rng.hpp"

namespace ouro {

/// SplitMix64 finaliser: a bijective 64-bit mixer with full avalanche (Steele, Lea, Flood 2014).
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// xoshiro256++ (Blackman & Vigna 2019): 256 bits of state, period 2^256 - 1, passes BigCrush,
/// about one nanosecond per 64-bit output. Satisfies std::uniform_random_bit_generator.
class xoshiro256pp {
 public:
  using result_type = std::uint64_t;

  /// Seeds the four state words from a SplitMix64 sequence started at `seed` (never all zero).
  constexpr explicit xoshiro256pp(std::uint64_t seed = 0x853c49e6748fea9bULL) noexcept {
    std::uint64_t x = seed;
    for (auto& w : s_) {
      x += 0x9E3779B97F4A7C15ULL;
      w = mix64(x);
    }
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = std::rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

  /// The raw state, for checkpoints and tests.
  constexpr const std::array<std::uint64_t, 4>& state() const noexcept { return s_; }
  constexpr void set_state(const std::array<std::uint64_t, 4>& s) noexcept { s_ = s; }

  friend constexpr bool operator==(const xoshiro256pp&, const xoshiro256pp&) = default;

 private:
  std::array<std::uint64_t, 4> s_{};
};

/// The engine the library uses when it creates engines itself.
using default_rng = xoshiro256pp;

/// What a random stream is used for. Each role of each (seed, replicate, generation) is an
/// independent stream, so adding a metric that draws does not shift the data of later generations.
enum class stream_role : std::uint64_t {
  real = 1,     ///< drawing the real data (generation 0, fresh real draws)
  sample = 2,   ///< drawing synthetic data from a fitted model
  fit = 3,      ///< randomness inside a fitter (initialisation, restarts)
  regime = 4,   ///< choices made by a regime (subsampling)
  metric = 5,   ///< Monte Carlo metrics; metric i uses role metric + 16 * i
  user = 1000,  ///< first role free for user code
};

/// The part of a stream key shared by all roles of one (seed, replicate, generation).
constexpr std::uint64_t stream_base(std::uint64_t seed, std::uint64_t replicate,
                                    std::uint64_t generation) noexcept {
  std::uint64_t h = mix64(seed ^ 0x6A09E667F3BCC908ULL);
  h = mix64(h ^ (replicate * 0x9E3779B97F4A7C15ULL + 0xBB67AE8584CAA73BULL));
  return mix64(h ^ (generation * 0xC2B2AE3D27D4EB4FULL + 0x3C6EF372FE94F82BULL));
}

/// The engine for a role, given stream_base(seed, replicate, generation).
constexpr default_rng make_stream_from(std::uint64_t base, std::uint64_t role) noexcept {
  return default_rng{mix64(base ^ (role * 0x165667B19E3779F9ULL + 0xA54FF53A5F1D36F1ULL))};
}

/// The engine for one (seed, replicate, generation, role). Depends on nothing else, so the same
/// tuple gives the same numbers on any thread, in any order, in any process.
constexpr default_rng make_stream(std::uint64_t seed, std::uint64_t replicate,
                                  std::uint64_t generation, std::uint64_t role) noexcept {
  return make_stream_from(stream_base(seed, replicate, generation), role);
}
constexpr default_rng make_stream(std::uint64_t seed, std::uint64_t replicate,
                                  std::uint64_t generation, stream_role role) noexcept {
  return make_stream(seed, replicate, generation, static_cast<std::uint64_t>(role));
}

/// An engine created on first use: streams that a step never touches cost nothing.
class lazy_stream {
 public:
  constexpr lazy_stream(std::uint64_t base, std::uint64_t role) noexcept
      : base_(base), role_(role) {}
  default_rng& get() {
    if (!rng_) rng_.emplace(make_stream_from(base_, role_));
    return *rng_;
  }

 private:
  std::uint64_t base_, role_;
  std::optional<default_rng> rng_;
};

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

  ziggurat_tables() {
    std::array<double, layers + 1> x{};
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
  // wedge between the rectangle's top and the density
  const double y = t.f[idx] + uniform01(g) * (t.f[idx + 1] - t.f[idx]);
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

/// Fills `out` with independent standard normal variates; the same engine state always gives the
/// same values.
template <Rng G>
void fill_standard_normal(G& g, std::span<double> out) {
  const auto& t = detail::zig();
  for (double& o : out) o = detail::normal_one(g, t);
}

/// Fills `out` with N(mean, sd^2) variates.
template <Rng G>
void fill_normal(G& g, std::span<double> out, double mean, double sd) {
  const auto& t = detail::zig();
  for (double& o : out) o = mean + sd * detail::normal_one(g, t);
}

}  // namespace ouro
