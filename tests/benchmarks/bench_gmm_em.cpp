// Benchmark: fixed-iteration EM for a K-component, full-covariance Gaussian mixture on N points in
// D dimensions, the workload of `tests/benchmarks/peers/gmm_sklearn.py em` (K clusters with means
// drawn from N(0, 5^2 I), unit covariances; EM started from weights 1/K, the true means plus
// N(0, 1) noise and identity covariances; tol 0). Prints one JSON line with seconds_per_iteration.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <chrono>

#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bench_gmm_em: seconds per EM iteration for a Gaussian mixture"};
  std::size_t N = 1'000'000, D = 2, K = 8, iterations = 10;
  app.add_option("--points", N, "points N")->check(CLI::PositiveNumber);
  app.add_option("--dim", D, "dimensions D")->check(CLI::Range(1, 512));
  app.add_option("--components", K, "components K")->check(CLI::Range(1, 1024));
  app.add_option("--iterations", iterations, "EM iterations")->check(CLI::PositiveNumber);
  std::size_t threads = 1;
  app.add_option("--threads", threads, "threads for the EM passes (results do not depend on it)")
      ->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);

  using namespace ouro;
  using sym = ouro::matrix;
  default_rng g(7);
  std::vector<double> true_mu(K * D), init_mu(K * D);
  fill_normal(g, std::span<double>(true_mu), 0.0, 5.0);
  xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({N, D});
  std::vector<double> z(N * D);
  fill_standard_normal(g, std::span<double>(z));
  for (std::size_t s = 0; s < N; ++s) {
    const std::size_t c = uniform_index(g, K);
    for (std::size_t i = 0; i < D; ++i) x(s, i) = true_mu[c * D + i] + z[s * D + i];
  }
  fill_standard_normal(g, std::span<double>(init_mu));
  for (std::size_t i = 0; i < K * D; ++i) init_mu[i] += true_mu[i];
  const models::gmm start(std::vector<double>(K, 1.0 / K), init_mu,
                          std::vector<sym>(K, sym::identity(D)));
  const auto resp = start.responsibilities(x);

  models::gmm_fitter<> fit;
  fit.components = K;
  fit.reg_covar = 1e-6;
  fit.tol = 0.0;
  fit.max_iter = iterations;
  fit.threads = threads;
  event_log log;
  const auto t0 = std::chrono::steady_clock::now();
  const auto m = fit.fit_from_responsibilities(x, resp, log);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(
      "{{\"benchmark\": \"gmm_em\", \"points\": {}, \"dim\": {}, \"components\": {}, "
      "\"iterations\": {}, \"threads\": {}, \"seconds\": {:.4f}, \"seconds_per_iteration\": "
      "{:.6g}, "
      "\"lower_bound\": {:.10g}}}\n",
      N, D, K, m.report().iterations, threads, seconds,
      seconds / static_cast<double>(m.report().iterations), m.report().lower_bound);
}
