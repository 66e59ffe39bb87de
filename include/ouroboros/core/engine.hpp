// Random engines and reproducible stream derivation: the default engine (xoshiro256++), the
// streams of (seed, replicate, generation, role) the collapse loop gives every piece of work, and
// lazily created streams. Standard library only; the variates (uniform, normal, ...) are in
// ouroboros/core/random.hpp.
//
// Every random number in Ouroboros comes from an engine the caller passes in; the library keeps no
// global engine. The collapse loop gives each (seed, replicate, generation, role) its own engine
// through make_stream(), so results do not depend on how work is spread over threads.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "ouroboros/core/concepts/rng.hpp"

namespace ouro::inline v0 {

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

/// The part of a stream key shared by all generations and roles of one (seed, replicate).
constexpr std::uint64_t replicate_key(std::uint64_t seed, std::uint64_t replicate) noexcept {
  const std::uint64_t h = mix64(seed ^ 0x6A09E667F3BCC908ULL);
  return mix64(h ^ (replicate * 0x9E3779B97F4A7C15ULL + 0xBB67AE8584CAA73BULL));
}

/// The part of a stream key shared by all roles of one (seed, replicate, generation), given
/// replicate_key(seed, replicate) (the loop computes that once per replicate).
constexpr std::uint64_t stream_base_from(std::uint64_t replicate_key,
                                         std::uint64_t generation) noexcept {
  return mix64(replicate_key ^ (generation * 0xC2B2AE3D27D4EB4FULL + 0x3C6EF372FE94F82BULL));
}

/// The part of a stream key shared by all roles of one (seed, replicate, generation).
constexpr std::uint64_t stream_base(std::uint64_t seed, std::uint64_t replicate,
                                    std::uint64_t generation) noexcept {
  return stream_base_from(replicate_key(seed, replicate), generation);
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

}  // namespace ouro::inline v0
