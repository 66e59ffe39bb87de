// Concept Rng: a source of uniformly random bits. See docs/concepts.md#rng.
//
// Syntactic requirements (those of std::uniform_random_bit_generator):
//   1. G::result_type is an unsigned integer type.
//   2. G::min() and G::max() are constant expressions with min() < max().
//   3. g() returns a G::result_type in [min(), max()].
// Semantic requirements the compiler cannot check:
//   4. For a fixed engine state, the sequence of outputs is deterministic (no hidden global state).
//   5. An engine is used by one thread at a time; the library never shares one between threads.
#pragma once

#include <random>
#include <type_traits>

namespace ouro::inline v0 {

template <class G>
concept Rng = std::uniform_random_bit_generator<std::remove_reference_t<G>>;

}  // namespace ouro::inline v0
