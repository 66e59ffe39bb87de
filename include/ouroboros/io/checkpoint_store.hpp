// checkpoint_store: the checkpoint file of an experiment, so that a killed run resumes where it
// stopped and finishes with the same numbers as an uninterrupted run. It holds the runs already
// completed (their whole run_result), the loop state of the run in progress (every replicate's
// model, first model and regime state, the results so far), and named parts of caller state (an
// output stream's length, a collector of snapshots). collapse_loop saves into it when
// run_options::checkpoint points to one. Every save rewrites the file atomically and durably
// (temporary file, fsync, rename), so a crash leaves the previous checkpoint or the new one. See
// docs/reliability.md.
//
//   ouro::checkpoint_store store(out / "run.ckpt", fingerprint, /*resume=*/true);
//   store.add_part(my_collector_part);        // loaded from the file at once when resuming
//   opt.checkpoint = &store;                  // run_options of every run
//   auto run = loop.run(real, opt);           // a completed run comes back from the file
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/binary.hpp"
#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/core/run_store.hpp"
#include "ouroboros/io/atomic_file.hpp"
#include "ouroboros/io/read_file.hpp"

namespace ouro::inline v0 {

/// When checkpoints are written during a run.
struct checkpoint_schedule {
  std::size_t every = 1;   ///< after every `every`-th generation (0: only at the end of a run)
  double min_seconds = 0;  ///< and no sooner than this many seconds after the previous one
};

/// The checkpoint file of an experiment; see the file comment. Not thread-safe: the loop uses it
/// from the calling thread only.
class checkpoint_store final : public run_store {
 public:
  /// `fingerprint` describes everything that changes the results (the options); resuming from a
  /// file written with another fingerprint is refused with config_error. With `resume`, an
  /// existing file is loaded (ouro::data_error when it is damaged); without, an existing file is
  /// removed, so that a stale checkpoint can never be resumed against new outputs.
  /// Only one store at a time may use a path: the file `<path>.lock` is locked (flock) while the
  /// store lives, and a second store, in this or another process, gets io_error saying that
  /// another run is using the checkpoint.
  checkpoint_store(std::filesystem::path path, std::string fingerprint, bool resume,
                   checkpoint_schedule schedule = {})
      : path_(std::move(path)),
        lock_(path_.string() + ".lock",
              fmt::format("the checkpoint '{}' is in use by another run (it holds '{}.lock'): let "
                          "that run finish or stop it, or give this one another output folder",
                          path_.string(), path_.string())),
        fingerprint_(std::move(fingerprint)),
        schedule_(schedule) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path_, ec);
    if (resume && exists) {
      load();
      resumed_ = true;
    } else if (exists) {
      std::filesystem::remove(path_, ec);
      if (ec)
        throw io_error(
            fmt::format("cannot remove the old checkpoint '{}': {}", path_.string(), ec.message()));
    }
    last_save_ = std::chrono::steady_clock::now();
  }

  /// Whether a checkpoint was loaded.
  bool resumed() const noexcept { return resumed_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string name() const override { return path_.string(); }
  /// The number of runs the loaded checkpoint had completed.
  std::size_t completed_runs() const noexcept { return completed_.size(); }
  /// The run in progress in the loaded checkpoint and its next generation, if any.
  std::optional<std::pair<std::string, std::size_t>> in_progress() const {
    if (!progress_) return std::nullopt;
    return std::pair{progress_->label, progress_->next_generation};
  }

  /// Registers a part. When a checkpoint was loaded, the part's saved state is loaded into it now;
  /// a part the checkpoint lacks is a data_error.
  void add_part(checkpoint_part part) {
    for (const auto& p : parts_)
      if (p.name == part.name)
        throw config_error(fmt::format("checkpoint part '{}' is registered twice", part.name));
    if (resumed_) {
      const auto it = std::find_if(saved_parts_.begin(), saved_parts_.end(),
                                   [&](const auto& s) { return s.first == part.name; });
      if (it == saved_parts_.end())
        throw data_error(
            fmt::format("{}: no saved state for part '{}'", path_.string(), part.name));
      io::binary_reader r(it->second, fmt::format("{} (part '{}')", path_.string(), part.name));
      part.load(r);
      r.expect_end();
    }
    parts_.push_back(std::move(part));
  }

  /// The results of run `label` when the checkpoint recorded it as completed.
  const run_result* completed(std::string_view label) const override {
    for (const auto& r : completed_)
      if (r.label == label) return &r;
    return nullptr;
  }
  /// The loop state saved for run `label` while it was in progress.
  std::optional<std::string_view> progress(std::string_view label) const override {
    if (progress_ && progress_->label == label) return std::string_view(progress_->state);
    return std::nullopt;
  }
  /// Whether a checkpoint is due after `done` generations of a run.
  bool due(std::size_t done) const override {
    if (schedule_.every == 0 || done % schedule_.every != 0) return false;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save_).count() >=
           schedule_.min_seconds;
  }
  /// Saves run `label` in progress: `state` is the loop's, `next_generation` where it continues.
  void save_progress(std::string label, std::size_t next_generation, std::string state) override {
    progress_ = in_flight{std::move(label), next_generation, std::move(state)};
    write();
  }
  /// Records run `r` as completed and saves.
  void complete(const run_result& r) override { complete(r, true); }
  /// Records run `r` as completed, and saves unless `write_now` is false (then flush() saves).
  void complete(const run_result& r, bool write_now) {
    if (completed(r.label))
      throw config_error(
          fmt::format("two runs are labelled '{}': runs that share a checkpoint "
                      "need distinct labels",
                      r.label));
    completed_.push_back(r);
    progress_.reset();
    if (write_now) write();
  }
  /// Saves what was recorded.
  void flush() { write(); }

 private:
  struct in_flight {
    std::string label;
    std::size_t next_generation = 0;
    std::string state;
  };
  static constexpr std::string_view tag_ = "ouroboros-experiment-checkpoint-1";

  static std::uint64_t checksum(std::string_view b) {  // FNV-1a, 64 bits
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : b) h = (h ^ c) * 0x100000001b3ULL;
    return h;
  }

  void write() {
    io::binary_writer w;
    w.put_tag(tag_);
    w.put_string(fingerprint_);
    checkpoint_traits<std::vector<run_result>>::save(completed_, w);
    w.put<std::uint8_t>(progress_.has_value());
    if (progress_) {
      w.put_string(progress_->label);
      w.put_u64(progress_->next_generation);
      w.put_string(progress_->state);
    }
    w.put_u64(parts_.size());
    for (const auto& p : parts_) {
      io::binary_writer pw;
      p.save(pw);
      w.put_string(p.name);
      w.put_string(pw.bytes());
    }
    std::string bytes = w.take();
    const std::uint64_t sum = checksum(bytes);
    io::binary_writer tail;
    tail.put_u64(sum);
    bytes += tail.bytes();
    io::write_file_atomic(path_, bytes);
    last_save_ = std::chrono::steady_clock::now();
  }

  void load() {
    const std::string name = path_.string();
    std::string bytes = io::read_file(name, std::uint64_t{1} << 40);
    if (bytes.size() < 8) throw data_error(fmt::format("{}: truncated checkpoint", name));
    io::binary_reader sum_reader(std::string_view(bytes).substr(bytes.size() - 8), name);
    const std::uint64_t sum = sum_reader.get_u64("checksum");
    bytes.resize(bytes.size() - 8);
    if (checksum(bytes) != sum)
      throw data_error(
          fmt::format("{}: the checksum does not match: the checkpoint is damaged; "
                      "start the run again without --resume",
                      name));
    io::binary_reader r(bytes, name);
    r.expect_tag(tag_);
    const std::string fp = r.get_string("fingerprint");
    if (fp != fingerprint_)
      throw config_error(fmt::format(
          "{} was written by a run with other settings; resume with the same options ({}), or "
          "start again without --resume",
          name, first_difference(fp, fingerprint_)));
    completed_ = checkpoint_traits<std::vector<run_result>>::load(r);
    if (r.get<std::uint8_t>("progress flag")) {
      in_flight f;
      f.label = r.get_string("run label");
      f.next_generation = r.get_size("next generation", std::uint64_t{1} << 48);
      f.state = r.get_string("loop state");
      progress_ = std::move(f);
    }
    const auto n = r.get_size("part count", 4096);
    for (std::size_t i = 0; i < n; ++i) {
      auto pname = r.get_string("part name");
      saved_parts_.emplace_back(std::move(pname), r.get_string("part state"));
    }
    r.expect_end();
  }

  /// "was X, now Y" for the first line that differs between two fingerprints.
  static std::string first_difference(std::string_view was, std::string_view now) {
    auto next_line = [](std::string_view& s) {
      const auto e = s.find('\n');
      std::string_view l = s.substr(0, e);
      s = e == std::string_view::npos ? std::string_view{} : s.substr(e + 1);
      return l;
    };
    while (!was.empty() || !now.empty()) {
      const auto a = next_line(was), b = next_line(now);
      if (a != b)
        return fmt::format("it had '{}', this run has '{}'", a.empty() ? "(nothing)" : a,
                           b.empty() ? "(nothing)" : b);
    }
    return "they differ";
  }

  std::filesystem::path path_;
  io::file_lock lock_;  // held for the store's lifetime
  std::string fingerprint_;
  checkpoint_schedule schedule_;
  bool resumed_ = false;
  std::vector<run_result> completed_;
  std::optional<in_flight> progress_;
  std::vector<checkpoint_part> parts_;
  std::vector<std::pair<std::string, std::string>> saved_parts_;
  std::chrono::steady_clock::time_point last_save_;
};

}  // namespace ouro::inline v0
