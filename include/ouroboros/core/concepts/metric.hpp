// Concept MetricFor<X, M>: a number (or a fixed list of numbers) computed from each generation's
// model. See docs/concepts.md#metric.
//
// Syntactic requirements, for const X x and a generation_context<M> ctx:
//   1. Either x.name() is convertible to std::string and x(ctx) is convertible to double,
//   2. or x.names() returns std::vector<std::string> and x(ctx) returns std::vector<double> of the
//      same length (a metric family, such as one value per state).
// Semantic requirements:
//   3. x(ctx) is const, thread-safe, and draws randomness only from ctx.rng(). A metric that draws
//      should accept generation_context<M, S> for any stream S, so it works with any engine.
//   4. The names are fixed for the lifetime of the metric object.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/engine.hpp"

namespace ouro::inline v0 {

/// A metric's source of randomness: `s.get()` returns a reference to a standard engine. The loop
/// passes a lazy_stream (the metric's own stream, created on first use); engine_ref lends any
/// engine.
template <class S>
concept MetricStream = requires(S& s) {
  requires std::is_lvalue_reference_v<decltype(s.get())>;
  requires std::uniform_random_bit_generator<std::remove_reference_t<decltype(s.get())>>;
};

/// Lends an existing engine to a generation_context, so a metric can be evaluated outside the loop
/// with any std::uniform_random_bit_generator (the loop itself uses lazy_stream).
template <std::uniform_random_bit_generator G>
struct engine_ref {
  G& engine;
  G& get() const noexcept { return engine; }
};

/// Everything a metric may look at for one (replicate, generation). Stream is where rng() comes
/// from: the loop uses lazy_stream (a default_rng); a metric that draws should take
/// generation_context<M, S> for any S, so that it runs with any engine (see engine_ref).
template <class M, MetricStream Stream = lazy_stream>
struct generation_context {
  const M& model;                ///< the model of this generation
  const M& first_model;          ///< the replicate's generation-0 model (fitted on real data)
  const dataset_t<M>& training;  ///< the data this generation's model was fitted on
  const dataset_t<M>& real;      ///< the replicate's real data (generation 0's training set)
  std::size_t generation;        ///< g: the model has been fitted g + 1 times
  std::size_t replicate;         ///< replicate index
  Stream& stream;                ///< this metric's own stream, created on first use

  /// This metric's own random stream for (replicate, generation).
  decltype(auto) rng() const { return stream.get(); }
};

template <class X, class M>
concept ScalarMetricFor = Model<M> && requires(const X& x, const generation_context<M>& c) {
  { x.name() } -> std::convertible_to<std::string>;
  { x(c) } -> std::convertible_to<double>;
};

template <class X, class M>
concept VectorMetricFor = Model<M> && requires(const X& x, const generation_context<M>& c) {
  { x.names() } -> std::convertible_to<std::vector<std::string>>;
  { x(c) } -> std::convertible_to<std::vector<double>>;
};

template <class X, class M>
concept MetricFor = std::copy_constructible<X> &&(ScalarMetricFor<X, M> || VectorMetricFor<X, M>);

template <class X, class M>
consteval bool check_metric() {
  static_assert(
      requires(const X& x) { x.name(); } || requires(const X& x) { x.names(); },
      "ouro::MetricFor: the metric has no member 'name() const' (or 'names() const' for "
      "a family of values) (see docs/concepts.md#metric).");
  static_assert(ScalarMetricFor<X, M> || VectorMetricFor<X, M> ||
                    !(
                        requires(const X& x) { x.name(); } || requires(const X& x) { x.names(); }),
                "ouro::MetricFor: the metric is not callable as 'metric(generation_context) const' "
                "returning a double (or a std::vector<double> with names()) "
                "(see docs/concepts.md#metric).");
  return MetricFor<X, M>;
}

/// The names a metric contributes to the results.
template <class X>
std::vector<std::string> metric_names(const X& x) {
  if constexpr (requires { x.names(); })
    return x.names();
  else
    return {std::string(x.name())};
}

}  // namespace ouro::inline v0
