// Unit tests of the Gaussian mixture model, its EM fitter and its metrics.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/metrics.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/metrics/gmm.hpp"

using namespace ouro;
using models::gmm;
using sm = ouro::matrix;

namespace {
sm mat2(double a, double b, double c) {
  sm m(2);
  m(0, 0) = a, m(0, 1) = m(1, 0) = b, m(1, 1) = c;
  return m;
}
gmm three_blobs() {
  return gmm({0.5, 0.3, 0.2}, {-5, 0, 0, 4, 6, -2},
             {mat2(1.0, 0.3, 0.5), mat2(0.4, 0.0, 0.4), mat2(2.0, -0.5, 1.0)});
}
bool has_event(const event_log& log, const std::string& what) {
  for (const auto& e : log.entries())
    if (e.what.find(what) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("gmm: density, responsibilities and sampling moments", "[gmm]") {
  const gmm m = three_blobs();
  CHECK(m.components() == 3);
  CHECK(m.dim() == 2);
  // density at a point equals the weighted sum of component densities
  const xt::xtensor<double, 2> p{{0.5, 1.0}};
  double direct = 0;
  for (std::size_t k = 0; k < 3; ++k)
    direct += m.weight(k) * std::exp(metrics::detail::log_gauss(std::vector<double>{0.5, 1.0},
                                                                m.mean(k), m.covariance(k)));
  CHECK(std::exp(m.log_pdf(p)[0]) == Approx(direct).epsilon(1e-12));
  const auto r = m.responsibilities(p);
  CHECK(r(0, 0) + r(0, 1) + r(0, 2) == Approx(1.0));
  // sampling: the mixture's mean and covariance within 4 standard errors
  default_rng g(3);
  const std::size_t n = 200000;
  const auto x = m.sample(n, g);
  const auto mu = m.overall_mean();
  const auto S = m.overall_covariance();
  double m0 = 0, m1 = 0;
  for (std::size_t s = 0; s < n; ++s) m0 += x(s, 0) / n, m1 += x(s, 1) / n;
  CHECK(std::abs(m0 - mu[0]) < 4 * std::sqrt(S(0, 0) / n));
  CHECK(std::abs(m1 - mu[1]) < 4 * std::sqrt(S(1, 1) / n));
  double v0 = 0;
  for (std::size_t s = 0; s < n; ++s) v0 += (x(s, 0) - m0) * (x(s, 0) - m0) / (n - 1);
  CHECK(std::abs(v0 - S(0, 0)) < 0.03 * S(0, 0));
  // a zero-weight component is never drawn
  const gmm z({0.0, 1.0}, {100, 100, 0, 0}, {sm::identity(2), sm::identity(2)});
  const auto y = z.sample(5000, g);
  for (std::size_t s = 0; s < 5000; ++s) CHECK(std::abs(y(s, 0)) < 10);
  CHECK_THROWS_AS(gmm({1.0}, {0, 0}, {mat2(1, 2, 1)}), std::invalid_argument);  // not PD
}

TEST_CASE("EM recovers a well-separated mixture", "[gmm][em]") {
  const gmm truth = three_blobs();
  default_rng g(5);
  const auto x = truth.sample(6000, g);
  event_log log;
  models::gmm_fitter<> fit{.components = 3,
                           .covariance = models::covariance_type::full,
                           .reg_covar = 1e-6,
                           .tol = 1e-6,
                           .max_iter = 500,
                           .n_init = 2,
                           .init = {}};
  const gmm m = fit.fit(x, g, log);
  CHECK(m.report().fitted);
  CHECK(m.report().converged);
  CHECK(log.empty());
  for (std::size_t k = 0; k < 3; ++k) {  // match each true component to the nearest fitted one
    std::size_t best = 0;
    double bd = 1e300;
    for (std::size_t j = 0; j < 3; ++j) {
      const double d = std::hypot(m.mean(j)[0] - truth.mean(k)[0], m.mean(j)[1] - truth.mean(k)[1]);
      if (d < bd) bd = d, best = j;
    }
    CHECK(bd < 0.15);
    CHECK(m.weight(best) == Approx(truth.weight(k)).margin(0.03));
    CHECK(m.covariance(best)(0, 0) == Approx(truth.covariance(k)(0, 0)).epsilon(0.15));
  }
  CHECK(metrics::l2_distance_between(m, truth) < 0.02);
}

TEST_CASE("the EM log-likelihood never decreases between iterations", "[gmm][em]") {
  default_rng g(9);
  const auto x = three_blobs().sample(800, g);
  xt::xtensor<double, 2> r0 = xt::xtensor<double, 2>::from_shape({800, 3});
  for (std::size_t s = 0; s < 800; ++s) {
    double t = 0;
    for (std::size_t k = 0; k < 3; ++k) t += r0(s, k) = uniform01(g);
    for (std::size_t k = 0; k < 3; ++k) r0(s, k) /= t;
  }
  double prev = -INFINITY;
  for (std::size_t it = 1; it <= 40; ++it) {
    models::gmm_fitter<> fit{.components = 3,
                             .covariance = models::covariance_type::full,
                             .reg_covar = 0.0,
                             .tol = 0.0,
                             .max_iter = it,
                             .n_init = 1,
                             .init = {}};
    event_log log;
    const gmm m = fit.fit_from_responsibilities(x, r0, log);
    INFO("iteration " << it);
    CHECK(m.report().lower_bound >= prev - 1e-12);
    prev = m.report().lower_bound;
  }
}

TEST_CASE("closed-form L2 distance matches numerical integration", "[gmm][metrics]") {
  const gmm p = three_blobs();
  const gmm q({0.6, 0.4}, {-4, 1, 3, 0}, {mat2(2.0, 0.2, 1.0), mat2(1.5, 0.0, 3.0)});
  const double h = 0.05;
  double integral = 0;
  xt::xtensor<double, 2> row = xt::xtensor<double, 2>::from_shape({481, 2});
  for (int i = 0; i <= 400; ++i) {
    const double x0 = -14 + i * h * 1.4;
    for (int j = 0; j <= 480; ++j) row(j, 0) = x0, row(j, 1) = -12 + j * h;
    const auto lp = p.log_pdf(row), lq = q.log_pdf(row);
    for (int j = 0; j <= 480; ++j) {
      const double d = std::exp(lp[j]) - std::exp(lq[j]);
      integral += d * d * h * h * 1.4;
    }
  }
  CHECK(metrics::l2_distance_between(p, q) == Approx(std::sqrt(integral)).epsilon(1e-4));
  CHECK(metrics::l2_distance_between(p, p) == Approx(0).margin(1e-9));
}

TEST_CASE("degenerate data become events, never crashes or NaN", "[gmm][em][events]") {
  default_rng g(1);
  models::gmm_fitter<> fit{.components = 2,
                           .covariance = models::covariance_type::full,
                           .reg_covar = 1e-6,
                           .tol = 1e-5,
                           .max_iter = 200,
                           .n_init = 1,
                           .init = {}};
  SECTION("all points equal") {
    xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({50, 2});
    std::fill(x.begin(), x.end(), 3.0);
    event_log log;
    const gmm m = fit.fit(x, g, log);
    CHECK(has_event(log, "empty mixture component"));
    CHECK(std::isfinite(m.log_likelihood(x)));
    auto f0 = fit;
    f0.reg_covar = 0.0;  // no regularisation: the covariance is singular and gets a jitter
    event_log log0;
    const gmm m0 = f0.fit(x, g, log0);
    CHECK(has_event(log0, "singular covariance"));
    CHECK(std::isfinite(m0.log_likelihood(x)));
  }
  SECTION("fewer points than components") {
    const xt::xtensor<double, 2> x{{1.0, 2.0}};
    event_log log;
    auto f3 = fit;
    f3.components = 3;
    const gmm m = f3.fit(x, g, log);
    CHECK(m.components() == 3);
    CHECK(has_event(log, "fewer points (1) than components (3)"));
    CHECK(std::isfinite(m.log_likelihood(x)));
  }
  SECTION("points on a line with reg_covar 0") {
    xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({100, 2});
    for (std::size_t s = 0; s < 100; ++s) x(s, 0) = x(s, 1) = static_cast<double>(s % 10);
    auto f0 = fit;
    f0.reg_covar = 0.0;
    event_log log;
    const gmm m = f0.fit(x, g, log);
    CHECK(has_event(log, "singular covariance"));
    for (double v : m.log_pdf(x)) CHECK(std::isfinite(v));
  }
  SECTION("non-finite data are refused") {
    const xt::xtensor<double, 2> x{{1.0, NAN}, {0.0, 0.0}};
    event_log log;
    CHECK_THROWS_AS(fit.fit(x, g, log), std::invalid_argument);
  }
}

TEST_CASE("initialisation policies and covariance types", "[gmm][em]") {
  default_rng g(2);
  const auto x = three_blobs().sample(1500, g);
  event_log log;
  models::gmm_fitter<models::init::random_responsibilities> rnd{
      .components = 3,
      .covariance = models::covariance_type::diagonal,
      .reg_covar = 1e-6,
      .tol = 1e-6,
      .max_iter = 1000,
      .n_init = 3,
      .init = {}};
  const gmm d = rnd.fit(x, g, log);
  for (std::size_t k = 0; k < 3; ++k) CHECK(d.covariance(k)(0, 1) == 0.0);
  models::gmm_fitter<> sph{.components = 3,
                           .covariance = models::covariance_type::spherical,
                           .reg_covar = 1e-6,
                           .tol = 1e-6,
                           .max_iter = 1000,
                           .n_init = 1,
                           .init = {}};
  const gmm s = sph.fit(x, g, log);
  for (std::size_t k = 0; k < 3; ++k) CHECK(s.covariance(k)(0, 0) == s.covariance(k)(1, 1));
  // warm start: starting from a good model converges in few iterations
  models::gmm_fitter<models::init::warm_start> warm{.components = 3,
                                                    .covariance = models::covariance_type::full,
                                                    .reg_covar = 1e-6,
                                                    .tol = 1e-6,
                                                    .max_iter = 1000,
                                                    .n_init = 1,
                                                    .init = {}};
  static_assert(WarmStartFitterFor<decltype(warm), gmm>);
  static_assert(!WarmStartFitterFor<models::gmm_fitter<>, gmm>);
  const gmm cold = warm.fit(x, g, log);
  const gmm again = warm.fit(x, cold, g, log);
  CHECK(again.report().iterations <= 3);
  CHECK(again.report().lower_bound == Approx(cold.report().lower_bound).epsilon(1e-6));
}

TEST_CASE("GMM collapse loop: metrics and events flow into the results", "[gmm][loop]") {
  const gmm truth({1.0}, {0.0, 0.0}, {sm::identity(2)});
  models::gmm_fitter<> fit{.components = 2,
                           .covariance = models::covariance_type::full,
                           .reg_covar = 1e-6,
                           .tol = 1e-4,
                           .max_iter = 300,
                           .n_init = 1,
                           .init = {}};
  auto loop = collapse_loop{fit,
                            sample::ancestral{},
                            regime::replace{},
                            metrics::total_variance{},
                            metrics::component_std{},
                            metrics::l2_distance{truth},
                            metrics::l2_distance_to_first{},
                            metrics::kl_to_truth_mc::make(truth, 500),
                            metrics::mean_norm{},
                            metrics::tail_mass_gmm::make(truth, 0.99, 1000, 20000)};
  run_options opt;
  opt.generations = 6;
  opt.replicates = 4;
  opt.samples = schedule::constant{200};
  opt.seed = 3;
  const auto r = loop.run(from_truth(truth), opt);
  CHECK(r.metric_names == std::vector<std::string>{"total_variance", "component_std", "l2_distance",
                                                   "l2_distance_to_first", "kl_to_truth",
                                                   "kl_to_truth_se", "mean_norm", "tail_mass"});
  for (const auto& s : r.summary)
    for (double v : s.mean) CHECK(std::isfinite(v));
  CHECK(r.summary[0].mean[0] == Approx(2.0).margin(0.3));  // trace of I_2
  CHECK(r.summary[3].mean[0] == Approx(0.0).margin(1e-12));
  CHECK(r.summary[7].mean[0] == Approx(0.01).margin(0.01));
}

TEST_CASE("kl_to_truth_mc::on_heldout reports the held-out log-likelihood of the same points",
          "[gmm][metrics]") {
  const gmm truth({1.0}, {0.0, 0.0}, {sm::identity(2)});
  const gmm model({0.5, 0.5}, {-0.5, 0.0, 0.5, 0.0}, {sm::identity(2), sm::identity(2)});
  default_rng g(21);
  const auto held = truth.sample(300, g);
  const auto both = metrics::kl_to_truth_mc::on_heldout(truth, held);
  CHECK(both.names() ==
        std::vector<std::string>{"kl_to_truth", "kl_to_truth_se", "heldout_loglik"});
  lazy_stream st(0, 0);
  const generation_context<gmm> c{model, model, held, held, 0, 0, st};
  const auto v = both(c);
  REQUIRE(v.size() == 3);
  const double ll = metrics::heldout_loglik<gmm::dataset_type>{held}(c);
  CHECK(v[2] == Approx(ll).epsilon(1e-12));
  double lt = 0;
  for (double x : truth.log_pdf(held)) lt += x / 300;
  CHECK(v[0] == Approx(lt - ll).epsilon(1e-10));
  CHECK(metrics::kl_to_truth_mc::make(truth, 300).names().size() == 2);
  CHECK_THROWS_AS(
      metrics::kl_to_truth_mc::on_heldout(truth, xt::xtensor<double, 2>::from_shape({4, 3})),
      std::invalid_argument);
}

TEST_CASE("vectorisable exp and log agree with the C library", "[gmm][fast_math]") {
  // error in units in the last place of the C library's result
  const auto ulps = [](double ours, double ref) {
    return std::abs(ours - ref) / (std::nextafter(std::abs(ref), INFINITY) - std::abs(ref));
  };
  double worst_exp = 0, worst_log = 0;
  for (double x = -708; x <= 0; x += 0.0137)
    worst_exp = std::max(worst_exp, ulps(ouro::detail::exp_nonpositive(x), std::exp(x)));
  for (double x = 1.0000001; x < 1e12; x *= 1.000731)
    worst_log = std::max(worst_log, ulps(ouro::detail::log_ge1(x), std::log(x)));
  CHECK(worst_exp <= 2.0);
  CHECK(worst_log <= 2.0);
  CHECK(ouro::detail::exp_nonpositive(-INFINITY) == 0.0);
  CHECK(ouro::detail::exp_nonpositive(-1000) == 0.0);
  CHECK(ouro::detail::exp_nonpositive(0) == 1.0);
  CHECK(ouro::detail::log_ge1(1.0) == 0.0);
}

template <std::size_t W>
static std::size_t vector_scalar_differences() {
  namespace od = ouro::detail;
  using V = typename od::vec<W>::d;
  default_rng g(11);
  std::size_t differ = 0;
  for (int it = 0; it < 20000; ++it) {
    double a[W], b[W], ea[W], lb[W];
    for (auto& v : a) v = (it % 5 == 0 ? -800.0 : -40.0) * uniform01(g) + (it % 7 == 0 ? 3 : 0);
    for (auto& v : b) v = std::exp((it % 3 == 0 ? 700.0 : 2.0) * uniform01(g));
    if (it == 0) a[0] = -INFINITY, b[0] = 1.0;
    V va, vb, r;
    od::vload(va, a);
    od::vload(vb, b);
    od::vexp_nonpositive(r, va);
    od::vstore(ea, r);
    od::vlog_ge1(r, vb);
    od::vstore(lb, r);
    for (std::size_t i = 0; i < W; ++i) {
      const double s1 = od::exp_nonpositive(a[i]), s2 = od::log_ge1(b[i]);
      differ += std::memcmp(&s1, &ea[i], sizeof s1) != 0;
      differ += std::memcmp(&s2, &lb[i], sizeof s2) != 0;
    }
  }
  return differ;
}

TEST_CASE("vector exp and log give the scalar functions' bits", "[gmm][fast_math]") {
  // the four- and eight-wide forms may be compiled into AVX2 and AVX-512 instructions: run them
  // only where the processor has them
  CHECK(vector_scalar_differences<2>() == 0);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) CHECK(vector_scalar_differences<4>() == 0);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
    CHECK(vector_scalar_differences<8>() == 0);
  else
    WARN("no AVX-512 on this processor: the eight-wide form is not run");
}

TEST_CASE("log-sum-exp: the one- and two-component paths give the general path's bits",
          "[gmm][fast_math]") {
  // K = 1 and K = 2 have their own paths; a component of log-density -inf adds exactly 0 to a
  // sum, so padding with one compares K = 1 with the K = 2 path, and K = 2 with the general one
  default_rng g(12);
  const std::size_t n = 37;  // vector blocks and a scalar tail
  for (std::size_t K : {1, 2}) {
    std::vector<double> lc(K * n), padded((K + 1) * n, -INFINITY);
    for (std::size_t i = 0; i < K * n; ++i) {
      const double u = uniform01(g);
      lc[i] = u < 0.1 ? -INFINITY : (u < 0.2 ? -3.0 : -50 * uniform01(g));  // -inf, ties
      padded[i] = lc[i];
    }
    std::vector<double> out, resp, out_p, resp_p;
    gmm::log_sum_exp_columns(lc, n, K, out, &resp);
    gmm::log_sum_exp_columns(padded, n, K + 1, out_p, &resp_p);
    CHECK(std::memcmp(out.data(), out_p.data(), n * sizeof(double)) == 0);
    CHECK(std::memcmp(resp.data(), resp_p.data(), K * n * sizeof(double)) == 0);
    for (std::size_t s = K * n; s < (K + 1) * n; ++s) CHECK(resp_p[s] == 0.0);
  }
}

TEST_CASE("density truncation drops the model's least likely draws", "[gmm][sampler]") {
  const gmm m({1.0}, {0.0, 0.0}, {sm::identity(2)});
  default_rng g(4);
  event_log log;
  const auto x = sample::density_truncation{0.2}(m, 20000, g, log);
  REQUIRE(x.shape()[0] == 20000);
  // for N(0, I_2) the density level of the 20% quantile is the circle r^2 = -2 ln 0.2
  const double r2 = -2 * std::log(0.2);
  std::size_t outside = 0;
  for (std::size_t s = 0; s < 20000; ++s)
    outside += x(s, 0) * x(s, 0) + x(s, 1) * x(s, 1) > r2 * 1.02;
  CHECK(outside == 0);
  const auto plain = sample::density_truncation{0.0}(m, 100, g, log);
  CHECK(plain.shape()[0] == 100);
  CHECK(log.empty());
}

TEST_CASE("EM gives the same model with 1 and 2 threads", "[gmm][em][determinism]") {
  default_rng g(12);
  const auto x = three_blobs().sample(20000, g);  // ten blocks of points
  xt::xtensor<double, 2> r0 = xt::xtensor<double, 2>::from_shape({20000, 3});
  for (std::size_t s = 0; s < 20000; ++s) {
    double t = 0;
    for (std::size_t k = 0; k < 3; ++k) t += r0(s, k) = uniform01(g);
    for (std::size_t k = 0; k < 3; ++k) r0(s, k) /= t;
  }
  auto fit = models::gmm_fitter<>{};
  fit.components = 3;
  fit.max_iter = 30;
  event_log log;
  const gmm one = fit.fit_from_responsibilities(x, r0, log);
  fit.threads = 2;
  const gmm two = fit.fit_from_responsibilities(x, r0, log);
  CHECK(one.weights() == two.weights());
  CHECK(one.means() == two.means());
  CHECK(one.covariances() == two.covariances());
  CHECK(one.report().lower_bound == two.report().lower_bound);
}

TEST_CASE("property: EM survives degenerate data at any scale without NaN", "[gmm][degenerate]") {
  models::gmm_fitter<> fit;
  fit.components = 2;
  fit.max_iter = 100;
  const gmm truth({1.0}, {0.0, 0.0}, {sm::identity(2)});
  auto loop = collapse_loop{fit,
                            sample::ancestral{},
                            regime::replace{},
                            metrics::total_variance{},
                            metrics::component_std{},
                            metrics::l2_distance{truth},
                            metrics::mean_norm{}};
  auto no_nan = [&](const xt::xtensor<double, 2>& data, const std::string& what) {
    INFO(what);
    run_options opt;
    opt.generations = 4;
    opt.replicates = 2;
    opt.samples = schedule::constant{std::max<std::size_t>(data.shape()[0], 2)};
    run_result r;
    REQUIRE_NOTHROW(r = loop.run(from_data(data), opt));
    for (const auto& s : r.summary)
      for (const auto* col : {&s.mean, &s.median, &s.sd, &s.ci95_lo})
        for (double v : *col) {
          INFO(s.name);
          CHECK_FALSE(std::isnan(v));
        }
  };
  auto equal = xt::xtensor<double, 2>::from_shape({30, 2});
  std::fill(equal.begin(), equal.end(), 7.0);
  no_nan(equal, "all equal");
  no_nan(xt::xtensor<double, 2>{{1.0, -1.0}}, "a single point");
  default_rng g(8);
  for (double scale : {1e-300, 1e-150, 1e-20, 1e20, 1e150, 1e300}) {
    auto x = truth.sample(60, g);
    for (auto& v : x) v *= scale;
    no_nan(x, fmt::format("scale {:g}", scale));
  }
}

namespace {
/// Everything the vector kernels compute, as raw bytes: log-sum-exp (per point and total, with
/// responsibilities) for odd point counts and several K, 2-D densities, k-means labels, normal
/// draws, EM fits in 2 and 3 dimensions and a short collapse run with the paper's metrics.
std::vector<unsigned char> kernel_outputs() {
  std::vector<unsigned char> bytes;
  auto add = [&](const auto& v) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size() * sizeof(v[0]));
  };
  default_rng g(21);
  for (std::size_t K : {1, 2, 3, 9})
    for (std::size_t n : {1, 7, 8, 13, 131}) {
      std::vector<double> lc(K * n), out, resp, resp2;
      for (auto& v : lc) {
        const double u = uniform01(g);
        v = u < 0.05 ? -INFINITY : (u < 0.1 ? -2.0 : -60 * uniform01(g));
      }
      gmm::log_sum_exp_columns(lc, n, K, out, &resp);
      add(out);
      add(resp);
      add(std::vector<double>{gmm::log_sum_exp_total(lc, n, K, resp2)});
      add(resp2);
    }
  const gmm p = three_blobs();
  const auto x = p.sample(1001, g);
  add(p.log_pdf(x));
  const auto labels = models::detail::kmeans_labels(x, 3, models::init::kmeans{}, g);
  add(labels);
  std::vector<double> z(1001);
  fill_standard_normal(g, std::span<double>(z));
  add(z);
  fill_uniform01(g, std::span<double>(z));
  add(z);
  models::gmm_fitter<> fit;
  fit.components = 3;
  event_log log;
  for (const gmm& m :
       {fit.fit(x, g, log),
        fit.fit(
            gmm({0.5, 0.5}, {0, 0, 0, 1, 1, 1}, {sm::identity(3), sm::identity(3)}).sample(300, g),
            g, log)}) {
    add(m.weights());
    add(m.means());
    for (const auto& S : m.covariances()) add(S.a);
  }
  const gmm truth({1.0}, {0.0, 0.0}, {sm::identity(2)});
  models::gmm_fitter<> fit2;
  auto loop = collapse_loop{fit2,
                            sample::ancestral{},
                            regime::replace{},
                            metrics::total_variance{},
                            metrics::l2_distance{truth},
                            metrics::kl_to_truth_mc::make(truth, 500),
                            metrics::tail_mass_gmm::make(truth, 0.99, 500, 5000)};
  run_options opt;
  opt.generations = 12;
  opt.replicates = 3;
  opt.samples = schedule::constant{101};
  const auto r = loop.run(from_truth(truth), opt);
  add(r.values);
  return bytes;
}
}  // namespace

TEST_CASE("every instruction set gives the same bits", "[gmm][simd]") {
  set_simd_limit(simd_level::baseline);
  const auto base = kernel_outputs();
  std::size_t compared = 0;
  for (simd_level l : {simd_level::avx2, simd_level::avx512}) {
    if (static_cast<int>(l) > static_cast<int>(simd_detected())) continue;
    set_simd_limit(l);
    INFO("instruction set " << to_string(l));
    CHECK(simd_active() == l);
    CHECK(kernel_outputs() == base);
    ++compared;
  }
  set_simd_limit(simd_level::avx512);
  if (compared == 0) WARN("this processor has neither AVX2 nor AVX-512: only the baseline ran");
  CHECK_THROWS_AS(ouro::detail::parse_simd_level("sse9"), std::invalid_argument);
  CHECK(ouro::detail::parse_simd_level("avx2") == simd_level::avx2);
}

TEST_CASE("fill_uniform01 gives the eight lanes' uniforms, 53 bits each", "[gmm][simd]") {
  for (simd_level l : {simd_level::baseline, simd_level::avx2, simd_level::avx512}) {
    set_simd_limit(l);
    for (std::size_t n : {5, 32, 33, 1001}) {
      default_rng g(7), ref_g(7);
      std::vector<double> a(n), ref(n);
      fill_uniform01(g, std::span<double>(a));
      if (n < 32) {
        for (double& v : ref) v = uniform01(ref_g);
      } else {
        ouro::detail::xoshiro_x8 lanes(ref_g);
        std::uint64_t u[8];
        for (std::size_t i = 0; i < n; i += 8) {
          lanes.next(u);
          for (std::size_t j = 0; j < 8 && i + j < n; ++j)
            ref[i + j] = static_cast<double>(u[j] >> 11) * 0x1.0p-53;
        }
      }
      INFO("level " << to_string(l) << ", n = " << n);
      CHECK(a == ref);
      CHECK(g == ref_g);
    }
  }
  set_simd_limit(simd_level::avx512);
  // and they are uniform: mean 1/2 and variance 1/12 within 5 standard errors
  default_rng g(8);
  std::vector<double> u(1000000);
  fill_uniform01(g, std::span<double>(u));
  double m = 0, v = 0;
  for (double x : u) m += x;
  m /= static_cast<double>(u.size());
  for (double x : u) v += (x - m) * (x - m);
  v /= static_cast<double>(u.size() - 1);
  CHECK(std::abs(m - 0.5) < 5 * std::sqrt(1.0 / 12 / 1e6));
  CHECK(std::abs(v - 1.0 / 12) < 5 * std::sqrt(1.0 / 180 / 1e6));
  CHECK(*std::min_element(u.begin(), u.end()) >= 0.0);
  CHECK(*std::max_element(u.begin(), u.end()) < 1.0);
}
