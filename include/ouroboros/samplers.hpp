// Samplers: how synthetic data is drawn from a fitted model (SamplerFor).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/concepts/sampler.hpp"

namespace ouro::sample {

/// Plain ancestral sampling: model.sample(n, rng).
struct ancestral {
  template <Distribution M, Rng G>
  dataset_t<M> operator()(const M& m, std::size_t n, G& g) const {
    return model_traits<M>::sample(m, n, g);
  }
};

/// Rejection filter (curation): draws through `inner` and keeps the samples for which
/// `accept(sample)` (or `accept(model, sample)`) is true, until n are kept. When the acceptance
/// rate is so low that `max_draw_factor * n` draws are spent, it returns what it has and records an
/// event; it never loops forever.
template <class Pred, class Inner = ancestral>
struct rejection {
  Pred accept;
  double max_draw_factor = 1000.0;
  Inner inner{};

  template <Distribution M, Rng G>
  dataset_t<M> operator()(const M& m, std::size_t n, G& g, event_log& log) const {
    using D = dataset_t<M>;
    using T = dataset_traits<D>;
    D kept{};
    std::size_t have = 0, drawn = 0;
    const auto budget = static_cast<std::size_t>(max_draw_factor * static_cast<double>(n));
    std::vector<std::size_t> idx;
    while (have < n && drawn < budget) {
      const std::size_t want = n - have;
      const std::size_t batch =
          std::min(budget - drawn, std::max<std::size_t>(want + want / 4, 16));
      D d = invoke_sampler(inner, m, batch, g, log);
      const std::size_t got = T::size(d);
      if (got == 0) break;
      drawn += got;
      idx.clear();
      for (std::size_t i = 0; i < got && idx.size() < want; ++i) {
        bool ok;
        if constexpr (requires { accept(m, T::sample(d, i)); })
          ok = accept(m, T::sample(d, i));
        else
          ok = accept(T::sample(d, i));
        if (ok) idx.push_back(i);
      }
      if (idx.empty()) continue;
      D part = T::subset(d, idx);
      if (have == 0)
        kept = std::move(part);
      else
        T::append(kept, part);
      have += idx.size();
    }
    if (have < n)
      log.record(fmt::format("rejection sampler accepted only {} of {} samples in {} draws", have,
                             n, drawn),
                 "trained on the accepted samples only");
    return kept;
  }
};

template <class Pred>
rejection(Pred) -> rejection<Pred>;
template <class Pred>
rejection(Pred, double) -> rejection<Pred>;

}  // namespace ouro::sample
