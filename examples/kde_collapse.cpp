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
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/kde.hpp"

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
  examples::common_options o;
  o.samples = {50, 200};
  o.generations = 30;
  o.replicates = 2000;
  std::string bandwidth = "silverman";
  examples::add_common_options(app, o, "--samples 20,50 --generations 15 --replicates 400");
  app.add_option(
         "--bandwidth", bandwidth,
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
  for (auto m : o.samples)
    if (m < 2)
      examples::usage_error(app, fmt::format("--samples: M = {} is too small: the bandwidth rule "
                                             "needs at least 2 points",
                                             m));
  std::optional<double> h;
  if (bandwidth != "silverman")
    h = ouro::parse_real(bandwidth, ouro::real_range::above_to(0, 1e6)).value();

  auto make_loop = [&](auto regime) {
    using namespace ouro;
    return collapse_loop{models::kde_fitter{h}, sample::ancestral{}, regime,
                         metrics::kde_variance{}, metrics::kde_l2_to_normal{0.0, 1.0}};
  };
  const std::size_t metric_count = make_loop(ouro::regime::replace{}).metric_names().size();
  examples::check_memory(
      app, o, {.model_bytes = 64, .sample_bytes = sizeof(double), .metrics = metric_count});

  ouro::results res;  // the provenance (seed, threads, start, build) fills itself
  res.experiment = kName;
  res.config = {{"truth", std::string("N(0, 1)")},
                {"bandwidth", bandwidth},
                {"generations", static_cast<std::int64_t>(o.generations)},
                {"replicates", static_cast<std::int64_t>(o.replicates)}};
  for (auto& p : o.regime_choice().to_params()) res.config.push_back(p);
  const bool replace = o.regime == "replace", accumulate = o.regime == "accumulate";

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));
  const auto t0 = std::chrono::steady_clock::now();
  try {
    ouro::with_regime(o.regime_choice(), [&](auto regime) {
      using namespace ouro;
      const auto loop = make_loop(regime);
      for (std::size_t M : o.samples) {
        if (examples::session::interrupted(res)) break;
        const run_options opt = session.run_options_for(M);
        run_result run = loop.run(from_truth(models::gaussian{0.0, 1.0}), opt);
        if (replace || accumulate)  // generation g has been fitted n = g + 1 times
          run.attach_theory("variance", [&](std::size_t g) {
            return replace ? theory::kde_replace_variance(M, g + 1, h)
                           : theory::kde_accumulate_variance(M, g + 1, h);
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

  fmt::print("kde_collapse: bandwidth {}, regime {}, {} replicates, {:.2f}s\n", bandwidth, o.regime,
             o.replicates, res.seconds);
  for (const auto& run : res.runs) {
    const auto& s = run.summary[*run.metric_index("variance")];
    const auto& l2 = run.summary[*run.metric_index("l2_distance")];
    const std::vector<double>* th = run.theory.empty() ? nullptr : &run.theory.front().second;
    fmt::print("\nrun {}\n{:>10}  {:>28}  {:>12}  {:>6}  {:>22}\n", run.label, "generation",
               "variance (95% CI)", "theory", "inside", "l2_distance (95% CI)");
    const std::size_t G = run.generations;
    for (std::size_t g : {std::size_t{0}, G / 10, G / 4, G / 2, G - 1}) {
      fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}", g, s.mean[g], (s.ci95_hi[g] - s.ci95_lo[g]) / 2);
      if (th)
        fmt::print("  {:>12.6g}  {:>6}", (*th)[g],
                   (*th)[g] >= s.ci95_lo[g] && (*th)[g] <= s.ci95_hi[g] ? "yes" : "NO");
      else
        fmt::print("  {:>12}  {:>6}", "-", "");
      fmt::print("  {:>10.4g} ± {:<9.3g}\n", l2.mean[g], (l2.ci95_hi[g] - l2.ci95_lo[g]) / 2);
    }
  }
  examples::figure(o, kName, [&] {
    ouro::io::figure_options f;
    f.title =
        "Kernel density estimates refitted to their own samples (mean, 95% CI; theory dashed)";
    f.panels = {{"variance", "variance of the estimate", true},
                {"l2_distance", "L2 distance to N(0, 1)"}};
    return ouro::io::plot_results(res, ouro::io::output_files{out, kName}.figure(), f);
  });
  fmt::print("\nresults in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
