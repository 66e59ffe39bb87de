// Metrics of categorical models (models::categorical and models::exact_categorical). See
// docs/metrics.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/models/categorical.hpp"

namespace ouro::inline v0::metrics {

namespace detail {
/// A model with probabilities over states: models::categorical or models::exact_categorical.
template <class M>
concept has_probs = requires(const M& m) {
  { m.probs() } -> std::convertible_to<const std::vector<double>&>;
};
}  // namespace detail

/// Shannon entropy -sum p log p, in nats.
struct entropy {
  std::string name() const { return "entropy"; }
  template <detail::has_probs M, class S>
  double operator()(const generation_context<M, S>& c) const {
    double h = 0;
    for (double p : c.model.probs())
      if (p > 0) h -= p * std::log(p);
    return h;
  }
};

/// Heterozygosity 1 - sum p^2: the chance that two draws differ.
struct heterozygosity {
  std::string name() const { return "heterozygosity"; }
  template <detail::has_probs M, class S>
  double operator()(const generation_context<M, S>& c) const {
    double s = 0;
    for (double p : c.model.probs()) s += p * p;
    return 1.0 - s;
  }
};

/// Number of states with positive probability.
struct support_size {
  std::string name() const { return "support_size"; }
  template <detail::has_probs M, class S>
  double operator()(const generation_context<M, S>& c) const {
    return static_cast<double>(std::count_if(c.model.probs().begin(), c.model.probs().end(),
                                             [](double p) { return p > 0; }));
  }
};

/// One value per state i, named fixed_<i>: 1 when state i holds all the mass, else 0.
struct fixed_states {
  std::size_t states = 0;
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (std::size_t i = 0; i < states; ++i) n.push_back(fmt::format("fixed_{}", i));
    return n;
  }
  template <detail::has_probs M, class S>
  std::vector<double> operator()(const generation_context<M, S>& c) const {
    std::vector<double> v(states, 0.0);
    const auto& p = c.model.probs();
    for (std::size_t i = 0; i < std::min(states, p.size()); ++i) v[i] = p[i] == 1.0 ? 1.0 : 0.0;
    return v;
  }
};

/// The model's mass on the truth's rare states: the states with the smallest true probabilities
/// whose true mass adds up to at most `tail` (at least the rarest state).
struct categorical_tail_mass {
  std::vector<double> true_probs;
  double tail = 0.1;
  std::string name() const { return "tail_mass"; }
  template <detail::has_probs M, class S>
  double operator()(const generation_context<M, S>& c) const {
    std::vector<std::size_t> order(true_probs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return true_probs[a] < true_probs[b]; });
    double acc = 0, mass = 0;
    const auto& p = c.model.probs();
    for (std::size_t j = 0; j < order.size(); ++j) {
      acc += true_probs[order[j]];
      if (j > 0 && acc > tail) break;
      if (order[j] < p.size()) mass += p[order[j]];
    }
    return mass;
  }
};

}  // namespace ouro::inline v0::metrics
