// Concepts Model and Distribution: a model, and a model that can be sampled. See
// docs/concepts.md#distribution.
//
// Syntactic requirements, for const M m, an engine g and a count n:
//   1. M is copy-constructible.                                                       (Model)
//   2. model_traits<M>::dataset_type (by default M::dataset_type) names a type satisfying Dataset.
//   3. model_traits<M>::sample(m, n, g) (by default m.sample(n, g)) returns a dataset_type.
//      (Distribution; a ConditionalModel has relabel(inputs, g) instead.)
// Concept ScoredDistribution adds, for a dataset x:
//   4. model_traits<M>::log_likelihood(m, x) (by default m.log_likelihood(x)) is convertible to
//      double: the total log-likelihood of the samples of x under the model. Only the parts that
//      use it ask for it (metrics::heldout_loglik); the loop never calls it.
// Semantic requirements:
//   5. sample() does not change the model; calling it from several threads on the same model, each
//      with its own engine, is safe.
//   6. For a fixed engine state the output of sample() is deterministic.
//   7. sample(n, g) returns exactly n samples.
#pragma once

#include <concepts>
#include <cstddef>

#include "ouroboros/core/concepts/dataset.hpp"
#include "ouroboros/core/engine.hpp"
#include "ouroboros/core/model_traits.hpp"

namespace ouro::inline v0 {

template <class M>
concept HasDatasetType = requires {
  typename model_traits<M>::dataset_type;
};

/// What the loop needs of any model: a copyable type with a dataset type.
template <class M>
concept Model = std::copy_constructible<M> && HasDatasetType<M> && Dataset<dataset_t<M>>;

/// A model that can be sampled on its own (the joint distribution of the data).
template <class M>
concept Distribution = Model<M> && requires(const M& m, default_rng& g, std::size_t n) {
  { model_traits<M>::sample(m, n, g) } -> std::same_as<dataset_t<M>>;
};

/// A model that labels inputs (a regression, a classifier): model_traits<M>::relabel(m, inputs, g)
/// (by default m.relabel(inputs, g)) returns the same samples with labels drawn from the model.
/// sample::relabel uses it on the replicate's real inputs. See docs/conditional_model.md.
template <class M>
concept ConditionalModel = Model<M> && requires(const M& m, const dataset_t<M>& x, default_rng& g) {
  { model_traits<M>::relabel(m, x, g) } -> std::same_as<dataset_t<M>>;
};

/// A model that can also score data: the total log-likelihood of a dataset.
template <class M>
concept ScoredDistribution = Model<M> && requires(const M& m, const dataset_t<M>& x) {
  { model_traits<M>::log_likelihood(m, x) } -> std::convertible_to<double>;
};

namespace detail {
// Whether M has a member named `sample` at all (a single, non-template member function), to tell
// "no sample" from "a sample for one engine type only".
template <class M>
concept has_sample_member = requires {
  &M::sample;
};
}  // namespace detail

/// Fails to compile with one plain sentence per unmet requirement of Model.
template <class M>
consteval bool check_model() {
  static_assert(std::copy_constructible<M>,
                "ouro::Distribution: the model type must be copy-constructible "
                "(see docs/concepts.md#distribution).");
  if constexpr (!HasDatasetType<M>) {
    static_assert(HasDatasetType<M>,
                  "ouro::Distribution: the model type has no member type 'dataset_type' and no "
                  "ouro::model_traits specialization (see docs/concepts.md#distribution).");
    return false;
  } else {
    static_assert(Dataset<dataset_t<M>>,
                  "ouro::Distribution: the model's dataset_type is not a Dataset: specialise "
                  "ouro::dataset_traits for it (see docs/concepts.md#dataset).");
    return Model<M>;
  }
}

/// Fails to compile with one plain sentence per unmet requirement of Distribution.
template <class M>
consteval bool check_distribution() {
  if constexpr (!check_model<M>()) {
    return false;
  } else {
    constexpr bool samples = requires(const M& m, default_rng& g, std::size_t n) {
      { model_traits<M>::sample(m, n, g) } -> std::same_as<dataset_t<M>>;
    };
    if constexpr (!samples && detail::has_sample_member<M>) {
      static_assert(samples,
                    "ouro::Distribution: the model's 'sample' cannot be called as "
                    "'sample(n, rng) const' with any engine, returning its dataset_type: declare "
                    "it as 'dataset_type sample(std::size_t n, ouro::Rng auto& g) const' (a "
                    "template over the engine, not one engine type) "
                    "(see docs/concepts.md#distribution).");
    } else {
      static_assert(samples,
                    "ouro::Distribution: the model has no member 'sample(n, rng) const' returning "
                    "its dataset_type (a model that labels inputs has relabel(inputs, rng) "
                    "instead and uses sample::relabel) (see docs/concepts.md#distribution).");
    }
    return Distribution<M>;
  }
}

}  // namespace ouro::inline v0
