// The exact fast paths (sufficient statistics for the Gaussian, multinomial counts for the
// categorical model): their variates, their agreement with the sampled paths and with the closed
// forms (bounds of 4 standard errors, fixed seeds), the batched Gaussian run against the loop bit
// for bit, its checkpoints, and the regimes without an exact form. Also the summaries' selection of
// the median on large inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/run.hpp"
#include "ouroboros/core/run_store.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/stats.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/categorical_exact.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gaussian_exact.hpp"
#include "ouroboros/models/metrics/categorical.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

using namespace ouro;

namespace {

constexpr double kSE = 4.0;

/// Mean and standard error of f() over n calls.
template <class F>
std::pair<double, double> mean_se(std::size_t n, F f) {
  double s = 0, ss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = f();
    s += x;
    ss += x * x;
  }
  const double m = s / static_cast<double>(n);
  const double var = (ss - s * m) / static_cast<double>(n - 1);
  return {m, std::sqrt(var / static_cast<double>(n))};
}

/// |a - b| within 4 combined standard errors, for metric `name` at every generation.
void same_distribution(const run_result& a, const run_result& b, const std::string& name) {
  const auto& x = a.summary[*a.metric_index(name)];
  const auto& y = b.summary[*b.metric_index(name)];
  for (std::size_t g = 0; g < a.generations; ++g) {
    const double se = std::hypot(x.se[g], y.se[g]);
    INFO(a.label << ": " << name << " at generation " << g << ": exact " << x.mean[g] << " +- "
                 << x.se[g] << ", sampled " << y.mean[g] << " +- " << y.se[g]);
    CHECK(std::abs(x.mean[g] - y.mean[g]) <= kSE * se);
  }
}

template <class Law>
void against_law(const run_result& r, const std::string& name, Law law) {
  const auto& s = r.summary[*r.metric_index(name)];
  for (std::size_t g = 0; g < r.generations; ++g) {
    const double th = law(g + 1);
    INFO(r.label << ": " << name << " at generation " << g << ": " << s.mean[g] << " +- " << s.se[g]
                 << ", theory " << th);
    CHECK(std::abs(s.mean[g] - th) <= kSE * s.se[g]);
  }
}

template <class Fitter, class Regime>
auto gaussian_loop(Fitter f, Regime reg) {
  return collapse_loop{f,
                       sample::ancestral{},
                       reg,
                       metrics::mean{},
                       metrics::variance{},
                       metrics::std_dev{},
                       metrics::log_variance{},
                       metrics::mean_sq_error{},
                       metrics::w2_sq{}};
}

run_options options(std::string label, std::size_t M, std::size_t G, std::size_t R,
                    std::uint64_t seed) {
  run_options opt;
  opt.label = std::move(label);
  opt.generations = G;
  opt.replicates = R;
  opt.samples = schedule::constant{M};
  opt.seed = seed;
  return opt;
}

}  // namespace

TEST_CASE("gamma, chi-squared and binomial variates have their moments", "[exact][variates]") {
  default_rng g(11);
  for (double shape : {0.4, 1.0, 2.5, 49.5, 1e4}) {
    const auto [m, se] = mean_se(40000, [&] { return gamma_variate(g, shape); });
    INFO("Gamma(" << shape << "): mean " << m << " +- " << se);
    CHECK(std::abs(m - shape) <= kSE * se);
    const auto [v, vse] = mean_se(40000, [&] {
      const double x = gamma_variate(g, shape) - shape;
      return x * x;
    });
    INFO("variance " << v << " +- " << vse);
    CHECK(std::abs(v - shape) <= kSE * vse);
  }
  for (double k : {1.0, 2.0, 5.0, 99.0}) {
    const auto [m, se] = mean_se(40000, [&] { return chi_squared(g, k); });
    INFO("chi-squared(" << k << "): " << m << " +- " << se);
    CHECK(std::abs(m - k) <= kSE * se);
  }
  CHECK(chi_squared(g, 0) == 0);
  CHECK(std::isnan(gamma_variate(g, 0)));
  CHECK(std::isnan(gamma_variate(g, -1)));
  for (auto [n, p] : {std::pair<std::uint64_t, double>{10, 0.3},
                      {100, 0.5},
                      {1000, 0.02},
                      {1000, 0.97},
                      {1'000'000'000, 0.3},
                      {50, 1e-9}}) {
    const double dn = static_cast<double>(n);
    const auto [m, se] = mean_se(20000, [&] { return static_cast<double>(binomial(g, n, p)); });
    INFO("Binomial(" << n << ", " << p << "): " << m << " +- " << se);
    if (se > 0) CHECK(std::abs(m - dn * p) <= kSE * se);
    const auto [v, vse] = mean_se(20000, [&] {
      const double x = static_cast<double>(binomial(g, n, p)) - dn * p;
      return x * x;
    });
    INFO("variance " << v << " +- " << vse);
    if (dn * p > 1e-3) CHECK(std::abs(v - dn * p * (1 - p)) <= kSE * vse);
  }
  CHECK(binomial(g, 0, 0.5) == 0);
  CHECK(binomial(g, 7, 0.0) == 0);
  CHECK(binomial(g, 7, 1.0) == 7);
  CHECK(binomial(g, 7, 2.0) == 7);
  for (int i = 0; i < 1000; ++i) CHECK(binomial(g, 40, 0.5) <= 40);
}

TEST_CASE("gaussian_stats pool exactly and the exact model's statistics have their law",
          "[exact][gaussian]") {
  const std::vector<double> a{1, 2, 4, 7}, b{-3, 0.5, 10};
  std::vector<double> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  const auto p =
      models::gaussian_stats::pooled(models::gaussian_stats::of(a), models::gaussian_stats::of(b));
  const auto q = models::gaussian_stats::of(ab);
  CHECK(p.count == 7);
  CHECK(p.mean == Approx(q.mean).epsilon(1e-14));
  CHECK(p.ssd == Approx(q.ssd).epsilon(1e-14));
  // log-likelihood from the statistics equals the points'
  const models::exact_gaussian m(0.5, 2.0);
  CHECK(m.log_likelihood(q) == Approx(models::gaussian(0.5, 2.0).log_likelihood(ab)));
  // the mean of M draws is N(mu, sigma^2 / M), the sum of squared deviations sigma^2 chi^2_{M-1}
  default_rng g(3);
  const std::size_t M = 17;
  const auto [mm, mse] = mean_se(40000, [&] { return m.sample(M, g).mean; });
  CHECK(std::abs(mm - 0.5) <= kSE * mse);
  const auto [mv, mvse] = mean_se(40000, [&] {
    const double d = m.sample(M, g).mean - 0.5;
    return d * d;
  });
  CHECK(std::abs(mv - 2.0 / M) <= kSE * mvse);
  const auto [ss, sse] = mean_se(40000, [&] { return m.sample(M, g).ssd; });
  CHECK(std::abs(ss - 2.0 * (M - 1)) <= kSE * sse);
  CHECK(m.sample(0, g).count == 0);
  CHECK(m.sample(1, g).ssd == 0);
}

TEST_CASE("the exact Gaussian path has the sampled path's distributions and the closed forms",
          "[exact][gaussian][mc]") {
  using theory::estimator;
  SECTION("replace, unbiased, M = 25") {
    const std::size_t M = 25;
    auto opt = options("M=25", M, 30, 5000, 71);
    const auto ex =
        gaussian_loop(models::exact_gaussian_fitter<models::unbiased>{}, regime::replace{})
            .run(from_truth(models::exact_gaussian{0, 1}), opt);
    const auto sa = gaussian_loop(models::gaussian_fitter<models::unbiased>{}, regime::replace{})
                        .run(from_truth(models::gaussian{0, 1}), opt);
    for (const char* m : {"mean", "std", "log_variance", "mean_sq_error", "w2_sq"}) {
      same_distribution(ex, sa, m);
      against_law(ex, m, [&](std::size_t n) {
        return *theory::expected(m, M, n, estimator::unbiased, theory::regime::replace);
      });
    }
  }
  SECTION("accumulate, MLE, M = 8") {
    const std::size_t M = 8;
    auto opt = options("M=8", M, 25, 6000, 72);
    const auto ex =
        gaussian_loop(models::exact_gaussian_fitter<models::mle>{}, regime::accumulate{})
            .run(from_truth(models::exact_gaussian{0, 1}), opt);
    const auto sa = gaussian_loop(models::gaussian_fitter<models::mle>{}, regime::accumulate{})
                        .run(from_truth(models::gaussian{0, 1}), opt);
    same_distribution(ex, sa, "variance");
    same_distribution(ex, sa, "mean_sq_error");
    against_law(ex, "variance", [&](std::size_t n) {
      return *theory::expected_variance(M, n, estimator::mle, theory::regime::accumulate);
    });
  }
  SECTION("mix with fresh real data, both estimators, M = 20, alpha = 0.3") {
    const std::size_t M = 20;
    const double alpha = 0.3;
    auto opt = options("M=20", M, 25, 5000, 73);
    const regime::mix mix{alpha, regime::real_source_kind::fresh};
    auto check = [&](auto est, estimator e) {
      using E = decltype(est);
      const auto ex = gaussian_loop(models::exact_gaussian_fitter<E>{}, mix)
                          .run(from_truth(models::exact_gaussian{0, 1}), opt);
      const auto sa = gaussian_loop(models::gaussian_fitter<E>{}, mix)
                          .run(from_truth(models::gaussian{0, 1}), opt);
      same_distribution(ex, sa, "variance");
      same_distribution(ex, sa, "mean_sq_error");
      against_law(ex, "variance", [&](std::size_t n) {
        return theory::expected_mix_fresh(M, n, e, alpha).variance;
      });
      against_law(ex, "mean_sq_error", [&](std::size_t n) {
        return theory::expected_mix_fresh(M, n, e, alpha).mean_square;
      });
    };
    check(models::unbiased{}, estimator::unbiased);
    check(models::mle{}, estimator::mle);
  }
}

TEST_CASE("run_exact_gaussian equals the loop over exact_gaussian bit for bit",
          "[exact][gaussian]") {
  auto compare = [](auto est, auto reg, std::size_t M, unsigned threads) {
    using E = decltype(est);
    auto opt = options(fmt::format("M={}", M), M, 12, 3000, 99);
    opt.first_replicate = 5;
    opt.threads = threads;
    opt.keep = keep_values::all;
    opt.samples = [M](std::size_t g) { return g % 3 == 2 ? M + 1 : M; };
    const models::exact_gaussian truth{0.5, 2.0};
    const models::exact_gaussian_fitter<E> fitter{};
    const auto batch = models::run_exact_gaussian(truth, fitter, reg, opt);
    const auto loop = collapse_loop{fitter,
                                    sample::ancestral{},
                                    reg,
                                    metrics::mean{},
                                    metrics::variance{},
                                    metrics::std_dev{},
                                    metrics::log_variance{},
                                    metrics::mean_sq_error{truth.mean()},
                                    metrics::w2_sq{truth.mean(), truth.variance()}}
                          .run(from_truth(truth), opt);
    INFO(reg.name() << ", M = " << M << ", threads " << threads);
    REQUIRE(batch.metric_names == loop.metric_names);
    REQUIRE(batch.generations == loop.generations);
    CHECK(batch.values == loop.values);
    for (std::size_t k = 0; k < batch.summary.size(); ++k) {
      const auto& a = batch.summary[k];
      const auto& b = loop.summary[k];
      CHECK(a.mean == b.mean);
      CHECK(a.sd == b.sd);
      CHECK(a.ci95_lo == b.ci95_lo);
      CHECK(a.median == b.median);
    }
    CHECK(batch.events == loop.events);
  };
  for (unsigned t : {1u, 2u}) {
    compare(models::unbiased{}, regime::replace{}, 10, t);
    compare(models::mle{}, regime::accumulate{}, 6, t);
    compare(models::unbiased{}, regime::mix{0.25, regime::real_source_kind::fresh}, 12, t);
  }
  // M = 1 (an undefined unbiased variance: an event per fit) and M = 2 with a floor
  compare(models::unbiased{}, regime::replace{}, 1, 2);
  auto opt = options("floor", 2, 40, 500, 4);
  opt.keep = keep_values::all;
  const models::exact_gaussian_fitter<models::mle> floored{0.05};
  const auto a =
      models::run_exact_gaussian(models::exact_gaussian{0, 1}, floored, regime::replace{}, opt);
  const auto b =
      gaussian_loop(floored, regime::replace{}).run(from_truth(models::exact_gaussian{0, 1}), opt);
  CHECK(a.values == b.values);
  CHECK(a.events == b.events);
  CHECK(!a.events.empty());
}

TEST_CASE("run_exact_gaussian resumes from its checkpoints and stops when asked", "[exact]") {
  auto opt = options("M=30", 30, 20, 700, 5);
  opt.keep = keep_values::all;
  const models::exact_gaussian truth{0, 1};
  const models::exact_gaussian_fitter<models::unbiased> fitter{};
  const auto whole = models::run_exact_gaussian(truth, fitter, regime::accumulate{}, opt);
  memory_store store(1);
  std::atomic<bool> stop{false};
  opt.checkpoint = &store;
  opt.interrupt = &stop;
  opt.observers.push_back([&](const generation_report& r) {
    if (r.generation == 7) stop = true;
    return observer_action::proceed;
  });
  const auto first = models::run_exact_gaussian(truth, fitter, regime::accumulate{}, opt);
  CHECK(first.interrupted);
  CHECK(first.generations == 8);
  stop = false;
  opt.observers.clear();
  const auto rest = models::run_exact_gaussian(truth, fitter, regime::accumulate{}, opt);
  CHECK_FALSE(rest.interrupted);
  CHECK(rest.values == whole.values);
  CHECK(rest.summary[1].mean == whole.summary[1].mean);
  // completed: returned from the store
  const auto again = models::run_exact_gaussian(truth, fitter, regime::accumulate{}, opt);
  CHECK(again.values == whole.values);
  // another seed does not continue this run's state
  memory_store other(1);
  opt.checkpoint = &other;
  stop = false;
  opt.observers.push_back([&](const generation_report& r) {
    if (r.generation == 3) stop = true;
    return observer_action::proceed;
  });
  (void)models::run_exact_gaussian(truth, fitter, regime::accumulate{}, opt);
  opt.seed = 6;
  opt.observers.clear();
  CHECK_THROWS_WITH(models::run_exact_gaussian(truth, fitter, regime::accumulate{}, opt),
                    Catch::Contains("other options"));
}

TEST_CASE("regimes without an exact form are refused with a sentence", "[exact]") {
  auto opt = options("M=10", 10, 3, 4, 1);
  const models::exact_gaussian truth{0, 1};
  const models::exact_gaussian_fitter<models::unbiased> fitter{};
  CHECK_THROWS_AS(models::run_exact_gaussian(truth, fitter, regime::accumulate_subsample{}, opt),
                  config_error);
  CHECK_THROWS_WITH(models::run_exact_gaussian(truth, fitter, regime::accumulate_subsample{}, opt),
                    Catch::Contains("no exact form"));
  CHECK_THROWS_WITH(models::run_exact_gaussian(truth, fitter, regime::mix{0.2}, opt),
                    Catch::Contains("no exact form"));
  // in the loop: the first subset asked of the statistics stops the run with the same reason
  CHECK_THROWS_WITH(gaussian_loop(fitter, regime::mix{0.2}).run(from_truth(truth), opt),
                    Catch::Contains("cannot take a subset"));
  const auto counts_loop =
      collapse_loop{models::exact_categorical_fitter{3}, sample::ancestral{},
                    regime::accumulate_subsample{5}, metrics::heterozygosity{}};
  CHECK_THROWS_WITH(counts_loop.run(from_truth(models::exact_categorical{{0.5, 0.3, 0.2}}), opt),
                    Catch::Contains("cannot take a subset"));
}

TEST_CASE("exact categorical counts: the multinomial law and the sampled path's distributions",
          "[exact][categorical][mc]") {
  const std::vector<double> p{0.45, 0.3, 0.15, 0.1, 0.0};
  const models::exact_categorical m{p};
  default_rng g(17);
  const std::size_t M = 250;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto [c, se] =
        mean_se(20000, [&] { return static_cast<double>(m.sample(M, g).counts[i]); });
    INFO("state " << i << ": " << c << " +- " << se);
    if (p[i] == 0)
      CHECK(c == 0);
    else
      CHECK(std::abs(c - M * p[i]) <= kSE * se);
  }
  for (int i = 0; i < 200; ++i) CHECK(m.sample(M, g).total() == M);
  // counts of a huge training set cost no more than a small one's
  CHECK(m.sample(std::size_t{1} << 40, g).total() == std::uint64_t{1} << 40);

  double h0 = 1;
  for (double v : p) h0 -= v * v;
  auto loops = [&](auto reg) {
    return std::pair{
        collapse_loop{models::exact_categorical_fitter{5}, sample::ancestral{}, reg,
                      metrics::heterozygosity{}, metrics::entropy{}, metrics::support_size{}},
        collapse_loop{models::categorical_fitter{5}, sample::ancestral{}, reg,
                      metrics::heterozygosity{}, metrics::entropy{}, metrics::support_size{}}};
  };
  SECTION("replace: E[H_n] = H_0 (1 - 1/M)^n") {
    auto opt = options("M=15", 15, 30, 5000, 41);
    const auto [ex, sa] = loops(regime::replace{});
    const auto a = ex.run(from_truth(models::exact_categorical{p}), opt);
    const auto b = sa.run(from_truth(models::categorical{p}), opt);
    for (const char* k : {"heterozygosity", "entropy", "support_size"}) same_distribution(a, b, k);
    against_law(a, "heterozygosity",
                [&](std::size_t n) { return theory::expected_heterozygosity(h0, 15, n); });
  }
  SECTION("accumulate and mix with fresh real data") {
    auto opt = options("M=12", 12, 20, 4000, 42);
    {
      const auto [ex, sa] = loops(regime::accumulate{});
      const auto a = ex.run(from_truth(models::exact_categorical{p}), opt);
      const auto b = sa.run(from_truth(models::categorical{p}), opt);
      for (const char* k : {"heterozygosity", "entropy", "support_size"})
        same_distribution(a, b, k);
    }
    {
      const auto [ex, sa] = loops(regime::mix{0.25, regime::real_source_kind::fresh});
      const auto a = ex.run(from_truth(models::exact_categorical{p}), opt);
      const auto b = sa.run(from_truth(models::categorical{p}), opt);
      for (const char* k : {"heterozygosity", "entropy", "support_size"})
        same_distribution(a, b, k);
    }
  }
}

TEST_CASE("summaries select the exact median of large inputs in any order", "[stats]") {
  default_rng g(5);
  std::vector<double> scratch;
  for (std::size_t n : {8191u, 8192u, 10001u, 100000u}) {
    std::vector<double> x(n);
    for (auto& v : x) v = standard_normal(g);
    auto reference = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      const std::size_t mid = v.size() / 2;
      return v.size() % 2 ? v[mid] : v[mid - 1] + (v[mid] - v[mid - 1]) / 2;
    };
    std::vector<std::vector<double>> orders{x};
    auto sorted = x;
    std::sort(sorted.begin(), sorted.end());
    orders.push_back(sorted);
    orders.emplace_back(sorted.rbegin(), sorted.rend());
    auto few = x;  // many ties
    for (auto& v : few) v = std::round(v);
    orders.push_back(few);
    auto zigzag = sorted;  // sorted against the sampling stride
    for (std::size_t i = 0; i + 1 < n; i += 2) std::swap(zigzag[i], zigzag[n - 1 - i]);
    orders.push_back(zigzag);
    for (const auto& v : orders) {
      INFO("n = " << n);
      CHECK(summarize(v, scratch).median == reference(v));
    }
  }
  // means and spreads in eight lanes: as accurate as a careful serial sum
  std::vector<double> y(100003);
  for (auto& v : y) v = 1e6 + standard_normal(g);
  long double s = 0;
  for (double v : y) s += v;
  const long double mean = s / y.size();
  long double ss = 0;
  for (double v : y) ss += (v - mean) * (v - mean);
  const auto p = summarize(y);
  CHECK(p.mean == Approx(static_cast<double>(mean)).epsilon(1e-15));
  CHECK(p.sd == Approx(static_cast<double>(std::sqrt(ss / (y.size() - 1)))).epsilon(1e-9));
}
