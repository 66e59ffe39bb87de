// Unit tests of the reference models (1-D and multivariate Gaussian, categorical), their fitters,
// the metrics, xtensor datasets and the closed-form theory functions.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <numeric>
#include <random>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/metrics.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/dataset_xtensor.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/metrics/categorical.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"
#include "ouroboros/models/metrics/mv_gaussian.hpp"
#include "ouroboros/models/mv_gaussian.hpp"
#include "ouroboros/ouroboros.hpp"  // the whole public API must compile on its own

using namespace ouro;

namespace {
template <class M>
generation_context<M> context(const M& m, const dataset_t<M>& d, lazy_stream& s) {
  return generation_context<M>{m, m, d, d, 0, 0, s};
}
}  // namespace

TEST_CASE("gaussian: parameters, density, likelihood", "[gaussian]") {
  const models::gaussian m{1.0, 4.0};
  CHECK(m.sd() == 2.0);
  CHECK(m.log_pdf(1.0) == Approx(-0.5 * std::log(2 * std::numbers::pi * 4)));
  CHECK(m.cdf(1.0) == Approx(0.5));
  CHECK(m.cdf(3.0) == Approx(0.8413447460685429));
  const std::vector<double> x{0.0, 1.0, 2.5};
  CHECK(m.log_likelihood(x) == Approx(m.log_pdf(0) + m.log_pdf(1) + m.log_pdf(2.5)));
  CHECK_THROWS_AS((models::gaussian{0, -1}), std::invalid_argument);
  CHECK_THROWS_AS((models::gaussian{NAN, 1}), std::invalid_argument);
  const models::gaussian flat{2.0, 0.0};
  default_rng g(1);
  CHECK(flat.sample(5, g) == std::vector<double>(5, 2.0));
  CHECK(flat.log_likelihood({2.0, 2.0}) == INFINITY);
  CHECK(flat.log_likelihood({2.0, 2.1}) == -INFINITY);
}

TEST_CASE("gaussian fitters: MLE and unbiased estimators, floors and events", "[gaussian]") {
  const std::vector<double> x{1, 2, 3, 4, 6};  // mean 3.2, sum of squares 14.8
  default_rng g(1);
  event_log log;
  const auto u = models::gaussian_fitter<models::unbiased>{}.fit(x, g, log);
  CHECK(u.mean() == Approx(3.2));
  CHECK(u.variance() == Approx(14.8 / 4));
  const auto m = models::gaussian_fitter<models::mle>{}.fit(x, g, log);
  CHECK(m.variance() == Approx(14.8 / 5));
  CHECK(log.empty());
  const auto one =
      models::gaussian_fitter<models::unbiased>{}.fit(std::vector<double>{5.0}, g, log);
  CHECK(one.variance() == 0);
  REQUIRE(log.entries().size() == 2);  // undefined unbiased variance, then zero variance
  CHECK_THAT(log.entries()[0].what, Catch::Contains("unbiased variance is undefined"));
  log.clear();
  const auto fl =
      models::gaussian_fitter<models::mle>{0.5}.fit(std::vector<double>{1, 1.1}, g, log);
  CHECK(fl.variance() == 0.5);
  CHECK(log.entries().size() == 1);
  // far from the origin the shifted one-pass sums keep their accuracy
  std::vector<double> far(1000);
  for (std::size_t i = 0; i < far.size(); ++i) far[i] = 1e9 + (i % 2 ? 1e-3 : -1e-3);
  const auto fm = models::gaussian_fitter<models::mle>{}.fit(far, g, log);
  long double lm = 0, lv = 0;  // reference: two passes in extended precision
  for (double v : far) lm += v;
  lm /= far.size();
  for (double v : far) lv += (v - lm) * (v - lm);
  lv /= far.size();
  CHECK(fm.mean() == Approx(static_cast<double>(lm)).epsilon(1e-15));
  CHECK(fm.variance() == Approx(static_cast<double>(lv)).epsilon(1e-9));
  CHECK_THROWS_AS(models::gaussian_fitter<>{}.fit(std::vector<double>{}, g, log),
                  std::invalid_argument);
  CHECK_THROWS_AS(models::gaussian_fitter<>{}.fit(std::vector<double>{1, NAN}, g, log),
                  std::invalid_argument);
}

TEST_CASE("gaussian metrics", "[metrics]") {
  const models::gaussian m{0.5, 2.25};
  const std::vector<double> d{0.0};
  lazy_stream s(0, 0);
  const auto c = context(m, d, s);
  CHECK(metrics::mean{}(c) == 0.5);
  CHECK(metrics::variance{}(c) == 2.25);
  CHECK(metrics::std_dev{}(c) == 1.5);
  CHECK(metrics::log_variance{}(c) == Approx(std::log(2.25)));
  CHECK(metrics::mean_sq_error{}(c) == 0.25);
  CHECK(metrics::w2_sq{}(c) == Approx(0.25 + 0.25));
  // KL(N(0,1) || N(0.5, 2.25)) = log(1.5) + (1 + 0.25) / (2 * 2.25) - 0.5
  CHECK(metrics::kl_to_truth{}(c) == Approx(std::log(1.5) + 1.25 / 4.5 - 0.5));
  const models::gaussian truth{0, 1};
  const auto ct = context(truth, d, s);
  CHECK(metrics::tail_mass{}(ct) == Approx(0.02).epsilon(1e-9));
  CHECK(metrics::kl_to_truth{}(ct) == Approx(0.0).margin(1e-15));
  CHECK(metrics::tail_mass::inverse_normal_cdf(0.975) == Approx(1.959963984540054).epsilon(1e-14));
  const metrics::heldout_loglik<std::vector<double>> h{{0.0, 1.0}};
  CHECK(h(ct) == Approx((truth.log_pdf(0) + truth.log_pdf(1)) / 2));
}

TEST_CASE("categorical: alias sampling matches the probabilities", "[categorical]") {
  const models::categorical m{{0.5, 0.0, 0.3, 0.15, 0.05}};
  default_rng g(4);
  const std::size_t n = 200000;
  const auto x = m.sample(n, g);
  std::vector<double> c(5);
  for (auto v : x) c[v] += 1;
  CHECK(c[1] == 0);  // a lost state is never drawn
  double chi2 = 0;
  for (std::size_t i : {0, 2, 3, 4}) {
    const double e = m.probs()[i] * n;
    chi2 += (c[i] - e) * (c[i] - e) / e;
  }
  CHECK(chi2 < 16.3);  // chi2_3 upper 0.1% point
  CHECK(m.log_likelihood({0, 2}) == Approx(std::log(0.5) + std::log(0.3)));
  CHECK(m.log_likelihood({1}) == -INFINITY);
  CHECK_THROWS_AS(m.log_likelihood({7}), std::out_of_range);
  CHECK_THROWS_AS((models::categorical{{-1.0, 2.0}}), std::invalid_argument);
  CHECK_THROWS_AS((models::categorical{{0.0, 0.0}}), std::invalid_argument);
  const models::categorical weights{{2.0, 6.0}};  // normalised
  CHECK(weights.probs()[1] == 0.75);
  const models::categorical single{{0.0, 1.0, 0.0}};
  const auto s = single.sample(100, g);
  CHECK(std::all_of(s.begin(), s.end(), [](auto v) { return v == 1; }));
}

TEST_CASE("categorical fitter: frequencies, add-k, warm start keeps K", "[categorical]") {
  default_rng g(1);
  event_log log;
  const std::vector<std::uint32_t> x{0, 0, 2, 2, 2, 0, 0, 0};
  const auto m = models::categorical_fitter{4, 0.0}.fit(x, g, log);
  CHECK(m.probs() == std::vector<double>{5.0 / 8, 0, 3.0 / 8, 0});
  const auto a = models::categorical_fitter{4, 1.0}.fit(x, g, log);
  CHECK(a.probs()[1] == Approx(1.0 / 12));
  const auto w =
      models::categorical_fitter{}.fit(x, models::categorical{{0.25, 0.25, 0.25, 0.25}}, g, log);
  CHECK(w.states() == 4);
  CHECK(models::categorical_fitter{}.fit(x, g, log).states() == 3);
  CHECK_THROWS_AS((models::categorical_fitter{2, 0.0}.fit(x, g, log)), std::out_of_range);
}

TEST_CASE("categorical metrics", "[metrics]") {
  const models::categorical m{{0.5, 0.5, 0.0}};
  const std::vector<std::uint32_t> d{0};
  lazy_stream s(0, 0);
  const auto c = context(m, d, s);
  CHECK(metrics::entropy{}(c) == Approx(std::log(2.0)));
  CHECK(metrics::heterozygosity{}(c) == Approx(0.5));
  CHECK(metrics::support_size{}(c) == 2);
  CHECK(metrics::fixed_states{3}(c) == std::vector<double>{0, 0, 0});
  CHECK(metrics::fixed_states{3}.names() ==
        std::vector<std::string>{"fixed_0", "fixed_1", "fixed_2"});
  const models::categorical f{{0.0, 1.0, 0.0}};
  CHECK(metrics::fixed_states{3}(context(f, d, s)) == std::vector<double>{0, 1, 0});
  // tail: the rarest truth states adding up to at most 10%: states 2 (5%) and 3 (4%)
  const metrics::categorical_tail_mass t{{0.6, 0.31, 0.05, 0.04}, 0.1};
  const models::categorical q{{0.1, 0.2, 0.3, 0.4}};
  CHECK(t(context(q, d, s)) == Approx(0.7));
}

TEST_CASE("xtensor datasets: rows are samples", "[dataset]") {
  using X = xt::xtensor<double, 2>;
  static_assert(Dataset<X>);
  const X a{{1, 2}, {3, 4}}, b{{5, 6}};
  const X c = dataset_concat(a, b);
  CHECK(c.shape()[0] == 3);
  CHECK(c(2, 1) == 6);
  const std::vector<std::size_t> idx{2, 0};
  const X s = dataset_subset(c, idx);
  CHECK(s(0, 0) == 5);
  CHECK(s(1, 1) == 2);
  X e;
  dataset_append(e, a);
  CHECK(dataset_size(e) == 2);
  CHECK(dataset_traits<X>::sample(c, 1)(0) == 3);
}

TEST_CASE("mv_gaussian: sampling moments, likelihood, singular covariances", "[mv_gaussian]") {
  const models::mv_gaussian m{{1.0, -2.0}, {{2.0, 0.6}, {0.6, 1.0}}};
  default_rng g(9);
  const std::size_t n = 100000;
  const auto x = m.sample(n, g);
  event_log log;
  const auto f = models::mv_gaussian_fitter<models::mle>{}.fit(x, g, log);
  const double se = 4 / std::sqrt(double(n));
  CHECK(std::abs(f.mean()(0) - 1.0) < se * std::sqrt(2.0));
  CHECK(std::abs(f.mean()(1) + 2.0) < se);
  CHECK(std::abs(f.covariance()(0, 0) - 2.0) < se * 2 * std::sqrt(2.0));
  CHECK(std::abs(f.covariance()(0, 1) - 0.6) < se * std::sqrt(2.0 + 0.36));
  CHECK(std::abs(f.covariance()(1, 1) - 1.0) < se * std::sqrt(2.0));
  // with a diagonal covariance the density factorises into 1-D Gaussians
  const models::mv_gaussian diag{{0.0, 1.0}, {{4.0, 0.0}, {0.0, 0.25}}};
  const xt::xtensor<double, 2> pt{{0.5, 1.5}};
  CHECK(diag.log_likelihood(pt) ==
        Approx(models::gaussian{0, 4}.log_pdf(0.5) + models::gaussian{1, 0.25}.log_pdf(1.5)));
  // a singular covariance: sampled on its support, log-likelihood -inf, fitter records it
  const models::mv_gaussian line{{0.0, 0.0}, {{1.0, 1.0}, {1.0, 1.0}}};
  CHECK(line.singular());
  const auto y = line.sample(50, g);
  for (std::size_t i = 0; i < 50; ++i) CHECK(y(i, 0) == Approx(y(i, 1)));
  CHECK(line.log_likelihood(y) == -INFINITY);
  const auto fl = models::mv_gaussian_fitter<models::unbiased>{}.fit(y, g, log);
  CHECK(fl.singular());
  REQUIRE(log.entries().size() == 1);
  CHECK(log.entries()[0].what == "singular covariance");
  const auto floored = models::mv_gaussian_fitter<models::unbiased>{1e-4}.fit(y, g, log);
  CHECK_FALSE(floored.singular());
  CHECK_THROWS_AS((models::mv_gaussian{{0.0}, {{1.0, 0.0}, {0.0, 1.0}}}), std::invalid_argument);
  CHECK_THROWS_AS((models::mv_gaussian{{0.0, 0.0}, {{1.0, 0.5}, {0.0, 1.0}}}),
                  std::invalid_argument);
}

TEST_CASE("mv_gaussian metrics agree with closed forms", "[metrics][mv_gaussian]") {
  const models::mv_gaussian truth{{0.0, 0.0}, {{1.0, 0.0}, {0.0, 1.0}}};
  const models::mv_gaussian m{{0.3, -0.4}, {{4.0, 0.0}, {0.0, 0.25}}};
  lazy_stream s(0, 0);
  const xt::xtensor<double, 2> d{{0.0, 0.0}};
  const auto c = context(m, d, s);
  // diagonal case: W2^2 = |dm|^2 + sum (sqrt(a_i) - 1)^2 = 0.25 + 1 + 0.25
  CHECK(metrics::mv_w2_sq{truth}(c) == Approx(1.5));
  // KL(N(0, I) || N(m, S)) = 0.5 (tr S^-1 + m' S^-1 m - 2 + log det S)
  CHECK(metrics::mv_kl_to_truth{truth}(c) ==
        Approx(0.5 * (0.25 + 4 + 0.09 / 4 + 0.16 / 0.25 - 2 + std::log(1.0))));
  CHECK(metrics::trace_covariance{}(c) == 4.25);
  // W2 is symmetric and zero on the diagonal, also for correlated covariances
  const models::mv_gaussian a{{1.0, 2.0}, {{2.0, 0.9}, {0.9, 1.0}}};
  const models::mv_gaussian b{{0.0, 1.0}, {{1.0, -0.3}, {-0.3, 3.0}}};
  CHECK(metrics::mv_w2_sq::w2_sq_between(a, b) ==
        Approx(metrics::mv_w2_sq::w2_sq_between(b, a)).epsilon(1e-10));
  CHECK(metrics::mv_w2_sq::w2_sq_between(a, a) == Approx(0).margin(1e-12));
}

TEST_CASE("theory: closed forms at known points", "[theory]") {
  using theory::estimator;
  CHECK(theory::digamma(1.0) == Approx(-0.5772156649015329).epsilon(1e-13));
  CHECK(theory::digamma(0.5) == Approx(-1.9635100260214235).epsilon(1e-13));
  // E[sigma] for M = 2, unbiased: E|Z| = sqrt(2/pi)
  CHECK(theory::std_factor(2, estimator::unbiased) == Approx(std::sqrt(2 / std::numbers::pi)));
  CHECK(*theory::expected_variance(10, 3, estimator::mle) == Approx(0.729));
  CHECK(*theory::expected_mean_sq_error(10, 3, estimator::unbiased) == Approx(0.3));
  CHECK(*theory::expected_mean_sq_error(10, 3, estimator::mle) == Approx(1 - 0.729));
  // accumulate: n = 2 gives (1 - 1/M)(1 - 1/(4M))
  CHECK(*theory::expected_variance(10, 2, estimator::mle, theory::regime::accumulate) ==
        Approx(0.9 * (1 - 1 / 40.0)));
  CHECK(*theory::expected_variance(10, 5000, estimator::mle, theory::regime::accumulate) ==
        Approx(theory::accumulate_variance_limit(10)).epsilon(1e-4));
  CHECK_FALSE(theory::expected_variance(10, 2, estimator::unbiased, theory::regime::accumulate));
  // the unbiased W2^2 grows without bound, the MLE one stays below 2
  CHECK(*theory::expected_w2_sq(10, 10000, estimator::unbiased) > 900);
  CHECK(*theory::expected_w2_sq(10, 100, estimator::mle) < 2);
  CHECK(*theory::expected_w2_sq(10, 10000, estimator::mle) <= 2);
  CHECK(theory::expected_heterozygosity(0.5, 10, 2) == Approx(0.405));
}

// ---------------------------------------------------------------------------------------------
// Property: degenerate data (all points equal, a single point, huge and tiny scales) never crash
// a run and never put NaN into its results.

namespace {
/// Runs `loop` for a few generations on `data` and checks that no summary value is NaN.
template <class Loop, class D>
void no_nan_in_run(const Loop& loop, const D& data, const std::string& what) {
  INFO(what);
  run_options opt;
  opt.label = what;
  opt.generations = 4;
  opt.replicates = 2;
  opt.samples = schedule::constant{std::max<std::size_t>(dataset_size(data), 1)};
  run_result r;
  REQUIRE_NOTHROW(r = loop.run(from_data(data), opt));
  CHECK(r.generations == 4);
  for (const auto& s : r.summary)
    for (const auto* col : {&s.mean, &s.median, &s.sd})
      for (double v : *col) {
        INFO(s.name);
        CHECK_FALSE(std::isnan(v));
      }
}
const double degenerate_scales[] = {1e-300, 1e-150, 1e-20, 1e20, 1e150, 1e300};
}  // namespace

TEST_CASE("property: the Gaussian models survive degenerate data without NaN",
          "[models][degenerate]") {
  auto check = [](auto est) {
    using E = decltype(est);
    auto loop = collapse_loop{
        models::gaussian_fitter<E>{}, sample::ancestral{}, regime::replace{},     metrics::mean{},
        metrics::variance{},          metrics::w2_sq{},    metrics::kl_to_truth{}};
    no_nan_in_run(loop, std::vector<double>(20, 3.5), "all equal");
    no_nan_in_run(loop, std::vector<double>{2.0}, "a single point");
    default_rng g(4);
    for (double s : degenerate_scales) {
      std::vector<double> x(30);
      for (auto& v : x) v = s * standard_normal(g);
      no_nan_in_run(loop, x, fmt::format("scale {:g}", s));
    }
  };
  check(models::unbiased{});
  check(models::mle{});
}

TEST_CASE("property: the multivariate Gaussian survives degenerate data without NaN",
          "[models][degenerate]") {
  auto loop = collapse_loop{models::mv_gaussian_fitter{}, sample::ancestral{}, regime::replace{},
                            metrics::trace_covariance{}};
  auto equal = xt::xtensor<double, 2>::from_shape({20, 3});
  std::fill(equal.begin(), equal.end(), -1.25);
  no_nan_in_run(loop, equal, "all equal");
  no_nan_in_run(loop, xt::xtensor<double, 2>{{1.0, 2.0, 3.0}}, "a single point");
  default_rng g(5);
  for (double s : degenerate_scales) {
    auto x = xt::xtensor<double, 2>::from_shape({40, 3});
    for (auto& v : x) v = s * standard_normal(g);
    no_nan_in_run(loop, x, fmt::format("scale {:g}", s));
  }
}

TEST_CASE("property: the categorical model survives degenerate data without NaN",
          "[models][degenerate]") {
  auto loop = collapse_loop{models::categorical_fitter{5, 0.0},
                            sample::ancestral{},
                            regime::replace{},
                            metrics::entropy{},
                            metrics::heterozygosity{},
                            metrics::support_size{}};
  no_nan_in_run(loop, std::vector<std::uint32_t>(30, 2), "all equal");
  no_nan_in_run(loop, std::vector<std::uint32_t>{4}, "a single point");
}

// Every reference model, fitter and sampler takes any std::uniform_random_bit_generator: the
// library's engine, a 64-bit and a 32-bit standard engine. Each draws the same values from the
// same engine state, and the metrics compute on what they produced.
namespace {
text::corpus small_corpus(std::uint64_t seed) {
  default_rng g(seed);
  text::corpus c;
  std::vector<text::word_id> s;
  for (int i = 0; i < 300; ++i) {
    s.clear();
    const std::size_t len = 1 + uniform_index(g, 8);
    for (std::size_t t = 0; t < len; ++t)
      s.push_back(static_cast<text::word_id>(3 + uniform_index(g, 20)));
    c.add_sentence(s);
  }
  return c;
}
// Evaluates every metric on a context that lends engine g (engine_ref), checks each value is finite
// and that the names match the values.
template <class G, class M, class... X>
void metrics_run_on(G& g, const M& m, const dataset_t<M>& d, const X&... metric) {
  engine_ref<G> lend{g};
  const generation_context<M, engine_ref<G>> c{m, m, d, d, 1, 0, lend};
  auto one = [&](const auto& x) {
    std::vector<double> v;
    if constexpr (ScalarMetricFor<std::remove_cvref_t<decltype(x)>, M>)
      v.push_back(x(c));
    else
      v = x(c);
    CHECK(v.size() == metric_names(x).size());
    for (double y : v) CHECK(std::isfinite(y));
  };
  (one(metric), ...);
}

template <class G, class F>
void twice_the_same(F f) {  // f(G&) from two engines in the same state gives the same result
  G a(17), b(17);
  const bool same = f(a) == f(b);
  CHECK(same);
}
}  // namespace

TEMPLATE_TEST_CASE("reference models, fitters, samplers and metrics take any standard engine",
                   "[models][engine]", default_rng, std::mt19937_64, std::mt19937) {
  using G = TestType;
  G g(5);
  event_log log;
  // 1-D Gaussian, its fitters, the core samplers and metrics
  const models::gaussian truth{1.0, 4.0};
  const auto x = truth.sample(200, g);
  const auto gm = models::gaussian_fitter<models::unbiased>{}.fit(x, g, log);
  CHECK(std::abs(gm.mean() - 1.0) < 6 * 2.0 / std::sqrt(200.0));
  CHECK(models::gaussian_fitter<models::mle>{}.fit(x, g, log).variance() > 0);
  CHECK(sample::ancestral{}(gm, 10, g).size() == 10);
  const auto kept = sample::rejection{[](double v) { return v > 0; }}(gm, 50, g, log);
  CHECK(std::all_of(kept.begin(), kept.end(), [](double v) { return v > 0; }));
  twice_the_same<G>([&](G& e) { return truth.sample(50, e); });
  lazy_stream ms(1, 2);
  const generation_context<models::gaussian> gc{gm, gm, x, x, 0, 0, ms};
  CHECK(metrics::variance{}(gc) == gm.variance());
  CHECK(std::isfinite(metrics::kl_to_truth{1.0, 4.0}(gc)));
  CHECK(std::isfinite(metrics::heldout_loglik<std::vector<double>>{truth.sample(100, g)}(gc)));
  metrics_run_on(g, gm, x, metrics::mean{}, metrics::variance{}, metrics::std_dev{},
                 metrics::log_variance{}, metrics::mean_sq_error{1.0}, metrics::w2_sq{1.0, 4.0},
                 metrics::kl_to_truth{1.0, 4.0}, metrics::tail_mass{1.0, 4.0},
                 metrics::heldout_loglik<std::vector<double>>{truth.sample(100, g)},
                 metrics::training_size{});

  // categorical
  const models::categorical cat({0.5, 0.3, 0.2});
  const auto cx = cat.sample(300, g);
  const auto cm = models::categorical_fitter{}.fit(cx, g, log);
  CHECK(cm.states() == 3);
  twice_the_same<G>([&](G& e) { return cat.sample(50, e); });
  lazy_stream cs(1, 2);
  CHECK(metrics::support_size{}(
            generation_context<models::categorical>{cm, cm, cx, cx, 0, 0, cs}) == 3);
  metrics_run_on(g, cm, cx, metrics::entropy{}, metrics::heterozygosity{}, metrics::support_size{},
                 metrics::fixed_states{3}, metrics::categorical_tail_mass{{0.5, 0.3, 0.2}, 0.25});

  // multivariate Gaussian
  const models::mv_gaussian mv{{1.0, -2.0}, {{2.0, 0.6}, {0.6, 1.0}}};
  const auto mx = mv.sample(300, g);
  const auto mm = models::mv_gaussian_fitter<models::mle>{}.fit(mx, g, log);
  CHECK(std::abs(mm.mean()[0] - 1.0) < 0.5);
  twice_the_same<G>([&](G& e) { return mv.sample(20, e); });
  metrics_run_on(g, mm, mx, metrics::trace_covariance{}, metrics::mv_w2_sq{mv},
                 metrics::mv_kl_to_truth{mv});

  // Gaussian mixture: the three EM initialisations, a warm start
  const models::gmm mix({0.5, 0.5}, {-3.0, 0.0, 3.0, 0.0},
                        {ouro::matrix::identity(2), ouro::matrix::identity(2)});
  const auto gx = mix.sample(500, g);
  const auto km = models::gmm_fitter<>{.components = 2}.fit(gx, g, log);
  const auto rr =
      models::gmm_fitter<models::init::random_responsibilities>{.components = 2}.fit(gx, g, log);
  const auto ws = models::gmm_fitter<models::init::warm_start>{.components = 2}.fit(gx, km, g, log);
  for (const auto* m : {&km, &ws}) CHECK(std::abs(std::abs(m->means()[0]) - 3.0) < 0.5);
  // random responsibilities start both components near the centre: EM may stay near the saddle
  CHECK(std::isfinite(rr.report().lower_bound));
  CHECK(sample::density_truncation{0.1, 256}(mix, 40, g, log).shape()[0] == 40);
  metrics_run_on(g, km, gx, metrics::total_variance{}, metrics::component_std{},
                 metrics::l2_distance{mix}, metrics::l2_distance_to_first{},
                 metrics::kl_to_truth_mc::make(mix, 200), metrics::mean_norm{},
                 metrics::tail_mass_gmm::make(mix, 0.99, 200, 2000));
  twice_the_same<G>([&](G& e) {
    const auto s = mix.sample(30, e);
    return std::vector<double>(s.begin(), s.end());
  });

  // n-gram language model and its decoders (sampling, top-p, beam)
  const auto corpus = small_corpus(3);
  models::ngram_fitter nf;
  nf.order = 3;
  nf.vocab_size = 23;
  const auto lm = nf.fit(corpus, g, log);
  CHECK(lm.sample(20, g).sentences() == 20);
  sample::ngram_text plain, nucleus, beam;
  nucleus.decoding.top_p = 0.9;
  beam.decoding.how = models::ngram_decoding::method::beam;
  beam.decoding.beams = 3;
  for (const auto* s : {&plain, &nucleus, &beam}) CHECK((*s)(lm, 10, g, log).sentences() == 10);
  twice_the_same<G>([&](G& e) { return lm.sample(10, e).token_count(); });
  metrics_run_on(g, lm, corpus, metrics::corpus_perplexity{small_corpus(4)},
                 metrics::vocab_survival{}, metrics::distinct_ngrams{}, metrics::unigram_entropy{},
                 metrics::ngram_tail_mass::make(corpus, 23), metrics::generated_perplexity{});

  // VAE: a tiny network, one epoch
  models::vae_fitter<float> vf;
  vf.shape = {16, 8, 2};
  vf.epochs = 1;
  vf.batch = 16;
  xt::xtensor<float, 2> img = xt::zeros<float>({64, 16});
  for (std::size_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>(uniform01(g));
  const auto vae = vf.fit(img, g, log);
  CHECK(vae.sample(5, g).shape()[0] == 5);
  std::vector<std::uint8_t> labels(64);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  metrics_run_on(g, vae, img, metrics::test_nelbo<float>{img},
                 metrics::generated_digits<float>{metrics::knn_classifier(img, labels, 3), 40, 20});
  twice_the_same<G>([&](G& e) {
    const auto s = vae.sample(3, e);
    return std::vector<float>(s.begin(), s.end());
  });
}
