// Concept Distribution: a model that can be sampled and scored. See docs/concepts.md#distribution.
//
// Syntactic requirements, for const M m, an engine g, a dataset x and a count n:
//   1. M is copy-constructible.
//   2. model_traits<M>::dataset_type (by default M::dataset_type) names a type satisfying Dataset.
//   3. model_traits<M>::sample(m, n, g) (by default m.sample(n, g)) returns a dataset_type.
//   4. model_traits<M>::log_likelihood(m, x) (by default m.log_likelihood(x)) is convertible to
//      double: the total log-likelihood of the samples of x under the model.
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

template <class M>
concept Distribution = std::copy_constructible<M> && HasDatasetType<M> && Dataset<dataset_t<M>> &&
    requires(const M& m, default_rng& g, const dataset_t<M>& x, std::size_t n) {
  { model_traits<M>::sample(m, n, g) } -> std::same_as<dataset_t<M>>;
  { model_traits<M>::log_likelihood(m, x) } -> std::convertible_to<double>;
};

/// Fails to compile with one plain sentence per unmet requirement of Distribution.
template <class M>
consteval bool check_distribution() {
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
    static_assert(
        requires(const M& m, default_rng& g, std::size_t n) {
          { model_traits<M>::sample(m, n, g) } -> std::same_as<dataset_t<M>>;
        },
        "ouro::Distribution: the model has no member 'sample(n, rng) const' returning its "
        "dataset_type (see docs/concepts.md#distribution).");
    static_assert(
        requires(const M& m, const dataset_t<M>& x) {
          { model_traits<M>::log_likelihood(m, x) } -> std::convertible_to<double>;
        },
        "ouro::Distribution: the model has no member 'log_likelihood(data) const' returning a "
        "value convertible to double (see docs/concepts.md#distribution).");
    return Distribution<M>;
  }
}

}  // namespace ouro
