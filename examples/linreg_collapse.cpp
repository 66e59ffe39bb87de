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
#include "ouroboros/experiments/linreg.hpp"

namespace {

constexpr const char* kName = "linreg_collapse";

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
  ouro::experiments::linreg_settings s;  // the defaults
  auto o = examples::common_options::defaults_of(s);
  examples::add_common_options(app, o, "--generations 20 --replicates 500");
  app.add_option("--dim", s.dim, "Inputs per row d")
      ->check(examples::whole({1, 1000}))
      ->capture_default_str();
  examples::add_whole_list(app, "--rows", s.rows,
                           "Rows T of the fixed design, one run per value (every generation labels "
                           "all of them; replaces --samples)",
                           ouro::whole_range{1, 1u << 24});
  app.add_option("--noise", s.noise, "Standard deviation sigma of the label noise")
      ->check(examples::real(ouro::real_range::above_to(0, 1e6)))
      ->capture_default_str();
  app.add_option("--ridge", s.ridge, "Ridge penalty lambda (0: least squares; the laws need 0)")
      ->check(examples::real(ouro::real_range::closed(0, 1e12)))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (o.quick && !app.count("--generations")) o.generations = 20;
  if (o.quick && !app.count("--replicates")) o.replicates = 500;
  o.to_settings(s);
  examples::check_settings(app, [&] { ouro::experiments::check(s); });
  o.samples = s.rows;  // for the memory check and the count of rows
  const std::size_t metric_count = ouro::experiments::linreg_metric_names().size();
  examples::check_memory(app, o,
                         {.model_bytes = 8.0 * static_cast<double>(s.dim) + 64,
                          .sample_bytes = 8.0 * static_cast<double>(s.dim + 1),
                          .metrics = metric_count});

  const std::filesystem::path out = o.out;
  const std::size_t nrows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, nrows));
  ouro::results res;
  try {
    res = ouro::experiments::linreg_collapse(s, session.setup());
    examples::write_outputs(out, kName, res);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print("linreg_collapse: d = {}, sigma = {}, ridge = {}, regime {}, {} replicates, {:.2f}s\n",
             s.dim, s.noise, s.ridge, o.regime, o.replicates, res.seconds);
  for (const auto& run : res.runs) {
    const auto& e = run.summary[*run.metric_index("test_error")];
    const std::vector<double>* th = run.theory.empty() ? nullptr : &run.theory.front().second;
    fmt::print("\nrun {}\n{:>10}  {:>28}  {:>12}  {}\n", run.label, "generation",
               "test_error (95% CI)", "theory", th ? "inside" : "");
    const std::size_t G = run.generations;
    for (std::size_t g : {std::size_t{0}, G / 10, G / 4, G / 2, G - 1}) {
      fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}", g, e.mean[g], (e.ci95_hi[g] - e.ci95_lo[g]) / 2);
      if (th)
        fmt::print("  {:>12.6g}  {}", (*th)[g],
                   (*th)[g] >= e.ci95_lo[g] && (*th)[g] <= e.ci95_hi[g] ? "yes" : "NO");
      fmt::print("\n");
    }
    if (!th)
      fmt::print("  (no closed form: {})\n", s.ridge > 0         ? "ridge"
                                             : o.regime == "mix" ? "see docs/models.md"
                                                                 : "T <= d + 1");
  }
  examples::figure(o, kName, [&] {
    return ouro::io::plot_results(res, ouro::io::output_files{out, kName}.figure(),
                                  ouro::experiments::linreg_figure());
  });
  fmt::print("\nresults in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
