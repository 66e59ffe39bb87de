// The run object and executors, on the core layer alone: this file includes ouroboros/core.hpp
// only and links ouroboros::core (no xtensor, JSON, zlib, BLAS or POSIX file code). A host that
// steps a run, saves and restores it, supplies its own executor or its own run_store gets the
// numbers of collapse_loop::run bit for bit.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "ouroboros/core.hpp"

namespace {

// A Poisson model, refitted by its sample mean (the tutorial's model), with checkpoint traits.
struct poisson {
  using dataset_type = std::vector<int>;
  double rate = 1.0;
  dataset_type sample(std::size_t n, ouro::Rng auto& g) const {
    dataset_type x(n);
    const double limit = std::exp(-rate);
    for (int& k : x) {
      double p = ouro::uniform01(g);
      for (k = 0; p > limit; ++k) p *= ouro::uniform01(g);
    }
    return x;
  }
  double log_likelihood(const dataset_type& x) const {
    double s = 0;
    for (int k : x) s += k * std::log(rate) - rate - std::lgamma(k + 1.0);
    return s;
  }
};
struct poisson_mle {
  using model_type = poisson;
  poisson fit(const std::vector<int>& x, ouro::Rng auto&, ouro::event_log& log) const {
    double s = 0;
    for (int k : x) s += k;
    if (s == 0) log.record("all counts zero", "rate 0");
    return poisson{s / static_cast<double>(x.size())};
  }
};
struct rate {
  std::string name() const { return "rate"; }
  double operator()(const ouro::generation_context<poisson>& c) const { return c.model.rate; }
};
// draws from its own stream: the metric streams must line up in every way of running
struct resampled_mean {
  std::string name() const { return "resampled_mean"; }
  double operator()(const ouro::generation_context<poisson>& c) const {
    const auto x = c.model.sample(5, c.rng());
    double s = 0;
    for (int k : x) s += k;
    return s / 5;
  }
};

}  // namespace

template <>
struct ouro::checkpoint_traits<poisson> {
  static void save(const poisson& p, io::binary_writer& w) { w.put_f64(p.rate); }
  static poisson load(io::binary_reader& r) { return poisson{r.get_f64("rate")}; }
};

namespace {

template <class Regime>
auto make_loop(Regime regime) {
  return ouro::collapse_loop{poisson_mle{}, ouro::sample::ancestral{}, regime, rate{},
                             resampled_mean{}};
}

ouro::run_options options(unsigned threads = 2) {
  ouro::run_options o;
  o.label = "M=8";
  o.generations = 40;
  o.replicates = 24;
  o.samples = ouro::schedule::constant{8};
  o.seed = 11;
  o.threads = threads;
  o.keep = ouro::keep_values::all;
  return o;
}

void same(const ouro::run_result& a, const ouro::run_result& b) {
  REQUIRE(a.generations == b.generations);
  REQUIRE(a.metric_names == b.metric_names);
  REQUIRE(a.values == b.values);  // bit for bit
  REQUIRE(a.summary.size() == b.summary.size());
  for (std::size_t k = 0; k < a.summary.size(); ++k) {
    CHECK(a.summary[k].mean == b.summary[k].mean);
    CHECK(a.summary[k].sd == b.summary[k].sd);
    CHECK(a.summary[k].median == b.summary[k].median);
    CHECK(a.summary[k].ci95_lo == b.summary[k].ci95_lo);
  }
  REQUIRE(a.events.size() == b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    CHECK(a.events[i].replicate == b.events[i].replicate);
    CHECK(a.events[i].generation == b.events[i].generation);
    CHECK(a.events[i].what == b.events[i].what);
  }
  CHECK(a.interrupted == b.interrupted);
}

// A host's executor: its own threads, indices handed out from the end, to show that the order
// and the threads do not matter.
class reversed_threads final : public ouro::executor {
 public:
  unsigned concurrency() const noexcept override { return 3; }
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) override {
    ++calls;
    std::atomic<std::size_t> next{n};
    auto work = [&] {
      for (std::size_t i; (i = next.fetch_sub(1)) > 0 && i <= n;) fn(i - 1);
    };
    std::thread a(work), b(work);
    work();
    a.join();
    b.join();
  }
  int calls = 0;
};

}  // namespace

TEST_CASE("a stepped run gives run()'s results bit for bit", "[run]") {
  const auto loop = make_loop(ouro::regime::mix{0.25, ouro::regime::real_source_kind::fresh});
  const auto real = ouro::from_truth(poisson{0.5});
  const auto reference = loop.run(real, options());
  REQUIRE(reference.generations == 40);
  REQUIRE(!reference.events.empty());  // some replicates hit rate 0: events are compared too

  auto run = loop.start(real, options());
  std::size_t steps = 0;
  while (!run.done()) {
    run.advance();
    ++steps;
    const std::size_t g = run.generations_done() - 1;
    // what the host sees after each generation agrees with what the results will hold
    REQUIRE(run.models().size() == 24);
    REQUIRE(run.values().size() == 24 * 2);
    for (std::size_t r = 0; r < 24; ++r) REQUIRE(run.models()[r]->rate == run.values()[r * 2]);
    if (g % 3 == 0) {  // summaries on demand, on some generations only
      const auto s = run.summary();
      REQUIRE(s.size() == 2);
      CHECK(s[0].mean == reference.summary[0].mean[g]);
      CHECK(s[1].sd == reference.summary[1].sd[g]);
    }
    CHECK(run.results().generations == g);  // recorded up to the generation before
  }
  CHECK(steps == 40);
  same(std::move(run).finish(), reference);
}

TEST_CASE("results do not depend on the executor", "[run][executor]") {
  const auto loop = make_loop(ouro::regime::accumulate_subsample{});
  const auto real = ouro::from_truth(poisson{1.5});
  const auto reference = loop.run(real, options(1));
  reversed_threads host;
  auto o = options();
  o.executor = &host;
  same(loop.run(real, o), reference);
  CHECK(host.calls >= 40);
  ouro::inline_executor serial;
  o.executor = &serial;
  same(loop.run(real, o), reference);
  o.executor = nullptr;
  o.threads = 3;
  same(loop.run(real, o), reference);
}

TEST_CASE("a run saved and restored continues exactly", "[run][checkpoint]") {
  const auto loop = make_loop(ouro::regime::accumulate_subsample{});
  const auto real = ouro::from_truth(poisson{2.5});
  const auto reference = loop.run(real, options());

  auto first = loop.start(real, options());
  for (int i = 0; i < 17; ++i) first.advance();
  const std::string state = first.save();

  auto second = loop.start(real, options(3));
  second.restore(state);
  CHECK(second.generations_done() == 17);
  for (std::size_t r = 0; r < 24; ++r) CHECK(second.models()[r]->rate == first.models()[r]->rate);
  while (!second.done()) second.advance();
  same(std::move(second).finish(), reference);

  // a damaged or foreign state is refused with a data_error naming it
  auto third = loop.start(real, options());
  CHECK_THROWS_AS(third.restore(state.substr(0, state.size() / 2), "my state"), ouro::data_error);
  auto other = options();
  other.replicates = 5;
  auto fourth = loop.start(real, other);
  CHECK_THROWS_WITH(fourth.restore(state, "my state"),
                    Catch::Contains("my state") && Catch::Contains("replicates"));
}

TEST_CASE("memory_store: an interrupted run resumes, a completed one is returned",
          "[run][checkpoint]") {
  const auto loop = make_loop(ouro::regime::replace{});
  const auto real = ouro::from_truth(poisson{2.0});
  const auto reference = loop.run(real, options());

  ouro::memory_store store(5);
  std::atomic<bool> stop{false};
  auto o = options();
  o.checkpoint = &store;
  o.interrupt = &stop;
  o.observers.push_back([&](const ouro::generation_report& r) {
    if (r.generation == 20) stop = true;
    return ouro::observer_action::proceed;
  });
  const auto cut = loop.run(real, o);
  CHECK(cut.interrupted);
  CHECK(cut.generations < 40);
  REQUIRE(store.progress("M=8"));

  o.observers.clear();
  stop = false;
  same(loop.run(real, o), reference);
  REQUIRE(store.completed("M=8"));
  CHECK(!store.progress("M=8"));
  auto again = loop.start(real, o);  // completed: done at once, the stored results come back
  CHECK(again.done());
  same(std::move(again).finish(), reference);
}

TEST_CASE("the run object refuses misuse with a sentence", "[run]") {
  const auto loop = make_loop(ouro::regime::replace{});
  const auto real = ouro::from_truth(poisson{2.0});
  auto o = options();
  o.generations = 2;
  auto run = loop.start(real, o);
  CHECK_THROWS_WITH(run.summary(), Catch::Contains("no generation has run yet"));
  run.advance();
  run.advance();
  CHECK(run.done());
  CHECK_THROWS_AS(run.advance(), ouro::config_error);
  auto res = std::move(run).finish();
  CHECK(res.generations == 2);
  o.generations = 0;
  CHECK_THROWS_AS(loop.start(real, o), ouro::config_error);

  // an observer stops the run: the generation in progress is dropped, as run() does
  o.generations = 10;
  o.observers.push_back([](const ouro::generation_report& r) {
    return r.generation == 3 ? ouro::observer_action::stop : ouro::observer_action::proceed;
  });
  auto stopped = loop.start(real, o);
  while (!stopped.done()) stopped.advance();
  CHECK(stopped.stopped());
  const auto s = std::move(stopped).finish();
  CHECK(s.generations == 4);
  same(s, loop.run(real, o));
}

namespace {
struct failing_metric {
  std::string name() const { return "fails"; }
  double operator()(const ouro::generation_context<poisson>& c) const {
    if (c.generation == 2) throw std::runtime_error("broken at 2");
    return c.model.rate;
  }
};
}  // namespace

TEST_CASE("a run whose advance() failed refuses to continue or finish", "[run]") {
  const auto loop = ouro::collapse_loop{poisson_mle{}, ouro::sample::ancestral{},
                                        ouro::regime::replace{}, failing_metric{}};
  auto o = options();
  o.generations = 5;
  o.replicates = 3;
  auto run = loop.start(ouro::from_truth(poisson{2.0}), o);
  run.advance();
  run.advance();
  CHECK_THROWS_AS(run.advance(), ouro::run_error);
  CHECK_THROWS_WITH(run.advance(), Catch::Contains("an earlier advance() failed at generation 2"));
  CHECK_THROWS_WITH(std::move(run).finish(), Catch::Contains("the run cannot continue"));
}

TEST_CASE("the core's engines, samplers and regimes take any standard engine", "[run][engine]") {
  std::mt19937_64 g64(5);
  std::mt19937 g32(5);
  std::vector<double> out(100);
  ouro::fill_standard_normal(g64, std::span<double>(out));
  ouro::fill_normal(g32, std::span<double>(out), 1.0, 2.0);
  ouro::fill_uniform01(g64, std::span<double>(out));
  for (double v : out) CHECK((v >= 0 && v < 1));
  CHECK(ouro::uniform_index(g32, 7) < 7);
  const poisson p{3.0};
  ouro::event_log log;
  const auto x = ouro::sample::ancestral{}(p, 50, g64);
  CHECK(x.size() == 50);
  CHECK(poisson_mle{}.fit(x, g32, log).rate > 0);
}

TEST_CASE("restore() refuses the state of another run, damage, and a run that has advanced",
          "[run][checkpoint]") {
  const auto loop = make_loop(ouro::regime::replace{});
  const auto real = ouro::from_truth(poisson{2.0});
  auto run = loop.start(real, options());
  for (int i = 0; i < 5; ++i) run.advance();
  const std::string state = run.save();
  auto other_seed = options();
  other_seed.seed = 12;
  auto a = loop.start(real, other_seed);
  CHECK_THROWS_WITH(a.restore(state, "s"), Catch::Contains("other options") &&
                                               Catch::Contains("it had 'seed 11', this run has "
                                                               "'seed 12'"));
  auto other_samples = options();
  other_samples.samples = ouro::schedule::constant{9};
  auto b = loop.start(real, other_samples);
  CHECK_THROWS_WITH(b.restore(state, "s"), Catch::Contains("samples"));
  // every single-bit flip is caught by the checksum or the checks (none restores silently)
  std::size_t refused = 0;
  for (std::size_t i = 0; i < state.size(); i += 7) {
    std::string bad = state;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    auto c = loop.start(real, options());
    try {
      c.restore(bad, "flipped");
    } catch (const ouro::data_error&) {
      ++refused;
    }
  }
  CHECK(refused == (state.size() + 6) / 7);
  CHECK_THROWS_AS(run.restore(state), ouro::config_error);  // it has advanced
}
