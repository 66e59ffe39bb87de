// gmm_collapse: the GMM experiment of Shumailov et al. Real data are 2-D N(0, I); each generation
// fits a 2-component full-covariance Gaussian mixture by EM (k-means initialisation, tol 1e-5,
// max_iter 2000, reg_covar 1e-6, as the paper's notebook) to samples of the previous generation's
// mixture. The fitted mixtures lose variance and drift away from the truth. See docs/gmm.md.
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/example_support.hpp"
#include "ouroboros/experiments/gmm.hpp"

namespace {

constexpr const char* kName = "gmm_collapse";
using snapshot = ouro::models::gmm_snapshot;

}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "The GMM experiment of Shumailov et al.: each generation fits a Gaussian mixture by EM to "
      "samples of the previous generation's mixture; generation 0 to real 2-D N(0, I) data. "
      "Writes gmm_collapse_results.json (with model snapshots of replicate 0), "
      "gmm_collapse_summary.csv, gmm_collapse.csv (per-replicate values, when at most 1,000,000 "
      "rows or --write-replicates), gmm_model_collapse_results.png and "
      "gmm_sample_size_comparison.png into --out.",
      kName};
  ouro::experiments::gmm_settings s;  // the defaults
  auto o = examples::common_options::defaults_of(s);
  examples::add_common_options(app, o, "--generations 40 --replicates 4");
  app.add_option("--components", s.components, "Mixture components K")
      ->check(examples::whole({1, 1000}))
      ->capture_default_str();
  app.add_option("--covariance", s.covariance, "Covariance type: full, diagonal or spherical")
      ->check(CLI::IsMember({"full", "diagonal", "spherical"}))
      ->capture_default_str();
  app.add_option("--reg-covar", s.reg_covar,
                 "Added to every covariance diagonal (scikit-learn's default; 0 allowed)")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  app.add_option("--init", s.init,
                 "EM initialisation: kmeans (k-means++ then Lloyd), random (random "
                 "responsibilities) or warm_start (the previous generation's model)")
      ->check(CLI::IsMember({"kmeans", "random", "warm_start"}))
      ->capture_default_str();
  app.add_option("--tol", s.tol, "EM stops when the mean log-likelihood per point changes less")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  app.add_option("--max-iter", s.max_iter, "EM iterations at most")
      ->check(examples::whole({1, 1000000}))
      ->capture_default_str();
  app.add_option("--n-init", s.n_init, "EM restarts; the best lower bound is kept")
      ->check(examples::whole({1, 1000}))
      ->capture_default_str();
  app.add_option("--truth", s.truth,
                 "True distribution: blob (2-D N(0, I)) or two (weights 0.5/0.5, means (-2,0) and "
                 "(2,0), identity covariances)")
      ->check(CLI::IsMember({"blob", "two"}))
      ->capture_default_str();
  app.add_option("--truncate", s.truncate,
                 "Tail truncation: drop draws whose density lies below the model's Q-quantile "
                 "of density (0: plain sampling)")
      ->check(examples::real(ouro::real_range::closed(0, 0.99)))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--generations")) o.generations = 40;
    if (!app.count("--replicates")) o.replicates = 4;
  }
  o.to_settings(s);
  examples::check_settings(app, [&] { ouro::experiments::check(s); });
  const std::size_t metric_count = ouro::experiments::gmm_metric_names().size();
  examples::check_memory(
      app, o,
      {.model_bytes = static_cast<double>(s.components) * 8 * 8 + 64,
       .sample_bytes = 2 * sizeof(double) * static_cast<double>(1 + s.components),
       .metrics = metric_count});

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));
  std::vector<snapshot> snaps;
  session.add_part(examples::collector_part("snapshots", snaps, &snapshot::model));
  ouro::results res;
  try {
    res = ouro::experiments::gmm_collapse(s, session.setup(), &snaps);
    nlohmann::json extra;
    extra["snapshots"] = nlohmann::json::array();
    for (const auto& sn : snaps) extra["snapshots"].push_back(ouro::models::to_json(sn));
    ouro::io::write_results(res, out, kName, extra, /*tidy=*/false);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print(
      "gmm_collapse: truth {}, K = {}, {} covariances, init {}, regime {}, {} replicates, "
      "{:.1f}s\n",
      s.truth, s.components, s.covariance, s.init, o.regime, o.replicates, res.seconds);
  fmt::print("{:>10} {:>10}  {:>24}  {:>24}\n", "run", "generation", "total_variance (95% CI)",
             "l2_distance (95% CI)");
  for (const auto& run : res.runs) {
    const auto& tv = run.summary[*run.metric_index("total_variance")];
    const auto& l2 = run.summary[*run.metric_index("l2_distance")];
    const std::size_t G = run.generations;
    for (std::size_t g : {std::size_t{0}, G / 10, G / 2, G - 1})
      fmt::print("{:>10} {:>10}  {:>11.4g} ± {:<10.3g}  {:>11.4g} ± {:<10.3g}\n", run.label, g,
                 tv.mean[g], (tv.ci95_hi[g] - tv.ci95_lo[g]) / 2, l2.mean[g],
                 (l2.ci95_hi[g] - l2.ci95_lo[g]) / 2);
  }
  std::size_t events = 0;
  for (const auto& run : res.runs) events += run.events.size() + run.events_dropped;
  if (events) fmt::print("{} events recorded (see \"events\" in the JSON)\n", events);
  // the names users of the original replication look for
  examples::figure(o, kName, [&] { return ouro::experiments::gmm_contours(snaps, out); });
  examples::figure(o, kName, [&] {
    return ouro::io::plot_results(res, out / "gmm_sample_size_comparison.png",
                                  ouro::experiments::gmm_figure());
  });
  fmt::print("results in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
