// collapse_run: one run of a collapse_loop that its owner advances generation by generation.
// All replicates advance together: inside a generation the replicates run in parallel (through
// the run's executor), then the generation's summaries are computed from the R values in
// replicate order. collapse_loop::run is a short driver over it; a host framework that owns the
// clock drives it itself:
//
//   auto run = loop.start(ouro::from_truth(ouro::models::gaussian{0, 1}), options);
//   while (!run.done()) {
//     run.advance();                          // one generation, every replicate
//     host.inspect(run.models(), run.values(), run.summary());
//   }
//   ouro::run_result result = std::move(run).finish();
//
// Memory is R model states plus (optionally) the kept values. See docs/concepts.md#the-run-object.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/loop.hpp"

namespace ouro::inline v0 {

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

/// A real-data source used in place, for collapse_loop::run (which does not copy it).
template <class S>
struct source_ref {
  const S* source;
  template <class G>
  decltype(auto) initial(std::size_t n, G& g) const {
    return source->initial(n, g);
  }
  template <class G>
  decltype(auto) fresh(std::size_t n, G& g) const {
    return source->fresh(n, g);
  }
};

/// FNV-1a, 64 bits: the checksum of a saved run state.
inline std::uint64_t fnv1a(std::string_view b) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : b) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

/// "it had 'X', this run has 'Y'" for the first line that differs.
inline std::string first_difference(std::string_view was, std::string_view now) {
  auto next_line = [](std::string_view& s) {
    const auto e = s.find('\n');
    const std::string_view l = s.substr(0, e);
    s = e == std::string_view::npos ? std::string_view{} : s.substr(e + 1);
    return l;
  };
  while (!was.empty() || !now.empty()) {
    const auto a = next_line(was), b = next_line(now);
    if (a != b) return fmt::format("it had '{}', this run has '{}'", a, b);
  }
  return "they differ";
}

/// The checks every run makes of its options: at least one generation and one replicate, and a
/// sample-size schedule.
inline void check_run_options(const run_options& opt) {
  if (opt.generations == 0)
    throw config_error(fmt::format("run '{}': generations must be at least 1", opt.label));
  if (opt.replicates == 0)
    throw config_error(fmt::format("run '{}': replicates must be at least 1", opt.label));
  if (!opt.samples)
    throw config_error(fmt::format("run '{}': no sample-size schedule given", opt.label));
}

/// A hash of the first 4096 sample sizes of the schedule, for a saved state's settings.
inline std::uint64_t schedule_hash(const run_options& opt) {
  std::string samples;
  const std::size_t shown = std::min<std::size_t>(opt.generations, 4096);
  for (std::size_t g = 0; g < shown; ++g) samples += fmt::format("{},", opt.samples(g));
  return fnv1a(samples);
}

/// A saved run state with its checksum appended.
inline std::string sealed(std::string bytes) {
  io::binary_writer sum;
  sum.put_u64(fnv1a(bytes));
  return bytes + sum.take();
}
/// The state inside `bytes`, or data_error naming `name` when the checksum does not match.
inline std::string_view unsealed(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 8 ||
      io::binary_reader(bytes.substr(bytes.size() - 8), name).get_u64("checksum") !=
          fnv1a(bytes.substr(0, bytes.size() - 8)))
    throw data_error(fmt::format(
        "{}: the checksum does not match: the saved run state is damaged or is not one", name));
  return bytes.substr(0, bytes.size() - 8);
}

/// Shows generation g of a run (its values, [replicate][metric], and summaries) to the run's
/// observers; whether one of them asked to stop.
inline bool notify_observers(const run_options& opt, const run_result& res, std::size_t g,
                             std::size_t G, std::size_t R, std::span<const double> values,
                             std::span<const summary_point> points,
                             std::chrono::steady_clock::time_point t0) {
  if (opt.observers.empty()) return false;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const generation_report rep{res.label,
                              g,
                              G,
                              R,
                              res.metric_names,
                              values,
                              points,
                              elapsed,
                              res.events.size() + res.events_dropped};
  bool stop = false;
  for (const auto& ob : opt.observers)
    if (ob && ob(rep) == observer_action::stop) stop = true;
  return stop;
}

inline std::string exception_message(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
  }
  return "unknown exception";
}

}  // namespace detail

/// One run of a collapse_loop, advanced by its owner (see the file comment). Create it with
/// collapse_loop::start. The loop must outlive it. Not thread-safe: one thread drives it (the
/// work of a generation is spread over the executor's threads inside advance()).
template <class Loop, class Source>
class collapse_run {
 public:
  using model_type = typename Loop::model_type;
  using dataset_type = typename Loop::dataset_type;

  /// Checks the options (config_error), takes the executor, and, when options.checkpoint holds
  /// this run's label, continues from there: a completed run is done at once (finish() returns
  /// the stored results), a run in progress continues at its saved generation.
  collapse_run(const Loop& loop, Source source, run_options options);

  /// Whether no generation is left to run: all were run, an observer stopped the run, the
  /// interrupt flag stopped it, or the checkpoint had it completed.
  bool done() const noexcept {
    return from_store_ || stopped_ || interrupted_ || finished_ || next_ >= G_;
  }
  /// Generations run so far (the next one to run).
  std::size_t generations_done() const noexcept { return next_; }
  /// Generations asked for.
  std::size_t generations() const noexcept { return G_; }
  std::size_t replicates() const noexcept { return R_; }
  /// Whether an observer stopped the run (the generation during which it did is dropped).
  bool stopped() const noexcept { return stopped_; }
  /// Whether the interrupt flag stopped the run.
  bool interrupted() const noexcept { return interrupted_; }
  const std::vector<std::string>& metric_names() const noexcept { return res_.metric_names; }
  const run_options& options() const noexcept { return opt_; }

  /// Runs the next generation for every replicate. Generation g's replicates run together with
  /// the summaries of generation g - 1 when summary() has not computed them yet; then generation
  /// g - 1 is recorded in the results and the observers see it. When options.checkpoint has a
  /// save due after generation g, it is made at the start of the next advance() (or in finish()),
  /// so that what the owner does with generation g (snapshots kept in a checkpoint part) is in
  /// it. Throws run_error when a replicate fails (the run cannot continue: a later advance() or
  /// finish() throws config_error saying so) and config_error when done().
  void advance();

  /// Every replicate's model after the last generation run (models()[r]: replicate r).
  std::span<const model_type* const> models() const noexcept { return model_ptrs_; }
  /// The last generation's metric values, [replicate][metric] in replicate order.
  std::span<const double> values() const noexcept { return prev_values_; }
  /// The last generation's summaries, one per metric name (computed on the first call).
  std::span<const summary_point> summary();
  /// The results recorded so far: every generation before the last one run (the last one is
  /// recorded by the next advance() or by finish()).
  const run_result& results() const noexcept { return res_; }

  /// The whole state of the run after the last generation (the models, regime states, results
  /// and pending events of every replicate; the real data are drawn again from their streams).
  /// Needs a Checkpointable model and regime state.
  std::string save() const;
  /// Continues from a state that save() returned for a run of the same loop and options;
  /// `name` names its source in errors (ouro::data_error when the bytes do not fit).
  void restore(std::string_view state, const std::string& name = "the saved run state");

  /// Records the last generation and returns the results; the run is then spent. A run the
  /// checkpoint had completed returns its stored results. Completes the run in the checkpoint
  /// unless it was interrupted.
  run_result finish() &&;

 private:
  using M = model_type;
  using D = dataset_type;
  using rstate_t = typename Loop::regime_type::template state<D>;
  using clock = std::chrono::steady_clock;
  static constexpr bool can_checkpoint = Checkpointable<M> && Checkpointable<rstate_t>;
  static constexpr std::string_view state_tag = "collapse-loop-state-2";

  void validate() const;
  void advance_once();
  void refuse_if_failed() const;
  void resume_from_store();
  void step(std::size_t r, std::size_t g, std::size_t m_g);
  D training_set(detail::replicate_state<M, D, rstate_t>& st, std::size_t g, std::size_t m_g,
                 std::uint64_t base, event_log& log) const;
  void fit(detail::replicate_state<M, D, rstate_t>& st, const D& data, std::size_t g,
           std::uint64_t base, event_log& log) const;
  void measure(const detail::replicate_state<M, D, rstate_t>& st, const D& data, std::size_t r,
               std::size_t g, std::uint64_t base, double* out) const;
  void summarise_metric(std::size_t k);
  bool record(std::size_t g);
  void collect(std::size_t g);
  void redraw_real_data();
  void point_at_models();
  void save_if_due();
  std::string settings() const;

  const Loop* loop_;
  Source source_;
  run_options opt_;
  std::unique_ptr<pool_executor> own_pool_;
  executor* exec_ = nullptr;
  std::size_t R_ = 0, G_ = 0, K_ = 0;
  bool keep_ = false, warm_ = false;
  run_result res_;
  std::vector<detail::replicate_state<M, D, rstate_t>> reps_;
  std::vector<double> values_, prev_values_;  // the generation being run, the last one run
  std::vector<std::vector<double>> columns_, scratches_;
  std::vector<summary_point> points_;
  std::vector<event> pending_events_;  // the last generation's events, recorded with it
  std::vector<const M*> model_ptrs_;
  std::size_t next_ = 0;
  bool summarised_ = false;  // points_ hold the summaries of generation next_ - 1
  bool save_due_ = false;    // a checkpoint of the state after generation next_ - 1 is due
  bool stopped_ = false, interrupted_ = false, from_store_ = false, finished_ = false;
  bool failed_ = false;  // an advance() threw: the results would be inconsistent
  clock::time_point t0_ = clock::now();
};

template <class Loop, class Source>
collapse_run<Loop, Source>::collapse_run(const Loop& loop, Source source, run_options options)
    : loop_(&loop), source_(std::move(source)), opt_(std::move(options)) {
  validate();
  R_ = opt_.replicates;
  G_ = opt_.generations;
  res_.label = opt_.label;
  res_.config = opt_.config;
  res_.replicates = R_;
  res_.seed = opt_.seed;
  res_.started = utc_now_iso8601();
  res_.metric_names = loop.metric_names();
  K_ = res_.metric_names.size();
  if (opt_.checkpoint) {
    if (const run_result* done = opt_.checkpoint->completed(opt_.label)) {
      if (done->replicates != R_ || done->metric_names != res_.metric_names)
        throw data_error(fmt::format(
            "{}: run '{}' was completed with other replicates or metrics than this run asks for",
            opt_.checkpoint->name(), opt_.label));
      res_ = *done;
      from_store_ = true;
      return;
    }
  }
  res_.summary.resize(K_);
  for (std::size_t k = 0; k < K_; ++k) res_.summary[k].name = res_.metric_names[k];
  keep_ = opt_.keep == keep_values::all ||
          (opt_.keep == keep_values::automatic && G_ * R_ * K_ <= detail::auto_keep_limit);
  res_.has_values = keep_;
  if (keep_) res_.values.reserve(G_ * R_ * K_);
  reps_.resize(R_);
  values_.assign(R_ * K_, 0.0);
  prev_values_.assign(R_ * K_, 0.0);
  columns_.assign(K_, std::vector<double>(R_));
  scratches_.resize(K_);
  points_.resize(K_);
  model_ptrs_.assign(R_, nullptr);
  warm_ = opt_.warm_start && WarmStartFitterFor<typename Loop::fitter_type, M>;
  if (opt_.executor) {
    exec_ = opt_.executor;
  } else {
    own_pool_ = std::make_unique<pool_executor>(opt_.threads);
    exec_ = own_pool_.get();
  }
  res_.threads = exec_->concurrency();
  if (opt_.checkpoint) resume_from_store();
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::validate() const {
  detail::check_run_options(opt_);
  if constexpr (requires { loop_->regime().validate(); }) {
    try {
      loop_->regime().validate();
    } catch (const std::exception& e) {
      throw config_error(fmt::format("run '{}': {}", opt_.label, e.what()));
    }
  }
  if (opt_.checkpoint && !can_checkpoint)
    throw config_error(fmt::format(
        "run '{}': checkpoints need a Checkpointable model and regime state; specialise "
        "ouro::checkpoint_traits for them (docs/reliability.md)",
        opt_.label));
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::resume_from_store() {
  if (const auto state = opt_.checkpoint->progress(opt_.label))
    restore(*state, fmt::format("{} (run '{}')", opt_.checkpoint->name(), opt_.label));
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::advance() {
  refuse_if_failed();
  if (done())
    throw config_error(fmt::format("run '{}': advance() on a run that is done", opt_.label));
  try {
    advance_once();
  } catch (...) {
    failed_ = true;  // a replicate failed or a checkpoint could not be saved: the run ends here
    throw;
  }
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::refuse_if_failed() const {
  if (failed_)
    throw config_error(fmt::format(
        "run '{}': an earlier advance() failed at generation {}; the run cannot continue (start "
        "another, or resume it from its checkpoint)",
        opt_.label, next_));
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::advance_once() {
  save_if_due();
  const std::size_t g = next_, m_g = opt_.samples(g);
  if (m_g == 0)
    throw config_error(fmt::format(
        "run '{}': the sample-size schedule returned 0 for generation {}; it must be >= 1",
        opt_.label, g));
  {
    // one replicate at a time (one replicate, or one thread) leaves BLAS its own threads
    detail::blas_single_thread_guard blas_guard(exec_->concurrency() > 1 && R_ > 1);
    // the summaries of generation g - 1 (one task per metric, scheduled first) run together with
    // generation g's replicates, so they cost no extra barrier; each still reduces its values in
    // replicate order
    const std::size_t pending_k = g > 0 && !summarised_ ? K_ : 0;
    exec_->parallel_for(pending_k + R_, [&](std::size_t i) {
      if (i < pending_k)
        summarise_metric(i);
      else
        step(i - pending_k, g, m_g);
    });
  }
  summarised_ = g > 0;
  if (g > 0 && record(g - 1)) {
    stopped_ = true;  // an observer stopped the run: generation g is dropped
    return;
  }
  collect(g);
  std::swap(values_, prev_values_);
  next_ = g + 1;
  summarised_ = false;
  point_at_models();
  interrupted_ = next_ < G_ && opt_.interrupt && opt_.interrupt->load(std::memory_order_relaxed);
  // saved when the owner is done with this generation (its models hook has run): at the start
  // of the next advance() or in finish()
  save_due_ = opt_.checkpoint && next_ < G_ && (interrupted_ || opt_.checkpoint->due(next_));
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::save_if_due() {
  if (!save_due_) return;
  save_due_ = false;
  if constexpr (can_checkpoint) opt_.checkpoint->save_progress(opt_.label, next_, save());
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::step(std::size_t r, std::size_t g, std::size_t m_g) {
  auto& st = reps_[r];
  st.events.clear();
  try {
    event_log log;
    if (g == 0) st.key = replicate_key(opt_.seed, opt_.first_replicate + r);
    const std::uint64_t base = stream_base_from(st.key, g);
    const D data = training_set(st, g, m_g, base, log);
    fit(st, data, g, base, log);
    if (g == 0) st.first = st.model;
    measure(st, data, r, g, base, values_.data() + r * K_);
    st.events = log.entries();
  } catch (...) {
    st.error = std::current_exception();
  }
}

template <class Loop, class Source>
auto collapse_run<Loop, Source>::training_set(detail::replicate_state<M, D, rstate_t>& st,
                                              std::size_t g, std::size_t m_g, std::uint64_t base,
                                              event_log& log) const -> D {
  if (g == 0) {
    default_rng real_rng = make_stream_from(base, std::uint64_t(stream_role::real));
    st.real = source_.initial(m_g, real_rng);
    return st.real;
  }
  default_rng sample_rng = make_stream_from(base, std::uint64_t(stream_role::sample));
  lazy_stream real_rng(base, std::uint64_t(stream_role::real));
  lazy_stream regime_rng(base, std::uint64_t(stream_role::regime));
  const M& prev = *st.model;
  auto synth = [&](std::size_t n) -> D {
    return invoke_sampler(loop_->sampler(), prev, n, sample_rng, log, st.real);
  };
  auto fresh = [&](std::size_t n) -> D { return source_.fresh(n, real_rng.get()); };
  regime_context<D, decltype(synth)&, decltype(fresh)&> ctx(g, m_g, st.real, synth, fresh,
                                                            regime_rng, log);
  return loop_->regime().next(st.regime, ctx);
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::fit(detail::replicate_state<M, D, rstate_t>& st, const D& data,
                                     std::size_t g, std::uint64_t base, event_log& log) const {
  default_rng fit_rng = make_stream_from(base, std::uint64_t(stream_role::fit));
  if (dataset_size(data) == 0) {
    if (g == 0) throw config_error("the real data of generation 0 is empty");
    log.record("empty training set", "kept the previous generation's model");
  } else if (g > 0 && warm_) {
    if constexpr (WarmStartFitterFor<typename Loop::fitter_type, M>)
      st.model.emplace(invoke_warm_fit(loop_->fitter(), data, *st.model, fit_rng, log));
  } else {
    st.model.emplace(invoke_fit(loop_->fitter(), data, fit_rng, log));
  }
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::measure(const detail::replicate_state<M, D, rstate_t>& st,
                                         const D& data, std::size_t r, std::size_t g,
                                         std::uint64_t base, double* out) const {
  std::size_t offset = 0, index = 0;
  auto one = [&](const auto& metric) {
    lazy_stream mrng(base, static_cast<std::uint64_t>(stream_role::metric) + 16 * index++);
    const generation_context<M> ctx{
        *st.model, *st.first, data, st.real, g, opt_.first_replicate + r, mrng};
    using X = std::remove_cvref_t<decltype(metric)>;
    if constexpr (ScalarMetricFor<X, M>) {
      out[offset++] = static_cast<double>(metric(ctx));
    } else {
      const std::vector<double> v = metric(ctx);
      const std::size_t want = ouro::metric_names(metric).size();
      if (v.size() != want)
        throw run_error(fmt::format("metric '{}' returned {} values but names() lists {}",
                                    ouro::metric_names(metric).front(), v.size(), want));
      for (double x : v) out[offset++] = x;
    }
  };
  std::apply([&](const auto&... metric) { (one(metric), ...); }, loop_->metrics());
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::summarise_metric(std::size_t k) {
  auto& col = columns_[k];
  for (std::size_t r = 0; r < R_; ++r) col[r] = prev_values_[r * K_ + k];
  points_[k] = summarize(col, scratches_[k]);
}

template <class Loop, class Source>
std::span<const summary_point> collapse_run<Loop, Source>::summary() {
  if (next_ == 0 || from_store_)
    throw config_error(fmt::format("run '{}': no generation has run yet", opt_.label));
  if (!summarised_) {
    exec_->parallel_for(K_, [&](std::size_t k) { summarise_metric(k); });
    summarised_ = true;
  }
  return points_;
}

// Records generation g (its values are in prev_values_, its summaries in points_) and calls the
// observers; returns true when one of them asks to stop.
template <class Loop, class Source>
bool collapse_run<Loop, Source>::record(std::size_t g) {
  for (auto& e : pending_events_) {
    if (res_.events.size() < opt_.max_events)
      res_.events.push_back(std::move(e));
    else
      ++res_.events_dropped;
  }
  pending_events_.clear();
  for (std::size_t k = 0; k < K_; ++k) res_.summary[k].push(g, points_[k]);
  if (keep_) res_.values.insert(res_.values.end(), prev_values_.begin(), prev_values_.end());
  res_.generations = g + 1;
  return detail::notify_observers(opt_, res_, g, G_, R_, prev_values_, points_, t0_);
}

// Generation g's failures (the first one is thrown) and events (kept until g is recorded).
template <class Loop, class Source>
void collapse_run<Loop, Source>::collect(std::size_t g) {
  for (std::size_t r = 0; r < R_; ++r)
    if (reps_[r].error)
      throw run_error(fmt::format("run '{}', replicate {}, generation {}: {}", opt_.label,
                                  opt_.first_replicate + r, g,
                                  detail::exception_message(reps_[r].error)));
  for (std::size_t r = 0; r < R_; ++r)
    for (auto& e : reps_[r].events)
      pending_events_.push_back(
          {opt_.label, opt_.first_replicate + r, g, std::move(e.what), std::move(e.action)});
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::point_at_models() {
  for (std::size_t r = 0; r < R_; ++r) model_ptrs_[r] = reps_[r].model ? &*reps_[r].model : nullptr;
}

// The loop state after generation g = next_ - 1: the results up to g - 1, generation g's values
// and events (recorded later), and every replicate's models and regime state.
template <class Loop, class Source>
std::string collapse_run<Loop, Source>::save() const {
  if constexpr (!can_checkpoint) {
    throw config_error(fmt::format(
        "run '{}': saving needs a Checkpointable model and regime state; specialise "
        "ouro::checkpoint_traits for the model type (docs/reliability.md#checkpoint-and-resume)",
        opt_.label));
  } else {
    if (next_ == 0 || from_store_ || finished_)
      throw config_error(fmt::format("run '{}': nothing to save", opt_.label));
    io::binary_writer w;
    w.put_tag(state_tag);
    w.put_string(settings());
    for (std::uint64_t v :
         {std::uint64_t(G_), std::uint64_t(R_), std::uint64_t(K_), std::uint64_t(next_ - 1)})
      w.put_u64(v);
    w.put_f64(std::chrono::duration<double>(clock::now() - t0_).count());
    checkpoint_traits<run_result>::save(res_, w);
    w.put_vector(prev_values_);
    checkpoint_traits<std::vector<event>>::save(pending_events_, w);
    for (const auto& st : reps_) {
      for (const auto* m : {&st.model, &st.first}) {
        w.put<std::uint8_t>(m->has_value());
        if (*m) checkpoint_traits<M>::save(**m, w);
      }
      checkpoint_traits<rstate_t>::save(st.regime, w);
    }
    return detail::sealed(w.take());
  }
}

// What the saved state must agree with, one setting per line: the options that change the
// numbers (the loop and the real data are the caller's to keep the same).
template <class Loop, class Source>
std::string collapse_run<Loop, Source>::settings() const {
  std::string metrics;
  for (const auto& n : res_.metric_names) metrics += n + ",";
  return fmt::format(
      "label {}\nseed {}\nfirst_replicate {}\nwarm_start {}\nmetrics {}\nsamples {:x}\n",
      opt_.label, opt_.seed, opt_.first_replicate, opt_.warm_start, metrics,
      detail::schedule_hash(opt_));
}

template <class Loop, class Source>
void collapse_run<Loop, Source>::restore(std::string_view bytes, const std::string& name) {
  if constexpr (!can_checkpoint) {
    throw config_error(fmt::format(
        "run '{}': restoring needs a Checkpointable model and regime state", opt_.label));
  } else {
    if (from_store_ || finished_)
      throw config_error(fmt::format("run '{}': the run is completed", opt_.label));
    if (next_ > 0)
      throw config_error(
          fmt::format("run '{}': restore() into a run that has already advanced; restore into a "
                      "new run from loop.start() with the same real data and options",
                      opt_.label));
    io::binary_reader r(detail::unsealed(bytes, name), name);
    r.expect_tag(state_tag);
    if (const std::string was = r.get_string("settings"), now = settings(); was != now)
      r.fail(
          fmt::format("the state was saved by a run with other options ({}); start this run "
                      "with the options of the saved one",
                      detail::first_difference(was, now)));
    const std::size_t want[] = {G_, R_, K_};
    const char* what[] = {"generations", "replicates", "metric values"};
    for (int i = 0; i < 3; ++i)
      if (const auto v = r.get_u64(what[i]); v != want[i])
        r.fail(fmt::format("the checkpoint has {} {}, this run asks for {}", v, what[i], want[i]));
    const std::size_t g = r.get_size("generation", G_ - 1);
    const double elapsed = r.get_f64("elapsed seconds");
    run_result res = checkpoint_traits<run_result>::load(r);
    if (res.generations != g || res.metric_names != res_.metric_names)
      r.fail("the saved results do not match the saved generation or the metrics");
    auto values = r.get_vector<double>("values");
    if (values.size() != R_ * K_) r.fail("the saved values do not match the replicates");
    auto events = checkpoint_traits<std::vector<event>>::load(r);
    std::vector<detail::replicate_state<M, D, rstate_t>> reps(R_);
    for (auto& st : reps) {
      for (auto* m : {&st.model, &st.first})
        if (r.get<std::uint8_t>("model flag")) m->emplace(checkpoint_traits<M>::load(r));
      st.regime = checkpoint_traits<rstate_t>::load(r);
      if (!st.model || !st.first) r.fail("a replicate has no model");
    }
    r.expect_end();
    t0_ = clock::now() -
          std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(elapsed));
    res_ = std::move(res);
    res_.threads = exec_->concurrency();
    prev_values_ = std::move(values);
    pending_events_ = std::move(events);
    reps_ = std::move(reps);
    next_ = g + 1;
    summarised_ = stopped_ = interrupted_ = save_due_ = false;
    redraw_real_data();
    point_at_models();
  }
}

// The real data and the stream keys, exactly as generation 0 made them.
template <class Loop, class Source>
void collapse_run<Loop, Source>::redraw_real_data() {
  const std::size_t m0 = opt_.samples(0);
  exec_->parallel_for(R_, [&](std::size_t i) {
    auto& st = reps_[i];
    try {
      st.key = replicate_key(opt_.seed, opt_.first_replicate + i);
      default_rng real_rng =
          make_stream_from(stream_base_from(st.key, 0), std::uint64_t(stream_role::real));
      st.real = source_.initial(m0, real_rng);
    } catch (...) {
      st.error = std::current_exception();
    }
  });
  for (auto& st : reps_)
    if (st.error) std::rethrow_exception(st.error);
}

template <class Loop, class Source>
run_result collapse_run<Loop, Source>::finish() && {
  if (finished_) throw config_error(fmt::format("run '{}': finish() called twice", opt_.label));
  refuse_if_failed();
  save_if_due();
  finished_ = true;
  if (from_store_) return std::move(res_);
  if (!stopped_ && next_ > 0) {  // the last generation
    summary();
    record(next_ - 1);
  }
  res_.interrupted = interrupted_;
  res_.seconds = std::chrono::duration<double>(clock::now() - t0_).count();
  if (opt_.checkpoint && !interrupted_) opt_.checkpoint->complete(res_);
  return std::move(res_);
}

template <class Fitter, class Sampler, class Regime, class... Metrics>
template <class Source>
requires RealSourceFor < std::decay_t<Source>,
typename collapse_loop<Fitter, Sampler, Regime, Metrics...>::dataset_type >
    collapse_run<collapse_loop<Fitter, Sampler, Regime, Metrics...>, std::decay_t<Source>>
    collapse_loop<Fitter, Sampler, Regime, Metrics...>::start(Source&& real,
                                                              run_options options) const {
  return collapse_run<collapse_loop, std::decay_t<Source>>(*this, std::forward<Source>(real),
                                                           std::move(options));
}

template <class Fitter, class Sampler, class Regime, class... Metrics>
template <class Source, class Hook>
requires RealSourceFor<Source,
                       typename collapse_loop<Fitter, Sampler, Regime, Metrics...>::dataset_type> &&
    std::invocable<Hook&, std::size_t,
                   std::span<const typename collapse_loop<Fitter, Sampler, Regime,
                                                          Metrics...>::model_type* const>>
        run_result collapse_loop<Fitter, Sampler, Regime, Metrics...>::run(
            const Source& real, const run_options& opt, Hook&& models_hook) const {
  collapse_run<collapse_loop, detail::source_ref<Source>> run(*this, {&real}, opt);
  while (!run.done()) {
    run.advance();
    if (!run.stopped()) models_hook(run.generations_done() - 1, run.models());
  }
  return std::move(run).finish();
}

}  // namespace ouro::inline v0
