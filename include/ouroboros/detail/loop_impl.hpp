// Implementation of collapse_loop::run. All replicates advance generation by generation: inside a
// generation the replicates run in parallel, then the generation's summary is computed from the R
// values in replicate order. Memory is R model states plus (optionally) the kept values.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "ouroboros/checkpoint_store.hpp"
#include "ouroboros/detail/thread_pool.hpp"
#include "ouroboros/loop.hpp"

namespace ouro {

template <class Fitter, class Sampler, class Regime, class... Metrics>
std::vector<std::string> collapse_loop<Fitter, Sampler, Regime, Metrics...>::metric_names() const {
  std::vector<std::string> names;
  std::apply(
      [&](const auto&... m) {
        (
            [&] {
              for (auto& n : ouro::metric_names(m)) names.push_back(std::move(n));
            }(),
            ...);
      },
      metrics_);
  return names;
}

namespace detail {

template <class M, class D, class RegimeState>
struct replicate_state {
  std::optional<M> model;
  std::optional<M> first;
  D real{};
  RegimeState regime{};
  std::uint64_t key = 0;                 // replicate_key(seed, replicate)
  std::vector<event_log::entry> events;  // this generation's events
  std::exception_ptr error;
};

inline constexpr std::size_t auto_keep_limit = 1'000'000;

}  // namespace detail

template <class Fitter, class Sampler, class Regime, class... Metrics>
template <class Source, class Hook>
requires RealSourceFor<Source,
                       typename collapse_loop<Fitter, Sampler, Regime, Metrics...>::dataset_type> &&
    std::invocable<Hook&, std::size_t,
                   std::span<const typename collapse_loop<Fitter, Sampler, Regime,
                                                          Metrics...>::model_type* const>>
        run_result collapse_loop<Fitter, Sampler, Regime, Metrics...>::run(
            const Source& real, const run_options& opt, Hook&& models_hook) const {
  using M = model_type;
  using D = dataset_type;
  using rstate_t = typename Regime::template state<D>;
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  constexpr bool can_checkpoint = Checkpointable<M> && Checkpointable<rstate_t>;

  if (opt.generations == 0)
    throw config_error(fmt::format("run '{}': generations must be at least 1", opt.label));
  if (opt.replicates == 0)
    throw config_error(fmt::format("run '{}': replicates must be at least 1", opt.label));
  if (!opt.samples)
    throw config_error(fmt::format("run '{}': no sample-size schedule given", opt.label));
  if constexpr (requires { regime_.validate(); }) {
    try {
      regime_.validate();
    } catch (const std::exception& e) {
      throw config_error(fmt::format("run '{}': {}", opt.label, e.what()));
    }
  }
  checkpoint_store* const store = opt.checkpoint;
  if (store) {
    if constexpr (!can_checkpoint) {
      throw config_error(fmt::format(
          "run '{}': checkpoints need a Checkpointable model and regime state; specialise "
          "ouro::checkpoint_traits for them (docs/reliability.md)",
          opt.label));
    } else if (const run_result* done = store->completed(opt.label)) {
      if (done->replicates != opt.replicates || done->metric_names != metric_names())
        throw data_error(fmt::format(
            "{}: run '{}' was completed with other replicates or metrics than this run asks for",
            store->path().string(), opt.label));
      return *done;  // completed before the restart: the hook is not called again
    }
  }

  run_result res;
  res.label = opt.label;
  res.config = opt.config;
  res.replicates = opt.replicates;
  res.metric_names = metric_names();
  const std::size_t R = opt.replicates, G = opt.generations, K = res.metric_names.size();
  res.summary.resize(K);
  for (std::size_t k = 0; k < K; ++k) res.summary[k].name = res.metric_names[k];
  const bool keep = opt.keep == keep_values::all ||
                    (opt.keep == keep_values::automatic && G * R * K <= detail::auto_keep_limit);
  res.has_values = keep;
  if (keep) res.values.reserve(G * R * K);

  std::vector<detail::replicate_state<M, D, rstate_t>> reps(R);
  std::vector<double> values(R * K);
  std::vector<std::vector<double>> columns(K, std::vector<double>(R)), scratches(K);
  std::vector<summary_point> points(K);

  detail::thread_pool pool(opt.threads);
  // one replicate at a time (one replicate, or one thread) leaves BLAS its own threads
  detail::blas_single_thread_guard blas_guard(pool.size() > 1 && opt.replicates > 1);
  const bool warm = opt.warm_start && WarmStartFitterFor<Fitter, M>;

  // Records generation g (its values are in prev_values, its summaries in points) and calls the
  // observers; returns true when one of them asks to stop.
  std::vector<double> prev_values(R * K);
  std::vector<event> pending_events;
  std::atomic<bool> flagged{false};  // some replicate recorded an event or an error this generation
  bool stopped = false;
  auto finish_generation = [&](std::size_t g) {
    for (auto& e : pending_events) {
      if (res.events.size() < opt.max_events)
        res.events.push_back(std::move(e));
      else
        ++res.events_dropped;
    }
    pending_events.clear();
    for (std::size_t k = 0; k < K; ++k) res.summary[k].push(g, points[k]);
    if (keep) res.values.insert(res.values.end(), prev_values.begin(), prev_values.end());
    res.generations = g + 1;
    bool stop = false;
    if (!opt.observers.empty()) {
      const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
      const generation_report rep{res.label,
                                  g,
                                  G,
                                  R,
                                  res.metric_names,
                                  prev_values,
                                  points,
                                  elapsed,
                                  res.events.size() + res.events_dropped};
      for (const auto& ob : opt.observers)
        if (ob && ob(rep) == observer_action::stop) stop = true;
    }
    return stop;
  };

  // The loop state after generation g: the results up to g - 1, generation g's values and events
  // (summarised at the start of generation g + 1), and every replicate's models and regime
  // state. The real data are not saved: they are drawn again from their stream.
  [[maybe_unused]] constexpr std::string_view state_tag = "collapse-loop-state-1";
  auto save_state = [&](std::size_t g) {
    io::binary_writer w;
    if constexpr (can_checkpoint) {
      w.put_tag(state_tag);
      for (std::uint64_t v :
           {std::uint64_t(G), std::uint64_t(R), std::uint64_t(K), std::uint64_t(g)})
        w.put_u64(v);
      w.put_f64(std::chrono::duration<double>(clock::now() - t0).count());
      checkpoint_traits<run_result>::save(res, w);
      w.put_vector(prev_values);
      checkpoint_traits<std::vector<event>>::save(pending_events, w);
      for (const auto& st : reps) {
        for (const auto* m : {&st.model, &st.first}) {
          w.put<std::uint8_t>(m->has_value());
          if (*m) checkpoint_traits<M>::save(**m, w);
        }
        checkpoint_traits<rstate_t>::save(st.regime, w);
      }
    }
    return w.take();
  };
  // Restores the state saved by save_state(g) and returns g + 1, the generation to run next.
  auto restore_state = [&](std::string_view bytes) -> std::size_t {
    if constexpr (!can_checkpoint) {
      return 0;
    } else {
      io::binary_reader r(bytes, fmt::format("{} (run '{}')", store->path().string(), opt.label));
      r.expect_tag(state_tag);
      const std::size_t want[] = {G, R, K};
      const char* what[] = {"generations", "replicates", "metric values"};
      for (int i = 0; i < 3; ++i)
        if (const auto v = r.get_u64(what[i]); v != want[i])
          r.fail(
              fmt::format("the checkpoint has {} {}, this run asks for {}", v, what[i], want[i]));
      const std::size_t g = r.get_size("generation", G - 1);
      t0 -= std::chrono::duration_cast<clock::duration>(
          std::chrono::duration<double>(r.get_f64("elapsed seconds")));
      res = checkpoint_traits<run_result>::load(r);
      if (res.generations != g || res.metric_names != metric_names())
        r.fail("the saved results do not match the saved generation or the metrics");
      prev_values = r.get_vector<double>("values");
      if (prev_values.size() != R * K) r.fail("the saved values do not match the replicates");
      pending_events = checkpoint_traits<std::vector<event>>::load(r);
      for (auto& st : reps) {
        for (auto* m : {&st.model, &st.first})
          if (r.get<std::uint8_t>("model flag")) m->emplace(checkpoint_traits<M>::load(r));
        st.regime = checkpoint_traits<rstate_t>::load(r);
        if (!st.model || !st.first) r.fail("a replicate has no model");
      }
      r.expect_end();
      // the real data and the stream keys, exactly as generation 0 made them
      const std::size_t m0 = opt.samples(0);
      pool.parallel_for(R, [&](std::size_t i) {
        auto& st = reps[i];
        try {
          st.key = replicate_key(opt.seed, opt.first_replicate + i);
          default_rng real_rng =
              make_stream_from(stream_base_from(st.key, 0), std::uint64_t(stream_role::real));
          st.real = real.initial(m0, real_rng);
        } catch (...) {
          st.error = std::current_exception();
        }
      });
      for (auto& st : reps)
        if (st.error) std::rethrow_exception(st.error);
      return g + 1;
    }
  };
  std::size_t g_begin = 0;
  if (store)
    if (const auto state = store->progress(opt.label)) g_begin = restore_state(*state);

  std::vector<const M*> model_ptrs(R);
  auto call_hook = [&](std::size_t g) {
    for (std::size_t r = 0; r < R; ++r) model_ptrs[r] = reps[r].model ? &*reps[r].model : nullptr;
    models_hook(g, std::span<const M* const>(model_ptrs));
  };

  std::size_t last = G - 1;  // the last generation run
  for (std::size_t g = g_begin; g < G; ++g) {
    const std::size_t m_g = opt.samples(g);
    if (m_g == 0)
      throw config_error(fmt::format(
          "run '{}': the sample-size schedule returned 0 for generation {}; it must be >= 1",
          opt.label, g));

    auto step = [&](std::size_t r) {
      auto& st = reps[r];
      st.events.clear();
      try {
        event_log log;
        D data;
        if (g == 0) st.key = replicate_key(opt.seed, opt.first_replicate + r);
        const std::uint64_t base = stream_base_from(st.key, g);
        if (g == 0) {
          default_rng real_rng = make_stream_from(base, std::uint64_t(stream_role::real));
          st.real = real.initial(m_g, real_rng);
          data = st.real;
        } else {
          default_rng sample_rng = make_stream_from(base, std::uint64_t(stream_role::sample));
          lazy_stream real_rng(base, std::uint64_t(stream_role::real));
          lazy_stream regime_rng(base, std::uint64_t(stream_role::regime));
          const M& prev = *st.model;
          auto synth = [&](std::size_t n) -> D {
            return invoke_sampler(sampler_, prev, n, sample_rng, log);
          };
          auto fresh = [&](std::size_t n) -> D { return real.fresh(n, real_rng.get()); };
          regime_context<D, decltype(synth)&, decltype(fresh)&> ctx(g, m_g, st.real, synth, fresh,
                                                                    regime_rng, log);
          data = regime_.next(st.regime, ctx);
        }
        default_rng fit_rng = make_stream_from(base, std::uint64_t(stream_role::fit));
        if (dataset_size(data) == 0) {
          if (g == 0) throw config_error("the real data of generation 0 is empty");
          log.record("empty training set", "kept the previous generation's model");
        } else if (g > 0 && warm) {
          if constexpr (WarmStartFitterFor<Fitter, M>)
            st.model.emplace(invoke_warm_fit(fitter_, data, *st.model, fit_rng, log));
        } else {
          st.model.emplace(invoke_fit(fitter_, data, fit_rng, log));
        }
        if (g == 0) st.first = st.model;

        double* out = values.data() + r * K;
        std::size_t offset = 0, index = 0;
        std::apply(
            [&](const auto&... metric) {
              (
                  [&] {
                    lazy_stream mrng(base,
                                     static_cast<std::uint64_t>(stream_role::metric) + 16 * index);
                    const generation_context<M> ctx{
                        *st.model, *st.first, data, st.real, g, opt.first_replicate + r, mrng};
                    using X = std::remove_cvref_t<decltype(metric)>;
                    if constexpr (ScalarMetricFor<X, M>) {
                      out[offset++] = static_cast<double>(metric(ctx));
                    } else {
                      const std::vector<double> v = metric(ctx);
                      const std::size_t want = ouro::metric_names(metric).size();
                      if (v.size() != want)
                        throw run_error(
                            fmt::format("metric '{}' returned {} values but names() lists {}",
                                        ouro::metric_names(metric).front(), v.size(), want));
                      for (double x : v) out[offset++] = x;
                    }
                    ++index;
                  }(),
                  ...);
            },
            metrics_);
        st.events = log.entries();
        if (!st.events.empty()) flagged.store(true, std::memory_order_relaxed);
      } catch (...) {
        st.error = std::current_exception();
        flagged.store(true, std::memory_order_relaxed);
      }
    };
    // Generation g's replicate steps run together with the summaries of generation g - 1
    // (one task per metric, scheduled first), so the summaries cost no extra barrier. Each
    // summary still reduces its values in replicate order: the numbers do not depend on it.
    const std::size_t pending_k = g > 0 ? K : 0;
    pool.parallel_for(pending_k + R, [&](std::size_t i) {
      if (i < pending_k) {
        auto& col = columns[i];
        for (std::size_t r = 0; r < R; ++r) col[r] = prev_values[r * K + i];
        points[i] = summarize(col, scratches[i]);
      } else {
        step(i - pending_k);
      }
    });
    if (g > 0 && finish_generation(g - 1)) {
      stopped = true;
      break;  // an observer stopped the run: generation g is dropped
    }
    call_hook(g);

    pending_events.clear();
    if (flagged.exchange(false)) {  // some replicate recorded an event or failed
      for (std::size_t r = 0; r < R; ++r) {
        if (!reps[r].error) continue;
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(reps[r].error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        throw run_error(fmt::format("run '{}', replicate {}, generation {}: {}", opt.label,
                                    opt.first_replicate + r, g, what));
      }
      for (std::size_t r = 0; r < R; ++r)
        for (auto& e : reps[r].events)
          pending_events.push_back(
              {opt.label, opt.first_replicate + r, g, std::move(e.what), std::move(e.action)});
    }
    std::swap(values, prev_values);
    const bool interrupted =
        g + 1 < G && opt.interrupt && opt.interrupt->load(std::memory_order_relaxed);
    if (store && g + 1 < G && (interrupted || store->due(g + 1)))
      store->save_progress(opt.label, g + 1, save_state(g));
    if (interrupted) {
      last = g;
      res.interrupted = true;
      break;
    }
  }
  if (!stopped) {  // the last generation's summaries
    pool.parallel_for(K, [&](std::size_t k) {
      auto& col = columns[k];
      for (std::size_t r = 0; r < R; ++r) col[r] = prev_values[r * K + k];
      points[k] = summarize(col, scratches[k]);
    });
    finish_generation(last);
  }
  res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  if (store && !res.interrupted) store->complete(res);
  return res;
}

}  // namespace ouro
