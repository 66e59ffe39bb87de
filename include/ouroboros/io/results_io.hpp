// Writers for the results files of docs/reproducibility.md (the contract): <name>.json (summaries,
// configuration, provenance, events), <name>_summary.csv and the tidy <name>.csv. Every file is
// written to a temporary name in the same folder and renamed into place, so a reader never sees
// half a file.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/core/version.hpp"
#include "ouroboros/io/atomic_file.hpp"

namespace ouro::inline v0::io {

namespace detail {
inline nlohmann::json number(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;  // JSON has no NaN or infinity
}
inline nlohmann::json numbers(const std::vector<double>& v) {
  auto a = nlohmann::json::array();
  for (double x : v) a.push_back(number(x));
  return a;
}
inline nlohmann::json to_json(const param_value& p) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>)
          return number(v);
        else if constexpr (std::is_same_v<T, std::vector<double>>)
          return numbers(v);
        else
          return v;
      },
      p);
}
inline nlohmann::json to_json(const params& ps) {
  auto o = nlohmann::json::object();
  for (const auto& [k, v] : ps) o[k] = to_json(v);
  return o;
}
/// A CSV field, quoted when it holds a comma, a quote or a line break.
inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string r = "\"";
  for (char c : s) {
    if (c == '"') r += '"';
    r += c;
  }
  return r + '"';
}
/// Shortest text that reads back to the same double; inf and -inf spelled out; a value that does
/// not exist (NaN: the standard deviation of one replicate, for instance) is an empty field, as
/// it is null in the JSON.
inline std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}
/// Appends csv_number(v) to out (without a temporary string).
inline void append_csv_number(std::string& out, double v) {
  if (std::isnan(v)) return;
  if (std::isinf(v))
    out += v > 0 ? "inf" : "-inf";
  else
    fmt::format_to(std::back_inserter(out), "{}", v);
}
}  // namespace detail

/// The current time as ISO-8601 UTC, for results::started (the same as ouro::utc_now_iso8601()).
inline std::string now_iso8601() {
  return utc_now_iso8601();
}

/// Compiler, build type, library version and git revision of the program that includes this
/// header; results_json adds them to every results file by itself. The build type is the macro
/// OUROBOROS_BUILD_TYPE, which the CMake targets define as the consumer's configuration
/// (CMAKE_BUILD_TYPE); without one it says whether the code was optimised and NDEBUG defined. The
/// git revision is the macro OUROBOROS_GIT_DESCRIBE, which the CMake function
/// ouroboros_provenance(<target>) defines for a project's own sources; "unknown" without it.
inline std::vector<std::pair<std::string, std::string>> build_provenance() {
#if defined(__clang__)
  std::string compiler =
      fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  std::string compiler = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  std::string compiler = "unknown";
#endif
  std::string build;
#ifdef OUROBOROS_BUILD_TYPE
  build = OUROBOROS_BUILD_TYPE;
#endif
  if (build.empty()) {
#if defined(__OPTIMIZE__)
    build = "no CMAKE_BUILD_TYPE (optimised";
#else
    build = "no CMAKE_BUILD_TYPE (not optimised";
#endif
#ifdef NDEBUG
    build += ", NDEBUG)";
#else
    build += ", assertions on)";
#endif
  }
#ifdef OUROBOROS_GIT_DESCRIBE
  std::string git = OUROBOROS_GIT_DESCRIBE;
#else
  std::string git = "unknown";
#endif
  if (git.empty()) git = "unknown";
  return {{"compiler", compiler},
          {"build_type", build},
          {"git", git},
          {"library_version", std::string(version_string)}};
}

namespace detail {
inline nlohmann::json provenance_json(const results& r) {
  auto prov = nlohmann::json::object();
  for (const auto& [k, v] : build_provenance()) prov[k] = v;
  for (const auto& [k, v] : r.provenance) prov[k] = v;
  std::vector<std::uint64_t> seeds;
  unsigned threads = r.threads;
  std::string started = r.started;
  double seconds = r.seconds;
  for (const auto& run : r.runs) {
    if (std::find(seeds.begin(), seeds.end(), run.seed) == seeds.end()) seeds.push_back(run.seed);
    if (r.threads == 0) threads = std::max(threads, run.threads);
    if (r.started.empty() && !run.started.empty() && (started.empty() || run.started < started))
      started = run.started;
    if (r.seconds == 0) seconds += run.seconds;
  }
  if (r.seed != 0 || seeds.empty())
    prov["seed"] = r.seed;
  else if (seeds.size() == 1)
    prov["seed"] = seeds.front();
  else
    prov["seed"] = seeds;  // runs with different seeds: each run's, in the order of first use
  prov["threads"] = threads;
  prov["started"] = started;
  prov["seconds"] = number(seconds);
  return prov;
}
}  // namespace detail

/// The JSON document of the results contract (docs/reproducibility.md). `extra` is merged into the
/// top level (for example a model's snapshots).
inline nlohmann::json results_json(const results& r, const nlohmann::json& extra = nullptr) {
  nlohmann::json j;
  j["experiment"] = r.experiment;
  j["library_version"] = std::string(version_string);
  j["provenance"] = detail::provenance_json(r);
  j["config"] = detail::to_json(r.config);
  auto runs = nlohmann::json::array();
  auto events = nlohmann::json::array();
  std::size_t dropped = 0;
  for (const auto& run : r.runs) {
    nlohmann::json jr;
    jr["label"] = run.label;
    jr["config"] = detail::to_json(run.config);
    jr["replicates"] = run.replicates;
    jr["generations"] = run.generations;
    jr["metrics"] = run.metric_names;
    auto summary = nlohmann::json::object();
    for (const auto& s : run.summary) {
      summary[s.name] = {{"generation", s.generation},
                         {"mean", detail::numbers(s.mean)},
                         {"sd", detail::numbers(s.sd)},
                         {"se", detail::numbers(s.se)},
                         {"ci95_lo", detail::numbers(s.ci95_lo)},
                         {"ci95_hi", detail::numbers(s.ci95_hi)},
                         {"median", detail::numbers(s.median)}};
    }
    jr["summary"] = summary;
    if (!run.theory.empty()) {
      auto th = nlohmann::json::object();
      for (const auto& [name, v] : run.theory) th[name] = detail::numbers(v);
      jr["theory"] = th;
    }
    runs.push_back(std::move(jr));
    for (const auto& e : run.events)
      events.push_back({{"run", e.run},
                        {"replicate", e.replicate},
                        {"generation", e.generation},
                        {"what", e.what},
                        {"action", e.action}});
    dropped += run.events_dropped;
  }
  j["runs"] = runs;
  j["events"] = events;
  j["events_not_listed"] = dropped;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

/// The per-generation summary as CSV:
/// run,generation,metric,mean,sd,se,ci95_lo,ci95_hi,median,theory. `theory` is the closed-form
/// expectation attached to the run (run_result::theory) for that metric and generation, and empty
/// where there is none.
inline std::string summary_csv(const results& r) {
  std::string out = "run,generation,metric,mean,sd,se,ci95_lo,ci95_hi,median,theory\n";
  for (const auto& run : r.runs) {
    const auto label = detail::csv_field(run.label);
    std::vector<const std::vector<double>*> theory(run.summary.size(), nullptr);
    for (std::size_t k = 0; k < run.summary.size(); ++k)
      for (const auto& [name, v] : run.theory)
        if (name == run.summary[k].name) theory[k] = &v;
    for (std::size_t g = 0; g < run.generations; ++g)
      for (std::size_t k = 0; k < run.summary.size(); ++k) {
        const auto& s = run.summary[k];
        out += fmt::format("{},{},{},{},{},{},{},{},{},", label, s.generation[g],
                           detail::csv_field(s.name), detail::csv_number(s.mean[g]),
                           detail::csv_number(s.sd[g]), detail::csv_number(s.se[g]),
                           detail::csv_number(s.ci95_lo[g]), detail::csv_number(s.ci95_hi[g]),
                           detail::csv_number(s.median[g]));
        const std::size_t at = s.generation[g];
        if (theory[k] && at < theory[k]->size()) detail::append_csv_number(out, (*theory[k])[at]);
        out += '\n';
      }
  }
  return out;
}

/// The header of the tidy CSV.
inline constexpr std::string_view tidy_header =
    "experiment,run,replicate,generation,metric,value\n";

/// Appends one generation's tidy rows (values laid out [replicate][metric]).
inline void append_tidy_rows(std::string& out, std::string_view experiment, std::string_view run,
                             std::size_t generation, const std::vector<std::string>& metrics,
                             std::span<const double> values) {
  const std::size_t K = metrics.size();
  const auto e = detail::csv_field(experiment), l = detail::csv_field(run);
  std::vector<std::string> names(K);
  for (std::size_t k = 0; k < K; ++k) names[k] = detail::csv_field(metrics[k]);
  for (std::size_t r = 0; K > 0 && r < values.size() / K; ++r)
    for (std::size_t k = 0; k < K; ++k) {
      fmt::format_to(std::back_inserter(out), "{},{},{},{},{},", e, l, r, generation, names[k]);
      detail::append_csv_number(out, values[r * K + k]);
      out += '\n';
    }
}

/// The tidy table of every kept value: experiment,run,replicate,generation,metric,value.
inline std::string tidy_csv(const results& r) {
  std::string out(tidy_header);
  for (const auto& run : r.runs) {
    if (!run.has_values) continue;
    const std::size_t K = run.metric_names.size(), R = run.replicates;
    for (std::size_t g = 0; g < run.generations; ++g)
      append_tidy_rows(out, r.experiment, run.label, g, run.metric_names,
                       std::span<const double>(run.values).subspan(g * R * K, R * K));
  }
  return out;
}

/// Streams tidy rows to `<path>` as generations complete, for runs too large to keep in memory.
/// The rows go to the partial file `<path>.tmp`, created new and exclusive (whatever stood at that
/// name, a link included, is removed first, never written through). Attach rows_for(experiment)
/// to each run's options; commit() renames the finished file into place. Destroying it without
/// commit() removes the partial file, unless keep_partial() was called (do so whenever a
/// checkpoint records the stream: a run that fails, on a full disk for instance, then resumes
/// from its last checkpoint). With a checkpoint_store, register part() so that a resumed run
/// continues the file where its checkpoint left it (construct it with resuming = true then: the
/// part's load opens the file).
class tidy_csv_stream {
 public:
  explicit tidy_csv_stream(std::filesystem::path path, bool resuming = false)
      : path_(std::move(path)), tmp_(path_.string() + ".tmp") {
    if (resuming) return;
    open_new();
    write(tidy_header);
  }
  ~tidy_csv_stream() {
    if (file_) {
      std::fclose(file_);
      if (!keep_) ::unlink(tmp_.c_str());
    }
  }
  tidy_csv_stream(const tidy_csv_stream&) = delete;
  tidy_csv_stream& operator=(const tidy_csv_stream&) = delete;

  /// An observer that appends each generation's rows.
  observer rows_for(std::string experiment) {
    return [this, experiment = std::move(experiment)](const generation_report& rep) {
      buffer_.clear();
      append_tidy_rows(buffer_, experiment, rep.label, rep.generation, rep.metric_names,
                       rep.values);
      write(buffer_);
      return observer_action::proceed;
    };
  }

  /// Flushes what was written to the disk and renames the file into place.
  void commit() {
    if (!file_) return;
    const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    if (!ok) throw io_error(fmt::format("cannot write '{}' (disk full?)", tmp_));
    std::fclose(file_);
    file_ = nullptr;
    durable_rename(tmp_, path_, /*synced=*/true);
  }

  /// Writes the rows so far to `<path>` (atomically), and keeps streaming into the partial file.
  void publish() {
    flush_to_disk();
    write_file_atomic(path_, read_all(tmp_));
  }

  /// Leaves the partial file on the disk when the stream is destroyed (for a later resume).
  void keep_partial() noexcept { keep_ = true; }

  /// The stream's state for a checkpoint_store: the length of the file, flushed to the disk
  /// before the checkpoint that records it. Loading it opens the partial file (or a copy of the
  /// committed one, when the run had finished; the committed file stays in place) and cuts it to
  /// that length.
  checkpoint_part part(std::string name = "tidy_csv") {
    return {std::move(name),
            [this](binary_writer& w) {
              flush_to_disk();
              w.put_u64(static_cast<std::uint64_t>(std::ftell(file_)));
            },
            [this](binary_reader& r) { reopen(r.get_u64("per-replicate CSV length")); }};
  }

 private:
  /// The whole content of a regular file, read without following a link.
  static std::string read_all(const std::string& name) {
    const int fd = open_regular_nofollow(name, O_RDONLY);
    if (fd < 0) throw io_error(fmt::format("cannot read '{}': {}", name, std::strerror(errno)));
    std::string content;
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        ::close(fd);
        throw io_error(fmt::format("cannot read '{}': {}", name, std::strerror(e)));
      }
      if (n == 0) break;
      content.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return content;
  }

  /// Removes whatever stands at the partial file's name and creates it new and exclusive.
  void open_new() {
    if (::unlink(tmp_.c_str()) != 0 && errno != ENOENT) {
      const int e = errno;
      throw io_error(fmt::format("cannot replace '{}': {}", tmp_,
                                 e == EISDIR ? "a folder stands there" : std::strerror(e)));
    }
    const int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) throw io_error(fmt::format("cannot create '{}': {}", tmp_, std::strerror(errno)));
    file_ = ::fdopen(fd, "wb");
    if (!file_) {
      ::close(fd);
      throw io_error(fmt::format("cannot open '{}' for writing", tmp_));
    }
  }

  void reopen(std::uint64_t length) {
    if (file_) std::fclose(file_), file_ = nullptr;
    struct stat st {};
    if (::lstat(tmp_.c_str(), &st) != 0 && errno == ENOENT &&
        ::lstat(path_.c_str(), &st) == 0) {  // the run had finished: continue a copy
      const std::string done = read_all(path_.string());
      open_new();
      write(done);
      flush_to_disk();
      std::fclose(file_), file_ = nullptr;
    }
    const int fd = open_regular_nofollow(tmp_, O_RDWR);
    const auto size = fd >= 0 && ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size)
                                                       : std::uint64_t{0};
    if (fd < 0 || size < length) {
      const int e = errno;
      const std::string why = fd >= 0       ? fmt::format("has {}", size)
                              : e == EMLINK ? std::string("has other names, hard links (refused)")
                              : e == ELOOP  ? std::string("is a symbolic link (refused)")
                                           : fmt::format("cannot be opened ({})", std::strerror(e));
      if (fd >= 0) ::close(fd);
      throw data_error(
          fmt::format("cannot resume '{}': the checkpoint says it holds {} bytes, but it {}; "
                      "start the run again without --resume",
                      tmp_, length, why));
    }
    file_ = ::fdopen(fd, "r+b");
    if (!file_ || ::ftruncate(fd, static_cast<off_t>(length)) != 0 ||
        std::fseek(file_, 0, SEEK_END) != 0) {
      if (!file_) ::close(fd);
      throw io_error(fmt::format("cannot reopen '{}' to resume", tmp_));
    }
  }

  void write(std::string_view s) {
    if (!file_)
      throw io_error(
          fmt::format("'{}' is not open (a resumed stream is opened by its "
                      "checkpoint part)",
                      tmp_));
    if (std::fwrite(s.data(), 1, s.size(), file_) != s.size())
      throw io_error(
          fmt::format("cannot write '{}': no space left on the device (disk full?)", tmp_));
  }
  void flush_to_disk() {
    if (!file_ || std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
      throw io_error(fmt::format("cannot write '{}' (disk full?)", tmp_));
  }
  std::filesystem::path path_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  bool keep_ = false;
};

/// The closed-form expectations attached to the runs as CSV: run,generation,metric,value.
inline std::string theory_csv(const results& r) {
  std::string out = "run,generation,metric,value\n";
  for (const auto& run : r.runs)
    for (const auto& [metric, v] : run.theory)
      for (std::size_t g = 0; g < v.size(); ++g)
        out += fmt::format("{},{},{},{}\n", run.label, g, metric, v[g]);
  return out;
}

/// The names of the files a program writes into its output folder, one scheme for all:
/// <program>_results.json, <program>_summary.csv, <program>.csv (every replicate's values),
/// <program>_theory.csv and the figure <program>.png (programs with several figures name the
/// others themselves).
struct output_files {
  std::filesystem::path dir;
  std::string program;
  std::filesystem::path results_json() const { return dir / (program + "_results.json"); }
  std::filesystem::path summary_csv() const { return dir / (program + "_summary.csv"); }
  std::filesystem::path tidy_csv() const { return dir / (program + ".csv"); }
  std::filesystem::path theory_csv() const { return dir / (program + "_theory.csv"); }
  std::filesystem::path figure() const { return dir / (program + ".png"); }
};

/// Writes <dir>/<name>_results.json and <dir>/<name>_summary.csv, and <dir>/<name>.csv when any
/// run kept its per-replicate values (unless `tidy` is false, e.g. because a tidy_csv_stream wrote
/// it). `extra` is merged into the JSON's top level. Creates `dir` if needed. The provenance is
/// completed by itself (results_json).
inline void write_results(const results& r, const std::filesystem::path& dir, std::string_view name,
                          const nlohmann::json& extra = nullptr, bool tidy = true) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw io_error(fmt::format("cannot create folder '{}': {}", dir.string(), ec.message()));
  const output_files files{dir, std::string(name)};
  write_file_atomic(files.results_json(), results_json(r, extra).dump(1) + "\n");
  write_file_atomic(files.summary_csv(), summary_csv(r));
  if (tidy) {
    bool any = false;
    for (const auto& run : r.runs) any = any || run.has_values;
    if (any) write_file_atomic(files.tidy_csv(), tidy_csv(r));
  }
}

}  // namespace ouro::inline v0::io
