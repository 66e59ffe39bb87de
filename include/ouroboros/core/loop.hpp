// collapse_loop: fit, sample, refit, for G generations and R replicates. See docs/concepts.md and
// docs/reproducibility.md.
//
//   auto loop = ouro::collapse_loop{ouro::models::gaussian_fitter<ouro::models::unbiased>{},
//                                   ouro::sample::ancestral{}, ouro::regime::replace{},
//                                   ouro::metrics::variance{}, ouro::metrics::log_variance{}};
//   ouro::run_options opt;
//   opt.label = "M=100";
//   opt.generations = 500;
//   opt.replicates = 1000;
//   opt.samples = ouro::schedule::constant{100};
//   opt.seed = 42;
//   auto run = loop.run(ouro::from_truth(ouro::models::gaussian{0, 1}), opt);
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "ouroboros/core/concepts/fitter.hpp"
#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/core/concepts/regime.hpp"
#include "ouroboros/core/concepts/sampler.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/executor.hpp"
#include "ouroboros/core/real_source.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/core/run_store.hpp"
#include "ouroboros/core/schedule.hpp"

namespace ouro::inline v0 {

/// Whether every replicate's value is kept in the run_result (summaries are always kept).
enum class keep_values {
  automatic,  ///< keep when generations x replicates x metric values <= 1,000,000
  all,        ///< always keep (memory grows with G x R)
  none,       ///< never keep; observers still see each generation's values
};

/// What an observer asks the loop to do next.
enum class observer_action { proceed, stop };

/// What an observer sees after each generation (valid only during the call).
struct generation_report {
  const std::string& label;
  std::size_t generation;   ///< the generation just completed
  std::size_t generations;  ///< generations asked for
  std::size_t replicates;
  const std::vector<std::string>& metric_names;
  std::span<const double> values;          ///< [replicate][metric], replicate order
  std::span<const summary_point> summary;  ///< one per metric name
  double elapsed_seconds;                  ///< since the run started
  std::size_t events;                      ///< events recorded so far in this run
};

using observer = std::function<observer_action(const generation_report&)>;

/// Settings of one run.
struct run_options {
  std::string label = "run";      ///< names the run in the results (e.g. "M=100")
  std::size_t generations = 100;  ///< G: generations 0 .. G-1; generation 0 is fitted on real data
  std::size_t replicates = 1;     ///< R independent replicates
  /// The index of the first replicate: the run computes replicates first_replicate ..
  /// first_replicate + R - 1, exactly as a run of more replicates computes them (their streams
  /// depend only on the seed and the index), so that blocks of replicates can run apart and be
  /// merged (merge_replicate_blocks in ouroboros/core/sweep.hpp).
  std::size_t first_replicate = 0;
  sample_schedule samples = schedule::constant{100};  ///< M_g, the synthetic sample size
  std::uint64_t seed = 0;
  unsigned threads = 0;    ///< 0: all hardware threads (ignored when `executor` is given)
  bool warm_start = true;  ///< use fit(data, previous, rng) when the fitter offers it
  keep_values keep = keep_values::automatic;
  std::size_t max_events = 10000;  ///< events kept per run; later ones are only counted
  std::vector<observer> observers;
  params config;  ///< written with the run into the results
  /// Where the run saves checkpoints and resumes from (nullptr: no checkpoints): a
  /// checkpoint_store (a file, ouroboros/io/checkpoint_store.hpp), a memory_store, or the host's
  /// own run_store. The model and the regime state must be Checkpointable.
  run_store* checkpoint = nullptr;
  /// When it becomes true (a signal handler, another thread), the run stops after the generation
  /// in progress: that generation is completed, a checkpoint is saved, and the run returns with
  /// run_result::interrupted set.
  const std::atomic<bool>* interrupt = nullptr;
  /// Runs the replicates' work (nullptr: the library's pool with `threads` threads). It must
  /// outlive the run. Results do not depend on it.
  ouro::executor* executor = nullptr;
};

template <class Loop, class Source>
class collapse_run;

namespace detail {
/// Stands in for the model type when the fitter names none, so that one static_assert sentence
/// is all the user sees.
struct invalid_model {
  using dataset_type = std::vector<double>;
  template <class G>
  dataset_type sample(std::size_t n, G&) const {
    return dataset_type(n);
  }
  double log_likelihood(const dataset_type&) const { return 0; }
};
template <class F>
struct loop_model {
  using type = invalid_model;
};
template <class F>
requires requires {
  typename fitted_model_t<F>;
} && HasDatasetType<fitted_model_t<F>>
struct loop_model<F> {
  using type = fitted_model_t<F>;
};

/// Checks the loop's parts in order and stops at the first that fails, so that a mistake gives
/// one sentence rather than a cascade.
template <class F, class S, class R, class... X>
consteval bool check_loop() {
  if constexpr (!check_fitter<F>()) {
    return false;
  } else {
    using M = fitted_model_t<F>;
    if constexpr (!check_sampler<S, M>())
      return false;
    else if constexpr (!check_regime<R, M>())
      return false;
    else
      return (check_metric<X, M>() && ...);
  }
}
}  // namespace detail

/// Runs the collapse experiment for a fitter, a sampler, a regime and any number of metrics. The
/// model type is the fitter's model_type. Constraint failures are reported by static_assert with a
/// sentence naming the missing member (see docs/concepts.md).
template <class Fitter, class Sampler, class Regime, class... Metrics>
class collapse_loop {
  static_assert(detail::check_loop<Fitter, Sampler, Regime, Metrics...>(),
                "ouro::collapse_loop: see the first error above");

 public:
  using model_type = typename detail::loop_model<Fitter>::type;
  using dataset_type = dataset_t<model_type>;
  using fitter_type = Fitter;
  using sampler_type = Sampler;
  using regime_type = Regime;

 public:
  collapse_loop(Fitter fitter, Sampler sampler, Regime regime, Metrics... metrics)
      : fitter_(std::move(fitter)),
        sampler_(std::move(sampler)),
        regime_(std::move(regime)),
        metrics_(std::move(metrics)...) {}

  /// The names of all metric values, in the order they appear in the results.
  std::vector<std::string> metric_names() const;

  /// Starts a run that the caller advances generation by generation (see collapse_run): the
  /// host owns the clock. `real` is copied into the run (or moved); the loop must outlive it.
  template <class Source>
  requires RealSourceFor<std::decay_t<Source>, dataset_type>
      collapse_run<collapse_loop, std::decay_t<Source>> start(Source&& real, run_options options)
  const;

  /// Runs one configuration. `real` is a real-data source (from_truth, from_data) or a dataset.
  template <class Source>
  requires RealSourceFor<Source, dataset_type> run_result run(const Source& real,
                                                              const run_options& options)
  const {
    return run(real, options, [](std::size_t, std::span<const model_type* const>) {});
  }

  /// The same, calling `models_hook(g, models)` on the calling thread after every generation g
  /// that is kept, with every replicate's model (models[r]); for snapshots of fitted models.
  template <class Source, class Hook>
  requires RealSourceFor<Source, dataset_type> &&
      std::invocable<Hook&, std::size_t, std::span<const model_type* const>>
          run_result run(const Source& real, const run_options& options, Hook&& models_hook)
  const;

  run_result run(const dataset_type& real, const run_options& options) const {
    return run(real_data<dataset_type>{real}, options);
  }

  /// Anything else as the real data: one sentence saying what it must be (and, for a dataset
  /// type that differs from the model's, both types), instead of a list of candidates.
  template <class Source, class... Rest>
  run_result run(const Source&, const run_options&, Rest&&...) const {
    if constexpr (detail::check_source<Source, dataset_type>())
      static_assert(detail::always_false<Source>,
                    "ouro::collapse_loop::run: the third argument must be callable as "
                    "hook(generation, std::span<const model_type* const>).");
    return {};
  }
  template <class Source, class... Rest>
  void start(Source&&, run_options, Rest&&...) const {
    if constexpr (detail::check_source<Source, dataset_type>())
      static_assert(detail::always_false<Source>,
                    "ouro::collapse_loop::start takes the real data and the run_options only.");
  }

  const Fitter& fitter() const noexcept { return fitter_; }
  const Sampler& sampler() const noexcept { return sampler_; }
  const Regime& regime() const noexcept { return regime_; }
  const std::tuple<Metrics...>& metrics() const noexcept { return metrics_; }

 private:
  Fitter fitter_;
  Sampler sampler_;
  Regime regime_;
  std::tuple<Metrics...> metrics_;
};

template <class F, class S, class R, class... X>
collapse_loop(F, S, R, X...) -> collapse_loop<F, S, R, X...>;

}  // namespace ouro::inline v0

#include "ouroboros/core/run.hpp"
