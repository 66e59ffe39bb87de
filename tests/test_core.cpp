// Unit tests of the core: random streams and variates, summary statistics, datasets, schedules,
// regimes, samplers, the collapse loop (mechanics, events, observers, errors, determinism across
// thread counts) and the results writers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "normal_checks.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/metrics.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/stats.hpp"
#include "ouroboros/core/values.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/io/results_io.hpp"
#include "ouroboros/io/results_read.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

using namespace ouro;

// ---------------------------------------------------------------------------------------------
// random

TEST_CASE("xoshiro256++ follows the reference recurrence", "[random]") {
  xoshiro256pp g;
  g.set_state({1, 2, 3, 4});
  // result = rotl(s0 + s3, 23) + s0
  CHECK(g() == (std::rotl<std::uint64_t>(1 + 4, 23) + 1));
  // state after one step, from the reference algorithm
  CHECK(g.state() == std::array<std::uint64_t, 4>{7, 0, 262146, std::rotl<std::uint64_t>(6, 45)});
  static_assert(Rng<xoshiro256pp>);
  static_assert(Rng<std::mt19937>);
}

TEST_CASE("streams depend only on (seed, replicate, generation, role)", "[random]") {
  auto a = make_stream(42, 3, 7, stream_role::sample);
  auto b = make_stream(42, 3, 7, stream_role::sample);
  CHECK(a == b);
  std::set<std::uint64_t> first;
  for (std::uint64_t s : {0, 1})
    for (std::uint64_t r = 0; r < 20; ++r)
      for (std::uint64_t gen = 0; gen < 20; ++gen)
        for (auto role : {stream_role::real, stream_role::sample, stream_role::fit})
          first.insert(make_stream(s, r, gen, role)());
  CHECK(first.size() == 2 * 20 * 20 * 3);  // all distinct
  lazy_stream lz(stream_base(42, 3, 7), static_cast<std::uint64_t>(stream_role::sample));
  CHECK(lz.get()() == make_stream(42, 3, 7, stream_role::sample)());
}

TEST_CASE("uniform_index is uniform", "[random]") {
  default_rng g(5);
  const std::uint64_t k = 7;
  const int n = 70000;
  std::vector<int> c(k);
  for (int i = 0; i < n; ++i) ++c[uniform_index(g, k)];
  double chi2 = 0;
  for (int v : c) chi2 += (v - n / 7.0) * (v - n / 7.0) / (n / 7.0);
  CHECK(chi2 < 22.5);  // chi2_6 upper 0.1% point
  std::mt19937 mt(1);  // a 32-bit engine works too
  for (int i = 0; i < 1000; ++i) CHECK(uniform_index(mt, 3) < 3);
}

TEST_CASE("the ziggurat gives standard normal moments, histogram and tails", "[random]") {
  default_rng g(11);
  std::vector<double> x(2'000'000);
  fill_standard_normal(g, x);
  check_standard_normal(x);
  // short fills take the scalar path
  std::vector<double> y;
  for (int i = 0; i < 100000; ++i) {
    std::vector<double> s(20);
    fill_standard_normal(g, s);
    y.insert(y.end(), s.begin(), s.end());
  }
  check_standard_normal(y);
  // same engine state, same values; the engine advances
  default_rng g1(3), g2(3);
  std::vector<double> a(100), b(100), c(100);
  fill_normal(g1, a, 1.0, 2.0);
  fill_normal(g2, b, 1.0, 2.0);
  fill_normal(g2, c, 1.0, 2.0);
  CHECK(a == b);
  CHECK(a != c);
  default_rng g3(3), g4(3);
  CHECK(standard_normal(g3) == standard_normal(g4));
}

// ---------------------------------------------------------------------------------------------
// statistics

TEST_CASE("summaries: mean, sd, se, t interval and median", "[stats]") {
  const std::vector<double> v{2, 4, 4, 4, 5, 5, 7, 9};
  const auto s = summarize(v);
  CHECK(s.n == 8);
  CHECK(s.mean == Approx(5.0));
  CHECK(s.sd == Approx(std::sqrt(32.0 / 7)));
  CHECK(s.se == Approx(std::sqrt(32.0 / 7) / std::sqrt(8.0)));
  CHECK(s.ci95_hi - s.mean == Approx(2.364624252 * s.se));
  CHECK(s.median == Approx(4.5));
  CHECK(summarize(std::vector<double>{3, 1, 2}).median == 2);
  const auto one = summarize(std::vector<double>{1.5});
  CHECK(one.mean == 1.5);
  CHECK(std::isnan(one.sd));
  CHECK(student_t_975(1) == Approx(12.706204736));
  CHECK(student_t_975(31) == Approx(2.039513446).epsilon(1e-6));
  CHECK(student_t_975(100) == Approx(1.983971519).epsilon(1e-7));
  CHECK(student_t_975(100000) == Approx(1.959963985 + 0.000029).epsilon(1e-5));
}

// ---------------------------------------------------------------------------------------------
// datasets, schedules

TEST_CASE("dataset operations on std::vector", "[dataset]") {
  using D = std::vector<int>;
  static_assert(Dataset<D>);
  const D a{1, 2, 3}, b{4, 5};
  CHECK(dataset_concat(a, b) == D{1, 2, 3, 4, 5});
  const std::vector<std::size_t> idx{2, 0, 2};
  CHECK(dataset_subset(a, idx) == D{3, 1, 3});
  D c = a;
  dataset_append(c, b);
  CHECK(dataset_size(c) == 5);
}

TEST_CASE("sample-size schedules", "[schedule]") {
  CHECK(schedule::constant{50}(7) == 50);
  CHECK(schedule::linear{100, -10}(3) == 70);
  CHECK(schedule::linear{100, -10}(30) == 1);  // never below 1
  CHECK(schedule::geometric{100, 2.0}(3) == 800);
  CHECK(schedule::geometric{100, 2.0, 500}(3) == 500);
  sample_schedule f = [](std::size_t g) { return 10 + g; };
  CHECK(f(5) == 15);
}

// ---------------------------------------------------------------------------------------------
// regimes: drive them with a hand-made context

namespace {
struct fake_source {
  int next = 1000;
};
template <class Regime>
std::vector<int> build(const Regime& r, typename Regime::template state<std::vector<int>>& st,
                       std::size_t g, std::size_t m, const std::vector<int>& real,
                       int& synth_counter, int& fresh_counter, lazy_stream& rng, event_log& log) {
  auto synth = [&](std::size_t n) {
    std::vector<int> d(n);
    for (auto& v : d) v = synth_counter++;
    return d;
  };
  auto fresh = [&](std::size_t n) {
    std::vector<int> d(n);
    for (auto& v : d) v = -(fresh_counter++);
    return d;
  };
  regime_context<std::vector<int>, decltype(synth)&, decltype(fresh)&> ctx(g, m, real, synth, fresh,
                                                                           rng, log);
  return r.next(st, ctx);
}
}  // namespace

TEST_CASE("regimes build the right training sets", "[regime]") {
  const std::vector<int> real{-1, -2, -3, -4, -5, -6, -7, -8, -9, -10};
  int synth = 0, fresh = 1000;
  lazy_stream rng(1, 2);
  event_log log;
  SECTION("replace: only fresh synthetic data") {
    regime::replace r;
    regime::replace::state<std::vector<int>> st;
    CHECK(build(r, st, 1, 4, real, synth, fresh, rng, log) == std::vector<int>{0, 1, 2, 3});
    CHECK(build(r, st, 2, 2, real, synth, fresh, rng, log) == std::vector<int>{4, 5});
  }
  SECTION("accumulate: real data plus everything drawn so far") {
    regime::accumulate r;
    regime::accumulate::state<std::vector<int>> st;
    auto d1 = build(r, st, 1, 3, real, synth, fresh, rng, log);
    CHECK(d1.size() == 13);
    auto d2 = build(r, st, 2, 3, real, synth, fresh, rng, log);
    CHECK(d2.size() == 16);
    CHECK(std::equal(real.begin(), real.end(), d2.begin()));
    CHECK(std::vector<int>(d2.begin() + 10, d2.end()) == std::vector<int>{0, 1, 2, 3, 4, 5});
  }
  SECTION("accumulate_subsample: a fixed budget of distinct samples from the pool") {
    regime::accumulate_subsample r{6};
    regime::accumulate_subsample::state<std::vector<int>> st;
    build(r, st, 1, 3, real, synth, fresh, rng, log);
    auto d = build(r, st, 2, 3, real, synth, fresh, rng, log);
    CHECK(d.size() == 6);
    CHECK(std::set<int>(d.begin(), d.end()).size() == 6);
    for (int v : d) CHECK((v < 0 || v < 6));
  }
  SECTION("mix with a fixed real subset") {
    regime::mix r{0.3, regime::real_source_kind::fixed};
    regime::mix::state<std::vector<int>> st;
    auto d1 = build(r, st, 1, 10, real, synth, fresh, rng, log);
    auto d2 = build(r, st, 2, 10, real, synth, fresh, rng, log);
    CHECK(d1.size() == 10);
    CHECK(std::count_if(d1.begin(), d1.end(), [](int v) { return v < 0; }) == 3);
    CHECK(std::vector<int>(d1.begin(), d1.begin() + 3) ==
          std::vector<int>(d2.begin(), d2.begin() + 3));  // the same real subset every time
    for (int i = 0; i < 3; ++i) CHECK(d1[i] >= -10);
  }
  SECTION("mix with fresh real draws") {
    regime::mix r{0.5, regime::real_source_kind::fresh};
    regime::mix::state<std::vector<int>> st;
    auto d1 = build(r, st, 1, 4, real, synth, fresh, rng, log);
    auto d2 = build(r, st, 2, 4, real, synth, fresh, rng, log);
    CHECK(std::vector<int>(d1.begin(), d1.begin() + 2) == std::vector<int>{-1000, -1001});
    CHECK(std::vector<int>(d2.begin(), d2.begin() + 2) == std::vector<int>{-1002, -1003});
  }
  SECTION("mix rejects a fraction outside [0, 1]") {
    CHECK_THROWS_AS((regime::mix{1.5}.validate()), std::invalid_argument);
  }
}

// ---------------------------------------------------------------------------------------------
// samplers

TEST_CASE("rejection sampler keeps only accepted samples and never loops forever", "[sampler]") {
  const models::gaussian m{0, 1};
  default_rng g(3);
  event_log log;
  auto positive = sample::rejection{[](double x) { return x > 0; }};
  auto d = positive(m, 500, g, log);
  CHECK(d.size() == 500);
  CHECK(std::all_of(d.begin(), d.end(), [](double x) { return x > 0; }));
  CHECK(log.empty());
  auto impossible = sample::rejection{[](double x) { return x > 100; }, 10.0};
  auto e = impossible(m, 50, g, log);
  CHECK(e.empty());
  REQUIRE(log.entries().size() == 1);
  CHECK_THAT(log.entries()[0].what, Catch::Contains("accepted only 0 of 50"));
  // a predicate may look at the model too
  auto within = sample::rejection{
      [](const models::gaussian& mod, double x) { return std::abs(x - mod.mean()) < mod.sd(); }};
  auto w = within(m, 200, g, log);
  CHECK(std::all_of(w.begin(), w.end(), [](double x) { return std::abs(x) < 1; }));
}

// ---------------------------------------------------------------------------------------------
// the loop

namespace {
/// Counts fits: the model stores how often it has been fitted.
struct counted {
  using dataset_type = std::vector<double>;
  int fits = 0;
  double level = 0;
  template <class G>
  dataset_type sample(std::size_t n, G&) const {
    return dataset_type(n, level);
  }
  double log_likelihood(const dataset_type&) const { return 0; }
};
struct counted_fitter {
  using model_type = counted;
  template <class G>
  counted fit(const std::vector<double>& x, G&) const {
    return {1, x.empty() ? 0.0 : x.front()};
  }
  template <class G>
  counted fit(const std::vector<double>& x, const counted& prev, G&) const {
    return {prev.fits + 1, x.empty() ? 0.0 : x.front()};
  }
};
struct fits_metric {
  std::string name() const { return "fits"; }
  double operator()(const generation_context<counted>& c) const { return c.model.fits; }
};
struct size_metric {
  std::string name() const { return "size"; }
  double operator()(const generation_context<counted>& c) const {
    return static_cast<double>(c.training.size());
  }
};
struct throwing_fitter {
  using model_type = models::gaussian;
  template <class G>
  models::gaussian fit(const std::vector<double>&, G&) const {
    throw std::runtime_error("boom");
  }
};
}  // namespace

TEST_CASE("generation g's model has been fitted g + 1 times; warm start is used", "[loop]") {
  auto loop = collapse_loop{counted_fitter{}, sample::ancestral{}, regime::replace{}, fits_metric{},
                            size_metric{}};
  run_options opt;
  opt.generations = 5;
  opt.replicates = 3;
  opt.samples = schedule::linear{10, 1};
  opt.threads = 1;
  const auto res = loop.run(from_data(std::vector<double>(7, 1.0)), opt);
  REQUIRE(res.has_values);
  for (std::size_t g = 0; g < 5; ++g) {
    CHECK(res.value(g, 2, 0) == double(g + 1));
    CHECK(res.summary[0].mean[g] == double(g + 1));
    // generation 0 trains on all the real data; then M_g = 10 + g
    CHECK(res.value(g, 0, 1) == (g == 0 ? 7.0 : double(10 + g)));
  }
  opt.warm_start = false;
  const auto cold = loop.run(from_data(std::vector<double>(7, 1.0)), opt);
  CHECK(cold.summary[0].mean[4] == 1.0);
}

TEST_CASE("observers see every generation and can stop the run", "[loop]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::mle>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}};
  run_options opt;
  opt.generations = 50;
  opt.replicates = 4;
  opt.samples = schedule::constant{10};
  std::vector<std::size_t> seen;
  opt.observers.push_back([&](const generation_report& r) {
    seen.push_back(r.generation);
    CHECK(r.values.size() == 4);
    CHECK(r.summary.size() == 1);
    return r.generation == 9 ? observer_action::stop : observer_action::proceed;
  });
  const auto res = loop.run(from_truth(models::gaussian{0, 1}), opt);
  CHECK(seen.size() == 10);
  CHECK(res.generations == 10);
  CHECK(res.summary[0].mean.size() == 10);
}

TEST_CASE("the models hook sees every kept generation's models", "[loop]") {
  auto loop =
      collapse_loop{counted_fitter{}, sample::ancestral{}, regime::replace{}, fits_metric{}};
  run_options opt;
  opt.generations = 6;
  opt.replicates = 3;
  opt.samples = schedule::constant{4};
  opt.observers.push_back([](const generation_report& r) {
    return r.generation == 3 ? observer_action::stop : observer_action::proceed;
  });
  std::vector<std::size_t> gens;
  const auto res = loop.run(from_data(std::vector<double>(4, 1.0)), opt,
                            [&](std::size_t g, std::span<const counted* const> models) {
                              gens.push_back(g);
                              REQUIRE(models.size() == 3);
                              for (const counted* m : models) CHECK(m->fits == int(g + 1));
                            });
  CHECK(res.generations == 4);
  CHECK(gens == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("degenerate states become events, not crashes", "[loop][events]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}, metrics::log_variance{}};
  run_options opt;
  opt.label = "flat";
  opt.generations = 3;
  opt.replicates = 2;
  opt.samples = schedule::constant{5};
  const auto res = loop.run(from_data(std::vector<double>(5, 2.0)), opt);
  CHECK(res.generations == 3);
  REQUIRE(res.events.size() == 6);  // zero variance at every fit of every replicate
  CHECK(res.events[0].what == "zero variance (all samples equal)");
  CHECK(res.events[0].run == "flat");
  CHECK(res.events[1].replicate == 1);
  CHECK(res.events[5].generation == 2);
  CHECK(std::isinf(res.summary[1].mean[0]));
  opt.max_events = 2;
  const auto capped = loop.run(from_data(std::vector<double>(5, 2.0)), opt);
  CHECK(capped.events.size() == 2);
  CHECK(capped.events_dropped == 4);

  // an explicit floor is applied and recorded
  auto floored = collapse_loop{models::gaussian_fitter<models::unbiased>{1e-3}, sample::ancestral{},
                               regime::replace{}, metrics::variance{}};
  const auto f = floored.run(from_data(std::vector<double>(5, 2.0)), opt);
  CHECK(f.summary[0].mean[2] == 1e-3);
  CHECK_THAT(f.events[0].action, Catch::Contains("raised to the floor"));

  // a rejection sampler that accepts nothing leaves an empty training set: the model is kept
  auto starved = collapse_loop{models::gaussian_fitter<models::mle>{},
                               sample::rejection{[](double) { return false; }, 2.0},
                               regime::replace{}, metrics::variance{}};
  opt.max_events = 100;
  const auto s = starved.run(from_truth(models::gaussian{0, 1}), opt);
  CHECK(s.summary[0].mean[2] == s.summary[0].mean[0]);
  bool kept = false;
  for (const auto& e : s.events) kept = kept || e.what == "empty training set";
  CHECK(kept);
}

TEST_CASE("errors name the run, replicate and generation; bad configurations are refused",
          "[loop]") {
  auto loop =
      collapse_loop{throwing_fitter{}, sample::ancestral{}, regime::replace{}, metrics::variance{}};
  run_options opt;
  opt.label = "bad";
  opt.replicates = 3;
  try {
    loop.run(from_truth(models::gaussian{0, 1}), opt);
    FAIL("no exception");
  } catch (const run_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("run 'bad', replicate 0, generation 0: boom"));
  }
  auto ok = collapse_loop{models::gaussian_fitter<>{}, sample::ancestral{}, regime::replace{}};
  opt.generations = 0;
  CHECK_THROWS_AS(ok.run(from_truth(models::gaussian{0, 1}), opt), config_error);
  opt.generations = 2;
  opt.replicates = 0;
  CHECK_THROWS_AS(ok.run(from_truth(models::gaussian{0, 1}), opt), config_error);
  opt.replicates = 1;
  opt.samples = [](std::size_t g) -> std::size_t { return g == 1 ? 0 : 5; };
  CHECK_THROWS_WITH(ok.run(from_truth(models::gaussian{0, 1}), opt),
                    Catch::Contains("returned 0 for generation 1"));
  auto mixed = collapse_loop{models::gaussian_fitter<>{}, sample::ancestral{}, regime::mix{2.0}};
  opt.samples = schedule::constant{5};
  CHECK_THROWS_AS(mixed.run(from_truth(models::gaussian{0, 1}), opt), config_error);
}

TEST_CASE("same seed, same bytes, whatever the thread count", "[loop][determinism]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::mix{0.2, regime::real_source_kind::fresh}, metrics::variance{},
                            metrics::w2_sq{}};
  auto run_with = [&](unsigned threads) {
    run_options opt;
    opt.label = "mix";
    opt.generations = 30;
    opt.replicates = 257;  // not a multiple of the chunk size
    opt.samples = schedule::constant{40};
    opt.seed = 99;
    opt.threads = threads;
    results r;
    r.experiment = "determinism";
    r.runs.push_back(loop.run(from_truth(models::gaussian{1, 4}), opt));
    return io::tidy_csv(r) + io::summary_csv(r);
  };
  const auto one = run_with(1);
  CHECK(one == run_with(2));
  CHECK(one == run_with(3));
  CHECK(one == run_with(1));
}

namespace thirdparty {  // imagine a library type whose members have other names
struct point_mass {
  double where = 0;
};
}  // namespace thirdparty

template <>
struct ouro::model_traits<thirdparty::point_mass> {
  using dataset_type = std::vector<double>;
  template <class G>
  static dataset_type sample(const thirdparty::point_mass& m, std::size_t n, G&) {
    return dataset_type(n, m.where);
  }
  static double log_likelihood(const thirdparty::point_mass& m, const dataset_type& x) {
    for (double v : x)
      if (v != m.where) return -INFINITY;
    return 0;
  }
};

namespace {
struct point_mass_fitter {
  using model_type = thirdparty::point_mass;
  template <class G>
  thirdparty::point_mass fit(const std::vector<double>& x, G&) const {
    return {x.front() + 1};
  }
};
struct where_metric {
  std::string name() const { return "where"; }
  double operator()(const generation_context<thirdparty::point_mass>& c) const {
    return c.model.where;
  }
};
}  // namespace

TEST_CASE("model_traits lets a type the user cannot edit plug in", "[traits]") {
  static_assert(Distribution<thirdparty::point_mass>);
  static_assert(!Distribution<int>);
  auto loop =
      collapse_loop{point_mass_fitter{}, sample::ancestral{}, regime::replace{}, where_metric{}};
  run_options opt;
  opt.generations = 4;
  opt.samples = schedule::constant{3};
  const auto res = loop.run(std::vector<double>{10, 11}, opt);
  CHECK(res.summary[0].mean == std::vector<double>{11, 12, 13, 14});
}

// ---------------------------------------------------------------------------------------------
// conditional models: a model that labels inputs, with sample::relabel

namespace {
struct pair_xy {
  double x, y;
};
struct slope_model {  // y = a x + N(0, 1); no sample(): a ConditionalModel
  using dataset_type = std::vector<pair_xy>;
  double a = 0;
  dataset_type relabel(const dataset_type& in, Rng auto& g) const {
    auto out = in;
    for (auto& p : out) p.y = a * p.x + standard_normal(g);
    return out;
  }
};
struct slope_truth {  // the joint distribution of the real data
  using dataset_type = std::vector<pair_xy>;
  dataset_type sample(std::size_t n, Rng auto& g) const {
    dataset_type out(n);
    for (auto& p : out) p = {standard_normal(g), 0.0}, p.y = 2 * p.x + standard_normal(g);
    return out;
  }
};
struct slope_fit {
  using model_type = slope_model;
  slope_model fit(const std::vector<pair_xy>& d, Rng auto&) const {
    double sxy = 0, sxx = 0;
    for (const auto& p : d) sxy += p.x * p.y, sxx += p.x * p.x;
    return {sxx > 0 ? sxy / sxx : 0.0};
  }
};
struct inputs_are_real {  // 1 when every training input is one of the replicate's real inputs
  std::string name() const { return "inputs_are_real"; }
  double operator()(const generation_context<slope_model>& c) const {
    std::set<double> real;
    for (const auto& p : c.real) real.insert(p.x);
    for (const auto& p : c.training)
      if (!real.count(p.x)) return 0.0;
    return 1.0;
  }
};
struct slope {
  std::string name() const { return "slope"; }
  double operator()(const generation_context<slope_model>& c) const { return c.model.a; }
};
}  // namespace

TEST_CASE("conditional models: relabel keeps the real inputs under every regime", "[conditional]") {
  static_assert(ConditionalModel<slope_model> && !Distribution<slope_model>);
  static_assert(SamplerFor<sample::relabel, slope_model>);
  static_assert(!SamplerFor<sample::ancestral, slope_model>);
  run_options opt;
  opt.generations = 6;
  opt.replicates = 50;
  opt.samples = schedule::constant{30};
  auto check = [&](auto regime, bool fixed_inputs = true) {
    auto loop = collapse_loop{slope_fit{}, sample::relabel{}, regime, inputs_are_real{}, slope{}};
    const auto r = loop.run(from_truth(slope_truth{}), opt);
    if (fixed_inputs)
      for (double v : r.summary[0].mean) CHECK(v == 1.0);
    CHECK(std::abs(r.summary[1].mean[0] - 2.0) < 6 * r.summary[1].se[0]);  // unbiased first fit
    opt.threads = 1;
    const auto r1 = loop.run(from_truth(slope_truth{}), opt);
    opt.threads = 0;
    CHECK(r1.summary[1].mean == r.summary[1].mean);  // any thread count, the same numbers
  };
  check(regime::replace{});
  check(regime::accumulate{});
  check(regime::accumulate_subsample{40});
  check(regime::mix{0.3});
  // fresh real rows are new draws of the truth, inputs included; the relabelled part keeps the
  // replicate's real inputs
  check(regime::mix{0.3, regime::real_source_kind::fresh}, false);
  // more samples than real inputs: reused cyclically, with an event
  opt.samples = [](std::size_t g) -> std::size_t { return g == 0 ? 10 : 25; };
  auto loop = collapse_loop{slope_fit{}, sample::relabel{}, regime::replace{}, slope{}};
  const auto r = loop.run(from_truth(slope_truth{}), opt);
  REQUIRE_FALSE(r.events.empty());
  CHECK_THAT(r.events[0].what, Catch::Contains("relabel: 25 samples asked of 10 real inputs"));
}

// ---------------------------------------------------------------------------------------------
// results writers

TEST_CASE("results files: JSON schema, CSV quoting, non-finite values, atomic writes", "[io]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::mle>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}, metrics::log_variance{}};
  run_options opt;
  opt.label = "N=5, flat";
  opt.generations = 2;
  opt.replicates = 2;
  opt.samples = schedule::constant{5};
  opt.config = {{"samples", std::int64_t{5}}};
  results r;
  r.experiment = "io_test";
  r.seed = 7;
  r.threads = 1;
  r.started = io::now_iso8601();
  r.provenance = io::build_provenance();
  r.config = {{"truth", std::string("flat")}, {"fractions", std::vector<double>{0.1, 0.2}}};
  r.runs.push_back(loop.run(std::vector<double>(5, 1.0), opt));
  r.runs[0].theory.emplace_back("variance", std::vector<double>{0.0, 0.0});

  const auto j = io::results_json(r, {{"snapshots", nlohmann::json::array()}});
  CHECK(j["experiment"] == "io_test");
  CHECK(j["library_version"] == "0.1.0");
  CHECK(j["provenance"]["seed"] == 7);
  CHECK(j["provenance"]["compiler"].get<std::string>().size() > 3);
  CHECK(j["config"]["fractions"].size() == 2);
  const auto& run = j["runs"][0];
  CHECK(run["label"] == "N=5, flat");
  CHECK(run["config"]["samples"] == 5);
  for (const char* key : {"generation", "mean", "sd", "se", "ci95_lo", "ci95_hi", "median"})
    CHECK(run["summary"]["variance"][key].size() == 2);
  CHECK(run["summary"]["log_variance"]["mean"][0].is_null());  // -inf is written as null
  CHECK(run["theory"]["variance"].size() == 2);
  CHECK(j["events"].size() == 4);
  CHECK(j["events"][0]["what"] == "zero variance (all samples equal)");
  CHECK(j.contains("snapshots"));

  const auto summary = io::summary_csv(r);
  CHECK(summary.rfind("run,generation,metric,mean,sd,se,ci95_lo,ci95_hi,median,theory\n", 0) == 0);
  CHECK_THAT(summary, Catch::Contains("\"N=5, flat\",0,log_variance,-inf,0,0,-inf,-inf,-inf,\n"));
  CHECK_THAT(summary, Catch::Contains("\"N=5, flat\",1,variance,0,0,0,0,0,0,0\n"));  // theory 0
  const auto tidy = io::tidy_csv(r);
  CHECK(tidy.rfind("experiment,run,replicate,generation,metric,value\n", 0) == 0);
  CHECK(std::count(tidy.begin(), tidy.end(), '\n') == 1 + 2 * 2 * 2);

  const auto dir = std::filesystem::temp_directory_path() / "ouroboros_io_test";
  std::filesystem::remove_all(dir);
  io::write_results(r, dir, "io_test");
  CHECK(std::filesystem::exists(dir / "io_test_results.json"));
  CHECK(std::filesystem::exists(dir / "io_test.csv"));
  CHECK(std::filesystem::exists(dir / "io_test_summary.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "io_test_results.json.tmp"));
  std::ifstream f(dir / "io_test_results.json");
  CHECK(nlohmann::json::parse(f)["experiment"] == "io_test");

  // read back into the same types
  const auto back = io::read_results(dir, "io_test");
  CHECK(back.experiment == "io_test");
  CHECK(back.seed == 7);
  CHECK(back.started == r.started);
  CHECK(back.config.size() == 2);
  REQUIRE(back.runs.size() == 1);
  const auto& b = back.runs[0];
  CHECK(b.label == "N=5, flat");
  CHECK(b.metric_names == r.runs[0].metric_names);  // the order written, not alphabetical
  CHECK(b.generations == 2);
  CHECK(b.replicates == 2);
  CHECK(b.summary[0].mean == r.runs[0].summary[0].mean);
  CHECK(std::isnan(b.summary[1].mean[0]));  // -inf went out as null
  CHECK(b.events == r.runs[0].events);
  CHECK(b.theory == r.runs[0].theory);
  REQUIRE(b.has_values);
  CHECK(b.value(1, 1, 0) == r.runs[0].value(1, 1, 0));
  CHECK(b.value(0, 0, 1) == -std::numeric_limits<double>::infinity());  // the CSV keeps -inf

  {  // a stream that is never committed leaves nothing behind
    io::tidy_csv_stream s(dir / "partial.csv");
  }
  CHECK_FALSE(std::filesystem::exists(dir / "partial.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "partial.csv.tmp"));
  {
    io::tidy_csv_stream s(dir / "streamed.csv");
    opt.observers.push_back(s.rows_for("io_test"));
    results r2;
    r2.experiment = "io_test";
    r2.runs.push_back(loop.run(std::vector<double>(5, 1.0), opt));
    s.commit();
    std::ifstream in(dir / "streamed.csv");
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK(ss.str() == io::tidy_csv(r2));
  }
  CHECK_THROWS_AS(io::write_results(r, "/proc/no/such/dir", "x"), io_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("results describe themselves: provenance from the runs and the build", "[io]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}};
  run_options opt;
  opt.generations = 3;
  opt.replicates = 4;
  opt.samples = schedule::constant{10};
  opt.seed = 42;
  opt.threads = 2;
  results r;  // nothing but the runs: the writers fill the rest
  r.experiment = "prov";
  r.runs.push_back(loop.run(from_truth(models::gaussian{0, 1}), opt));
  CHECK(r.runs[0].seed == 42);
  CHECK(r.runs[0].threads == 2);
  CHECK(r.runs[0].started.size() == 20);  // 2026-12-02T12:40:30Z
  const auto p = io::results_json(r)["provenance"];
  CHECK(p["seed"] == 42);
  CHECK(p["threads"] == 2);
  CHECK(p["started"] == r.runs[0].started);
  CHECK(p["seconds"].get<double>() == r.runs[0].seconds);
  CHECK(p["library_version"] == "0.1.0");
  CHECK(p["build_type"] == OUROBOROS_TEST_BUILD_TYPE);  // this build's, through ouroboros::io
  CHECK(p["git"] != "unknown");  // ouroboros_provenance() for the project's programs
  opt.seed = 43;
  opt.label = "other";
  r.runs.push_back(loop.run(from_truth(models::gaussian{0, 1}), opt));
  CHECK(io::results_json(r)["provenance"]["seed"] == nlohmann::json::array({42, 43}));
  r.seed = 5;  // what the caller sets wins
  CHECK(io::results_json(r)["provenance"]["seed"] == 5);
}

TEST_CASE("reading results: a malformed file is named with the place", "[io]") {
  const auto dir = std::filesystem::temp_directory_path() / "ouroboros_read_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto attempt = [&](const std::string& json) {
    io::write_file_atomic(dir / "x_results.json", json);
    try {
      io::read_results(dir, "x");
    } catch (const data_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(attempt("{"), Catch::Contains("x_results.json: not valid JSON"));
  CHECK_THAT(attempt("{}"), Catch::Contains("no \"runs\" list"));
  CHECK_THAT(
      attempt(R"({"runs":[{"label":"a","replicates":1,"generations":1,"summary":{"m":{}}}]})"),
      Catch::Contains("run 'a' metric 'm': no \"generation\""));
  CHECK_THAT(attempt(R"({"runs":[{"label":"a","replicates":-1,"generations":1,"summary":{}}]})"),
             Catch::Contains("run 'a': \"replicates\" is not a count"));
  CHECK_THAT(
      attempt(
          R"({"runs":[],"events":[{"run":"b","replicate":0,"generation":0,"what":"","action":""}]})"),
      Catch::Contains("events[0]: names run 'b'"));
  const std::string one =
      R"({"runs":[{"label":"a","replicates":1,"generations":1,"metrics":["m"],"summary":{"m":)"
      R"({"generation":[0],"mean":[1],"sd":[null],"se":[null],"ci95_lo":[null],"ci95_hi":[null],)"
      R"("median":[1]}}}]})";
  CHECK(attempt(one) == "no error");
  io::write_file_atomic(dir / "x.csv",
                        "experiment,run,replicate,generation,metric,value\nx,a,1,0,m,1\n");
  CHECK_THAT(attempt(one), Catch::Contains("x.csv: line 2: replicate 1 is out of range"));
  io::write_file_atomic(dir / "x.csv",
                        "experiment,run,replicate,generation,metric,value\nx,a,0,0,m,1e\n");
  CHECK_THAT(attempt(one), Catch::Contains("bad value '1e'"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("figures: drawn from results, safe names, one sentence without gnuplot", "[io][plot]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}, metrics::log_variance{}};
  run_options opt;
  opt.label = "say \"hi\" \\ 'there'";
  opt.generations = 5;
  opt.replicates = 20;
  opt.samples = schedule::constant{10};
  results r;
  r.experiment = "figure test";
  r.runs.push_back(loop.run(from_truth(models::gaussian{0, 1}), opt));
  r.runs[0].theory.emplace_back("variance", std::vector<double>(5, 1.0));
  const auto script = io::results_plot_script(r);
  CHECK_THAT(script, Catch::Contains("title 'say \"hi\" \\ ''there'' theory'"));
  CHECK_THAT(script, Catch::Contains("$t0_0 << EOD\n0 1\n"));
  CHECK_THROWS_AS(io::results_plot_script(r, {.panels = {{"nope"}}}), config_error);
  CHECK_THROWS_AS(io::results_plot_script(r, {.runs = {"nope"}}), config_error);

  const auto dir = std::filesystem::temp_directory_path() / "ouroboros plot 'test' \"dir\"";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto png = dir / "a figure's \"name\".png";
  // a link planted at the figure's name is replaced, never written through
  const auto victim = dir / "victim";
  io::write_file_atomic(victim, "precious");
  std::filesystem::create_symlink(victim, png);
  if (io::find_gnuplot().empty()) {
    WARN("gnuplot is not installed: only the message without it is checked");
  } else {
    const auto st = io::plot_results(r, png, {.panels = {{"variance", "Variance", true}}});
    CHECK(st.drawn);
    CHECK(st.message.empty());
    CHECK(std::filesystem::is_regular_file(std::filesystem::symlink_status(png)));
    std::ifstream in(png, std::ios::binary);
    char sig[8] = {};
    in.read(sig, 8);
    CHECK(std::string(sig + 1, 3) == "PNG");
    std::ifstream v(victim);
    std::string content;
    v >> content;
    CHECK(content == "precious");
    auto gp = png;
    CHECK(std::filesystem::is_regular_file(gp.replace_extension(".gp")));
    // a script gnuplot rejects: a sentence, nothing drawn, no staging folder left
    const auto bad = io::render_png("plot no_such_function(x)\n", dir / "bad.png");
    CHECK_FALSE(bad.drawn);
    CHECK_THAT(bad.message, Catch::Contains("gnuplot failed to draw"));
    CHECK_FALSE(std::filesystem::exists(dir / "bad.png"));
  }
  if (!io::find_gnuplot().empty()) {
    // gnuplot runs `backquoted` commands and expands @macros outside single quotes: labels, titles
    // and file names must never reach it unquoted
    const auto planted = dir / "pwned";
    results evil = r;
    evil.experiment = fmt::format("x `touch '{}'` @x", planted.string());
    evil.runs[0].label = fmt::format("M `touch '{}'`", planted.string());
    const auto evil_png = dir / fmt::format("f `touch '{}'`.png", planted.string());
    CHECK(io::plot_results(evil, evil_png).drawn);
    CHECK_FALSE(std::filesystem::exists(planted));
    CHECK(std::filesystem::is_regular_file(evil_png));
  }
  CHECK_THROWS_AS(io::plot_results(r, dir / ""), config_error);  // no file name
  CHECK(!io::find_gnuplot().empty() == io::plot_results(r, dir / "new" / "sub" / "a.png").drawn);
  ::setenv("OUROBOROS_GNUPLOT", "", 1);  // figures off
  const auto none = io::plot_results(r, dir / "none.png");
  ::unsetenv("OUROBOROS_GNUPLOT");
  CHECK_FALSE(none.drawn);
  CHECK_THAT(none.message, Catch::StartsWith("figures are off (OUROBOROS_GNUPLOT is empty)"));
  CHECK_FALSE(std::filesystem::exists(dir / "none.png"));
  for (const auto& e : std::filesystem::directory_iterator(dir))
    CHECK(e.path().filename().string().find("plot.tmp.") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("values: whole and real numbers read strictly, ranges said in words", "[values]") {
  const whole_range r{1, 100};
  CHECK(parse_whole("010", r).value() == 10);  // decimal, not octal
  CHECK(parse_whole("100", r).value() == 100);
  for (const char* bad : {"", "0", "101", "-1", "+1", "0x14", "1e2", "1.5", " 5", "5 ", "nan"})
    CHECK_FALSE(parse_whole(bad, r).ok());
  CHECK(parse_whole("18446744073709551615").value() == 18446744073709551615ull);
  CHECK_THAT(parse_whole("18446744073709551616").why(), Catch::Contains("too large"));
  CHECK_THAT(parse_whole("", r).why(), Catch::Contains("(empty)"));
  CHECK(parse_whole("0", r).why() == "must be a whole number from 1 to 100, not '0'");
  CHECK(whole_range{0}.describe() == "a whole number of 0 or more");
  CHECK(whole_range{2}.describe() == "a whole number of at least 2");

  const auto lr = real_range::above_to(0, 10);
  CHECK(lr.describe() == "a number greater than 0 and at most 10");
  CHECK(parse_real("1e-3", lr).value() == 1e-3);
  CHECK(parse_real("10", lr).ok());
  for (const char* bad :
       {"0", "10.5", "nan", "NaN", "inf", "-inf", "1e999", "0x1p3", "", "e", "1,2", "1e", "--1"})
    CHECK_FALSE(parse_real(bad, lr).ok());
  CHECK(parse_real("0", lr).why() == "must be a number greater than 0 and at most 10, not '0'");
  CHECK(real_range::closed(0, 1).describe() == "a number from 0 to 1");
  CHECK(real_range::at_least(0).describe() == "a number of at least 0");
  CHECK(real_range::closed(0, 1e9).describe() == "a number from 0 to 1000000000");
  CHECK_FALSE(real_range::closed(0, 1).contains(std::nan("")));
  CHECK(real_range::closed(0, 1).check(2) == "must be a number from 0 to 1, not 2");
}
