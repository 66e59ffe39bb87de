// What every example program shares: the common command line of DESIGN.md section 5, regime
// selection by name, progress on stderr, writing the results files and rendering figures.
// This is example code, not part of the library: it prints, and it exits.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "ouroboros/io/results_io.hpp"
#include "ouroboros/loop.hpp"
#include "ouroboros/regimes.hpp"

namespace examples {

/// The options every example takes.
struct common_options {
  std::vector<std::size_t> samples;
  std::size_t generations = 0;
  std::size_t replicates = 0;
  std::string regime = "replace";
  double real_fraction = 0.1;
  std::string real_source = "fixed";
  std::size_t budget = 0;
  std::uint64_t seed = 42;
  unsigned threads = 0;
  std::string out = "results";
  bool quick = false;
  bool write_replicates = false;
  bool no_plot = false;
};

/// Registers the common options. The defaults in `o` are shown in --help; `quick` describes the
/// --quick preset.
inline void add_common_options(CLI::App& app, common_options& o, const std::string& quick) {
  app.add_option("--samples", o.samples,
                 "Samples per generation M, one run per value (comma-separated list)")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
      ->capture_default_str();
  app.add_option("--generations", o.generations,
                 "Generations G (generation 0 is fitted on real data)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--replicates", o.replicates, "Independent replicates R per run")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--regime", o.regime,
                 "How each generation's training set is built: replace, accumulate, "
                 "accumulate_subsample or mix")
      ->check(CLI::IsMember({"replace", "accumulate", "accumulate_subsample", "mix"}))
      ->capture_default_str();
  app.add_option("--real-fraction", o.real_fraction,
                 "Fraction of real data in every generation (regime mix)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--real-source", o.real_source,
                 "Real data for regime mix: fixed (a fixed subset of generation 0's real data) or "
                 "fresh (new real draws every generation)")
      ->check(CLI::IsMember({"fixed", "fresh"}))
      ->capture_default_str();
  app.add_option("--budget", o.budget,
                 "Training-set size for regime accumulate_subsample (0: M of the generation)")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of all random streams")->capture_default_str();
  app.add_option("--threads", o.threads,
                 "Worker threads (0: all cores); results do not depend on it")
      ->check(CLI::Range(0u, 4096u))
      ->capture_default_str();
  app.add_option("--out", o.out, "Folder for the results files and figures")->capture_default_str();
  app.add_flag("--quick", o.quick, "Small preset that finishes in seconds: " + quick);
  app.add_flag("--write-replicates", o.write_replicates,
               "Write every replicate's values to <name>.csv even beyond 1,000,000 rows (by "
               "default they are written only up to that many)");
  app.add_flag("--no-plot", o.no_plot, "Do not render figures with gnuplot");
}

/// Parses the command line. Help goes to stdout (exit 0); a bad argument gets one line on stderr
/// naming it, and exit status 2.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(0);
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "{}: error: {}\n", app.get_name(), e.what());
    std::exit(2);
  }
}

/// A usage error found after parsing (a combination of options): one line, exit status 2.
[[noreturn]] inline void usage_error(const CLI::App& app, const std::string& msg) {
  fmt::print(stderr, "{}: error: {}\n", app.get_name(), msg);
  std::exit(2);
}

/// The accumulate regimes keep every sample of every replicate: refuse (exit status 2) a run whose
/// pools would need more than half of this machine's memory, and say what to change.
inline void check_accumulate_memory(const CLI::App& app, const common_options& o,
                                    std::size_t bytes_per_sample) {
  if (o.regime != "accumulate" && o.regime != "accumulate_subsample") return;
  const double pages = static_cast<double>(sysconf(_SC_PHYS_PAGES));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double limit = pages > 0 && page > 0 ? 0.5 * pages * page : 8e9;
  for (std::size_t m : o.samples) {
    const double bytes = static_cast<double>(o.replicates) * static_cast<double>(m) *
                         static_cast<double>(o.generations) * static_cast<double>(bytes_per_sample);
    if (bytes > limit)
      usage_error(app,
                  fmt::format("--regime {}: with M = {}, {} generations and {} replicates the "
                              "accumulated data need about {:.1f} GB (limit {:.1f} GB, half "
                              "of this machine's memory); use fewer --replicates or "
                              "--generations",
                              o.regime, m, o.generations, o.replicates, bytes / 1e9, limit / 1e9));
  }
}

/// Calls f with the regime object named by the options.
template <class F>
decltype(auto) with_regime(const common_options& o, F&& f) {
  using namespace ouro::regime;
  if (o.regime == "accumulate") return f(accumulate{});
  if (o.regime == "accumulate_subsample") return f(accumulate_subsample{o.budget});
  if (o.regime == "mix")
    return f(mix{o.real_fraction, o.real_source == "fresh"
                                      ? ouro::regime::real_source_kind::fresh
                                      : ouro::regime::real_source_kind::fixed});
  return f(replace{});
}

/// The regime's settings as they are written into the results.
inline ouro::params regime_params(const common_options& o) {
  ouro::params p{{"regime", o.regime}};
  if (o.regime == "mix") {
    p.emplace_back("real_fraction", o.real_fraction);
    p.emplace_back("real_source", o.real_source);
  }
  if (o.regime == "accumulate_subsample")
    p.emplace_back("budget", static_cast<std::int64_t>(o.budget));
  return p;
}

/// Progress on stderr: run, generation, replicates, elapsed time and ETA. On a terminal it
/// refreshes one line about twice a second; otherwise it prints a line every 10% of the run.
inline ouro::observer progress(std::string program) {
  const bool tty = isatty(fileno(stderr)) != 0;
  auto last = std::make_shared<double>(-1.0);
  auto last_decile = std::make_shared<long>(-1);
  return [=](const ouro::generation_report& r) {
    const double done = static_cast<double>(r.generation + 1) / static_cast<double>(r.generations);
    const double eta = done > 0 ? r.elapsed_seconds * (1 - done) / done : 0;
    const bool final = r.generation + 1 == r.generations;
    if (tty) {
      if (final || r.elapsed_seconds - *last >= 0.5) {
        *last = r.elapsed_seconds;
        fmt::print(stderr,
                   "\r{} [{}] generation {}/{} x {} replicates, {:.1f}s elapsed, ETA {:.1f}s   {}",
                   program, r.label, r.generation + 1, r.generations, r.replicates,
                   r.elapsed_seconds, eta, final ? "\n" : "");
      }
    } else {
      const long decile = static_cast<long>(done * 10);
      if (decile != *last_decile) {
        *last_decile = decile;
        fmt::print(stderr,
                   "{} [{}] generation {}/{} x {} replicates, {:.1f}s elapsed, ETA {:.1f}s\n",
                   program, r.label, r.generation + 1, r.generations, r.replicates,
                   r.elapsed_seconds, eta);
      }
    }
    return ouro::observer_action::proceed;
  };
}

/// Whether the tidy per-replicate CSV is written: when asked, or when it has at most 1e6 rows.
inline bool write_tidy(const common_options& o, std::size_t rows) {
  return o.write_replicates || rows <= 1'000'000;
}

/// Fills the provenance of a results object.
inline void stamp(ouro::results& res, const common_options& o, unsigned threads_used) {
  res.seed = o.seed;
  res.threads = threads_used;
  res.started = ouro::io::now_iso8601();
  res.provenance = ouro::io::build_provenance();
}

/// Runs gnuplot on a script, unless --no-plot. Without gnuplot it says so once and returns false.
inline bool render(const common_options& o, const std::filesystem::path& script) {
  if (o.no_plot) return false;
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    fmt::print(stderr, "gnuplot not found: figures skipped (every data file was written)\n");
    return false;
  }
  const std::string cmd = fmt::format("gnuplot '{}' 2>&1", script.string());
  if (std::system(cmd.c_str()) != 0) {
    fmt::print(stderr, "gnuplot failed on {}; the data files are complete\n", script.string());
    return false;
  }
  return true;
}

/// A quoted gnuplot data source selecting the rows of a summary CSV for one run and metric:
/// columns 2 = generation, 4 = mean, 7 = ci95_lo, 8 = ci95_hi, 9 = median.
inline std::string summary_rows(const std::filesystem::path& csv, const std::string& run,
                                const std::string& metric) {
  return fmt::format(R"("< awk -F, '$1==\"{}\" && $3==\"{}\"' '{}'")", run, metric, csv.string());
}

/// One multiplot panel: for every run, the 95% CI band and the Monte Carlo mean of `metric` from
/// the summary CSV, and the theory curve (dashed) from the theory CSV where the run has one (an
/// empty `theory_csv` means none). With `log_y`, band edges at or below zero are drawn at 1e-12 (a
/// log axis cannot show them).
inline std::string plot_panel(const std::filesystem::path& summary_csv,
                              const std::filesystem::path& theory_csv, const ouro::results& res,
                              const std::string& metric, const std::string& title,
                              bool log_y = false) {
  const std::string lo = log_y ? "(column(7) > 0 ? column(7) : 1e-12)" : "7";
  std::string s = fmt::format("set title '{}'\nplot ", title);
  int colour = 1;
  for (const auto& run : res.runs) {
    if (colour > 1) s += ", \\\n     ";
    s += fmt::format(
        "{0} using 2:{3}:8 with filledcurves lc {2} fs transparent solid 0.25 notitle, \\\n"
        "     {0} using 2:4 with lines lc {2} lw 2 title '{1}'",
        summary_rows(summary_csv, run.label, metric), run.label, colour, lo);
    bool has_theory = false;
    for (const auto& [name, v] : run.theory) has_theory = has_theory || name == metric;
    if (has_theory && !theory_csv.empty())
      s += fmt::format(", \\\n     {} using 2:4 with lines lc {} dt 2 lw 2 title '{} theory'",
                       summary_rows(theory_csv, run.label, metric), colour, run.label);
    ++colour;
  }
  return s + "\n";
}

/// A multiplot figure: `header` (terminal, output, multiplot layout and shared settings), then one
/// plot_panel per (metric, title), then the end of the multiplot.
inline std::string panels_figure(std::string header, const std::filesystem::path& summary_csv,
                                 const std::filesystem::path& theory_csv, const ouro::results& res,
                                 const std::vector<std::pair<std::string, std::string>>& panels,
                                 bool log_y = false) {
  for (const auto& [metric, title] : panels)
    header += plot_panel(summary_csv, theory_csv, res, metric, title, log_y);
  return header + "unset multiplot\n";
}

/// The settings of one run of an example: M samples per generation, the common options, progress
/// on stderr and, when `tidy` is given, the per-replicate rows streamed into it.
inline ouro::run_options run_options_for(const common_options& o, std::size_t M,
                                         const std::string& program,
                                         ouro::io::tidy_csv_stream* tidy) {
  ouro::run_options opt;
  opt.label = fmt::format("M={}", M);
  opt.generations = o.generations;
  opt.replicates = o.replicates;
  opt.samples = ouro::schedule::constant{M};
  opt.seed = o.seed;
  opt.threads = o.threads;
  opt.keep = ouro::keep_values::none;  // rows are streamed, summaries are always kept
  opt.config = {{"samples", static_cast<std::int64_t>(M)}};
  opt.observers.push_back(progress(program));
  if (tidy) opt.observers.push_back(tidy->rows_for(program));
  return opt;
}

/// Writes <name>_theory.csv (run,generation,metric,value), <name>.json and <name>_summary.csv,
/// and commits the streamed per-replicate CSV.
inline void write_outputs(const std::filesystem::path& out, const std::string& name,
                          const ouro::results& res, ouro::io::tidy_csv_stream* tidy) {
  std::string theory_csv = "run,generation,metric,value\n";
  for (const auto& run : res.runs)
    for (const auto& [metric, v] : run.theory)
      for (std::size_t g = 0; g < v.size(); ++g)
        theory_csv += fmt::format("{},{},{},{}\n", run.label, g, metric, v[g]);
  ouro::io::write_file_atomic(out / fmt::format("{}_theory.csv", name), theory_csv);
  ouro::io::write_results(res, out, name, nullptr, /*tidy=*/false);
  if (tidy) tidy->commit();
}

}  // namespace examples
