// Statistical tests: the collapse loop's Monte Carlo against every closed form of docs/theory.md,
// with fixed seeds and bounds of 4 standard errors of the Monte Carlo mean. The settings
// (M, generations) differ from the examples' defaults on purpose. Where the tails are heavy
// (the variance itself under long recursion) only the light-tailed quantities are tested:
// log-variance and standard deviation.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <utility>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/metrics/categorical.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

using namespace ouro;

namespace {

constexpr double kSE = 4.0;

/// Checks the Monte Carlo mean of `metric` against `expect(n)` (n = generation + 1 fits) for the
/// generations g < g_max, within 4 standard errors.
template <class Expect>
void check_metric(const run_result& r, const std::string& metric, Expect expect,
                  std::size_t g_max = SIZE_MAX) {
  const auto k = r.metric_index(metric);
  REQUIRE(k);
  const auto& s = r.summary[*k];
  for (std::size_t g = 0; g < std::min(g_max, r.generations); ++g) {
    const double th = expect(g + 1);
    INFO(r.label << ": " << metric << " at generation " << g << ": Monte Carlo " << s.mean[g]
                 << " +- " << s.se[g] << ", theory " << th);
    CHECK(std::abs(s.mean[g] - th) <= kSE * s.se[g]);
  }
}

template <class Est>
run_result gaussian_run(std::size_t M, std::size_t G, std::size_t R, std::uint64_t seed,
                        bool accumulate = false) {
  run_options opt;
  opt.label = fmt::format("M={}", M);
  opt.generations = G;
  opt.replicates = R;
  opt.samples = schedule::constant{M};
  opt.seed = seed;
  auto metrics_of = [](auto regime) {
    return collapse_loop{models::gaussian_fitter<Est>{},
                         sample::ancestral{},
                         regime,
                         metrics::mean{},
                         metrics::variance{},
                         metrics::std_dev{},
                         metrics::log_variance{},
                         metrics::mean_sq_error{},
                         metrics::w2_sq{}};
  };
  if (accumulate)
    return metrics_of(regime::accumulate{}).run(from_truth(models::gaussian{0, 1}), opt);
  return metrics_of(regime::replace{}).run(from_truth(models::gaussian{0, 1}), opt);
}

}  // namespace

TEST_CASE("unbiased estimator, replace: every closed form", "[theory][mc]") {
  const std::size_t M = 30;
  const auto r = gaussian_run<models::unbiased>(M, 40, 6000, 2024);
  using theory::estimator;
  for (const char* m : {"mean", "std", "log_variance", "mean_sq_error", "w2_sq"})
    check_metric(r, m, [&](std::size_t n) {
      return *theory::expected(m, M, n, estimator::unbiased, theory::regime::replace);
    });
  // E[sigma^2] = 1 only while its tails are light (sd of log sigma^2 below about 0.75)
  check_metric(
      r, "variance", [](std::size_t) { return 1.0; }, 8);
  // the distance to the truth grows without bound while the variance collapses in probability
  const auto& lv = r.summary[*r.metric_index("log_variance")];
  CHECK(lv.median.back() < lv.median.front());
}

TEST_CASE("MLE estimator, replace: every closed form", "[theory][mc]") {
  const std::size_t M = 12;
  const auto r = gaussian_run<models::mle>(M, 60, 6000, 77);
  using theory::estimator;
  for (const char* m : {"mean", "std", "log_variance", "mean_sq_error", "w2_sq"})
    check_metric(r, m, [&](std::size_t n) {
      return *theory::expected(m, M, n, estimator::mle, theory::regime::replace);
    });
  check_metric(
      r, "variance",
      [&](std::size_t n) { return *theory::expected_variance(M, n, estimator::mle); }, 10);
  // E[W2^2] stays below 2
  const auto& w = r.summary[*r.metric_index("w2_sq")];
  CHECK(w.mean.back() < 2);
}

TEST_CASE("MLE estimator, accumulate: E[sigma_n^2] = prod (1 - 1/(k^2 M))", "[theory][mc]") {
  const std::size_t M = 10;
  const auto r = gaussian_run<models::mle>(M, 25, 8000, 5, /*accumulate=*/true);
  check_metric(r, "variance", [&](std::size_t n) {
    return *theory::expected_variance(M, n, theory::estimator::mle, theory::regime::accumulate);
  });
  // and it has nearly reached its limit sin(pi/sqrt M)/(pi/sqrt M)
  CHECK(*theory::expected_variance(M, 25, theory::estimator::mle, theory::regime::accumulate) ==
        Approx(theory::accumulate_variance_limit(M)).epsilon(0.01));
}

TEST_CASE("mixing fresh real data: the exact recursion of E[sigma^2] and E[mu^2]", "[theory][mc]") {
  // settings unlike the example's: M = 12, alpha = 0.25 (3 real draws) and M = 30, alpha = 0.1
  for (const auto& [M, alpha] : {std::pair<std::size_t, double>{12, 0.25}, {30, 0.1}}) {
    run_options opt;
    opt.label = fmt::format("M={} alpha={}", M, alpha);
    opt.generations = 30;
    opt.replicates = 6000;
    opt.samples = schedule::constant{M};
    opt.seed = 21 + M;
    auto check = [&](auto estimator, theory::estimator e) {
      auto loop = collapse_loop{models::gaussian_fitter<decltype(estimator)>{}, sample::ancestral{},
                                regime::mix{alpha, regime::real_source_kind::fresh},
                                metrics::variance{}, metrics::mean_sq_error{}};
      const auto r = loop.run(from_truth(models::gaussian{0, 1}), opt);
      check_metric(r, "variance", [&](std::size_t n) {
        return theory::expected_mix_fresh(M, n, e, alpha).variance;
      });
      check_metric(r, "mean_sq_error", [&](std::size_t n) {
        return theory::expected_mix_fresh(M, n, e, alpha).mean_square;
      });
    };
    check(models::unbiased{}, theory::estimator::unbiased);
    check(models::mle{}, theory::estimator::mle);
  }
  // bounded: the recursion settles; without real data it is the replace regime's law
  const auto far = theory::expected_mix_fresh(10, 2000, theory::estimator::mle, 0.1);
  CHECK(far.variance > 0.5);
  CHECK(far.variance ==
        Approx(theory::expected_mix_fresh(10, 1000, theory::estimator::mle, 0.1).variance));
  CHECK(theory::expected_mix_fresh(10, 7, theory::estimator::mle, 0.0).variance ==
        Approx(*theory::expected_variance(10, 7, theory::estimator::mle)));
  CHECK(theory::expected_mix_fresh(10, 7, theory::estimator::unbiased, 0.0).mean_square ==
        Approx(7.0 / 10));
}

TEST_CASE("Wright-Fisher: heterozygosity decay and fixation probabilities", "[theory][mc]") {
  const std::vector<double> p{0.4, 0.3, 0.2, 0.1};
  double h0 = 1;
  for (double v : p) h0 -= v * v;
  auto loop = collapse_loop{
      models::categorical_fitter{4, 0.0}, sample::ancestral{},     regime::replace{},
      metrics::heterozygosity{},          metrics::support_size{}, metrics::fixed_states{4}};
  SECTION("E[H_n] = H_0 (1 - 1/M)^n") {
    run_options opt;
    opt.label = "M=16";
    opt.generations = 40;
    opt.replicates = 5000;
    opt.samples = schedule::constant{16};
    opt.seed = 31;
    const auto r = loop.run(from_truth(models::categorical{p}), opt);
    check_metric(r, "heterozygosity",
                 [&](std::size_t n) { return theory::expected_heterozygosity(h0, 16, n); });
  }
  SECTION("state i is fixed with probability p_i") {
    run_options opt;
    opt.label = "M=6";
    opt.generations = 300;
    opt.replicates = 4000;
    opt.samples = schedule::constant{6};
    opt.seed = 8;
    const auto r = loop.run(from_truth(models::categorical{p}), opt);
    const auto& support = r.summary[*r.metric_index("support_size")];
    REQUIRE(support.mean.back() == 1.0);  // every replicate has fixed
    for (std::size_t i = 0; i < 4; ++i) {
      const auto& s = r.summary[*r.metric_index(fmt::format("fixed_{}", i))];
      const double se = std::sqrt(p[i] * (1 - p[i]) / 4000.0);
      INFO("state " << i << ": fixed in " << s.mean.back() << ", p_i = " << p[i]);
      CHECK(std::abs(s.mean.back() - theory::fixation_probability(p[i])) <= kSE * se);
    }
  }
}
