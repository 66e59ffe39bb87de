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
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/metrics.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/models/figures.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/metrics/gmm.hpp"

namespace {

constexpr const char* kName = "gmm_collapse";
using ouro::models::gmm;
using sym = ouro::matrix;

gmm make_truth(const std::string& name) {
  if (name == "two")
    return gmm({0.5, 0.5}, {-2.0, 0.0, 2.0, 0.0}, {sym::identity(2), sym::identity(2)});
  return gmm({1.0}, {0.0, 0.0}, {sym::identity(2)});
}

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
  examples::common_options o;
  o.samples = {500, 1000};
  o.generations = 2000;
  o.replicates = 8;
  std::size_t components = 2, max_iter = 2000, n_init = 1;
  double reg_covar = 1e-6, tol = 1e-5, truncate = 0;
  std::string init = "kmeans", truth_name = "blob", covariance = "full";
  examples::add_common_options(app, o, "--generations 40 --replicates 4");
  app.add_option("--components", components, "Mixture components K")
      ->check(examples::whole({1, 1000}))
      ->capture_default_str();
  app.add_option("--covariance", covariance, "Covariance type: full, diagonal or spherical")
      ->check(CLI::IsMember({"full", "diagonal", "spherical"}))
      ->capture_default_str();
  app.add_option("--reg-covar", reg_covar,
                 "Added to every covariance diagonal (scikit-learn's default; 0 allowed)")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  app.add_option("--init", init,
                 "EM initialisation: kmeans (k-means++ then Lloyd), random (random "
                 "responsibilities) or warm_start (the previous generation's model)")
      ->check(CLI::IsMember({"kmeans", "random", "warm_start"}))
      ->capture_default_str();
  app.add_option("--tol", tol, "EM stops when the mean log-likelihood per point changes less")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  app.add_option("--max-iter", max_iter, "EM iterations at most")
      ->check(examples::whole({1, 1000000}))
      ->capture_default_str();
  app.add_option("--n-init", n_init, "EM restarts; the best lower bound is kept")
      ->check(examples::whole({1, 1000}))
      ->capture_default_str();
  app.add_option("--truth", truth_name,
                 "True distribution: blob (2-D N(0, I)) or two (weights 0.5/0.5, means (-2,0) and "
                 "(2,0), identity covariances)")
      ->check(CLI::IsMember({"blob", "two"}))
      ->capture_default_str();
  app.add_option("--truncate", truncate,
                 "Tail truncation: drop draws whose density lies below the model's Q-quantile "
                 "of density (0: plain sampling)")
      ->check(examples::real(ouro::real_range::closed(0, 0.99)))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--generations")) o.generations = 40;
    if (!app.count("--replicates")) o.replicates = 4;
  }
  for (std::size_t M : o.samples)
    if (components > M)
      examples::usage_error(app, fmt::format("--components {} is more than --samples {}: a mixture "
                                             "needs at least one point per component",
                                             components, M));
  const gmm truth = make_truth(truth_name);
  // a fixed held-out real sample for heldout_loglik and kl_to_truth, the same for every run
  ouro::default_rng held_rng = ouro::make_stream(o.seed, 0, 0, ouro::stream_role::user);
  const auto heldout = truth.sample(2000, held_rng);
  // the metrics' fixed parts (the truth's 99% density level from 200,000 draws) are set up once,
  // before the clock starts, like the held-out sample
  const auto tail_mass = ouro::metrics::tail_mass_gmm::make(truth);
  const auto kl = ouro::metrics::kl_to_truth_mc::on_heldout(truth, heldout);
  const auto cov_type = covariance == "diagonal"    ? ouro::models::covariance_type::diagonal
                        : covariance == "spherical" ? ouro::models::covariance_type::spherical
                                                    : ouro::models::covariance_type::full;
  auto make_loop = [&](auto init, auto regime) {
    using namespace ouro;
    const models::gmm_fitter<decltype(init)> fit{.components = components,
                                                 .covariance = cov_type,
                                                 .reg_covar = reg_covar,
                                                 .tol = tol,
                                                 .max_iter = max_iter,
                                                 .n_init = n_init};
    return collapse_loop{fit,
                         sample::density_truncation{truncate},
                         regime,
                         metrics::total_variance{},
                         metrics::component_std{},
                         metrics::l2_distance{truth},
                         metrics::l2_distance_to_first{},
                         kl,
                         metrics::mean_norm{},
                         tail_mass};
  };
  const std::size_t metric_count =
      make_loop(ouro::models::init::kmeans{}, ouro::regime::replace{}).metric_names().size();
  examples::check_memory(app, o,
                         {.model_bytes = static_cast<double>(components) * 8 * 8 + 64,
                          .sample_bytes = 2 * sizeof(double) * static_cast<double>(1 + components),
                          .metrics = metric_count});

  ouro::results res;  // the provenance (seed, threads, start, build) fills itself
  res.experiment = kName;
  res.config = {{"truth", truth_name},
                {"components", static_cast<std::int64_t>(components)},
                {"covariance", covariance},
                {"reg_covar", reg_covar},
                {"init", init},
                {"tol", tol},
                {"max_iter", static_cast<std::int64_t>(max_iter)},
                {"n_init", static_cast<std::int64_t>(n_init)},
                {"truncate", truncate},
                {"generations", static_cast<std::int64_t>(o.generations)},
                {"replicates", static_cast<std::int64_t>(o.replicates)}};
  for (auto& p : o.regime_choice().to_params()) res.config.push_back(p);

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));

  std::set<std::size_t> snap_at;
  for (std::size_t g : {0, 50, 100, 150, 200, 350, 1000, 2000})
    if (g < o.generations) snap_at.insert(g);
  snap_at.insert(o.generations - 1);
  std::vector<snapshot> snaps;
  session.add_part(examples::collector_part("snapshots", snaps, &snapshot::model));

  const auto t0 = std::chrono::steady_clock::now();
  auto run_all = [&](auto init) {
    ouro::with_regime(o.regime_choice(), [&](auto regime) {
      using namespace ouro;
      const auto loop = make_loop(init, regime);
      for (std::size_t M : o.samples) {
        if (examples::session::interrupted(res)) break;
        const run_options opt = session.run_options_for(M);
        res.runs.push_back(loop.run(from_truth(truth), opt,
                                    [&](std::size_t g, std::span<const models::gmm* const> ms) {
                                      if (snap_at.count(g) && ms[0])
                                        snaps.push_back({opt.label, g, *ms[0]});
                                    }));
      }
    });
  };
  try {
    if (init == "random")
      run_all(ouro::models::init::random_responsibilities{});
    else if (init == "warm_start")
      run_all(ouro::models::init::warm_start{});
    else
      run_all(ouro::models::init::kmeans{});
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json extra;
    extra["snapshots"] = nlohmann::json::array();
    for (const auto& s : snaps) extra["snapshots"].push_back(ouro::models::to_json(s));
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
      truth_name, components, covariance, init, o.regime, o.replicates, res.seconds);
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
  examples::figure(o, kName, [&] {
    return ouro::models::plot_gmm_contours(snaps, out / "gmm_model_collapse_results.png",
                                           "GMM model collapse: density contours of replicate 0 "
                                           "(rows: runs; columns: generations)");
  });
  examples::figure(o, kName, [&] {
    ouro::io::figure_options f;
    f.title = "GMM collapse by sample size: mean over replicates with 95% band";
    f.panels = {{"total_variance", "total variance", true},
                {"l2_distance", "L2 distance to the truth", true}};
    f.panel_width = 700;
    f.panel_height = 500;
    return ouro::io::plot_results(res, out / "gmm_sample_size_comparison.png", f);
  });
  fmt::print("results in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
