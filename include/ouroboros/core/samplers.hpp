// Samplers: how synthetic data is drawn from a fitted model (SamplerFor).
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/concepts/sampler.hpp"

namespace ouro::inline v0::sample {

/// Plain ancestral sampling: model.sample(n, rng).
struct ancestral {
  template <Distribution M, Rng G>
  dataset_t<M> operator()(const M& m, std::size_t n, G& g) const {
    return model_traits<M>::sample(m, n, g);
  }
};

/// For a model that labels inputs (ConditionalModel: a regression, a classifier): the synthetic
/// data of a generation are the replicate's real inputs (its generation-0 training set, which
/// carries them), labelled afresh by the previous generation's model, so the design stays fixed
/// and nothing depends on how a regime pools data. n equal to the real data's size labels every
/// real input once, in order; another n takes inputs i mod size for i < n (recording an event when
/// n exceeds the real inputs, since some are then labelled twice).
struct relabel {
  template <ConditionalModel M, Rng G>
  dataset_t<M> operator()(const M& m, std::size_t n, G& g, event_log& log,
                          const dataset_t<M>& real) const {
    const std::size_t size = dataset_size(real);
    if (size == 0) {
      log.record("relabel: the real data hold no inputs", "no synthetic samples drawn");
      return dataset_t<M>{};
    }
    if (n == size) return model_traits<M>::relabel(m, real, g);
    if (n > size)
      log.record(fmt::format("relabel: {} samples asked of {} real inputs", n, size),
                 "inputs reused cyclically");
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = i % size;
    return model_traits<M>::relabel(m, dataset_subset(real, idx), g);
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

/// Tail truncation: keeps only draws whose density under the model is at least the model's
/// q-quantile of density (the level below which a fraction q of the model's own mass lies), so
/// each generation loses its least likely fraction q: a sampling bias that speeds up collapse.
/// The level is estimated from a separate pilot sample of max(pilot, n) draws. Needs a model with
/// `log_pdf(dataset)` returning one log-density per sample.
struct density_truncation {
  double q = 0.05;
  std::size_t pilot = 4096;

  template <Distribution M, Rng G>
  requires requires(const M& m, const dataset_t<M>& d) {
    { m.log_pdf(d) } -> std::convertible_to<std::vector<double>>;
  }
  dataset_t<M> operator()(const M& m, std::size_t n, G& g, event_log& log) const {
    if (!(q >= 0 && q < 1))
      throw std::invalid_argument(
          fmt::format("ouro::sample::density_truncation: q = {} is outside [0, 1)", q));
    if (q == 0) return model_traits<M>::sample(m, n, g);
    auto lp = m.log_pdf(model_traits<M>::sample(m, std::max(pilot, n), g));
    const auto at = static_cast<std::size_t>(q * static_cast<double>(lp.size()));
    std::nth_element(lp.begin(), lp.begin() + static_cast<std::ptrdiff_t>(at), lp.end());
    const double level = lp[at];
    using D = dataset_t<M>;
    D kept{};
    std::size_t have = 0, drawn = 0;
    const std::size_t budget = 1000 * n + 1000;
    std::vector<std::size_t> idx;
    while (have < n && drawn < budget) {
      const std::size_t want = n - have;
      D d = model_traits<M>::sample(m, want + want / 8 + 16, g);
      const auto l = m.log_pdf(d);
      drawn += l.size();
      idx.clear();
      for (std::size_t i = 0; i < l.size() && idx.size() < want; ++i)
        if (l[i] >= level) idx.push_back(i);
      if (idx.empty()) continue;
      D part = dataset_subset(d, idx);
      if (have == 0)
        kept = std::move(part);
      else
        dataset_append(kept, part);
      have += idx.size();
    }
    if (have < n)
      log.record(fmt::format("density truncation kept only {} of {} samples", have, n),
                 "trained on the kept samples only");
    return kept;
  }
};

template <class Pred>
rejection(Pred) -> rejection<Pred>;
template <class Pred>
rejection(Pred, double) -> rejection<Pred>;

}  // namespace ouro::inline v0::sample
