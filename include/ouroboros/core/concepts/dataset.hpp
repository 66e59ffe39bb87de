// Concept Dataset: what the regimes need from a training set. See docs/concepts.md#dataset.
//
// A dataset is an ordered collection of samples. Ouroboros provides dataset_traits for
// std::vector<T> (one element per sample) here and for xtensor containers (one row per sample)
// in ouroboros/models/dataset_xtensor.hpp. Specialise ouro::dataset_traits<D> for any other type.
//
// Syntactic requirements, for D d, a, b and a std::span<const std::size_t> idx:
//   1. dataset_traits<D>::size(d) returns the number of samples as std::size_t.
//   2. dataset_traits<D>::concat(a, b) returns a new D with the samples of a followed by those of
//   b.
//   3. dataset_traits<D>::subset(d, idx) returns a new D holding d's samples idx[0], idx[1], ...
//   4. dataset_traits<D>::append(a, b) appends b's samples to a (a is modified).
//   5. dataset_traits<D>::sample(d, i) gives read access to sample i (a value or a view).
// Semantic requirements:
//   6. concat, subset and append keep the order of samples and never alias their inputs.
//   7. size(concat(a, b)) == size(a) + size(b); size(subset(d, idx)) == idx.size().
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <vector>

namespace ouro::inline v0 {

/// Operations on a dataset type; specialise for your own types. The primary template is empty.
template <class D>
struct dataset_traits {};

/// One element per sample.
template <class T, class A>
struct dataset_traits<std::vector<T, A>> {
  using dataset = std::vector<T, A>;
  static std::size_t size(const dataset& d) noexcept { return d.size(); }
  static dataset concat(const dataset& a, const dataset& b) {
    dataset r;
    r.reserve(a.size() + b.size());
    r.insert(r.end(), a.begin(), a.end());
    r.insert(r.end(), b.begin(), b.end());
    return r;
  }
  static dataset subset(const dataset& d, std::span<const std::size_t> idx) {
    dataset r;
    r.reserve(idx.size());
    for (std::size_t i : idx) r.push_back(d[i]);
    return r;
  }
  static void append(dataset& a, const dataset& b) { a.insert(a.end(), b.begin(), b.end()); }
  static const T& sample(const dataset& d, std::size_t i) noexcept { return d[i]; }
};

template <class D>
concept Dataset = std::copy_constructible<D> && std::default_initializable<D> &&
    requires(const D& a, const D& b, D& m, std::span<const std::size_t> idx, std::size_t i) {
  { dataset_traits<D>::size(a) } -> std::convertible_to<std::size_t>;
  { dataset_traits<D>::concat(a, b) } -> std::same_as<D>;
  { dataset_traits<D>::subset(a, idx) } -> std::same_as<D>;
  dataset_traits<D>::append(m, b);
  dataset_traits<D>::sample(a, i);
};

/// Convenience wrappers so generic code reads naturally.
template <Dataset D>
std::size_t dataset_size(const D& d) {
  return static_cast<std::size_t>(dataset_traits<D>::size(d));
}
template <Dataset D>
D dataset_concat(const D& a, const D& b) {
  return dataset_traits<D>::concat(a, b);
}
template <Dataset D>
D dataset_subset(const D& d, std::span<const std::size_t> idx) {
  return dataset_traits<D>::subset(d, idx);
}
template <Dataset D>
void dataset_append(D& a, const D& b) {
  dataset_traits<D>::append(a, b);
}

}  // namespace ouro::inline v0
