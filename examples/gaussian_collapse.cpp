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
#include "ouroboros/experiments/gaussian.hpp"

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

}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "Recursive fitting of a 1-D Gaussian (Shumailov et al.): Monte Carlo over replicates against "
      "the exact expectations. Writes gaussian_collapse_results.json, "
      "gaussian_collapse_summary.csv, "
      "gaussian_collapse_theory.csv, gaussian_collapse.csv (per-replicate values, when at most "
      "1,000,000 rows or --write-replicates) and gaussian_collapse.png into --out.",
      kName};
  ouro::experiments::gaussian_settings s;  // the defaults
  auto o = examples::common_options::defaults_of(s);
  examples::add_common_options(app, o, "--samples 20,100 --generations 60 --replicates 400");
  app.add_option("--estimator", s.estimator,
                 "Variance estimator: unbiased (divide by M-1) or mle (divide by M)")
      ->check(CLI::IsMember({"unbiased", "mle"}))
      ->capture_default_str();
  app.add_option("--variance-floor", s.variance_floor,
                 "Explicit variance floor (0: none; a floor changes what is measured, and the "
                 "theory no longer applies)")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  app.add_flag("--exact", s.exact,
               "Draw each training set's mean and sum of squared deviations (N and chi-squared) "
               "instead of M points: the same distributions at a cost independent of M "
               "(regimes replace, accumulate and mix with --real-source fresh)");
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--samples")) o.samples = {20, 100};
    if (!app.count("--generations")) o.generations = 60;
    if (!app.count("--replicates")) o.replicates = 400;
  }
  o.to_settings(s);
  examples::check_settings(app, [&] { ouro::experiments::check(s); });
  const std::size_t metric_count = ouro::experiments::gaussian_metric_names().size();
  examples::check_memory(app, o,
                         {.model_bytes = 64,
                          .sample_bytes = s.exact ? 0.0 : double(sizeof(double)),
                          .metrics = metric_count});

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));
  ouro::results res;
  try {
    res = ouro::experiments::gaussian_collapse(s, session.setup());
    examples::write_outputs(out, kName, res);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print("gaussian_collapse: {} estimator, regime {}, {} replicates{}, {:.2f}s\n", s.estimator,
             o.regime, o.replicates, s.exact ? ", exact path" : "", res.seconds);
  fmt::print(
      "Monte Carlo mean with 95% CI against the exact expectation (n = generation + 1 fits)\n");
  for (const auto& run : res.runs) {
    fmt::print("\nrun {}\n{:>10}  {:<14} {:>28}  {:>12}  {}\n", run.label, "generation", "metric",
               "monte carlo (95% CI)", "theory", "inside");
    for (std::size_t g : table_generations(run.generations))
      for (const auto& [name, v] : run.theory) {
        const auto k = *run.metric_index(name);
        const auto& m = run.summary[k];
        const bool inside = v[g] >= m.ci95_lo[g] && v[g] <= m.ci95_hi[g];
        fmt::print("{:>10}  {:<14} {:>14.6g} ± {:<11.3g}  {:>12.6g}  {}\n", g, name, m.mean[g],
                   (m.ci95_hi[g] - m.ci95_lo[g]) / 2, v[g], inside ? "yes" : "NO");
      }
    if (run.theory.empty()) fmt::print("  (no closed form for this regime/floor)\n");
  }
  const ouro::io::output_files files{out, kName};
  const bool drawn = examples::figure(o, kName, [&] {
    return ouro::io::plot_results(res, files.figure(), ouro::experiments::gaussian_figure());
  });
  fmt::print("\nresults in {}/: {}_results.json, {}_summary.csv, {}_theory.csv{}{}\n", out.string(),
             kName, kName, kName, session.has_tidy() ? fmt::format(", {}.csv", kName) : "",
             drawn ? fmt::format(", {}.png", kName) : "");
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
