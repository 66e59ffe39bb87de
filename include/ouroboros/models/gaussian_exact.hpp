// The exact fast path of the 1-D Gaussian: a training set of M draws enters the fit only through
// its count, mean and sum of squared deviations, and for M draws from N(mu, sigma^2) these are
// exactly distributed as
//   mean = mu + sigma Z / sqrt(M),   Z ~ N(0, 1),
//   ssd  = sigma^2 C,                C ~ chi-squared with M - 1 degrees of freedom,
// independently (Cochran's theorem). Drawing these two numbers instead of M points gives the same
// distribution of every fitted model at a cost independent of M.
//
// - gaussian_stats: the dataset (count, mean, sum of squared deviations). Pooling two of them is
//   exact (Chan, Golub & LeVeque), so the accumulate regime and mixing fresh real data work;
//   taking a subset of samples is not possible, so accumulate_subsample and mix with a fixed real
//   subset are refused with a config_error.
// - exact_gaussian: the model, sampled as sufficient statistics; exact_gaussian_fitter: the same
//   estimators, floor and events as gaussian_fitter. They plug into collapse_loop like any model.
// - run_exact_gaussian: the same run, batched over replicates for speed (tens of times faster
//   than the sampled path at M = 100), with the metrics of gaussian_collapse; its numbers equal
//   those of collapse_loop over exact_gaussian to the last bit.
// See docs/theory.md#the-exact-path.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/executor.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/core/run.hpp"
#include "ouroboros/core/run_store.hpp"
#include "ouroboros/core/stats.hpp"
#include "ouroboros/models/gaussian.hpp"

namespace ouro::inline v0::models {

/// A training set of 1-D points kept as its sufficient statistics: the number of points, their
/// mean and the sum of their squared deviations from it.
struct gaussian_stats {
  std::size_t count = 0;
  double mean = 0;
  double ssd = 0;
  friend bool operator==(const gaussian_stats&, const gaussian_stats&) = default;

  /// The statistics of a set of points (in order; the mean by the shifted sums of
  /// gaussian_fitter).
  static gaussian_stats of(std::span<const double> x) {
    if (x.empty()) return {};
    const auto [s1, s2] = detail::shifted_sum8(x, x[0]);
    const double n = static_cast<double>(x.size());
    return {x.size(), x[0] + s1 / n, std::max(s2 - s1 * (s1 / n), 0.0)};
  }
  /// The statistics of the union of a and b (Chan, Golub & LeVeque 1983).
  static gaussian_stats pooled(const gaussian_stats& a, const gaussian_stats& b) noexcept {
    if (b.count == 0) return a;
    if (a.count == 0) return b;
    const double na = static_cast<double>(a.count), nb = static_cast<double>(b.count);
    const double n = na + nb, delta = b.mean - a.mean;
    return {a.count + b.count, a.mean + delta * (nb / n),
            a.ssd + b.ssd + delta * delta * (na * nb / n)};
  }
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
namespace detail {
template <class>
inline constexpr bool exact_no_samples = false;
}
/// Pooling is exact; a subset of samples cannot be taken from statistics (config_error), and
/// single samples cannot be read (a compile-time error naming the reason).
template <>
struct dataset_traits<models::gaussian_stats> {
  using dataset = models::gaussian_stats;
  static std::size_t size(const dataset& d) noexcept { return d.count; }
  static dataset concat(const dataset& a, const dataset& b) noexcept {
    return dataset::pooled(a, b);
  }
  static dataset subset(const dataset&, std::span<const std::size_t>) {
    throw config_error(
        "the exact Gaussian path keeps only each training set's count, mean and sum of squared "
        "deviations, so it cannot take a subset of samples: the regimes accumulate_subsample and "
        "mix with a fixed real subset have no exact form; use the sampled path (models::gaussian)");
  }
  static void append(dataset& a, const dataset& b) noexcept { a = dataset::pooled(a, b); }
  template <class I>
  static double sample(const dataset&, I) {
    static_assert(detail::exact_no_samples<I>,
                  "ouro::models::gaussian_stats holds sufficient statistics, not samples: a "
                  "sampler or metric that reads single samples needs the sampled path "
                  "(models::gaussian).");
    return 0;
  }
};
}  // namespace ouro::inline v0

namespace ouro::inline v0::models {

namespace detail {
/// What drawing the statistics of n points needs besides the model: sqrt(n), the degrees of
/// freedom n - 1 and, for two or more, the gamma constants of chi-squared = 2 Gamma((n - 1) / 2).
struct stats_draw {
  std::size_t n;
  double sqrt_n, df;
  ouro::detail::gamma_constants k;
  explicit stats_draw(std::size_t count)
      : n(count),
        sqrt_n(std::sqrt(static_cast<double>(count))),
        df(static_cast<double>(count) - 1.0),
        k(df >= 2 ? 0.5 * df : 1.0) {}
  /// The statistics of n draws from N(mean, sd^2) (variance = sd^2): Z for the mean, then the
  /// chi-squared variate (none for n <= 1).
  template <Rng G>
  gaussian_stats operator()(G& g, double mean, double sd, double variance) const {
    if (n == 0) return {};
    const double z = standard_normal(g);
    const double m = mean + sd * (z / sqrt_n);
    double c = 0;
    if (df == 1) {
      const double y = standard_normal(g);
      c = y * y;
    } else if (df >= 2) {
      c = 2.0 * ouro::detail::gamma_mt(g, k.d, k.c);
    }
    return {n, m, variance * c};
  }
};
}  // namespace detail

/// N(mean, variance) whose sample(n, rng) returns the statistics of n draws (gaussian_stats) at a
/// cost independent of n: first Z for the mean, then the chi-squared variate (none for n <= 1).
class exact_gaussian {
 public:
  using dataset_type = gaussian_stats;

  exact_gaussian() = default;
  exact_gaussian(double mean, double variance) : g_(mean, variance) {}
  explicit exact_gaussian(const gaussian& g) : g_(g) {}

  double mean() const noexcept { return g_.mean(); }
  double variance() const noexcept { return g_.variance(); }
  double sd() const noexcept { return g_.sd(); }
  /// The same distribution as a gaussian (sampled point by point).
  const gaussian& distribution() const noexcept { return g_; }

  template <Rng G>
  gaussian_stats sample(std::size_t n, G& g) const {
    return detail::stats_draw(n)(g, g_.mean(), g_.sd(), g_.variance());
  }

  /// The log-likelihood of the points the statistics summarise:
  /// -(n log(2 pi sigma^2) + ssd / sigma^2 + n (mean - mu)^2 / sigma^2) / 2.
  double log_likelihood(const gaussian_stats& s) const noexcept {
    if (s.count == 0) return 0.0;
    const double n = static_cast<double>(s.count), d = s.mean - g_.mean(), v = g_.variance();
    if (v == 0)
      return s.ssd == 0 && d == 0 ? std::numeric_limits<double>::infinity()
                                  : -std::numeric_limits<double>::infinity();
    return -0.5 * (n * std::log(2 * std::numbers::pi * v) + (s.ssd + n * d * d) / v);
  }

  double cdf(double x) const noexcept { return g_.cdf(x); }

  friend bool operator==(const exact_gaussian&, const exact_gaussian&) = default;

 private:
  gaussian g_;
};

/// gaussian_fitter on statistics: the mean, and the sum of squared deviations divided by
/// Estimator::divisor(count), with the same variance floor and events.
template <class Estimator = unbiased>
struct exact_gaussian_fitter {
  using model_type = exact_gaussian;
  using estimator = Estimator;

  std::optional<double> variance_floor{};

  template <Rng G>
  exact_gaussian fit(const gaussian_stats& s, G&, event_log& log) const {
    return fit(s, log);
  }
  exact_gaussian fit(const gaussian_stats& s, event_log& log) const {
    if (s.count == 0)
      throw std::invalid_argument(
          "ouro::models::exact_gaussian_fitter: cannot fit an empty dataset");
    if (!std::isfinite(s.mean) || std::isnan(s.ssd) || s.ssd < 0)
      throw std::invalid_argument(fmt::format(
          "ouro::models::exact_gaussian_fitter: the statistics are not finite (mean {}, sum of "
          "squared deviations {})",
          s.mean, s.ssd));
    double div = Estimator::divisor(s.count);
    if (div <= 0) {
      log.record(
          fmt::format("{} sample(s): the {} variance is undefined", s.count, Estimator::name),
          "used the maximum-likelihood variance (divisor M)");
      div = static_cast<double>(s.count);
    }
    double var = s.ssd / div;
    if (!std::isfinite(var)) {
      log.record(fmt::format("the variance overflows double precision (sum of squared deviations "
                             "{:.3g})",
                             s.ssd),
                 "capped at the largest double");
      var = std::numeric_limits<double>::max();
    }
    if (variance_floor && var < *variance_floor) {
      log.record(fmt::format("variance {} below the floor", var),
                 fmt::format("raised to the floor {}", *variance_floor));
      var = *variance_floor;
    } else if (var == 0) {
      log.record("zero variance (all samples equal)", "kept: no variance floor configured");
    }
    return exact_gaussian(s.mean, var);
  }
};

/// The names of run_exact_gaussian's metrics, in order.
inline std::vector<std::string> exact_gaussian_metric_names() {
  return {"mean", "variance", "std", "log_variance", "mean_sq_error", "w2_sq"};
}

/// Runs the exact path batched over replicates: the same numbers, summaries, events and results as
///
///   collapse_loop{exact_gaussian_fitter<E>{floor}, sample::ancestral{}, regime,
///                 metrics::mean{}, metrics::variance{}, metrics::std_dev{},
///                 metrics::log_variance{}, metrics::mean_sq_error{truth.mean()},
///                 metrics::w2_sq{truth.mean(), truth.variance()}}
///       .run(from_truth(truth), options)
///
/// (every replicate draws from the same streams in the same order), without the loop's work per
/// replicate. The regime is regime::replace, regime::accumulate or regime::mix with fresh real
/// data; accumulate_subsample and mix with a fixed real subset throw config_error. Honours
/// options.samples, generations, replicates, first_replicate, seed, threads or executor, keep,
/// max_events, observers, interrupt and checkpoint (a completed run is returned from the store; a
/// run in progress continues from its last save). warm_start has no effect (the fitter has no
/// warm start).
template <class Estimator, class Regime>
run_result run_exact_gaussian(const exact_gaussian& truth,
                              const exact_gaussian_fitter<Estimator>& fitter, const Regime& regime,
                              const run_options& opt);

namespace detail {

template <class Regime>
struct exact_regime {
  static constexpr bool replace = std::is_same_v<Regime, regime::replace>;
  static constexpr bool accumulate = std::is_same_v<Regime, regime::accumulate>;
  static constexpr bool mix = std::is_same_v<Regime, regime::mix>;
};

/// The state of the batched exact run: per replicate the model (mean, variance), the accumulated
/// pool (accumulate) and the stream key; per metric a column of this generation's values.
template <class Estimator, class Regime>
class exact_gaussian_batch {
 public:
  using traits = exact_regime<Regime>;
  static_assert(traits::replace || traits::accumulate || traits::mix ||
                    std::is_same_v<Regime, regime::accumulate_subsample>,
                "ouro::models::run_exact_gaussian: the regime must be replace, accumulate, mix "
                "(fresh real data) or accumulate_subsample (refused at run time)");
  static constexpr std::string_view state_tag = "exact-gaussian-state-1";

  exact_gaussian_batch(const exact_gaussian& truth, const exact_gaussian_fitter<Estimator>& fitter,
                       const Regime& regime, const run_options& opt)
      : truth_(truth), fitter_(fitter), regime_(regime), opt_(opt) {
    if constexpr (!traits::replace && !traits::accumulate && !traits::mix)
      throw config_error(fmt::format(
          "run '{}': regime {} has no exact form (it subsamples the accumulated points, which "
          "the exact path does not keep); use the sampled path",
          opt.label, Regime::name()));
    if constexpr (traits::mix) {
      try {
        regime.validate();
      } catch (const std::exception& e) {
        throw config_error(fmt::format("run '{}': {}", opt.label, e.what()));
      }
      if (regime.source != regime::real_source_kind::fresh)
        throw config_error(fmt::format(
            "run '{}': mix with a fixed real subset has no exact form (the same real points "
            "return in every generation, which statistics cannot say); use fresh real data or the "
            "sampled path",
            opt.label));
    }
    ouro::detail::check_run_options(opt);
    R_ = opt.replicates;
    G_ = opt.generations;
    res_.label = opt.label;
    res_.config = opt.config;
    res_.replicates = R_;
    res_.seed = opt.seed;
    res_.started = utc_now_iso8601();
    res_.metric_names = exact_gaussian_metric_names();
    res_.summary.resize(K);
    for (std::size_t k = 0; k < K; ++k) res_.summary[k].name = res_.metric_names[k];
    keep_ = opt.keep == keep_values::all ||
            (opt.keep == keep_values::automatic && G_ * R_ * K <= ouro::detail::auto_keep_limit);
    res_.has_values = keep_;
    if (opt.executor) {
      exec_ = opt.executor;
    } else {
      own_pool_ = std::make_unique<pool_executor>(opt.threads);
      exec_ = own_pool_.get();
    }
    res_.threads = exec_->concurrency();
    key_.resize(R_);
    for (std::size_t r = 0; r < R_; ++r) key_[r] = replicate_key(opt.seed, opt.first_replicate + r);
    mean_.assign(R_, 0.0);
    var_.assign(R_, 0.0);
    sd_.assign(R_, 0.0);
    abs_dev_.assign(R_, 0.0);
    if constexpr (traits::accumulate) {
      pool_mean_.assign(R_, 0.0);
      pool_ssd_.assign(R_, 0.0);
    }
    for (auto& c : cols_) c.assign(R_, 0.0);
    chunks_ = (R_ + chunk - 1) / chunk;
    chunk_events_.resize(chunks_);
    chunk_error_.resize(chunks_);
    chunk_error_at_.resize(chunks_);
  }

  run_result run() {
    if (opt_.checkpoint) {
      if (const run_result* done = opt_.checkpoint->completed(opt_.label)) {
        if (done->replicates != R_ || done->metric_names != res_.metric_names)
          throw data_error(fmt::format(
              "{}: run '{}' was completed with other replicates or metrics than this run asks for",
              opt_.checkpoint->name(), opt_.label));
        return *done;
      }
      if (const auto state = opt_.checkpoint->progress(opt_.label))
        restore(*state, fmt::format("{} (run '{}')", opt_.checkpoint->name(), opt_.label));
    }
    std::vector<double> row;  // [replicate][metric], for kept values and observers
    while (next_ < G_) {
      const std::size_t g = next_, m_g = opt_.samples(g);
      if (m_g == 0)
        throw config_error(fmt::format(
            "run '{}': the sample-size schedule returned 0 for generation {}; it must be >= 1",
            opt_.label, g));
      exec_->parallel_for(chunks_, [&](std::size_t c) { step_chunk(c, g, m_g); });
      for (std::size_t c = 0; c < chunks_; ++c)
        if (chunk_error_[c])
          throw run_error(fmt::format("run '{}', replicate {}, generation {}: {}", opt_.label,
                                      opt_.first_replicate + chunk_error_at_[c], g,
                                      ouro::detail::exception_message(chunk_error_[c])));
      if constexpr (traits::accumulate) pool_count_ = g == 0 ? m_g : pool_count_ + m_g;
      summary_point points[K];
      summarise(points);
      for (auto& ce : chunk_events_)
        for (auto& e : ce) {
          if (res_.events.size() < opt_.max_events)
            res_.events.push_back(std::move(e));
          else
            ++res_.events_dropped;
        }
      for (std::size_t k = 0; k < K; ++k) res_.summary[k].push(g, points[k]);
      res_.generations = g + 1;
      next_ = g + 1;
      if (keep_ || !opt_.observers.empty()) {
        row.resize(R_ * K);
        for (std::size_t r = 0; r < R_; ++r)
          for (std::size_t k = 0; k < K; ++k) row[r * K + k] = cols_[k][r];
        if (keep_) res_.values.insert(res_.values.end(), row.begin(), row.end());
      }
      if (ouro::detail::notify_observers(opt_, res_, g, G_, R_, row,
                                         std::span<const summary_point>(points, K), t0_))
        break;
      if (next_ < G_ && opt_.interrupt && opt_.interrupt->load(std::memory_order_relaxed)) {
        res_.interrupted = true;
        if (opt_.checkpoint) opt_.checkpoint->save_progress(opt_.label, next_, save());
        break;
      }
      if (opt_.checkpoint && next_ < G_ && opt_.checkpoint->due(next_))
        opt_.checkpoint->save_progress(opt_.label, next_, save());
    }
    res_.seconds = std::chrono::duration<double>(clock::now() - t0_).count();
    if (opt_.checkpoint && !res_.interrupted) opt_.checkpoint->complete(res_);
    return std::move(res_);
  }

 private:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t K = 6;
  static constexpr std::size_t chunk = 1024;

  // Generation g for the replicates of chunk c, as collapse_run::step does it: the streams of
  // (seed, replicate, g), the regime's draws in the regime's order, the fit and the metrics. The
  // draws of all replicates come first, then the fits and metrics, in loops without the draws'
  // branches.
  void step_chunk(std::size_t c, std::size_t g, std::size_t m_g) {
    auto& events = chunk_events_[c];
    events.clear();
    chunk_error_[c] = nullptr;
    const std::size_t lo = c * chunk, hi = std::min(R_, lo + chunk);
    const double t_mean = truth_.mean(), t_var = truth_.variance(), t_sd = truth_.sd();
    double data_mean[chunk], data_ssd[chunk];
    std::size_t count = m_g;
    std::size_t r = lo;
    try {
      if (g == 0) {
        const stats_draw draw(m_g);
        for (; r < hi; ++r) {
          default_rng rng =
              make_stream_from(stream_base_from(key_[r], g), std::uint64_t(stream_role::real));
          const gaussian_stats d = draw(rng, t_mean, t_sd, t_var);
          data_mean[r - lo] = d.mean;
          data_ssd[r - lo] = d.ssd;
          if constexpr (traits::accumulate) {
            pool_mean_[r] = d.mean;
            pool_ssd_[r] = d.ssd;
          }
        }
      } else if constexpr (traits::accumulate) {
        const stats_draw draw(m_g);
        count = pool_count_ + m_g;
        for (; r < hi; ++r) {
          default_rng rng =
              make_stream_from(stream_base_from(key_[r], g), std::uint64_t(stream_role::sample));
          const gaussian_stats d = gaussian_stats::pooled(
              {pool_count_, pool_mean_[r], pool_ssd_[r]}, draw(rng, mean_[r], sd_[r], var_[r]));
          data_mean[r - lo] = pool_mean_[r] = d.mean;
          data_ssd[r - lo] = pool_ssd_[r] = d.ssd;
        }
      } else if constexpr (traits::mix) {
        const auto n_real = static_cast<std::size_t>(
            std::llround(regime_.real_fraction * static_cast<double>(m_g)));
        const stats_draw synth(m_g - std::min(n_real, m_g)), real(n_real);
        for (; r < hi; ++r) {
          const std::uint64_t base = stream_base_from(key_[r], g);
          default_rng rng = make_stream_from(base, std::uint64_t(stream_role::sample));
          gaussian_stats d = synth(rng, mean_[r], sd_[r], var_[r]);
          if (n_real > 0) {
            default_rng real_rng = make_stream_from(base, std::uint64_t(stream_role::real));
            d = gaussian_stats::pooled(real(real_rng, t_mean, t_sd, t_var), d);
          }
          data_mean[r - lo] = d.mean;
          data_ssd[r - lo] = d.ssd;
        }
        count = std::max(n_real, m_g);
      } else {
        const stats_draw draw(m_g);
        for (; r < hi; ++r) {
          default_rng rng =
              make_stream_from(stream_base_from(key_[r], g), std::uint64_t(stream_role::sample));
          const gaussian_stats d = draw(rng, mean_[r], sd_[r], var_[r]);
          data_mean[r - lo] = d.mean;
          data_ssd[r - lo] = d.ssd;
        }
      }
      // the fits: exact_gaussian_fitter's arithmetic, which it does itself where it has an event
      // to record or a value to refuse
      double div = Estimator::divisor(count);
      const bool plain = div > 0;
      if (!plain) div = static_cast<double>(count);
      const double floor = fitter_.variance_floor ? *fitter_.variance_floor
                                                  : -std::numeric_limits<double>::infinity();
      event_log log;
      for (r = lo; r < hi; ++r) {
        const double m = data_mean[r - lo], ssd = data_ssd[r - lo];
        const double var = ssd / div;
        if (plain && std::isfinite(m) && ssd >= 0 && std::isfinite(var) && var != 0 &&
            !(var < floor)) [[likely]] {
          mean_[r] = m;
          var_[r] = var;
        } else {
          const exact_gaussian fitted = fitter_.fit(gaussian_stats{count, m, ssd}, log);
          mean_[r] = fitted.mean();
          var_[r] = fitted.variance();
          for (const auto& e : log.entries())
            events.push_back({opt_.label, opt_.first_replicate + r, g, e.what, e.action});
          log.clear();
        }
      }
      // the metrics (metrics/gaussian.hpp's expressions), and |mean - true mean|, whose order
      // statistics give mean_sq_error's median
      for (r = lo; r < hi; ++r) {
        const double sd = std::sqrt(var_[r]);
        sd_[r] = sd;
        const double d = mean_[r] - t_mean, ds = sd - t_sd;
        cols_[0][r] = mean_[r];
        cols_[1][r] = var_[r];
        cols_[2][r] = sd;
        cols_[4][r] = d * d;
        cols_[5][r] = d * d + ds * ds;
        abs_dev_[r] = std::fabs(d);
      }
      for (r = lo; r < hi; ++r) cols_[3][r] = std::log(var_[r]);
    } catch (...) {
      chunk_error_[c] = std::current_exception();
      chunk_error_at_[c] = r;
    }
  }

  // The summaries of the generation: summarize()'s numbers, with one selection shared by the
  // metrics that are non-decreasing functions of another (std and log_variance of the variance,
  // mean_sq_error of |mean - true mean|): the k-th smallest of f(x) is f(k-th smallest of x).
  void summarise(summary_point* points) {
    exec_->parallel_for(4, [&](std::size_t task) {
      auto& scratch = scratch_[task];
      ouro::detail::moments_info info[K];
      auto moments = [&](std::size_t k) {
        points[k] = ouro::detail::summarize_moments(cols_[k], info[k]);
      };
      auto median = [&](std::size_t k, std::span<const double> x, auto f) {
        if (info[k].has_nan) {
          points[k].median = std::numeric_limits<double>::quiet_NaN();
          return;
        }
        const auto [a, b] = ouro::detail::middle_ranks(R_);
        const auto [l, h] = ouro::detail::order_statistics(x, a, b, scratch);
        points[k].median = ouro::detail::median_of(f(l), f(h));
      };
      const auto same = [](double x) { return x; };
      switch (task) {
        case 0:
          moments(0);
          median(0, cols_[0], same);
          break;
        case 1:
          moments(1);
          moments(2);
          moments(3);
          if (info[1].has_nan) {
            for (std::size_t k : {1, 2, 3})
              points[k].median = std::numeric_limits<double>::quiet_NaN();
          } else {
            const auto [a, b] = ouro::detail::middle_ranks(R_);
            const auto [l, h] = ouro::detail::order_statistics(cols_[1], a, b, scratch);
            points[1].median = ouro::detail::median_of(l, h);
            points[2].median = info[2].has_nan
                                   ? std::numeric_limits<double>::quiet_NaN()
                                   : ouro::detail::median_of(std::sqrt(l), std::sqrt(h));
            points[3].median = info[3].has_nan ? std::numeric_limits<double>::quiet_NaN()
                                               : ouro::detail::median_of(std::log(l), std::log(h));
          }
          break;
        case 2:
          moments(4);
          median(4, abs_dev_, [](double x) { return x * x; });
          break;
        default:
          moments(5);
          median(5, cols_[5], same);
          break;
      }
    });
  }

 public:
  /// The state after the last completed generation.
  std::string save() const {
    io::binary_writer w;
    w.put_tag(state_tag);
    w.put_string(settings());
    w.put_u64(G_);
    w.put_u64(R_);
    w.put_u64(next_);
    w.put_f64(std::chrono::duration<double>(clock::now() - t0_).count());
    checkpoint_traits<run_result>::save(res_, w);
    w.put_vector(mean_);
    w.put_vector(var_);
    if constexpr (traits::accumulate) {
      w.put_u64(pool_count_);
      w.put_vector(pool_mean_);
      w.put_vector(pool_ssd_);
    }
    return ouro::detail::sealed(w.take());
  }

 private:
  std::string settings() const {
    return fmt::format(
        "label {}\nseed {}\nfirst_replicate {}\nestimator {}\nfloor {}\nregime {}\nsamples {:x}\n",
        opt_.label, opt_.seed, opt_.first_replicate, Estimator::name,
        fitter_.variance_floor ? fmt::format("{}", *fitter_.variance_floor) : "none", regime_name(),
        ouro::detail::schedule_hash(opt_));
  }
  std::string regime_name() const {
    if constexpr (traits::mix)
      return fmt::format("mix {}", regime_.real_fraction);
    else
      return std::string(Regime::name());
  }

  void restore(std::string_view bytes, const std::string& name) {
    io::binary_reader r(ouro::detail::unsealed(bytes, name), name);
    r.expect_tag(state_tag);
    if (const std::string was = r.get_string("settings"), now = settings(); was != now)
      r.fail(fmt::format(
          "the state was saved by a run with other options ({}); start this run with the options "
          "of the saved one",
          ouro::detail::first_difference(was, now)));
    if (const auto v = r.get_u64("generations"); v != G_)
      r.fail(fmt::format("the checkpoint has {} generations, this run asks for {}", v, G_));
    if (const auto v = r.get_u64("replicates"); v != R_)
      r.fail(fmt::format("the checkpoint has {} replicates, this run asks for {}", v, R_));
    const std::size_t next = r.get_size("generation", G_);
    const double elapsed = r.get_f64("elapsed seconds");
    run_result res = checkpoint_traits<run_result>::load(r);
    if (res.generations != next || res.metric_names != res_.metric_names || next == 0)
      r.fail("the saved results do not match the saved generation or the metrics");
    auto mean = r.get_vector<double>("means"), var = r.get_vector<double>("variances");
    if (mean.size() != R_ || var.size() != R_)
      r.fail("the saved models do not match the replicates");
    if constexpr (traits::accumulate) {
      pool_count_ = r.get_size("pool count", std::numeric_limits<std::size_t>::max());
      pool_mean_ = r.get_vector<double>("pool means");
      pool_ssd_ = r.get_vector<double>("pool sums of squares");
      if (pool_mean_.size() != R_ || pool_ssd_.size() != R_)
        r.fail("the saved pools do not match the replicates");
    }
    r.expect_end();
    t0_ = clock::now() -
          std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(elapsed));
    res.threads = exec_->concurrency();
    res.interrupted = false;
    res_ = std::move(res);
    mean_ = std::move(mean);
    var_ = std::move(var);
    for (std::size_t i = 0; i < R_; ++i) sd_[i] = std::sqrt(var_[i]);
    next_ = next;
  }

 private:
  exact_gaussian truth_;
  exact_gaussian_fitter<Estimator> fitter_;
  Regime regime_;
  const run_options& opt_;
  std::unique_ptr<pool_executor> own_pool_;
  executor* exec_ = nullptr;
  std::size_t R_ = 0, G_ = 0, next_ = 0, chunks_ = 0, pool_count_ = 0;
  bool keep_ = false;
  run_result res_;
  std::vector<std::uint64_t> key_;
  std::vector<double> mean_, var_, sd_, abs_dev_, pool_mean_, pool_ssd_;
  std::vector<double> cols_[K];
  std::vector<double> scratch_[4];
  std::vector<std::vector<event>> chunk_events_;
  std::vector<std::exception_ptr> chunk_error_;
  std::vector<std::size_t> chunk_error_at_;
  clock::time_point t0_ = clock::now();
};

}  // namespace detail

template <class Estimator, class Regime>
run_result run_exact_gaussian(const exact_gaussian& truth,
                              const exact_gaussian_fitter<Estimator>& fitter, const Regime& regime,
                              const run_options& opt) {
  detail::exact_gaussian_batch<Estimator, Regime> batch(truth, fitter, regime, opt);
  return batch.run();
}

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
template <>
struct checkpoint_traits<models::gaussian_stats> {
  static void save(const models::gaussian_stats& s, io::binary_writer& w) {
    w.put_tag("gaussian_stats");
    w.put_u64(s.count);
    w.put_f64(s.mean);
    w.put_f64(s.ssd);
  }
  static models::gaussian_stats load(io::binary_reader& r) {
    r.expect_tag("gaussian_stats");
    models::gaussian_stats s;
    s.count = r.get_size("count", std::numeric_limits<std::size_t>::max());
    s.mean = r.get_f64("mean");
    s.ssd = r.get_f64("sum of squared deviations");
    if (!std::isfinite(s.mean) || !(s.ssd >= 0))
      r.fail("the statistics need a finite mean and a non-negative sum of squared deviations");
    return s;
  }
};
template <>
struct checkpoint_traits<models::exact_gaussian> {
  static void save(const models::exact_gaussian& m, io::binary_writer& w) {
    w.put_tag("exact_gaussian");
    checkpoint_traits<models::gaussian>::save(m.distribution(), w);
  }
  static models::exact_gaussian load(io::binary_reader& r) {
    r.expect_tag("exact_gaussian");
    return models::exact_gaussian(checkpoint_traits<models::gaussian>::load(r));
  }
};
}  // namespace ouro::inline v0
