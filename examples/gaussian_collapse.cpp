// gaussian_collapse: the 1-D Gaussian theorem of Shumailov et al. Each generation fits N(mu, s^2)
// to M samples drawn from the previous generation's fit; generation 0 is fitted on M real draws
// from N(0, 1). Monte Carlo over replicates is compared with the exact expectations of
// ouroboros/core/theory.hpp (see docs/theory.md).
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/example_support.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gaussian_exact.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"

namespace {

constexpr const char* kName = "gaussian_collapse";

/// Generations shown in the printed table: 0, 1, 2, 5, 10, 20, 50, ... and the last.
std::vector<std::size_t> table_generations(std::size_t G) {
  std::vector<std::size_t> g;
  for (std::size_t base = 1; base <= G; base *= 10)
    for (std::size_t k : {1, 2, 5})
      if (k * base - 1 < G) g.push_back(k * base - 1);
  if (g.empty() || g.back() != G - 1) g.push_back(G - 1);
  return g;
}

/// The figure: four panels of Monte Carlo means with 95% bands and the theory dashed.
ouro::io::figure_options figure() {
  ouro::io::figure_options f;
  f.title = "1-D Gaussian model collapse: Monte Carlo mean (95% CI) and theory (dashed)";
  f.panels = {{"log_variance", "E[log sigma^2]"},
              {"std", "E[sigma]"},
              {"mean_sq_error", "E[mu^2]"},
              {"w2_sq", "E[W2^2] to N(0,1)"}};
  f.columns = 2;
  f.panel_width = 700;
  f.panel_height = 480;
  return f;
}

}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "Recursive fitting of a 1-D Gaussian (Shumailov et al.): Monte Carlo over replicates against "
      "the exact expectations. Writes gaussian_collapse_results.json, "
      "gaussian_collapse_summary.csv, "
      "gaussian_collapse_theory.csv, gaussian_collapse.csv (per-replicate values, when at most "
      "1,000,000 rows or --write-replicates) and gaussian_collapse.png into --out.",
      kName};
  examples::common_options o;
  o.samples = {100, 1000};
  o.generations = 1000;
  o.replicates = 1000;
  std::string estimator = "unbiased";
  double floor = 0;
  examples::add_common_options(app, o, "--samples 20,100 --generations 60 --replicates 400");
  app.add_option("--estimator", estimator,
                 "Variance estimator: unbiased (divide by M-1) or mle (divide by M)")
      ->check(CLI::IsMember({"unbiased", "mle"}))
      ->capture_default_str();
  app.add_option("--variance-floor", floor,
                 "Explicit variance floor (0: none; a floor changes what is measured, and the "
                 "theory no longer applies)")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  bool exact = false;
  app.add_flag("--exact", exact,
               "Draw each training set's mean and sum of squared deviations (N and chi-squared) "
               "instead of M points: the same distributions at a cost independent of M "
               "(regimes replace, accumulate and mix with --real-source fresh)");
  examples::parse_or_exit(app, argc, argv);
  if (exact && o.regime == "accumulate_subsample")
    examples::usage_error(app,
                          "--exact: regime accumulate_subsample has no exact form (it subsamples "
                          "the accumulated points, which the exact path does not keep); drop "
                          "--exact or choose another regime");
  if (exact && o.regime == "mix" && o.real_source != "fresh")
    examples::usage_error(app,
                          "--exact: regime mix with a fixed real subset has no exact form (the "
                          "same real points return in every generation); add --real-source fresh "
                          "or drop --exact");
  if (o.quick) {
    if (!app.count("--samples")) o.samples = {20, 100};
    if (!app.count("--generations")) o.generations = 60;
    if (!app.count("--replicates")) o.replicates = 400;
  }
  // the loop for one estimator and regime: its metrics are the results' columns
  auto make_loop = [](auto estimator, std::optional<double> floor, auto regime) {
    using namespace ouro;
    return collapse_loop{models::gaussian_fitter<decltype(estimator)>{floor},
                         sample::ancestral{},
                         regime,
                         metrics::mean{},
                         metrics::variance{},
                         metrics::std_dev{},
                         metrics::log_variance{},
                         metrics::mean_sq_error{},
                         metrics::w2_sq{}};
  };
  const std::size_t metric_count =
      make_loop(ouro::models::unbiased{}, std::nullopt, ouro::regime::replace{})
          .metric_names()
          .size();
  examples::check_memory(app, o,
                         {.model_bytes = 64,
                          .sample_bytes = exact ? 0.0 : double(sizeof(double)),
                          .metrics = metric_count});
  for (auto m : o.samples)
    if (m < 2)
      examples::usage_error(
          app,
          fmt::format("--samples: M = {} is too small: every fit needs at least 2 samples", m));

  const auto est =
      estimator == "mle" ? ouro::theory::estimator::mle : ouro::theory::estimator::unbiased;
  std::optional<ouro::theory::regime> theory_regime;
  if (floor == 0 && o.regime == "replace") theory_regime = ouro::theory::regime::replace;
  if (floor == 0 && o.regime == "accumulate") theory_regime = ouro::theory::regime::accumulate;
  const bool mix_fresh = floor == 0 && o.regime == "mix" && o.real_source == "fresh";

  ouro::results res;  // the provenance (seed, threads, start, build) fills itself
  res.experiment = kName;
  res.config = {{"truth", std::string("N(0, 1)")},
                {"estimator", estimator},
                {"generations", static_cast<std::int64_t>(o.generations)},
                {"replicates", static_cast<std::int64_t>(o.replicates)},
                {"variance_floor", floor},
                {"exact", exact}};
  for (auto& p : o.regime_choice().to_params()) res.config.push_back(p);

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));

  const auto t0 = std::chrono::steady_clock::now();
  auto run_all = [&](auto estimator) {
    ouro::with_regime(o.regime_choice(), [&](auto regime) {
      using namespace ouro;
      std::optional<double> vf;
      if (floor > 0) vf = floor;
      const auto loop = make_loop(estimator, vf, regime);
      for (std::size_t M : o.samples) {
        if (examples::session::interrupted(res)) break;
        const run_options opt = session.run_options_for(M);
        run_result run =
            exact ? models::run_exact_gaussian(
                        models::exact_gaussian{0.0, 1.0},
                        models::exact_gaussian_fitter<decltype(estimator)>{vf}, regime, opt)
                  : loop.run(from_truth(models::gaussian{0.0, 1.0}), opt);
        if (theory_regime)  // generation g has been fitted n = g + 1 times
          for (const auto& name : run.metric_names)
            run.attach_theory(name, [&](std::size_t g) {
              return theory::expected(name, M, g + 1, est, *theory_regime);
            });
        if (mix_fresh) {  // the exact recursion of E[sigma^2] and E[mu^2] (docs/theory.md)
          std::vector<theory::mix_moments> law;
          for (std::size_t g = 0; g < run.generations; ++g)
            law.push_back(theory::expected_mix_fresh(M, g + 1, est, o.real_fraction));
          run.attach_theory("variance", [&](std::size_t g) { return law[g].variance; });
          run.attach_theory("mean_sq_error", [&](std::size_t g) { return law[g].mean_square; });
        }
        res.runs.push_back(std::move(run));
      }
    });
  };
  try {
    if (estimator == "mle")
      run_all(ouro::models::mle{});
    else
      run_all(ouro::models::unbiased{});
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    examples::write_outputs(out, kName, res);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print("gaussian_collapse: {} estimator, regime {}, {} replicates{}, {:.2f}s\n", estimator,
             o.regime, o.replicates, exact ? ", exact path" : "", res.seconds);
  fmt::print(
      "Monte Carlo mean with 95% CI against the exact expectation (n = generation + 1 fits)\n");
  for (const auto& run : res.runs) {
    fmt::print("\nrun {}\n{:>10}  {:<14} {:>28}  {:>12}  {}\n", run.label, "generation", "metric",
               "monte carlo (95% CI)", "theory", "inside");
    for (std::size_t g : table_generations(run.generations))
      for (const auto& [name, v] : run.theory) {
        const auto k = *run.metric_index(name);
        const auto& s = run.summary[k];
        const bool inside = v[g] >= s.ci95_lo[g] && v[g] <= s.ci95_hi[g];
        fmt::print("{:>10}  {:<14} {:>14.6g} ± {:<11.3g}  {:>12.6g}  {}\n", g, name, s.mean[g],
                   (s.ci95_hi[g] - s.ci95_lo[g]) / 2, v[g], inside ? "yes" : "NO");
      }
    if (run.theory.empty()) fmt::print("  (no closed form for this regime/floor)\n");
  }
  const ouro::io::output_files files{out, kName};
  const bool drawn = examples::figure(
      o, kName, [&] { return ouro::io::plot_results(res, files.figure(), figure()); });
  fmt::print("\nresults in {}/: {}_results.json, {}_summary.csv, {}_theory.csv{}{}\n", out.string(),
             kName, kName, kName, session.has_tidy() ? fmt::format(", {}.csv", kName) : "",
             drawn ? fmt::format(", {}.png", kName) : "");
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
