// Concept RegimeFor<R, M>: builds each generation's training set. See docs/concepts.md#regime.
//
// A regime is an immutable configuration shared by all replicates; what it remembers between
// generations (accumulated data, a fixed real subset) lives in a per-replicate state object.
//
// Syntactic requirements, for const R r, a dataset type D = dataset_t<M>, R::state<D> s and a
// regime context ctx (see regime_context below):
//   1. R::template state<D> is a default-constructible, copyable type.
//   2. r.next(s, ctx) returns the training set (a D) for generation ctx.generation() >= 1.
// Semantic requirements:
//   3. next() draws randomness only from ctx.rng() and ctx.synthetic()/ctx.fresh_real(), so that
//      results depend only on (seed, replicate, generation).
//   4. next() is const: the loop calls it concurrently for different replicates, each with its
//      own state.
#pragma once

#include <concepts>
#include <cstddef>

#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/engine.hpp"
#include "ouroboros/core/events.hpp"

namespace ouro::inline v0 {

/// What the loop offers a regime when it builds generation g's training set.
///   generation()   g >= 1, the generation being built
///   samples()      M_g from the run's sample-size schedule
///   synthetic(n)   n fresh draws from model g-1 through the run's sampler
///   real()         the replicate's generation-0 training set (the real data)
///   fresh_real(n)  n new draws from the real-data source
///   rng()          the regime's own random stream for this (replicate, generation)
///   log()          where degenerate states are recorded
template <class D, class SynthFn, class RealFn>
class regime_context {
 public:
  regime_context(std::size_t generation, std::size_t samples, const D& real, SynthFn synth,
                 RealFn fresh, lazy_stream& rng, event_log& log)
      : generation_(generation),
        samples_(samples),
        real_(real),
        synth_(synth),
        fresh_(fresh),
        rng_(rng),
        log_(log) {}
  std::size_t generation() const noexcept { return generation_; }
  std::size_t samples() const noexcept { return samples_; }
  D synthetic(std::size_t n) { return synth_(n); }
  const D& real() const noexcept { return real_; }
  D fresh_real(std::size_t n) { return fresh_(n); }
  default_rng& rng() { return rng_.get(); }
  event_log& log() noexcept { return log_; }

 private:
  std::size_t generation_, samples_;
  const D& real_;
  SynthFn synth_;
  RealFn fresh_;
  lazy_stream& rng_;
  event_log& log_;
};

namespace detail {
template <class D>
using archetype_draw = D (*)(std::size_t);
template <class D>
using archetype_regime_context = regime_context<D, archetype_draw<D>, archetype_draw<D>>;
}  // namespace detail

template <class R, class D>
concept RegimeForData = Dataset<D> && std::copy_constructible<R> && requires {
  typename R::template state<D>;
} && std::default_initializable<typename R::template state<D>> &&
    std::copy_constructible<typename R::template state<D>> &&
    requires(const R& r, typename R::template state<D>& s,
             detail::archetype_regime_context<D>& ctx) {
  { r.next(s, ctx) } -> std::same_as<D>;
};

template <class R, class M>
concept RegimeFor = Model<M> && RegimeForData<R, dataset_t<M>>;

template <class R, class M>
consteval bool check_regime() {
  using D = dataset_t<M>;
  if constexpr (!requires { typename R::template state<D>; }) {
    static_assert(
        requires { typename R::template state<D>; },
        "ouro::RegimeFor: the regime has no member template 'state<Dataset>' holding its "
        "per-replicate state (see docs/concepts.md#regime).");
    return false;
  } else {
    static_assert(
        requires(const R& r, typename R::template state<D>& s,
                 detail::archetype_regime_context<D>& ctx) {
          { r.next(s, ctx) } -> std::same_as<D>;
        },
        "ouro::RegimeFor: the regime has no member 'next(state, context) const' returning the "
        "next training set (see docs/concepts.md#regime).");
    return RegimeFor<R, M>;
  }
}

}  // namespace ouro::inline v0
