// Concept SamplerFor<S, M>: how synthetic data is drawn from a fitted model.
// See docs/concepts.md#sampler.
//
// Syntactic requirements, for const S s, const M m, a count n, an engine g, an event_log log and
// the replicate's real data `real`:
//   1. s(m, n, g), s(m, n, g, log) or s(m, n, g, log, real) returns dataset_t<M>. The last form is
//      for samplers that need the real data, such as sample::relabel, which labels its inputs.
// Semantic requirements:
//   2. Deterministic for a fixed engine state; const and safe to call from several threads.
//   3. Returns n samples, or fewer only when it cannot do better (a rejection filter that accepts
//      too little); then it records an event in `log`.
#pragma once

#include <concepts>
#include <cstddef>

#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/events.hpp"

namespace ouro::inline v0 {

namespace detail {
template <class S, class M, class G>
concept sampler_with_log = requires(const S& s, const M& m, std::size_t n, G& g, event_log& log) {
  s(m, n, g, log);
};
template <class S, class M, class G>
concept sampler_plain = requires(const S& s, const M& m, std::size_t n, G& g) {
  s(m, n, g);
};
template <class S, class M, class G>
concept sampler_with_real = requires(const S& s, const M& m, std::size_t n, G& g, event_log& log,
                                     const dataset_t<M>& real) {
  s(m, n, g, log, real);
};
}  // namespace detail

/// Calls whichever form the sampler has.
template <class S, class M, class G>
requires detail::sampler_with_log<S, M, G> || detail::sampler_plain<S, M, G>
decltype(auto) invoke_sampler(const S& s, const M& m, std::size_t n, G& g, event_log& log) {
  if constexpr (detail::sampler_with_log<S, M, G>)
    return s(m, n, g, log);
  else
    return s(m, n, g);
}

/// Calls whichever form the sampler has, giving the replicate's real data to the form that takes
/// it (what the loop calls).
template <class S, class M, class G>
requires detail::sampler_with_real<S, M, G> || detail::sampler_with_log<S, M, G> ||
    detail::sampler_plain<S, M, G>
decltype(auto) invoke_sampler(const S& s, const M& m, std::size_t n, G& g, event_log& log,
                              const dataset_t<M>& real) {
  if constexpr (detail::sampler_with_real<S, M, G>)
    return s(m, n, g, log, real);
  else
    return invoke_sampler(s, m, n, g, log);
}

template <class S, class M>
concept SamplerFor = Model<M> && std::copy_constructible<S> &&
    requires(const S& s, const M& m, std::size_t n, default_rng& g, event_log& log,
             const dataset_t<M>& real) {
  { invoke_sampler(s, m, n, g, log, real) } -> std::same_as<dataset_t<M>>;
};

template <class S, class M>
consteval bool check_sampler() {
  if constexpr (!SamplerFor<S, M> && !Distribution<M> &&
                !detail::sampler_with_real<S, M, default_rng>) {
    // a sampler that draws from the model on its own, and a model that cannot be sampled: say
    // what the model lacks
    return check_distribution<M>();
  } else {
    static_assert(
        requires(const S& s, const M& m, std::size_t n, default_rng& g, event_log& log,
                 const dataset_t<M>& real) {
          { invoke_sampler(s, m, n, g, log, real) } -> std::same_as<dataset_t<M>>;
        },
        "ouro::SamplerFor: the sampler is not callable as 'sampler(model, n, rng) const' "
        "returning the model's dataset_type (see docs/concepts.md#sampler).");
    return SamplerFor<S, M>;
  }
}

}  // namespace ouro::inline v0
