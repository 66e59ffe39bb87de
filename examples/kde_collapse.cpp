// kde_collapse: kernel density estimates refitted to their own samples (Kazdan et al. 2024,
// "Collapse or Thrive?"). Generation 0 keeps M real draws of N(0, 1) with a bandwidth (Silverman's
// rule or a fixed h); each next generation keeps M draws of the previous estimate. The spread grows
// instead of collapsing. Monte Carlo against the exact laws
// (docs/models.md#kernel-density-estimate).
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/example_support.hpp"
#include "ouroboros/experiments/kde.hpp"

namespace {
constexpr const char* kName = "kde_collapse";
}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "Recursive kernel density estimation (Kazdan et al.): each generation keeps M draws of the "
      "previous estimate, with Silverman's bandwidth or a fixed one; the variance grows "
      "((M-1)/M + 1.06^2 M^(-2/5))^n with Silverman's rule and tends to M h^2 with a fixed h "
      "(replace; accumulate has its own exact recursion). Writes kde_collapse_results.json, "
      "kde_collapse_summary.csv (with the theory column), kde_collapse_theory.csv, "
      "kde_collapse.csv (per-replicate values, when at most 1,000,000 rows or "
      "--write-replicates) and kde_collapse.png into --out.",
      kName};
  ouro::experiments::kde_settings s;  // the defaults
  auto o = examples::common_options::defaults_of(s);
  examples::add_common_options(app, o, "--samples 20,50 --generations 15 --replicates 400");
  app.add_option(
         "--bandwidth", s.bandwidth,
         "Kernel bandwidth: silverman (1.06 s n^(-1/5) of the points kept) or a fixed h > 0")
      ->check([](const std::string& v) -> std::string {
        if (v == "silverman") return {};
        const auto p = ouro::parse_real(v, ouro::real_range::above_to(0, 1e6));
        return p.ok() ? std::string() : "must be silverman or a fixed h: " + p.why();
      })
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--samples")) o.samples = {20, 50};
    if (!app.count("--generations")) o.generations = 15;
    if (!app.count("--replicates")) o.replicates = 400;
  }
  o.to_settings(s);
  examples::check_settings(app, [&] { ouro::experiments::check(s); });
  const std::size_t metric_count = ouro::experiments::kde_metric_names().size();
  examples::check_memory(
      app, o, {.model_bytes = 64, .sample_bytes = sizeof(double), .metrics = metric_count});

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));
  ouro::results res;
  try {
    res = ouro::experiments::kde_collapse(s, session.setup());
    examples::write_outputs(out, kName, res);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print("kde_collapse: bandwidth {}, regime {}, {} replicates, {:.2f}s\n", s.bandwidth,
             o.regime, o.replicates, res.seconds);
  for (const auto& run : res.runs) {
    const auto& v = run.summary[*run.metric_index("variance")];
    const auto& l2 = run.summary[*run.metric_index("l2_distance")];
    const std::vector<double>* th = run.theory.empty() ? nullptr : &run.theory.front().second;
    fmt::print("\nrun {}\n{:>10}  {:>28}  {:>12}  {:>6}  {:>22}\n", run.label, "generation",
               "variance (95% CI)", "theory", "inside", "l2_distance (95% CI)");
    const std::size_t G = run.generations;
    for (std::size_t g : {std::size_t{0}, G / 10, G / 4, G / 2, G - 1}) {
      fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}", g, v.mean[g], (v.ci95_hi[g] - v.ci95_lo[g]) / 2);
      if (th)
        fmt::print("  {:>12.6g}  {:>6}", (*th)[g],
                   (*th)[g] >= v.ci95_lo[g] && (*th)[g] <= v.ci95_hi[g] ? "yes" : "NO");
      else
        fmt::print("  {:>12}  {:>6}", "-", "");
      fmt::print("  {:>10.4g} ± {:<9.3g}\n", l2.mean[g], (l2.ci95_hi[g] - l2.ci95_lo[g]) / 2);
    }
  }
  examples::figure(o, kName, [&] {
    return ouro::io::plot_results(res, ouro::io::output_files{out, kName}.figure(),
                                  ouro::experiments::kde_figure());
  });
  fmt::print("\nresults in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
