// Benchmark: the 1-D Gaussian collapse loop (unbiased estimator, replace regime), the workload of
// tests/benchmarks/peers/gauss1d_numpy.py: R replicates x M samples x G generations normal draws.
// Prints one JSON line. Run it beside the numpy peer with the same workload and compare
// samples_per_second (see docs/reproducibility.md, "Benchmarks").
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <cstdio>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bench_gaussian_collapse: speed of the 1-D Gaussian collapse loop"};
  std::size_t R = 10000, M = 100, G = 2000;
  unsigned threads = 0;
  std::uint64_t seed = 0;
  app.add_option("--replicates", R, "replicates R")->check(CLI::PositiveNumber);
  app.add_option("--samples", M, "samples per generation M")->check(CLI::Range(2, 100000000));
  app.add_option("--generations", G, "generations G")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "threads (0: all cores)");
  app.add_option("--seed", seed, "seed");
  CLI11_PARSE(app, argc, argv);

  using namespace ouro;
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::replace{}, metrics::log_variance{}, metrics::mean_sq_error{}};
  run_options opt;
  opt.label = fmt::format("M={}", M);
  opt.generations = G;
  opt.replicates = R;
  opt.samples = schedule::constant{M};
  opt.seed = seed;
  opt.threads = threads;
  opt.keep = keep_values::none;
  const auto res = loop.run(from_truth(models::gaussian{0.0, 1.0}), opt);
  const double draws = static_cast<double>(R) * static_cast<double>(M) * static_cast<double>(G);
  const auto& lv = res.summary[0];
  const auto& msq = res.summary[1];
  fmt::print(
      "{{\"benchmark\": \"gaussian_collapse\", \"replicates\": {}, \"samples\": {}, "
      "\"generations\": {}, \"threads\": {}, \"seconds\": {:.4f}, \"samples_per_second\": {:.6g}, "
      "\"mean_log_variance\": {:.6g}, \"median_log_variance\": {:.6g}, \"mean_mu_sq\": {:.6g}}}\n",
      R, M, G, threads, res.seconds, draws / res.seconds, lv.mean.back(), lv.median.back(),
      msq.mean.back());
}
