// collapse_sweep: a sweep of collapse experiments described by a JSON file (models x regimes x
// sample sizes, R replicates each), run on one process or across MPI ranks (mpirun, srun) with the
// same bytes in the results: the work is cut into blocks of replicates (ouroboros/sweep.hpp),
// handed out by rank 0 (ouroboros/mpi.hpp) and merged into one run per grid cell. Writes one
// results set (DESIGN.md section 4) and a summary figure. See docs/scaling.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/example_support.hpp"
#include "ouroboros/checkpoint_store.hpp"
#include "ouroboros/io/results_io.hpp"
#include "ouroboros/loop.hpp"
#include "ouroboros/metrics/gaussian.hpp"
#include "ouroboros/metrics/gmm.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/regimes.hpp"
#include "ouroboros/samplers.hpp"
#include "ouroboros/sweep.hpp"
#ifdef OUROBOROS_WITH_MPI
#include "ouroboros/mpi.hpp"
#endif

namespace {

constexpr const char* kName = "collapse_sweep";

/// A bad configuration file: exit status 2 with the message.
struct config_problem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The sweep, as the configuration file describes it.
struct sweep_config {
  std::uint64_t seed = 42;
  std::size_t generations = 100;
  std::size_t replicates = 32;
  std::size_t replicates_per_item = 8;
  std::vector<std::string> models{"gaussian", "gmm"};
  std::vector<std::size_t> samples{20, 50, 100, 200};
  std::vector<std::string> regimes{"replace", "accumulate", "mix"};
  std::vector<double> real_fractions{0.1};
  std::size_t budget = 0;
  std::size_t gmm_components = 2;
  std::size_t gmm_max_iter = 100;
  double gmm_tol = 1e-5;
  double gmm_reg_covar = 1e-6;
  nlohmann::json source;  // the file, as read (written into the results)
};

/// One grid cell: a model, a regime (with its real fraction) and a sample size.
struct cell {
  std::string model, regime;
  double real_fraction = 0;
  std::size_t samples = 0;
  std::string regime_label() const {
    return regime == "mix" ? fmt::format("mix {:g}", real_fraction) : regime;
  }
  std::string label() const { return fmt::format("{},{},M={}", model, regime_label(), samples); }
};

template <class T>
T get(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.contains(key)) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw config_problem(fmt::format("\"{}\" has the wrong type ({})", key, j.at(key).dump()));
  }
}

sweep_config read_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open the file", path));
  sweep_config c;
  try {
    c.source = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw config_problem(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  const auto& j = c.source;
  if (!j.is_object()) throw config_problem(fmt::format("{}: expected a JSON object", path));
  static const std::set<std::string> keys{
      "seed",   "generations", "replicates", "replicates_per_item",
      "models", "samples",     "regimes",    "real_fractions",
      "budget", "gmm",         "description"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!keys.count(it.key()))
      throw config_problem(
          fmt::format("{}: unknown key \"{}\" (known: seed, generations, "
                      "replicates, replicates_per_item, models, samples, "
                      "regimes, real_fractions, budget, gmm, description)",
                      path, it.key()));
  try {
    c.seed = get(j, "seed", c.seed);
    c.generations = get(j, "generations", c.generations);
    c.replicates = get(j, "replicates", c.replicates);
    c.replicates_per_item = get(j, "replicates_per_item", c.replicates_per_item);
    c.models = get(j, "models", c.models);
    c.samples = get(j, "samples", c.samples);
    c.regimes = get(j, "regimes", c.regimes);
    c.real_fractions = get(j, "real_fractions", c.real_fractions);
    c.budget = get(j, "budget", c.budget);
    if (j.contains("gmm")) {
      const auto& g = j.at("gmm");
      if (!g.is_object()) throw config_problem("\"gmm\" must be an object");
      for (auto it = g.begin(); it != g.end(); ++it)
        if (it.key() != "components" && it.key() != "max_iter" && it.key() != "tol" &&
            it.key() != "reg_covar")
          throw config_problem(fmt::format(
              "unknown key \"gmm.{}\" (known: components, max_iter, tol, reg_covar)", it.key()));
      c.gmm_components = get(g, "components", c.gmm_components);
      c.gmm_max_iter = get(g, "max_iter", c.gmm_max_iter);
      c.gmm_tol = get(g, "tol", c.gmm_tol);
      c.gmm_reg_covar = get(g, "reg_covar", c.gmm_reg_covar);
    }
  } catch (const config_problem& e) {
    throw config_problem(fmt::format("{}: {}", path, e.what()));
  }
  auto bad = [&](const std::string& what) {
    throw config_problem(fmt::format("{}: {}", path, what));
  };
  if (c.generations < 1 || c.generations > 100'000'000) bad("\"generations\" must be 1 to 1e8");
  if (c.replicates < 1 || c.replicates > 100'000'000) bad("\"replicates\" must be 1 to 1e8");
  if (c.models.empty() || c.samples.empty() || c.regimes.empty())
    bad("\"models\", \"samples\" and \"regimes\" must not be empty");
  for (const auto& m : c.models)
    if (m != "gaussian" && m != "gmm")
      bad(fmt::format("unknown model \"{}\" in \"models\" (known: gaussian, gmm)", m));
  for (const auto& r : c.regimes)
    if (r != "replace" && r != "accumulate" && r != "accumulate_subsample" && r != "mix")
      bad(
          fmt::format("unknown regime \"{}\" in \"regimes\" (known: replace, accumulate, "
                      "accumulate_subsample, mix)",
                      r));
  for (double f : c.real_fractions)
    if (!(f >= 0 && f <= 1)) bad(fmt::format("real fraction {} is outside [0, 1]", f));
  for (std::size_t m : c.samples) {
    if (m < 2) bad(fmt::format("sample size {} in \"samples\": every fit needs at least 2", m));
    for (const auto& model : c.models)
      if (model == "gmm" && m < c.gmm_components)
        bad(fmt::format("sample size {} is less than gmm.components = {}", m, c.gmm_components));
  }
  if (c.gmm_components < 1 || c.gmm_components > 1000) bad("gmm.components must be 1 to 1000");
  if (c.gmm_max_iter < 1) bad("gmm.max_iter must be at least 1");
  if (!(c.gmm_tol >= 0) || !(c.gmm_reg_covar >= 0)) bad("gmm.tol and gmm.reg_covar must be >= 0");
  return c;
}

std::vector<cell> grid(const sweep_config& c) {
  std::vector<cell> cells;
  for (const auto& model : c.models)
    for (const auto& regime : c.regimes) {
      const std::vector<double> fractions =
          regime == "mix" ? c.real_fractions : std::vector<double>{0.0};
      for (double f : fractions)
        for (std::size_t m : c.samples) cells.push_back({model, regime, f, m});
    }
  return cells;
}

template <class F>
decltype(auto) with_regime(const cell& c, std::size_t budget, F&& f) {
  using namespace ouro::regime;
  if (c.regime == "accumulate") return f(accumulate{});
  if (c.regime == "accumulate_subsample") return f(accumulate_subsample{budget});
  if (c.regime == "mix") return f(mix{c.real_fraction, real_source_kind::fixed});
  return f(replace{});
}

/// Runs one work item: a block of replicates of one cell, every value kept.
ouro::run_result run_item(const sweep_config& cfg, const cell& c, const ouro::sweep_item& item,
                          unsigned threads) {
  using namespace ouro;
  run_options opt;
  opt.label = c.label();
  opt.generations = cfg.generations;
  opt.replicates = item.replicates;
  opt.first_replicate = item.first_replicate;
  opt.samples = schedule::constant{c.samples};
  opt.seed = cfg.seed;
  opt.threads = threads;
  opt.keep = keep_values::all;
  opt.max_events = std::numeric_limits<std::size_t>::max();  // capped after the merge
  opt.config = {
      {"model", c.model}, {"regime", c.regime}, {"samples", static_cast<std::int64_t>(c.samples)}};
  if (c.regime == "mix") opt.config.emplace_back("real_fraction", c.real_fraction);
  if (c.regime == "accumulate_subsample")
    opt.config.emplace_back("budget", static_cast<std::int64_t>(cfg.budget));
  return with_regime(c, cfg.budget, [&](auto regime) {
    if (c.model == "gaussian") {
      auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{},
                                sample::ancestral{},
                                regime,
                                metrics::variance{},
                                metrics::log_variance{},
                                metrics::w2_sq{},
                                metrics::mean{}};
      return loop.run(from_truth(models::gaussian{0.0, 1.0}), opt);
    }
    const models::gmm truth({1.0}, {0.0, 0.0}, {detail::sym_matrix::identity(2)});
    models::em_fit<models::init::kmeans> fit;
    fit.components = cfg.gmm_components;
    fit.max_iter = cfg.gmm_max_iter;
    fit.tol = cfg.gmm_tol;
    fit.reg_covar = cfg.gmm_reg_covar;
    auto loop = collapse_loop{fit,
                              sample::ancestral{},
                              regime,
                              metrics::total_variance{},
                              metrics::component_std{},
                              metrics::l2_distance{truth},
                              metrics::mean_norm{}};
    return loop.run(from_truth(truth), opt);
  });
}

/// The metric shown in the summary figure for a model.
std::string main_metric(const std::string& model) {
  return model == "gaussian" ? "w2_sq" : "l2_distance";
}

/// collapse_sweep_final.csv: the last generation of every run, one row per metric.
std::string final_csv(const ouro::results& res, const std::vector<cell>& cells) {
  std::string out = "model,regime,samples,metric,generation,mean,ci95_lo,ci95_hi\n";
  for (std::size_t i = 0; i < res.runs.size(); ++i) {
    const auto& run = res.runs[i];
    const std::size_t g = run.generations - 1;
    for (const auto& s : run.summary)
      out += fmt::format("{},{},{},{},{},{},{},{}\n", cells[i].model, cells[i].regime_label(),
                         cells[i].samples, s.name, g, ouro::io::detail::csv_number(s.mean[g]),
                         ouro::io::detail::csv_number(s.ci95_lo[g]),
                         ouro::io::detail::csv_number(s.ci95_hi[g]));
  }
  return out;
}

/// The summary figure: final-generation mean (95% CI) of each model's main metric against the
/// sample size, one curve per regime, one panel per model.
void write_plot_script(const std::filesystem::path& dir, const sweep_config& cfg,
                       const std::vector<cell>& cells) {
  const auto csv = dir / fmt::format("{}_final.csv", kName);
  std::vector<std::string> regimes;
  for (const auto& c : cells)
    if (std::find(regimes.begin(), regimes.end(), c.regime_label()) == regimes.end())
      regimes.push_back(c.regime_label());
  std::string s = fmt::format(
      "set terminal pngcairo size {},450 noenhanced font ',10'\nset output '{}'\n"
      "set datafile separator ','\nset multiplot layout 1,{} title 'Collapse sweep: the last "
      "generation ({} generations, {} replicates; mean and 95% CI)'\n"
      "set logscale xy\nset grid\nset key bottom right\nset xlabel 'samples per generation M'\n",
      550 * cfg.models.size(), (dir / fmt::format("{}.png", kName)).string(), cfg.models.size(),
      cfg.generations, cfg.replicates);
  for (const auto& model : cfg.models) {
    const std::string metric = main_metric(model);
    s += fmt::format("set title '{}: {}'\nset ylabel '{}'\nplot ", model, metric, metric);
    for (std::size_t r = 0; r < regimes.size(); ++r) {
      if (r) s += ", \\\n     ";
      s += fmt::format(
          "\"< awk -F, '$1==\\\"{0}\\\" && $2==\\\"{1}\\\" && $4==\\\"{2}\\\"' '{3}'\" using "
          "3:6:7:8 with yerrorlines lw 2 lc {4} title '{1}'",
          model, regimes[r], metric, csv.string(), r + 1);
    }
    s += "\n";
  }
  s += "unset multiplot\n";
  ouro::io::write_file_atomic(dir / fmt::format("{}.gp", kName), s);
}

}  // namespace

int main(int argc, char** argv) {
#ifdef OUROBOROS_WITH_MPI
  ouro::mpi::environment mpi_env(argc, argv);
  const int rank = mpi_env.rank(), ranks = mpi_env.size();
  // every rank exits with the same status: rank 0 decides
  auto agree = [&](int status) {
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return status;
  };
#else
  const int rank = 0, ranks = 1;
  auto agree = [](int status) { return status; };
#endif
  CLI::App app{
      "A sweep of collapse experiments described by a JSON file (models gaussian and gmm; sample "
      "sizes, regimes, real-data fractions; replicates; generations; seed). Runs on one process "
      "or under mpirun/srun, with the same results files either way. Writes collapse_sweep.json, "
      "collapse_sweep_summary.csv, collapse_sweep.csv (per-replicate values, when at most "
      "1,000,000 rows), collapse_sweep_final.csv and collapse_sweep.png into --out.",
      kName};
  std::string config_path, out_dir = "results/collapse_sweep";
  unsigned threads = 0;
  bool resume = false, no_plot = false, quiet = false;
  double checkpoint_interval = 2;
  app.add_option("--config", config_path,
                 "The sweep's JSON file (see examples/collapse_sweep.json)")
      ->required();
  app.add_option("--out", out_dir, "Folder for the results files and the figure")
      ->capture_default_str();
  app.add_option("--threads", threads,
                 "Threads per process, each running its own work items (0: all cores; with "
                 "several processes on one machine give cores / processes); results do not "
                 "depend on it")
      ->check(CLI::Range(0u, 4096u))
      ->capture_default_str();
  app.add_flag("--resume", resume,
               "Continue the sweep recorded in --out: only the work items not yet "
               "finished run (the configuration must be the same)");
  app.add_option("--checkpoint-interval", checkpoint_interval,
                 "Seconds at least between two saves of the finished work items into "
                 "--out/collapse_sweep.ckpt (0: after every item)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_flag("--no-plot", no_plot, "Do not render the figure with gnuplot");
  app.add_flag("--quiet", quiet, "No progress on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (rank == 0) std::fputs(app.help().c_str(), stdout);
    return agree(0);
  } catch (const CLI::ParseError& e) {  // one line on rank 0, status 2 everywhere
    if (rank == 0) fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return agree(2);
  }
  if (const auto e = ouro::simd_environment_error(); !e.empty()) {
    if (rank == 0) fmt::print(stderr, "{}: error: {}\n", kName, e);
    return agree(2);
  }

  sweep_config cfg;
  int status = 0;
  try {
    cfg = read_config(config_path);
  } catch (const config_problem& e) {
    if (rank == 0) fmt::print(stderr, "{}: error: --config {}\n", kName, e.what());
    status = 2;
  } catch (const std::exception& e) {
    if (rank == 0) fmt::print(stderr, "{}: error: --config {}\n", kName, e.what());
    status = 2;
  }
  if (agree(status) != 0) return status;
  const auto cells = grid(cfg);
  const auto items = ouro::plan_items(cells.size(), cfg.replicates, cfg.replicates_per_item);
  const std::filesystem::path out = out_dir;

  // rank 0: the checkpoint of finished items
  std::optional<ouro::checkpoint_store> store;
  std::vector<std::optional<std::string>> known;
  if (rank == 0) {
    try {
      std::filesystem::create_directories(out);
      store.emplace(out / fmt::format("{}.ckpt", kName), cfg.source.dump(), resume);
      std::size_t found = 0;
      known.resize(items.size());
      for (std::size_t i = 0; i < items.size(); ++i)
        if (const auto* r = store->completed(fmt::format("item {}", i))) {
          known[i] = ouro::to_checkpoint(*r);
          ++found;
        }
      if (resume)
        fmt::print(stderr, "{}: resuming: {} of {} work items already done\n", kName, found,
                   items.size());
    } catch (const ouro::config_error& e) {
      fmt::print(stderr, "{}: error: --resume: {}\n", kName, e.what());
      status = 2;
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}: error: {}\n", kName, e.what());
      status = 1;
    }
  }
  if (agree(status) != 0) return status;

  const auto t0 = std::chrono::steady_clock::now();
  std::size_t done = 0, todo = 0;
  for (const auto& k : known) todo += k ? 0 : 1;
  auto last_save = t0;
  auto on_result = [&](std::size_t i, const std::string& bytes) {
    auto r = ouro::from_checkpoint<ouro::run_result>(bytes, fmt::format("item {}", i));
    r.label = fmt::format("item {}", i);
    store->complete(r, /*write_now=*/false);
    ++done;
    const auto now = std::chrono::steady_clock::now();
    if (done == todo ||
        std::chrono::duration<double>(now - last_save).count() >= checkpoint_interval) {
      store->flush();
      last_save = now;
    }
    if (!quiet)
      fmt::print(stderr, "{}: {}/{} work items, {:.1f}s\n", kName, done, todo,
                 std::chrono::duration<double>(now - t0).count());
  };
  // every thread runs its own items (one thread each): small items need no barrier between
  // threads, which is faster than threads inside an item
  const unsigned item_threads =
      threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads;
  auto work = [&](std::size_t i) {
    const auto& it = items[i];
    return ouro::to_checkpoint(run_item(cfg, cells[it.cell], it, 1));
  };
  std::vector<std::string> results;
  try {
#ifdef OUROBOROS_WITH_MPI
    ouro::mpi::distribute_options dopt;
    dopt.threads = item_threads;
    dopt.known = known;
    if (rank == 0) dopt.on_result = on_result;
    results = ouro::mpi::run_items(items.size(), work, dopt);
#else
    results = ouro::run_items_local(items.size(), work, item_threads, known, on_result);
#endif
  } catch (const std::exception& e) {
    if (rank == 0) fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (rank != 0) return 0;

  ouro::results res;
  res.experiment = kName;
  res.seed = cfg.seed;
  res.threads = item_threads;
  res.started = ouro::io::now_iso8601();
  res.provenance = ouro::io::build_provenance();
  res.provenance.emplace_back("ranks", std::to_string(ranks));
  res.config = {{"config_file", cfg.source.dump()},
                {"generations", static_cast<std::int64_t>(cfg.generations)},
                {"replicates", static_cast<std::int64_t>(cfg.replicates)}};
  try {
    std::vector<ouro::run_result> blocks;
    std::vector<std::size_t> firsts;
    for (std::size_t i = 0; i < items.size(); ++i) {
      blocks.push_back(
          ouro::from_checkpoint<ouro::run_result>(results[i], fmt::format("item {}", i)));
      firsts.push_back(items[i].first_replicate);
      if (i + 1 == items.size() || items[i + 1].cell != items[i].cell) {
        auto run = ouro::merge_replicate_blocks(blocks, firsts);
        run.label = cells[items[i].cell].label();
        res.runs.push_back(std::move(run));
        blocks.clear();
        firsts.clear();
      }
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::size_t rows = 0;
    for (const auto& run : res.runs)
      rows += run.generations * run.replicates * run.metric_names.size();
    if (rows > 1'000'000)
      for (auto& run : res.runs) run.has_values = false;  // the tidy CSV would be too large
    ouro::io::write_results(res, out, kName);
    ouro::io::write_file_atomic(out / fmt::format("{}_final.csv", kName), final_csv(res, cells));
    write_plot_script(out, cfg, cells);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  fmt::print(
      "collapse_sweep: {} cells x {} replicates, {} generations, {} work items on {} "
      "process(es), {:.1f}s\n",
      cells.size(), cfg.replicates, cfg.generations, items.size(), ranks, res.seconds);
  fmt::print("{:<36} {:>16}  {:>24}\n", "run", "metric", "last generation (95% CI)");
  for (std::size_t i = 0; i < res.runs.size(); ++i) {
    const auto& run = res.runs[i];
    const auto& s = run.summary[*run.metric_index(main_metric(cells[i].model))];
    const std::size_t g = run.generations - 1;
    fmt::print("{:<36} {:>16}  {:>11.4g} ± {:<10.3g}\n", run.label, s.name, s.mean[g],
               (s.ci95_hi[g] - s.ci95_lo[g]) / 2);
  }
  examples::common_options plot;
  plot.no_plot = no_plot;
  std::filesystem::remove(out / fmt::format("{}.png", kName));
  examples::render(plot, out / fmt::format("{}.gp", kName));
  fmt::print("results in {}/\n", out.string());
  return 0;
}
