// What every example program shares that is about its command line: the common options
// (README.md), the memory check, the output folder's lock, checkpoints and interrupts. Regimes by
// name, progress, the results files, theory and figures come from the library. This is example
// code, not part of the library: it prints, and it exits.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "ouroboros/core/detail/simd.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/values.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/checkpoint_store.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/io/progress.hpp"
#include "ouroboros/io/read_file.hpp"
#include "ouroboros/io/results_io.hpp"

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
  std::size_t checkpoint_every = 1;
  double checkpoint_interval = 10;
  bool resume = false;
  bool skip_memory_check = false;

  /// The regime the options name, for ouro::with_regime (its settings: choice.to_params()).
  ouro::regime::choice regime_choice() const {
    return {regime, real_fraction,
            real_source == "fresh" ? ouro::regime::real_source_kind::fresh
                                   : ouro::regime::real_source_kind::fixed,
            budget};
  }

  /// The options with an experiment's defaults (samples, generations, replicates, regime, seed).
  static common_options defaults_of(const ouro::experiments::common_settings& s) {
    common_options o;
    o.samples = s.samples;
    o.generations = s.generations;
    o.replicates = s.replicates;
    o.regime = s.regime;
    o.real_fraction = s.real_fraction;
    o.real_source = s.real_source;
    o.budget = s.budget;
    o.seed = s.seed;
    return o;
  }

  /// Copies the options that change the numbers into an experiment's settings.
  void to_settings(ouro::experiments::common_settings& s) const {
    s.samples = samples;
    s.generations = generations;
    s.replicates = replicates;
    s.regime = regime;
    s.real_fraction = real_fraction;
    s.real_source = real_source;
    s.budget = budget;
    s.seed = seed;
  }
};

/// A CLI11 check of a path option: it must not be empty ("" would name no file, or the root).
inline CLI::Validator non_empty(const std::string& what) {
  return CLI::Validator(
      [what](std::string& v) {
        return v.empty()
                   ? fmt::format("must name a {}, not ''", what == "FOLDER" ? "folder" : "file")
                   : std::string();
      },
      what);
}

/// A CLI11 check of a whole-number option: decimal digits only, within `r` (see
/// ouroboros/core/values.hpp); the value is passed on in plain decimal ("010" becomes 10).
inline CLI::Validator whole(ouro::whole_range r) {
  return CLI::Validator(
      [r](std::string& s) -> std::string {
        const auto p = ouro::parse_whole(s, r);
        if (!p.ok()) return p.why();
        s = std::to_string(p.value());
        return {};
      },
      r.describe());
}

/// A CLI11 check of a real-number option: a finite decimal number within `r`.
inline CLI::Validator real(ouro::real_range r) {
  return CLI::Validator(
      [r](std::string& s) -> std::string {
        const auto p = ouro::parse_real(s, r);
        return p.ok() ? std::string() : p.why();
      },
      r.describe());
}

/// A comma-separated list option: each item is read by `parse` (ouro::parse_whole or
/// ouro::parse_real with a range); an empty item is refused, and so is a value given twice when
/// `distinct` (each value makes a run); with `count` > 0, exactly that many values. Errors exit
/// with status 2, naming the option.
template <class T, class Parse>
CLI::Option* add_list(CLI::App& app, const std::string& name, std::vector<T>& target,
                      const std::string& help, Parse parse, bool distinct, std::size_t count = 0) {
  std::string shown;
  for (std::size_t i = 0; i < target.size(); ++i)
    shown += fmt::format("{}{}", i ? "," : "", target[i]);
  return app
      .add_option_function<std::string>(
          name,
          [&target, parse, name, distinct, count](const std::string& text) {
            std::vector<T> v;
            for (std::size_t at = 0;;) {
              const std::size_t end = std::min(text.find(',', at), text.size());
              const auto item = std::string_view(text).substr(at, end - at);
              if (item.empty())
                throw CLI::ValidationError(
                    name, fmt::format("'{}' has an empty item; give values separated by single "
                                      "commas, e.g. 1,2",
                                      text));
              const auto p = parse(item);
              if (!p.ok()) throw CLI::ValidationError(name, "each value " + p.why());
              const auto x = static_cast<T>(p.value());
              if (distinct && std::find(v.begin(), v.end(), x) != v.end())
                throw CLI::ValidationError(
                    name, fmt::format("{} is given twice; each value makes one run", x));
              v.push_back(x);
              if (end == text.size()) break;
              at = end + 1;
            }
            if (count > 0 && v.size() != count)
              throw CLI::ValidationError(
                  name, fmt::format("takes {} comma-separated values, not {}", count, v.size()));
            target = std::move(v);
          },
          help)
      ->type_name("LIST")
      ->default_str(shown);
}

/// A list of whole numbers in `r`, each given once (a run per value).
inline CLI::Option* add_whole_list(CLI::App& app, const std::string& name,
                                   std::vector<std::size_t>& target, const std::string& help,
                                   ouro::whole_range r) {
  return add_list(
      app, name, target, help, [r](std::string_view s) { return ouro::parse_whole(s, r); }, true);
}

/// A list of real numbers in `r` (see add_list for `distinct` and `count`).
inline CLI::Option* add_real_list(CLI::App& app, const std::string& name,
                                  std::vector<double>& target, const std::string& help,
                                  ouro::real_range r, bool distinct = false,
                                  std::size_t count = 0) {
  return add_list(
      app, name, target, help, [r](std::string_view s) { return ouro::parse_real(s, r); }, distinct,
      count);
}

/// The worker threads a run gets: --threads, capped at the cores of this machine (0: all).
inline unsigned effective_threads(unsigned requested) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return requested == 0 ? hw : std::min(requested, hw);
}

/// Registers the common options. The defaults in `o` are shown in --help; `quick` describes the
/// --quick preset. Every value is checked strictly (ouroboros/core/values.hpp): whole numbers are
/// decimal, NaN and infinities are refused, and an option that the chosen regime ignores is
/// refused.
inline void add_common_options(CLI::App& app, common_options& o, const std::string& quick) {
  using ouro::real_range;
  using ouro::whole_range;
  add_whole_list(app, "--samples", o.samples,
                 "Samples per generation M, one run per value (comma-separated list)",
                 whole_range{1, std::uint64_t{1} << 32});
  app.add_option("--generations", o.generations,
                 "Generations G (generation 0 is fitted on real data)")
      ->check(whole({1, 100'000'000}))
      ->capture_default_str();
  app.add_option("--replicates", o.replicates, "Independent replicates R per run")
      ->check(whole({1, 100'000'000}))
      ->capture_default_str();
  app.add_option("--regime", o.regime,
                 "How each generation's training set is built: replace, accumulate, "
                 "accumulate_subsample or mix")
      ->check(CLI::IsMember({"replace", "accumulate", "accumulate_subsample", "mix"}))
      ->capture_default_str();
  app.add_option("--real-fraction", o.real_fraction,
                 "Fraction of real data in every generation (regime mix only)")
      ->check(real(real_range::closed(0, 1)))
      ->capture_default_str();
  app.add_option("--real-source", o.real_source,
                 "Real data for regime mix: fixed (a fixed subset of generation 0's real data) or "
                 "fresh (new real draws every generation)")
      ->check(CLI::IsMember({"fixed", "fresh"}))
      ->capture_default_str();
  app.add_option("--budget", o.budget,
                 "Training-set size for regime accumulate_subsample (0: M of the generation)")
      ->check(whole({0, std::uint64_t{1} << 32}))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of all random streams")
      ->check(whole({}))
      ->capture_default_str();
  app.add_option("--threads", o.threads,
                 "Worker threads (0: all cores; more than the cores are capped at the cores); "
                 "results do not depend on it")
      ->check(whole({0, 4096}))
      ->capture_default_str();
  app.add_option("--out", o.out, "Folder for the results files and figures")
      ->check(non_empty("FOLDER"))
      ->capture_default_str();
  app.add_flag("--quick", o.quick, "Small preset that finishes in seconds: " + quick);
  app.add_flag("--write-replicates", o.write_replicates,
               "Write every replicate's values to <name>.csv even beyond 1,000,000 rows (by "
               "default they are written only up to that many)");
  app.add_flag("--no-plot", o.no_plot, "Do not render figures with gnuplot");
  app.add_option("--checkpoint-every", o.checkpoint_every,
                 "Save a checkpoint into --out after every K-th generation (0: none); a run "
                 "killed at any moment continues with --resume")
      ->check(whole({0, 100'000'000}))
      ->capture_default_str();
  app.add_option("--checkpoint-interval", o.checkpoint_interval,
                 "Seconds at least between two checkpoints (0: after every K-th generation "
                 "exactly)")
      ->check(real(real_range::closed(0, 1e9)))
      ->capture_default_str();
  app.add_flag("--resume", o.resume,
               "Continue the run recorded in --out from its last checkpoint; give the options "
               "of the first run (--threads may differ). Without a checkpoint it starts afresh");
  app.add_flag("--skip-memory-check", o.skip_memory_check,
               "Run even when the estimated memory exceeds what this machine has available");
  app.final_callback([&o, &app] {
    if (o.resume && o.checkpoint_every == 0)
      throw CLI::ValidationError("--resume",
                                 "needs checkpoints: --checkpoint-every must be at least 1");
    const auto ignored = [&](const char* opt, const char* when) {
      if (app.count(opt) > 0)
        throw CLI::ValidationError(
            opt, fmt::format("applies only to {}; this run has --regime {}, which ignores it", when,
                             o.regime));
    };
    if (o.regime != "mix") {
      ignored("--real-fraction", "--regime mix");
      ignored("--real-source", "--regime mix");
    }
    if (o.regime != "accumulate_subsample") ignored("--budget", "--regime accumulate_subsample");
    if (o.checkpoint_every == 0 && app.count("--checkpoint-interval") > 0)
      throw CLI::ValidationError("--checkpoint-interval",
                                 "has no effect with --checkpoint-every 0 (no checkpoints)");
    if (const unsigned hw = effective_threads(0); o.threads > hw) {
      fmt::print(stderr,
                 "{}: note: --threads {} is more than the {} cores of this machine; "
                 "using {}\n",
                 app.get_name(), o.threads, hw, hw);
      o.threads = hw;
    }
  });
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
  if (const auto e = ouro::simd_environment_error(); !e.empty()) {
    fmt::print(stderr, "{}: error: {}\n", app.get_name(), e);
    std::exit(2);
  }
}

/// A usage error found after parsing (a combination of options): one line, exit status 2.
[[noreturn]] inline void usage_error(const CLI::App& app, const std::string& msg) {
  fmt::print(stderr, "{}: error: {}\n", app.get_name(), msg);
  std::exit(2);
}

/// Runs an experiment's check of its settings (ouro::experiments::check) and turns a refusal into
/// a usage error that names the option: the message "name: ..." becomes "--name: ...".
template <class Check>
void check_settings(const CLI::App& app, Check&& check) {
  try {
    check();
  } catch (const ouro::config_error& e) {
    std::string msg = e.what();
    const auto colon = msg.find(": ");
    if (colon != std::string::npos && msg.find(" ") == colon + 1) {
      std::replace(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(colon), '_', '-');
      msg = "--" + msg;
    }
    usage_error(app, msg);
  }
}

/// What one replicate of a model needs in memory, for check_memory.
struct footprint {
  double model_bytes = 0;   ///< one fitted model (the loop keeps two per replicate)
  double sample_bytes = 8;  ///< one sample of the dataset
  double fixed_bytes = 0;   ///< shared by all replicates (real data, a classifier, ...)
  std::size_t metrics = 1;  ///< values per replicate and generation
};

/// The memory this machine has available: MemAvailable of /proc/meminfo, else its physical
/// memory.
inline double available_memory() {
  try {
    const std::string info = ouro::io::read_file("/proc/meminfo", 1 << 20);
    const auto at = info.find("MemAvailable:");
    if (at != std::string::npos) return std::strtod(info.c_str() + at + 13, nullptr) * 1024.0;
  } catch (const std::exception&) {
  }
  const double pages = static_cast<double>(sysconf(_SC_PHYS_PAGES));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  return pages > 0 && page > 0 ? pages * page : 8e9;
}

/// An estimate of the memory of the largest run of the options: two models and the real data of
/// generation 0 per replicate, the samples of a generation on every thread, the pools that the
/// accumulate regimes keep (every sample of every generation), the values of a generation and
/// the summaries.
inline double estimate_memory(const common_options& o, const footprint& f) {
  const double R = static_cast<double>(o.replicates), G = static_cast<double>(o.generations);
  const double T = static_cast<double>(
      std::min<unsigned>(effective_threads(o.threads), std::max<std::size_t>(o.replicates, 1)));
  const double K = static_cast<double>(f.metrics);
  double most = 0;
  for (std::size_t m : o.samples) {
    const double M = static_cast<double>(m);
    double b = f.fixed_bytes + R * 2 * f.model_bytes + T * 3 * M * f.sample_bytes;
    if (o.regime == "accumulate" || o.regime == "accumulate_subsample")
      b += R * M * G * f.sample_bytes;
    b += R * M * f.sample_bytes;  // every replicate keeps its real data of generation 0
    b += R * K * 8 * 2 + static_cast<double>(o.samples.size()) * G * K * 8 * 8;
    most = std::max(most, b);
  }
  return most;
}

/// Refuses (exit status 2, before anything is allocated or written) a run whose estimated memory
/// exceeds what this machine has available, giving both and what to change; --skip-memory-check
/// runs it anyway.
inline void check_memory(const CLI::App& app, const common_options& o, const footprint& f) {
  if (o.skip_memory_check) return;
  const double need = estimate_memory(o, f), have = available_memory();
  if (need > have)
    fmt::print(stderr,
               "{}: error: this run needs about {:.3g} GB of memory and this machine has {:.3g} GB "
               "available; use fewer --replicates, --samples or --generations (or "
               "--skip-memory-check to run it anyway)\n",
               app.get_name(), need / 1e9, have / 1e9),
        std::exit(2);
}

/// Whether the tidy per-replicate CSV is written: when asked, or when it has at most 1e6 rows.
inline bool write_tidy(const common_options& o, std::size_t rows) {
  return o.write_replicates || rows <= 1'000'000;
}

/// Draws a figure unless --no-plot (status: what plot_results or render_png returned); says once
/// on stderr when gnuplot is missing or fails. Returns whether it was drawn.
template <class Draw>
bool figure(const common_options& o, const std::string& program, Draw&& draw) {
  if (o.no_plot) return false;
  static bool told = false;
  try {
    const ouro::io::plot_status st = draw();
    if (!st && !told) {
      fmt::print(stderr, "{}: {}\n", program, st.message);
      told = true;
    }
    return st.drawn;
  } catch (const ouro::io_error& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
    return false;
  }
}

/// Writes the results files of the library's naming scheme (ouro::io::output_files) for a program
/// with closed forms: <name>_results.json, <name>_summary.csv and <name>_theory.csv (its header
/// alone when no run has one, so the set of files does not depend on the options). The
/// per-replicate <name>.csv is streamed by the session.
inline void write_outputs(const std::filesystem::path& out, const std::string& name,
                          const ouro::results& res) {
  ouro::io::write_file_atomic(ouro::io::output_files{out, name}.theory_csv(),
                              ouro::io::theory_csv(res));
  ouro::io::write_results(res, out, name, nullptr, /*tidy=*/false);
}

/// Creates the output folder `out` (and its parents) and takes its lock (io::lock_folder): one
/// program at a time writes into a folder, whatever its options. Then removes the temporary files
/// that a killed run may have left there. Throws io_error with a sentence naming the folder.
inline ouro::io::file_lock lock_output_folder(const std::filesystem::path& out) {
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec || !std::filesystem::is_directory(out, ec))
    throw ouro::io_error(fmt::format("cannot create the output folder '{}': {}", out.string(),
                                     ec ? ec.message() : "a file stands at that name"));
  auto lock = ouro::io::lock_folder(out);
  ouro::io::remove_stray_temporaries(out);
  return lock;
}

/// Runs `body` (the program) and maps whatever escapes it to one line on stderr: a bad command
/// line or configuration (ouro::config_error, CLI11's errors) exits 2, anything else 1; a
/// program that runs out of memory says so. Every example's main() is this call.
template <class F>
int guarded_main(const char* program, F&& body) noexcept {
  try {
    return body();
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "{}: error: {}\n", program, e.what());
    return 2;
  } catch (const ouro::config_error& e) {
    fmt::print(stderr, "{}: error: {}\n", program, e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr,
               "{}: error: out of memory; use fewer --replicates, --samples or "
               "--generations\n",
               program);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", program, e.what());
    return 1;
  } catch (...) {
    fmt::print(stderr, "{}: error: an unknown failure\n", program);
    return 1;
  }
}

/// Set by SIGINT and SIGTERM (see install_interrupt_handlers).
inline std::atomic<bool> interrupt_requested{false};

extern "C" inline void on_interrupt_signal(int) {
  interrupt_requested.store(true);
  static const char msg[] =
      "\ninterrupted: finishing the current generation, then saving (again to stop at once)\n";
  [[maybe_unused]] const auto n = ::write(2, msg, sizeof msg - 1);
}

/// SIGINT and SIGTERM ask the runs to stop after the generation in progress; the handler is
/// reset after the first signal, so a second one stops the program at once.
inline void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

/// The options that change the results, one per line, as the fingerprint of a checkpoint: every
/// option of the command line except those that do not (--threads, --out, --no-plot, the
/// checkpoint settings, --skip-memory-check).
inline std::string results_fingerprint(const CLI::App& app) {
  std::string fp, line;
  const std::string all = app.config_to_str(true, false);
  for (std::size_t at = 0; at < all.size();) {
    std::size_t end = all.find('\n', at);
    if (end == std::string::npos) end = all.size();
    line = all.substr(at, end - at);
    at = end + 1;
    bool skip = line.empty() || line[0] == '#';
    for (const char* k : {"threads", "out", "no-plot", "checkpoint-every", "checkpoint-interval",
                          "resume", "skip-memory-check"})
      skip = skip || line.rfind(std::string(k) + "=", 0) == 0;
    if (!skip) fp += line + "\n";
  }
  return fp;
}

/// A checkpoint part for a collector kept as a vector of {run, generation, payload} records
/// (snapshots, sample rows): the records in order, each payload through its checkpoint_traits.
template <class T, class P>
ouro::checkpoint_part collector_part(std::string name, std::vector<T>& items, P T::*payload) {
  return {std::move(name),
          [&items, payload](ouro::io::binary_writer& w) {
            w.put_u64(items.size());
            for (const T& x : items) {
              w.put_string(x.run);
              w.put_u64(x.generation);
              ouro::checkpoint_traits<P>::save(x.*payload, w);
            }
          },
          [&items, payload](ouro::io::binary_reader& r) {
            const auto n = r.get_size("collected records", 1u << 20);
            for (std::size_t i = 0; i < n; ++i) {
              auto run = r.get_string("record run");
              const auto g = r.get_size("record generation", std::uint64_t{1} << 48);
              items.push_back(T{std::move(run), g, ouro::checkpoint_traits<P>::load(r)});
            }
          }};
}

/// What a run of an example needs beyond its model: the checkpoint store in --out (unless
/// --checkpoint-every 0), the per-replicate CSV stream registered with it, and the interrupt
/// handlers. Construct it after parsing, before any run.
class session {
 public:
  session(const CLI::App& app, const common_options& o, std::string program, bool write_tidy)
      : o_(o), program_(std::move(program)), out_(o.out) {
    try {
      open(app, write_tidy);
    } catch (const ouro::config_error& e) {  // a resume with other options
      usage_error(app, e.what());
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}: error: {}\n", program_, e.what());
      std::exit(1);
    }
    install_interrupt_handlers();
  }

  /// Registers a collector's state with the checkpoints (loaded at once when resuming).
  void add_part(ouro::checkpoint_part part) {
    if (store_) store_->add_part(std::move(part));
  }

  /// What the program adds to every run of an experiment (ouro::experiments::run_setup): the
  /// threads, progress on stderr, the per-replicate rows, the checkpoints and the interrupt flag.
  ouro::experiments::run_setup setup() {
    return [this](ouro::run_options& opt) {
      opt.threads = o_.threads;
      opt.keep = ouro::keep_values::none;  // rows are streamed, summaries are always kept
      opt.observers.push_back(ouro::io::progress(program_));
      if (tidy_) opt.observers.push_back(tidy_->rows_for(program_));
      opt.checkpoint = store_ ? &*store_ : nullptr;
      opt.interrupt = &interrupt_requested;
    };
  }

  /// The settings of one run: M samples per generation, the common options and setup().
  ouro::run_options run_options_for(std::size_t M) {
    ouro::experiments::common_settings s;
    o_.to_settings(s);
    return ouro::experiments::detail::options_for(s, M, setup());
  }

  /// Whether a run stopped at a signal (the program then writes what it has and exits 130).
  static bool interrupted(const ouro::results& res) {
    return !res.runs.empty() && res.runs.back().interrupted;
  }

  /// Writes the per-replicate CSV: the finished file, or the rows so far after an interrupt (the
  /// partial file stays for --resume).
  void finish_tidy(const ouro::results& res) {
    if (!tidy_) return;
    if (interrupted(res)) {
      tidy_->publish();
      tidy_->keep_partial();
    } else {
      tidy_->commit();
    }
  }

  /// After an interrupt: says where the results so far are and how to continue; returns 130.
  int interrupted_exit() const {
    fmt::print(stderr, "{}: interrupted: the results so far are in {}/{}\n", program_,
               out_.string(),
               store_ ? "; continue with the same options and --resume" : " (no checkpoint)");
    return 130;
  }

  bool has_tidy() const noexcept { return tidy_.has_value(); }

 private:
  void open(const CLI::App& app, bool write_tidy) {
    const auto& o = o_;
    lock_ = lock_output_folder(out_);
    if (o.checkpoint_every > 0) {
      const auto file = out_ / fmt::format("{}.ckpt", program_);
      if (o.resume && !std::filesystem::exists(file))
        fmt::print(stderr, "{}: no checkpoint {} to resume: starting from the beginning\n",
                   program_, file.string());
      store_.emplace(file, results_fingerprint(app), o.resume,
                     ouro::checkpoint_schedule{o.checkpoint_every, o.checkpoint_interval});
    }
    const bool resuming = store_ && store_->resumed();
    if (write_tidy) {
      tidy_.emplace(out_ / fmt::format("{}.csv", program_), resuming);
      if (store_) {
        // the checkpoint records the partial file: it stays whatever happens, so that a run
        // stopped by a failure (a full disk) resumes once the cause is gone
        tidy_->keep_partial();
        store_->add_part(tidy_->part());
      }
    }
    if (resuming) {
      const auto p = store_->in_progress();
      fmt::print(stderr, "{}: resuming from {}: {} run(s) complete{}\n", program_,
                 store_->path().string(), store_->completed_runs(),
                 p ? fmt::format(", run {} continues at generation {}", p->first, p->second)
                   : std::string());
    }
  }

  const common_options& o_;
  std::string program_;
  std::filesystem::path out_;
  ouro::io::file_lock lock_;  // first, so that it is released last
  std::optional<ouro::checkpoint_store> store_;
  std::optional<ouro::io::tidy_csv_stream> tidy_;
};

}  // namespace examples
