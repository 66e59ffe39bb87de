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
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/stats.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/categorical_exact.hpp"
#include "ouroboros/models/metrics/categorical.hpp"

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
  examples::common_options o;
  o.samples = {100};
  o.generations = 500;
  o.replicates = 2000;
  std::vector<double> probs{0.5, 0.3, 0.15, 0.05};
  std::vector<double> zipf;
  double pseudocount = 0;
  examples::add_common_options(app, o, "--samples 20,50 --generations 100 --replicates 500");
  auto* probs_opt = examples::add_real_list(app, "--probs", probs,
                                            "True probabilities of the states (normalised)",
                                            ouro::real_range::at_least(0));
  examples::add_real_list(app, "--zipf", zipf,
                          "Zipf truth instead of --probs: K,s gives p_i proportional to "
                          "1/(i+1)^s",
                          ouro::real_range::at_least(0), false, 2)
      ->excludes(probs_opt);
  app.add_option(
         "--pseudocount", pseudocount,
         "Add-k smoothing of the fitted frequencies (0: plain Wright-Fisher; > 0 keeps every "
         "state alive and the theory no longer applies)")
      ->check(examples::real(ouro::real_range::at_least(0)))
      ->capture_default_str();
  bool exact = false;
  app.add_flag("--exact", exact,
               "Draw each training set's counts per state (conditional binomials) instead of M "
               "states: the same distributions at a cost of O(K log M) (regimes replace, "
               "accumulate and mix with --real-source fresh)");
  examples::parse_or_exit(app, argc, argv);
  if (exact && o.regime == "accumulate_subsample")
    examples::usage_error(app,
                          "--exact: regime accumulate_subsample has no exact form (it subsamples "
                          "the accumulated states, which the exact path keeps only as counts); "
                          "drop --exact or choose another regime");
  if (exact && o.regime == "mix" && o.real_source != "fresh")
    examples::usage_error(app,
                          "--exact: regime mix with a fixed real subset has no exact form (the "
                          "same real states return in every generation); add --real-source fresh "
                          "or drop --exact");
  if (o.quick) {
    if (!app.count("--samples")) o.samples = {20, 50};
    if (!app.count("--generations")) o.generations = 100;
    if (!app.count("--replicates")) o.replicates = 500;
  }
  if (!zipf.empty()) {
    const double k = zipf[0], s = zipf[1];
    if (!(k >= 1 && k <= 1e7 && std::floor(k) == k))
      examples::usage_error(app,
                            fmt::format("--zipf: K = {} must be a whole number in [1, 1e7]", k));
    if (!(s >= 0 && std::isfinite(s)))
      examples::usage_error(app, fmt::format("--zipf: s = {} must be finite and >= 0", s));
    probs.assign(static_cast<std::size_t>(k), 0.0);
    for (std::size_t i = 0; i < probs.size(); ++i)
      probs[i] = std::pow(static_cast<double>(i + 1), -s);
  }
  double total = 0;
  for (double p : probs) total += p;
  if (!std::isfinite(total))
    examples::usage_error(app,
                          "--probs: the values add up to more than a double holds; give "
                          "relative weights of a smaller scale");
  if (probs.empty() || !(total > 0))
    examples::usage_error(app, "--probs: need at least one state with positive probability");
  for (double& p : probs) p /= total;
  double h0 = 1;
  for (double p : probs) h0 -= p * p;
  const std::size_t K = probs.size();
  auto make_loop = [&](auto regime, auto fitter) {
    using namespace ouro;
    return collapse_loop{fitter,
                         sample::ancestral{},
                         regime,
                         metrics::heterozygosity{},
                         metrics::entropy{},
                         metrics::support_size{},
                         metrics::fixed_states{K}};
  };
  const ouro::models::categorical_fitter sampled_fitter{K, pseudocount};
  const ouro::models::exact_categorical_fitter exact_fitter{K, pseudocount};
  const std::size_t metric_count =
      make_loop(ouro::regime::replace{}, sampled_fitter).metric_names().size();
  const double states = static_cast<double>(K);
  examples::check_memory(app, o,
                         {.model_bytes = 16 * states,
                          .sample_bytes = exact ? 0.0 : double(sizeof(std::uint32_t)),
                          .fixed_bytes = 8 * states,
                          .metrics = metric_count});

  ouro::results res;  // the provenance (seed, threads, start, build) fills itself
  res.experiment = kName;
  res.config = {{"probs", probs},
                {"pseudocount", pseudocount},
                {"exact", exact},
                {"generations", static_cast<std::int64_t>(o.generations)},
                {"replicates", static_cast<std::int64_t>(o.replicates)}};
  for (auto& p : o.regime_choice().to_params()) res.config.push_back(p);
  const bool theory_applies = pseudocount == 0 && o.regime == "replace";

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));

  const auto t0 = std::chrono::steady_clock::now();
  try {
    ouro::with_regime(o.regime_choice(), [&](auto regime) {
      using namespace ouro;
      const auto loop = make_loop(regime, sampled_fitter);
      const auto exact_loop = make_loop(regime, exact_fitter);
      for (std::size_t M : o.samples) {
        if (examples::session::interrupted(res)) break;
        const run_options opt = session.run_options_for(M);
        run_result run = exact ? exact_loop.run(from_truth(models::exact_categorical{probs}), opt)
                               : loop.run(from_truth(models::categorical{probs}), opt);
        if (theory_applies)  // generation g has been fitted n = g + 1 times
          run.attach_theory("heterozygosity", [&](std::size_t g) {
            return theory::expected_heterozygosity(h0, M, g + 1);
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

  fmt::print("categorical_collapse: {} states, H_0 = {:.6g}, regime {}, {} replicates, {:.2f}s\n",
             K, h0, o.regime, o.replicates, res.seconds);
  for (const auto& run : res.runs) {
    const std::size_t G = run.generations;
    fmt::print("\nrun {}\n", run.label);
    if (theory_applies) {
      const auto k = *run.metric_index("heterozygosity");
      const auto& s = run.summary[k];
      const auto& th = run.theory.front().second;
      fmt::print("{:>10}  {:>28}  {:>12}  {}\n", "generation", "heterozygosity (95% CI)", "theory",
                 "inside");
      for (std::size_t g : {std::size_t{0}, G / 10, G / 4, G / 2, G - 1}) {
        const bool inside = th[g] >= s.ci95_lo[g] && th[g] <= s.ci95_hi[g];
        fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}  {:>12.6g}  {}\n", g, s.mean[g],
                   (s.ci95_hi[g] - s.ci95_lo[g]) / 2, th[g], inside ? "yes" : "NO");
      }
    }
    // Fixation: the fraction of replicates in which state i holds all the mass at the end,
    // against p_i (the limit; equal when every replicate has fixed).
    double fixed_total = 0;
    fmt::print("{:>10}  {:>28}  {:>12}\n", "state", "fixed at the end (95% CI)", "p_i");
    for (std::size_t i = 0; i < K; ++i) {
      const auto& s = run.summary[*run.metric_index(fmt::format("fixed_{}", i))];
      fixed_total += s.mean[G - 1];
      if (i < 12)
        fmt::print("{:>10}  {:>14.6g} ± {:<11.3g}  {:>12.6g}\n", i, s.mean[G - 1],
                   (s.ci95_hi[G - 1] - s.ci95_lo[G - 1]) / 2, probs[i]);
    }
    fmt::print("replicates fixed by generation {}: {:.1f}%\n", G - 1, 100 * fixed_total);
  }
  examples::figure(o, kName, [&] {
    ouro::io::figure_options f;
    f.title = "Categorical (Wright-Fisher) collapse: Monte Carlo mean (95% CI), theory dashed";
    f.panels = {{"heterozygosity"}, {"entropy"}, {"support_size"}};
    return ouro::io::plot_results(res, ouro::io::output_files{out, kName}.figure(), f);
  });
  fmt::print("\nresults in {}/\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
