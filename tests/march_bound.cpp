// One SIMD mechanism (docs/reproducibility.md): the vector kernels chosen at run time give the
// same bits on every processor. A build for another target (-march=native) may change the last
// bits: the compiler contracts a * b + c into fused multiply-adds where the target has them, and
// the mixture models' EM has a faster path for builds that target AVX-512 at compile time (fused
// multiply-adds in register tiles). This program is compiled twice (for the x86-64 baseline and
// with -march=native); `march_bound_base --compare A B` checks that the two outputs (a 1-D
// Gaussian collapse run over 50 generations, EM fits in 2 and 5 dimensions) agree within a
// relative 1e-9 (of the larger magnitude, at least 1e-3).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

static int compare(const char* a_path, const char* b_path) {
  std::ifstream a(a_path), b(b_path);
  std::string ka, kb;
  double x, y, worst = 0;
  std::size_t exact = 0, bounded = 0, differ = 0;
  while (a >> ka >> x) {
    if (!(b >> kb >> y) || ka != kb) {
      std::printf("FAIL: the outputs have other lines\n");
      return 1;
    }
    (ka == "gaussian" ? exact : bounded) += 1;
    differ += x != y;
    worst = std::max(worst, std::abs(x - y) / std::max({std::abs(x), std::abs(y), 1e-3}));
  }
  if (b >> kb || exact < 50 || bounded < 40) {
    std::printf("FAIL: the outputs have other lines\n");
    return 1;
  }
  std::printf(
      "%zu 1-D and %zu EM values, %zu not bit-identical between the builds, largest "
      "relative difference %.3g (bound 1e-9)\n",
      exact, bounded, differ, worst);
  return worst <= 1e-9 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--compare") return compare(argv[2], argv[3]);
  using namespace ouro;
  // the 1-D Gaussian loop
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}};
  run_options o;
  o.generations = 50;
  o.replicates = 64;
  o.samples = schedule::constant{37};
  o.seed = 3;
  o.threads = 1;
  const auto r = loop.run(from_truth(models::gaussian{0, 1}), o);
  for (double v : r.summary[0].mean) std::printf("gaussian %.17g\n", v);
  // EM on 2 and 5 dimensions, a fixed number of iterations
  for (std::size_t d : {2, 5}) {
    default_rng g(40 + d);
    std::vector<double> mu;
    for (std::size_t k = 0; k < 3 * d; ++k) mu.push_back(4.0 * uniform01(g) - 2.0);
    const models::gmm truth({0.3, 0.3, 0.4}, mu, std::vector<matrix>(3, matrix::identity(d)));
    const auto x = truth.sample(4000, g);
    event_log log;
    const auto m = models::gmm_fitter<>{.components = 3, .tol = 0.0, .max_iter = 25}.fit(x, g, log);
    std::printf("em %.17g\n", m.report().lower_bound);
    for (double w : m.weights()) std::printf("em %.17g\n", w);
    for (double v : m.means()) std::printf("em %.17g\n", v);
    for (std::size_t k = 0; k < 3; ++k)
      for (double v : m.covariance(k).a) std::printf("em %.17g\n", v);
  }
}
