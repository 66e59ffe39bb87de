// ouro::model_traits<M>: how the library talks to a model type. See docs/concepts.md#model-traits.
//
// The primary template forwards to members (M::dataset_type, m.sample(n, rng),
// m.log_likelihood(data), m.relabel(inputs, rng)). A type you cannot edit plugs in through a full
// specialisation:
//
//   template <> struct ouro::model_traits<their::poisson> {
//     using dataset_type = std::vector<int>;
//     static std::vector<int> sample(const their::poisson& m, std::size_t n, auto& rng);
//     static double log_likelihood(const their::poisson& m, const std::vector<int>& x);
//   };
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace ouro::inline v0 {

/// Primary template: empty for types without a member `dataset_type`, so that concept checks fail
/// softly and the diagnostics can name what is missing.
template <class M>
struct model_traits {};

template <class M>
requires requires {
  typename M::dataset_type;
}
struct model_traits<M> {
  using dataset_type = typename M::dataset_type;

  // MM = M keeps the member lookup dependent, so a missing member is a soft (SFINAE) failure.
  template <class G, class MM = M>
  static auto sample(const MM& m, std::size_t n, G& rng) -> decltype(m.sample(n, rng)) {
    return m.sample(n, rng);
  }
  template <class D, class MM = M>
  static auto log_likelihood(const MM& m, const D& x) -> decltype(m.log_likelihood(x)) {
    return m.log_likelihood(x);
  }
  template <class D, class G, class MM = M>
  static auto relabel(const MM& m, const D& inputs, G& rng) -> decltype(m.relabel(inputs, rng)) {
    return m.relabel(inputs, rng);
  }
};

/// The dataset type of model M.
template <class M>
using dataset_t = typename model_traits<std::remove_cvref_t<M>>::dataset_type;

}  // namespace ouro::inline v0
