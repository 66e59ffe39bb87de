// Concept MetricFor<X, M>: a number (or a fixed list of numbers) computed from each generation's
// model. See docs/concepts.md#metric.
//
// Syntactic requirements, for const X x and a generation_context<M> ctx:
//   1. Either x.name() is convertible to std::string and x(ctx) is convertible to double,
//   2. or x.names() returns std::vector<std::string> and x(ctx) returns std::vector<double> of the
//      same length (a metric family, such as one value per state).
// Semantic requirements:
//   3. x(ctx) is const, thread-safe, and draws randomness only from ctx.rng().
//   4. The names are fixed for the lifetime of the metric object.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <vector>

#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/engine.hpp"

namespace ouro::inline v0 {

/// Everything a metric may look at for one (replicate, generation).
template <class M>
struct generation_context {
  const M& model;                ///< the model of this generation
  const M& first_model;          ///< the replicate's generation-0 model (fitted on real data)
  const dataset_t<M>& training;  ///< the data this generation's model was fitted on
  const dataset_t<M>& real;      ///< the replicate's real data (generation 0's training set)
  std::size_t generation;        ///< g: the model has been fitted g + 1 times
  std::size_t replicate;         ///< replicate index
  lazy_stream& stream;           ///< this metric's own stream, created on first use

  /// This metric's own random stream for (replicate, generation).
  default_rng& rng() const { return stream.get(); }
};

template <class X, class M>
concept ScalarMetricFor = Distribution<M> && requires(const X& x, const generation_context<M>& c) {
  { x.name() } -> std::convertible_to<std::string>;
  { x(c) } -> std::convertible_to<double>;
};

template <class X, class M>
concept VectorMetricFor = Distribution<M> && requires(const X& x, const generation_context<M>& c) {
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

}  // namespace ouro
