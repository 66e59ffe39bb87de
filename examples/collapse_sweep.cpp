// collapse_sweep: a sweep of collapse experiments described by a JSON file (models x regimes x
// sample sizes, R replicates each), run on one process or across MPI ranks (mpirun, srun) with the
// same bytes in the results: the work is cut into blocks of replicates (ouroboros/core/sweep.hpp),
// handed out by rank 0 (ouroboros/mpi.hpp) and merged into one run per grid cell. Writes one
// results set (docs/reproducibility.md) and a summary figure. See docs/scaling.md.
#include <sys/resource.h>

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
#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/sweep.hpp"
#include "ouroboros/io/item_journal.hpp"
#include "ouroboros/io/results_io.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"
#include "ouroboros/models/metrics/gmm.hpp"
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

/// The value at `key` of `j` as a whole number in `r` (ouroboros/core/values.hpp, the rules of the
/// command lines): a JSON integer, not 1.5, 1e30 or -1. `where` names the key in messages.
std::uint64_t whole_at(const nlohmann::json& v, const std::string& where, ouro::whole_range r) {
  if (!v.is_number_unsigned()) {
    const char* what = v.is_number_float()     ? " (not a whole number)"
                       : v.is_number_integer() ? " (negative)"
                                               : " (not a number)";
    throw config_problem(
        fmt::format("\"{}\" must be {}, not {}{}", where, r.describe(), v.dump(), what));
  }
  const auto x = v.get<std::uint64_t>();
  if (auto why = r.check(x); !why.empty())
    throw config_problem(fmt::format("\"{}\" {}", where, why));
  return x;
}

/// The value as a finite real number in `r`.
double real_at(const nlohmann::json& v, const std::string& where, ouro::real_range r) {
  if (!v.is_number())
    throw config_problem(fmt::format("\"{}\" must be {}, not {}", where, r.describe(), v.dump()));
  const double x = v.get<double>();
  if (auto why = r.check(x); !why.empty())
    throw config_problem(fmt::format("\"{}\" {}", where, why));
  return x;
}

/// The value as a non-empty array whose items `item` reads, each given once.
template <class T, class F>
std::vector<T> list_at(const nlohmann::json& v, const std::string& where, F item) {
  if (!v.is_array() || v.empty())
    throw config_problem(fmt::format("\"{}\" must be a non-empty array, not {}", where, v.dump()));
  std::vector<T> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    T x = item(v[i], fmt::format("{}[{}]", where, i));
    if (std::find(out.begin(), out.end(), x) != out.end())
      throw config_problem(
          fmt::format("\"{}[{}]\" repeats the value {}: each value makes one "
                      "run",
                      where, i, v[i].dump()));
    out.push_back(std::move(x));
  }
  return out;
}

/// The value as one of `known`.
std::string name_at(const nlohmann::json& v, const std::string& where,
                    std::initializer_list<const char*> known, const char* what) {
  std::string list;
  for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  if (v.is_string())
    for (const char* k : known)
      if (v.get<std::string>() == k) return k;
  throw config_problem(
      fmt::format("unknown {} {} in \"{}\" (known: {})", what, v.dump(), where, list));
}

sweep_config read_config(const std::string& path) {
  sweep_config c;
  const std::string text = ouro::io::read_file(path, 1u << 26);
  // nesting deeper than any configuration needs is refused before parsing: the parser and the
  // messages that quote a value recurse once per level
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    if (ch == '[' || ch == '{') ++depth;
    if (ch == ']' || ch == '}') --depth;
    if (depth > 32) throw config_problem(fmt::format("{}: nested more than 32 levels deep", path));
  }
  try {
    c.source = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse errors, numbers out of range
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
  constexpr std::uint64_t most = 100'000'000, top_m = std::uint64_t{1} << 32;
  try {
    if (j.contains("seed")) c.seed = whole_at(j["seed"], "seed", {});
    if (j.contains("generations"))
      c.generations = whole_at(j["generations"], "generations", {1, most});
    if (j.contains("replicates")) c.replicates = whole_at(j["replicates"], "replicates", {1, most});
    if (j.contains("replicates_per_item"))
      c.replicates_per_item = whole_at(j["replicates_per_item"], "replicates_per_item", {1, most});
    if (j.contains("description") && !j["description"].is_string())
      throw config_problem("\"description\" must be a string");
    if (j.contains("models"))
      c.models = list_at<std::string>(j["models"], "models", [](const auto& v, const auto& w) {
        return name_at(v, w, {"gaussian", "gmm"}, "model");
      });
    if (j.contains("regimes"))
      c.regimes = list_at<std::string>(j["regimes"], "regimes", [](const auto& v, const auto& w) {
        return name_at(v, w, {"replace", "accumulate", "accumulate_subsample", "mix"}, "regime");
      });
    if (j.contains("samples"))
      c.samples = list_at<std::size_t>(j["samples"], "samples", [&](const auto& v, const auto& w) {
        return static_cast<std::size_t>(whole_at(v, w, {2, top_m}));
      });
    if (j.contains("real_fractions"))
      c.real_fractions =
          list_at<double>(j["real_fractions"], "real_fractions", [](const auto& v, const auto& w) {
            return real_at(v, w, ouro::real_range::closed(0, 1));
          });
    if (j.contains("budget")) c.budget = whole_at(j["budget"], "budget", {0, top_m});
    if (j.contains("gmm")) {
      const auto& g = j.at("gmm");
      if (!g.is_object()) throw config_problem("\"gmm\" must be an object");
      for (auto it = g.begin(); it != g.end(); ++it)
        if (it.key() != "components" && it.key() != "max_iter" && it.key() != "tol" &&
            it.key() != "reg_covar")
          throw config_problem(fmt::format(
              "unknown key \"gmm.{}\" (known: components, max_iter, tol, reg_covar)", it.key()));
      if (g.contains("components"))
        c.gmm_components = whole_at(g["components"], "gmm.components", {1, 1000});
      if (g.contains("max_iter"))
        c.gmm_max_iter = whole_at(g["max_iter"], "gmm.max_iter", {1, 1'000'000});
      if (g.contains("tol"))
        c.gmm_tol = real_at(g["tol"], "gmm.tol", ouro::real_range::at_least(0));
      if (g.contains("reg_covar"))
        c.gmm_reg_covar = real_at(g["reg_covar"], "gmm.reg_covar", ouro::real_range::at_least(0));
    }
    const auto has = [&](const char* r) {
      return std::find(c.regimes.begin(), c.regimes.end(), r) != c.regimes.end();
    };
    if (j.contains("real_fractions") && !has("mix"))
      throw config_problem(
          "\"real_fractions\" applies only to the regime mix, which \"regimes\" "
          "does not list");
    if (j.contains("budget") && !has("accumulate_subsample"))
      throw config_problem(
          "\"budget\" applies only to the regime accumulate_subsample, which "
          "\"regimes\" does not list");
    if (j.contains("gmm") && std::find(c.models.begin(), c.models.end(), "gmm") == c.models.end())
      throw config_problem("\"gmm\" applies only to the model gmm, which \"models\" does not list");
  } catch (const config_problem& e) {
    throw config_problem(fmt::format("{}: {}", path, e.what()));
  }
  for (std::size_t m : c.samples)
    for (const auto& model : c.models)
      if (model == "gmm" && m < c.gmm_components)
        throw config_problem(fmt::format("{}: sample size {} is less than gmm.components = {}",
                                         path, m, c.gmm_components));
  return c;
}

/// Refuses (config_problem) a sweep whose estimated memory exceeds what the machine has: every
/// value is kept until the merge, and each thread holds one item's replicates and data.
void check_sweep_memory(const sweep_config& c, std::size_t cells, unsigned threads) {
  const double R = static_cast<double>(c.replicates), G = static_cast<double>(c.generations);
  const double per = static_cast<double>(std::min(c.replicates_per_item, c.replicates));
  double item = 0;
  for (std::size_t m : c.samples) {
    const double M = static_cast<double>(m) * 2 * 8;  // 2-D points for the GMM
    double b = per * 2 * 4096 + 3 * M;
    for (const auto& r : c.regimes)
      if (r == "accumulate" || r == "accumulate_subsample") b = std::max(b, b + per * M * G);
    item = std::max(item, b);
  }
  const double values = static_cast<double>(cells) * R * G * 4 * 8 * 3;
  const double need = threads * item + values, have = examples::available_memory();
  if (need > have)
    throw config_problem(fmt::format(
        "this sweep needs about {:.3g} GB of memory and this machine has {:.3g} GB available; "
        "use fewer replicates, generations or sample sizes",
        need / 1e9, have / 1e9));
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
  const regime::choice choice{c.regime, c.real_fraction, regime::real_source_kind::fixed,
                              cfg.budget};
  return with_regime(choice, [&](auto regime) {
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
    const models::gmm truth({1.0}, {0.0, 0.0}, {ouro::matrix::identity(2)});
    models::gmm_fitter<models::init::kmeans> fit;
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
/// sample size, one curve per regime, one panel per model; the data inline.
ouro::io::plot_status plot_final(const ouro::results& res, const sweep_config& cfg,
                                 const std::vector<cell>& cells, const std::filesystem::path& png) {
  using ouro::io::gnuplot_number;
  using ouro::io::gnuplot_string;
  std::vector<std::string> regimes;
  for (const auto& c : cells)
    if (std::find(regimes.begin(), regimes.end(), c.regime_label()) == regimes.end())
      regimes.push_back(c.regime_label());
  std::string s;
  for (std::size_t m = 0; m < cfg.models.size(); ++m)
    for (std::size_t r = 0; r < regimes.size(); ++r) {
      s += fmt::format("$d{}_{} << EOD\n", m, r);
      for (std::size_t i = 0; i < res.runs.size(); ++i) {
        if (cells[i].model != cfg.models[m] || cells[i].regime_label() != regimes[r]) continue;
        const auto& run = res.runs[i];
        const auto& ser = run.summary[*run.metric_index(main_metric(cells[i].model))];
        const std::size_t g = run.generations - 1;
        s += fmt::format("{} {} {} {}\n", cells[i].samples, gnuplot_number(ser.mean[g]),
                         gnuplot_number(ser.ci95_lo[g]), gnuplot_number(ser.ci95_hi[g]));
      }
      s += "EOD\n";
    }
  s += fmt::format(
      "set multiplot layout 1,{} title {}\nset logscale xy\nset grid\nset key bottom right\n"
      "set xlabel 'samples per generation M'\n",
      cfg.models.size(),
      gnuplot_string(fmt::format("Collapse sweep: the last generation ({} generations, {} "
                                 "replicates; mean and 95% CI)",
                                 cfg.generations, cfg.replicates)));
  for (std::size_t m = 0; m < cfg.models.size(); ++m) {
    const std::string metric = main_metric(cfg.models[m]);
    s += fmt::format("set title {}\nset ylabel {}\nplot ",
                     gnuplot_string(cfg.models[m] + ": " + metric), gnuplot_string(metric));
    for (std::size_t r = 0; r < regimes.size(); ++r)
      s += fmt::format("{}$d{}_{} using 1:2:3:4 with yerrorlines lw 2 lc {} title {}",
                       r ? ", \\\n     " : "", m, r, r + 1, gnuplot_string(regimes[r]));
    s += "\n";
  }
  s += "unset multiplot\n";
  ouro::io::png_canvas canvas;
  canvas.width = static_cast<unsigned>(550 * cfg.models.size());
  canvas.height = 450;
  return ouro::io::render_png(s, png, canvas, /*keep_script=*/true);
}

}  // namespace

int run_program(int argc, char** argv) {
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
      "or under mpirun/srun, with the same results files either way. Writes "
      "collapse_sweep_results.json, "
      "collapse_sweep_summary.csv, collapse_sweep.csv (per-replicate values, when at most "
      "1,000,000 rows), collapse_sweep_final.csv and collapse_sweep.png into --out.",
      kName};
  std::string config_path, out_dir = "results/collapse_sweep";
  unsigned threads = 0;
  bool resume = false, no_plot = false, quiet = false;
  double checkpoint_interval = 2;
  app.add_option("--config", config_path,
                 "The sweep's JSON file (see examples/collapse_sweep.json)")
      ->check(examples::non_empty("FILE"))
      ->required();
  app.add_option("--out", out_dir, "Folder for the results files and the figure")
      ->check(examples::non_empty("FOLDER"))
      ->capture_default_str();
  app.add_option("--threads", threads,
                 "Threads per process, each running its own work items (0: all cores; with "
                 "several processes on one machine give cores / processes); results do not "
                 "depend on it")
      ->check(examples::whole({0, 4096}))
      ->capture_default_str();
  app.add_flag("--resume", resume,
               "Continue the sweep recorded in --out: only the work items not yet "
               "finished run (the configuration must be the same)");
  app.add_option("--checkpoint-interval", checkpoint_interval,
                 "Seconds at least between two saves of the finished work items into "
                 "--out/collapse_sweep.ckpt (0: after every item)")
      ->check(examples::real(ouro::real_range::closed(0, 1e9)))
      ->capture_default_str();
  app.add_flag("--no-plot", no_plot, "Do not render the figure with gnuplot");
  app.add_flag("--quiet", quiet, "No progress on stderr");
  bool cpu_report = false;
  app.add_flag("--cpu-report", cpu_report,
               "At the end, every rank prints its CPU time (user and system) and its main "
               "thread's on stderr (tests/benchmarks/bench_scaling.sh reads them)");
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

  const auto started = std::chrono::steady_clock::now();
  struct cpu_reporter {  // prints at every return once the options are known
    bool on;
    int rank;
    std::chrono::steady_clock::time_point t0;
    ~cpu_reporter() {
      if (!on) return;
      rusage self{}, main{};
      getrusage(RUSAGE_SELF, &self);
      getrusage(RUSAGE_THREAD, &main);
      const auto sec = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
      };
      const double user = sec(self.ru_utime), sys = sec(self.ru_stime);
      fmt::print(stderr,
                 "collapse_sweep: cpu: rank {}: process {:.2f} s (user {:.2f}, system {:.2f}), "
                 "main thread {:.2f} s, wall {:.2f} s\n",
                 rank, user + sys, user, sys, sec(main.ru_utime) + sec(main.ru_stime),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  } reporter{cpu_report, rank, started};

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
  const unsigned item_threads = examples::effective_threads(threads);
  if (rank == 0 && threads > item_threads)
    fmt::print(stderr,
               "{}: note: --threads {} is more than the {} cores of this machine; using "
               "{}\n",
               kName, threads, item_threads, item_threads);
  if (const unsigned cores = ouro::detail::usable_cores(); cores < item_threads)
    fmt::print(stderr,
               "{}: warning: rank {} may run on {} core(s) only (its CPU binding), fewer than the "
               "{} threads it runs; with mpirun give --bind-to none (or --map-by slot:PE={}), "
               "with Slurm --cpus-per-task={}\n",
               kName, rank, cores, item_threads, item_threads, item_threads);
  try {
    check_sweep_memory(cfg, cells.size(), item_threads);
  } catch (const config_problem& e) {
    if (rank == 0) fmt::print(stderr, "{}: error: --config {}: {}\n", kName, config_path, e.what());
    status = 2;
  }
  if (agree(status) != 0) return status;
  const auto items = ouro::plan_items(cells.size(), cfg.replicates, cfg.replicates_per_item);
  const std::filesystem::path out = out_dir;

  // rank 0: the lock of the output folder and the checkpoint of finished items
  ouro::io::file_lock folder_lock;
  std::optional<ouro::io::item_journal> journal;
  std::vector<std::optional<std::string>> known;
  if (rank == 0) {
    try {
      folder_lock = examples::lock_output_folder(out);
      journal.emplace(out / fmt::format("{}.ckpt", kName), cfg.source.dump(), resume);
      std::size_t found = 0;
      known.resize(items.size());
      for (const auto& [i, bytes] : journal->loaded())
        if (i < items.size()) {
          known[i] = bytes;
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
  // each cell is merged as soon as its last item arrives (on rank 0's main thread, while the
  // other items run), so that little is left to do once the last item is in
  std::vector<std::optional<ouro::run_result>> merged(cells.size());
  std::vector<std::size_t> missing(cells.size(), 0);
  std::map<std::size_t, std::string> arrived;  // items of cells not yet complete
  for (std::size_t i = 0; i < items.size(); ++i)
    if (rank == 0 && !known[i]) ++missing[items[i].cell];
  const auto merge_cell = [&](std::size_t cell, const auto& bytes_of) {
    std::vector<ouro::run_result> blocks;
    std::vector<std::size_t> firsts;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (items[i].cell == cell) {
        blocks.push_back(
            ouro::from_checkpoint<ouro::run_result>(bytes_of(i), fmt::format("item {}", i)));
        firsts.push_back(items[i].first_replicate);
      }
    auto run = ouro::merge_replicate_blocks(blocks, firsts);
    run.label = cells[cell].label();
    return run;
  };
  auto on_result = [&](std::size_t i, const std::string& bytes) {
    journal->add(i, bytes);
    ++done;
    const auto now = std::chrono::steady_clock::now();
    if (done == todo ||
        std::chrono::duration<double>(now - last_save).count() >= checkpoint_interval) {
      journal->save();
      last_save = now;
    }
    const std::size_t cell = items[i].cell;
    arrived.emplace(i, bytes);
    if (--missing[cell] == 0) {
      merged[cell] = merge_cell(cell, [&](std::size_t k) -> const std::string& {
        return known[k] ? *known[k] : arrived.at(k);
      });
      for (std::size_t k = 0; k < items.size(); ++k)
        if (items[k].cell == cell) arrived.erase(k);
    }
    if (!quiet)
      fmt::print(stderr, "{}: {}/{} work items, {:.1f}s\n", kName, done, todo,
                 std::chrono::duration<double>(now - t0).count());
  };
  // every thread runs its own items (one thread each): small items need no barrier between
  // threads, which is faster than threads inside an item
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
  // rank 0 merges and writes; the other ranks wait for its exit status, asleep
#ifdef OUROBOROS_WITH_MPI
  const auto end_status = [](int status) { return ouro::mpi::broadcast_status(status); };
#else
  const auto end_status = [](int status) { return status; };
#endif
  const auto write_all = [&]() -> int {
    ouro::results res;
    res.experiment = kName;
    res.seed = cfg.seed;
    res.threads = item_threads;
    res.started = ouro::io::now_iso8601();
    res.provenance.emplace_back("ranks", std::to_string(ranks));  // the rest fills itself
    res.config = {{"config_file", cfg.source.dump()},
                  {"generations", static_cast<std::int64_t>(cfg.generations)},
                  {"replicates", static_cast<std::int64_t>(cfg.replicates)}};
    try {
      for (std::size_t cell = 0; cell < cells.size(); ++cell) {
        if (merged[cell]) {
          res.runs.push_back(std::move(*merged[cell]));
          continue;
        }
        res.runs.push_back(
            merge_cell(cell, [&](std::size_t k) -> const std::string& { return results[k]; }));
      }
      res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::size_t rows = 0;
      for (const auto& run : res.runs)
        rows += run.generations * run.replicates * run.metric_names.size();
      if (rows > 1'000'000)
        for (auto& run : res.runs) run.has_values = false;  // the tidy CSV would be too large
      ouro::io::write_results(res, out, kName);
      ouro::io::write_file_atomic(out / fmt::format("{}_final.csv", kName), final_csv(res, cells));
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
    examples::figure(plot, kName, [&] {
      return plot_final(res, cfg, cells, ouro::io::output_files{out, kName}.figure());
    });
    fmt::print("results in {}/\n", out.string());
    return 0;
  };
  if (rank != 0) return end_status(0);
  return end_status(write_all());
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
