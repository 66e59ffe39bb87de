// linreg_collapse: linear regression with a fixed design (Dohmatob, Feng & Kempe 2024; Gerstgrasser
// et al. 2024). Each replicate draws T rows of d inputs from N(0, I) once, labelled by w* plus
// N(0, sigma^2) noise; every next generation refits least squares (optionally ridge) on the same
// inputs labelled by the previous fit. Replacing the data, the error grows linearly; accumulating
// it, it stays below pi^2/6 times the first fit's. Monte Carlo against the exact laws
// (docs/models.md#linear-regression).
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "common/example_support.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/linear_regression.hpp"

namespace {

constexpr const char* kName = "linreg_collapse";

/// w* = (1, -1/2, 1/3, -1/4, ...): fixed, of norm below 1.3 whatever d.
std::vector<double> true_weights(std::size_t d) {
  std::vector<double> w(d);
  for (std::size_t j = 0; j < d; ++j) w[j] = (j % 2 ? -1.0 : 1.0) / static_cast<double>(j + 1);
  return w;
}

}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "Least squares with a fixed design refitted on its own labels (Dohmatob et al.; Gerstgrasser "
      "et al.): Monte Carlo of ||w_n - w*||^2 against sigma^2 d n / (T - d - 1) (replace) and "
      "sigma^2 d / (T - d - 1) sum_{i<=n} 1/i^2 (accumulate). Writes linreg_collapse_results.json, "
      "linreg_collapse_summary.csv (with the theory column), linreg_collapse_theory.csv, "
      "linreg_collapse.csv (per-replicate values, when at most 1,000,000 rows or "
      "--write-replicates) and linreg_collapse.png into --out.",
      kName};
  examples::common_options o;
  o.generations = 50;
  o.replicates = 2000;
  std::size_t dim = 10;
  std::vector<std::size_t> rows{50};
  double noise = 1.0, ridge = 0.0;
  examples::add_common_options(app, o, "--generations 20 --replicates 500");
  app.add_option("--dim", dim, "Inputs per row d")
      ->check(examples::whole({1, 1000}))
      ->capture_default_str();
  examples::add_whole_list(app, "--rows", rows,
                           "Rows T of the fixed design, one run per value (every generation labels "
                           "all of them; replaces --samples)",
                           ouro::whole_range{1, 1u << 24});
  app.add_option("--noise", noise, "Standard deviation sigma of the label noise")
      ->check(examples::real(ouro::real_range::above_to(0, 1e6)))
      ->capture_default_str();
  app.add_option("--ridge", ridge, "Ridge penalty lambda (0: least squares; the laws need 0)")
      ->check(examples::real(ouro::real_range::closed(0, 1e12)))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (app.count("--samples"))
    examples::usage_error(app,
                          "--samples: every generation labels the T rows of the design; give "
                          "--rows instead");
  if (o.quick && !app.count("--generations")) o.generations = 20;
  if (o.quick && !app.count("--replicates")) o.replicates = 500;
  o.samples = rows;
  for (std::size_t T : rows)
    if (T < dim && ridge == 0)
      examples::usage_error(app, fmt::format("--rows {} is fewer than --dim {}: least squares "
                                             "needs T >= d rows (or a --ridge penalty)",
                                             T, dim));

  const auto w_star = true_weights(dim);
  auto make_loop = [&](auto regime) {
    using namespace ouro;
    return collapse_loop{models::linear_regression_fitter{dim, noise, ridge}, sample::relabel{},
                         regime, metrics::test_error{w_star}, metrics::weight_norm{}};
  };
  const std::size_t metric_count = make_loop(ouro::regime::replace{}).metric_names().size();
  examples::check_memory(app, o,
                         {.model_bytes = 8.0 * static_cast<double>(dim) + 64,
                          .sample_bytes = 8.0 * static_cast<double>(dim + 1),
                          .metrics = metric_count});

  ouro::results res;  // the provenance (seed, threads, start, build) fills itself
  res.experiment = kName;
  res.config = {{"dim", static_cast<std::int64_t>(dim)},
                {"noise", noise},
                {"ridge", ridge},
                {"w_star", w_star},
                {"generations", static_cast<std::int64_t>(o.generations)},
                {"replicates", static_cast<std::int64_t>(o.replicates)}};
  for (auto& p : o.regime_choice().to_params()) res.config.push_back(p);
  const bool laws = ridge == 0 && (o.regime == "replace" || o.regime == "accumulate");

  const std::filesystem::path out = o.out;
  const std::size_t nrows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, nrows));
  const ouro::models::linear_design_truth truth{w_star, noise};
  const auto t0 = std::chrono::steady_clock::now();
  try {
    ouro::with_regime(o.regime_choice(), [&](auto regime) {
      using namespace ouro;
      const auto loop = make_loop(regime);
      for (std::size_t T : rows) {
        if (examples::session::interrupted(res)) break;
        run_options opt = session.run_options_for(T);
        opt.label = fmt::format("T={}", T);
        opt.config = {{"rows", static_cast<std::int64_t>(T)}};
        run_result run = loop.run(from_truth(truth), opt);
        if (laws && T > dim + 1)  // generation g has been fitted n = g + 1 times
          run.attach_theory("test_error", [&](std::size_t g) {
            return o.regime == "replace"
                       ? theory::regression_replace_error(noise, dim, T, g + 1)
                       : theory::regression_accumulate_error(noise, dim, T, g + 1);
          });
        res.runs.push_back(std::move(run));
      }
    });
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    examples::write_outputs(out, kName, res);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print("linreg_collapse: d = {}, sigma = {}, ridge = {}, regime {}, {} replicates, {:.2f}s\n",
             dim, noise, ridge, o.regime, o.replicates, res.seconds);
  for (const auto& run : res.runs) {
    const auto& s = run.summary[*run.metric_index("test_error")];
    const std::vector<double>* th = run.theory.empty() ? nullptr : &run.theory.front().second;
    fmt::print("\nrun {}\n{:>10}  {:>28}  {:>12}  {}\n", run.label, "generation",
               "test_error (95% CI)", "theory", th ? "inside" : "");
    const std::size_t G = run.generations;
    for (std::size_t g : {std::size_t{0}, G / 10, G / 4, G / 2, G - 1}) {
      fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}", g, s.mean[g], (s.ci95_hi[g] - s.ci95_lo[g]) / 2);
      if (th)
        fmt::print("  {:>12.6g}  {}", (*th)[g],
                   (*th)[g] >= s.ci95_lo[g] && (*th)[g] <= s.ci95_hi[g] ? "yes" : "NO");
      fmt::print("\n");
    }
    if (!th)
      fmt::print("  (no closed form: {})\n", ridge > 0           ? "ridge"
                                             : o.regime == "mix" ? "see docs/models.md"
                                                                 : "T <= d + 1");
  }
  examples::figure(o, kName, [&] {
    ouro::io::figure_options f;
    f.title = "Linear regression, fixed design: ||w_n - w*||^2 (mean, 95% CI; theory dashed)";
    f.panels = {{"test_error", "test error ||w - w*||^2"}, {"weight_norm", "||w||"}};
    return ouro::io::plot_results(res, ouro::io::output_files{out, kName}.figure(), f);
  });
  fmt::print("\nresults in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
