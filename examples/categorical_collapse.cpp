// categorical_collapse: the discrete case. Each generation refits a categorical distribution to M
// draws from the previous one (Wright-Fisher resampling): rare states are lost first, the
// heterozygosity decays as H_0 (1 - 1/M)^n and, in the end, a single state i is fixed with
// probability p_i (see docs/theory.md).
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/example_support.hpp"
#include "ouroboros/experiments/categorical.hpp"

namespace {

constexpr const char* kName = "categorical_collapse";

}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "Recursive refitting of a categorical distribution (Wright-Fisher resampling): loss of rare "
      "states, heterozygosity decay and fixation, against the exact results. Writes "
      "categorical_collapse_results.json, categorical_collapse_summary.csv, "
      "categorical_collapse_theory.csv, "
      "categorical_collapse.csv (per-replicate values, when at most 1,000,000 rows or "
      "--write-replicates) and categorical_collapse.png into --out.",
      kName};
  ouro::experiments::categorical_settings s;  // the defaults
  auto o = examples::common_options::defaults_of(s);
  examples::add_common_options(app, o, "--samples 20,50 --generations 100 --replicates 500");
  auto* probs_opt = examples::add_real_list(app, "--probs", s.probs,
                                            "True probabilities of the states (normalised)",
                                            ouro::real_range::at_least(0));
  examples::add_real_list(app, "--zipf", s.zipf,
                          "Zipf truth instead of --probs: K,s gives p_i proportional to "
                          "1/(i+1)^s",
                          ouro::real_range::at_least(0), false, 2)
      ->excludes(probs_opt);
  app.add_option(
         "--pseudocount", s.pseudocount,
         "Add-k smoothing of the fitted frequencies (0: plain Wright-Fisher; > 0 keeps every "
         "state alive and the theory no longer applies)")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  app.add_flag("--exact", s.exact,
               "Draw each training set's counts per state (conditional binomials) instead of M "
               "states: the same distributions at a cost of O(K log M) (regimes replace, "
               "accumulate and mix with --real-source fresh)");
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--samples")) o.samples = {20, 50};
    if (!app.count("--generations")) o.generations = 100;
    if (!app.count("--replicates")) o.replicates = 500;
  }
  o.to_settings(s);
  examples::check_settings(app, [&] { ouro::experiments::check(s); });
  const std::vector<double> probs = ouro::experiments::categorical_truth(s);
  double h0 = 1;
  for (double p : probs) h0 -= p * p;
  const std::size_t K = probs.size();
  const std::size_t metric_count = ouro::experiments::categorical_metric_names(K).size();
  const double states = static_cast<double>(K);
  examples::check_memory(app, o,
                         {.model_bytes = 16 * states,
                          .sample_bytes = s.exact ? 0.0 : double(sizeof(std::uint32_t)),
                          .fixed_bytes = 8 * states,
                          .metrics = metric_count});
  const bool theory_applies = s.pseudocount == 0 && o.regime == "replace";

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));
  ouro::results res;
  try {
    res = ouro::experiments::categorical_collapse(s, session.setup());
    examples::write_outputs(out, kName, res);
    session.finish_tidy(res);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print("categorical_collapse: {} states, H_0 = {:.6g}, regime {}, {} replicates, {:.2f}s\n",
             K, h0, o.regime, o.replicates, res.seconds);
  for (const auto& run : res.runs) {
    const std::size_t G = run.generations;
    fmt::print("\nrun {}\n", run.label);
    if (theory_applies) {
      const auto k = *run.metric_index("heterozygosity");
      const auto& m = run.summary[k];
      const auto& th = run.theory.front().second;
      fmt::print("{:>10}  {:>28}  {:>12}  {}\n", "generation", "heterozygosity (95% CI)", "theory",
                 "inside");
      for (std::size_t g : {std::size_t{0}, G / 10, G / 4, G / 2, G - 1}) {
        const bool inside = th[g] >= m.ci95_lo[g] && th[g] <= m.ci95_hi[g];
        fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}  {:>12.6g}  {}\n", g, m.mean[g],
                   (m.ci95_hi[g] - m.ci95_lo[g]) / 2, th[g], inside ? "yes" : "NO");
      }
    }
    // Fixation: the fraction of replicates in which state i holds all the mass at the end,
    // against p_i (the limit; equal when every replicate has fixed).
    double fixed_total = 0;
    fmt::print("{:>10}  {:>28}  {:>12}\n", "state", "fixed at the end (95% CI)", "p_i");
    for (std::size_t i = 0; i < K; ++i) {
      const auto& m = run.summary[*run.metric_index(fmt::format("fixed_{}", i))];
      fixed_total += m.mean[G - 1];
      if (i < 12)
        fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}  {:>12.6g}\n", i, m.mean[G - 1],
                   (m.ci95_hi[G - 1] - m.ci95_lo[G - 1]) / 2, probs[i]);
    }
    fmt::print("replicates fixed by generation {}: {:.1f}%\n", G - 1, 100 * fixed_total);
  }
  examples::figure(o, kName, [&] {
    return ouro::io::plot_results(res, ouro::io::output_files{out, kName}.figure(),
                                  ouro::experiments::categorical_figure());
  });
  fmt::print("\nresults in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
