// Where the real data comes from: a fixed dataset, or a true distribution to draw from.
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/random.hpp"

namespace ouro::inline v0 {

/// Concept RealSourceFor<S, D>: s.initial(m0, g) returns generation 0's training set (the real
/// data of one replicate); s.fresh(n, g) returns n new real samples (for regime::mix with fresh
/// real data). Both are const, thread-safe and deterministic for a fixed engine state.
template <class S, class D>
concept RealSourceFor = requires(const S& s, std::size_t n, default_rng& g) {
  { s.initial(n, g) } -> std::same_as<D>;
  { s.fresh(n, g) } -> std::same_as<D>;
};

/// A fixed real dataset: generation 0 of every replicate is fitted on all of it (the paper's
/// convention), and fresh real samples are drawn from it uniformly with replacement.
template <Dataset D>
struct real_data {
  D data;
  using dataset_type = D;
  D initial(std::size_t, default_rng&) const { return data; }
  D fresh(std::size_t n, default_rng& g) const {
    const std::size_t size = dataset_size(data);
    std::vector<std::size_t> idx(size == 0 ? 0 : n);
    for (auto& i : idx) i = uniform_index(g, size);
    return dataset_subset(data, idx);
  }
};

/// A true distribution: generation 0 of each replicate is fitted on M_0 independent draws from it,
/// so replicates differ from the first fit on (as in the Gaussian theory of docs/theory.md).
template <Distribution T>
struct real_distribution {
  T truth;
  using dataset_type = dataset_t<T>;
  dataset_type initial(std::size_t m0, default_rng& g) const {
    return model_traits<T>::sample(truth, m0, g);
  }
  dataset_type fresh(std::size_t n, default_rng& g) const {
    return model_traits<T>::sample(truth, n, g);
  }
};

namespace detail {
/// Instantiated when the real data's dataset type differs from the model's, so that the compiler's
/// "In instantiation of" line names both: Expected (the model's) first, Found second.
template <class Expected, class Found>
struct real_data_dataset_type {
  static constexpr bool same = std::same_as<Expected, Found>;
  static_assert(same,
                "ouro::collapse_loop: the real data's dataset type (Found, the second type named "
                "above) is not the model's dataset_type (Expected, the first): from_truth takes "
                "any model whose dataset_type is the loop model's, and from_data or run take a "
                "dataset of that type (see docs/concepts.md#real-data).");
};
template <class>
inline constexpr bool always_false = false;
/// What from_truth returns for a truth that is not a Distribution, after its sentence.
struct invalid_truth {};

/// One sentence for whatever was passed to collapse_loop::run or start as the real data.
template <class Source, class D>
consteval bool check_source() {
  using S = std::remove_cvref_t<Source>;
  if constexpr (RealSourceFor<S, D>) {
    return true;
  } else if constexpr (std::same_as<S, invalid_truth>) {
    return false;  // from_truth has said what is wrong
  } else if constexpr (Distribution<S>) {
    static_assert(always_false<S>,
                  "ouro::collapse_loop: a model was passed as the real data: pass it as "
                  "ouro::from_truth(model) (see docs/concepts.md#real-data).");
    return false;
  } else if constexpr (requires { typename S::dataset_type; }) {
    return real_data_dataset_type<D, typename S::dataset_type>::same;
  } else if constexpr (Dataset<S>) {
    return real_data_dataset_type<D, S>::same;
  } else {
    static_assert(always_false<S>,
                  "ouro::collapse_loop: the first argument is not real data: pass "
                  "ouro::from_truth(model), ouro::from_data(dataset), a dataset of the model's "
                  "dataset_type, or a type with initial(n, rng) and fresh(n, rng) returning one "
                  "(see docs/concepts.md#real-data).");
    return false;
  }
}
}  // namespace detail

/// Real data as a fixed dataset.
template <Dataset D>
real_data<D> from_data(D d) {
  return real_data<D>{std::move(d)};
}
/// Real data drawn from a true distribution: any model with sample(n, rng), whatever its type
/// (one sentence from check_distribution when it has none).
template <class T>
auto from_truth(T t) {
  if constexpr (check_distribution<T>())  // a sentence saying what the truth lacks, otherwise
    return real_distribution<T>{std::move(t)};
  else
    return detail::invalid_truth{};  // stays silent in run(): one mistake, one sentence
}

}  // namespace ouro::inline v0
