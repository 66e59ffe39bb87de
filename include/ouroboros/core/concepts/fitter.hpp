// Concept FitterFor<F, M>: fits a model of type M to a dataset. See docs/concepts.md#fitter.
//
// Syntactic requirements, for const F f, a dataset x, a model prev, an engine g, an event_log log:
//   1. F::model_type (or fitter_traits<F>::model_type) names M.
//   2. f.fit(x, g) or f.fit(x, g, log) returns M. The second form lets the fitter record
//      degenerate states (see events.hpp).
//   Optional (WarmStartFitterFor):
//   3. f.fit(x, prev, g) or f.fit(x, prev, g, log) returns M, starting from the previous model.
// Semantic requirements:
//   4. fit() is const and safe to call from several threads at once, each with its own engine.
//   5. For fixed data and engine state the result is deterministic.
//   6. fit() never throws on degenerate data (all points equal, one point, empty data when the
//      model allows it): it records an event and returns a usable model.
#pragma once

#include <concepts>
#include <type_traits>
#include <utility>

#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/events.hpp"

namespace ouro::inline v0 {

/// Names the model type a fitter produces; specialise for fitters you cannot edit.
template <class F>
struct fitter_traits {};
template <class F>
requires requires {
  typename F::model_type;
}
struct fitter_traits<F> {
  using model_type = typename F::model_type;
};

template <class F>
using fitted_model_t = typename fitter_traits<std::remove_cvref_t<F>>::model_type;

namespace detail {
template <class F, class D, class G>
concept fit_with_log = requires(const F& f, const D& d, G& g, event_log& log) {
  f.fit(d, g, log);
};
template <class F, class D, class G>
concept fit_plain = requires(const F& f, const D& d, G& g) {
  f.fit(d, g);
};
template <class F, class D, class M, class G>
concept warm_with_log = requires(const F& f, const D& d, const M& p, G& g, event_log& log) {
  f.fit(d, p, g, log);
};
template <class F, class D, class M, class G>
concept warm_plain = requires(const F& f, const D& d, const M& p, G& g) {
  f.fit(d, p, g);
};
}  // namespace detail

/// Calls whichever cold-start form of fit() the fitter has.
template <class F, class D, class G>
requires detail::fit_with_log<F, D, G> || detail::fit_plain<F, D, G>
decltype(auto) invoke_fit(const F& f, const D& data, G& g, event_log& log) {
  if constexpr (detail::fit_with_log<F, D, G>)
    return f.fit(data, g, log);
  else
    return f.fit(data, g);
}

/// Calls whichever warm-start form of fit() the fitter has.
template <class F, class D, class M, class G>
requires detail::warm_with_log<F, D, M, G> || detail::warm_plain<F, D, M, G>
decltype(auto) invoke_warm_fit(const F& f, const D& data, const M& prev, G& g, event_log& log) {
  if constexpr (detail::warm_with_log<F, D, M, G>)
    return f.fit(data, prev, g, log);
  else
    return f.fit(data, prev, g);
}

template <class F, class M>
concept FitterFor = Model<M> && std::copy_constructible<F> &&
    (detail::fit_with_log<F, dataset_t<M>, default_rng> ||
     detail::fit_plain<F, dataset_t<M>, default_rng>)&&requires(const F& f, const dataset_t<M>& d,
                                                                default_rng& g, event_log& log) {
  { invoke_fit(f, d, g, log) } -> std::same_as<M>;
};

template <class F, class M>
concept WarmStartFitterFor = FitterFor<F, M> &&
    (detail::warm_with_log<F, dataset_t<M>, M, default_rng> ||
     detail::warm_plain<F, dataset_t<M>, M, default_rng>);

/// A fitter whose model type is known and which fits it.
template <class F>
concept Fitter = requires {
  typename fitted_model_t<F>;
}
&&FitterFor<F, fitted_model_t<F>>;

/// Fails to compile with one plain sentence per unmet requirement of Fitter.
template <class F>
consteval bool check_fitter() {
  if constexpr (!requires { typename fitted_model_t<F>; }) {
    static_assert(
        requires { typename fitted_model_t<F>; },
        "ouro::FitterFor: the fitter type has no member type 'model_type' naming the "
        "model it fits (see docs/concepts.md#fitter).");
    return false;
  } else {
    using M = fitted_model_t<F>;
    if constexpr (!check_model<M>()) {
      return false;
    } else {
      static_assert(
          requires(const F& f, const dataset_t<M>& d, default_rng& g, event_log& log) {
            { invoke_fit(f, d, g, log) } -> std::same_as<M>;
          },
          "ouro::FitterFor: the fitter has no member 'fit(data, rng) const' (or 'fit(data, rng, "
          "event_log&) const') returning its model_type (see docs/concepts.md#fitter).");
    }
    return Fitter<F>;
  }
}

}  // namespace ouro::inline v0
