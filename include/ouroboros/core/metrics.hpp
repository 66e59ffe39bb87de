// Metrics that work for any Distribution. See docs/metrics.md.
#pragma once

#include <string>

#include "ouroboros/core/concepts/metric.hpp"

namespace ouro::inline v0::metrics {

/// Mean log-likelihood per sample of a fixed held-out real dataset under each generation's model
/// (the model must be a ScoredDistribution: have log_likelihood(data)).
template <Dataset D>
struct heldout_loglik {
  D heldout;
  std::string label = "heldout_loglik";
  std::string name() const { return label; }
  template <Model M, class S>
  requires std::same_as<dataset_t<M>, D>
  double operator()(const generation_context<M, S>& c) const {
    static_assert(ScoredDistribution<M>,
                  "ouro::metrics::heldout_loglik: the model has no member "
                  "'log_likelihood(data) const' returning a value convertible to double, which "
                  "this metric needs (see docs/concepts.md#distribution).");
    if constexpr (ScoredDistribution<M>) {
      const auto n = dataset_size(heldout);
      return n == 0 ? 0.0
                    : static_cast<double>(model_traits<M>::log_likelihood(c.model, heldout)) /
                          static_cast<double>(n);
    } else {
      return 0.0;
    }
  }
};

template <Dataset D>
heldout_loglik(D) -> heldout_loglik<D>;

/// Size of the training set each generation was fitted on (useful with accumulate and schedules).
struct training_size {
  std::string name() const { return "training_size"; }
  template <Model M, class S>
  double operator()(const generation_context<M, S>& c) const {
    return static_cast<double>(dataset_size(c.training));
  }
};

}  // namespace ouro::inline v0::metrics
