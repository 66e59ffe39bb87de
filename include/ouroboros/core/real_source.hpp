// Where the real data comes from: a fixed dataset, or a true distribution to draw from.
#pragma once

#include <cstddef>
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

/// Real data as a fixed dataset.
template <Dataset D>
real_data<D> from_data(D d) {
  return real_data<D>{std::move(d)};
}
/// Real data drawn from a true distribution.
template <Distribution T>
real_distribution<T> from_truth(T t) {
  return real_distribution<T>{std::move(t)};
}

}  // namespace ouro
