// run_store: where a run saves its state between generations and finds it again after a restart
// (the checkpoint interface). The loop never touches a file itself: it hands its state, as bytes,
// to a run_store. ouro::checkpoint_store (ouroboros/io/checkpoint_store.hpp) keeps them in a file
// that survives a crash; ouro::memory_store (below) keeps them in memory, for a host that saves
// them its own way or for tests. See docs/concepts.md#the-run-object.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/results.hpp"

namespace ouro::inline v0 {

/// The checkpoint interface of a run (run_options::checkpoint). Used from the thread that drives
/// the run only.
class run_store {
 public:
  virtual ~run_store() = default;
  /// Names the store in error messages (a file name, say).
  virtual std::string name() const = 0;
  /// The results of run `label` when the store recorded it as completed, else nullptr.
  virtual const run_result* completed(std::string_view label) const = 0;
  /// The state saved for run `label` while it was in progress, if any.
  virtual std::optional<std::string_view> progress(std::string_view label) const = 0;
  /// Whether the run should save its state now, after `done` generations.
  virtual bool due(std::size_t done) const = 0;
  /// Keeps the state of run `label`, which continues at `next_generation`.
  virtual void save_progress(std::string label, std::size_t next_generation, std::string state) = 0;
  /// Records run `r` as completed (and forgets its progress).
  virtual void complete(const run_result& r) = 0;
};

/// A run_store in memory: the state of the runs in progress and the completed runs, for as long
/// as the object lives. `every`: a state is due after every `every`-th generation (0: never).
class memory_store final : public run_store {
 public:
  explicit memory_store(std::size_t every = 1) : every_(every) {}

  std::string name() const override { return "memory store"; }
  const run_result* completed(std::string_view label) const override {
    for (const auto& r : completed_)
      if (r.label == label) return &r;
    return nullptr;
  }
  std::optional<std::string_view> progress(std::string_view label) const override {
    for (const auto& [l, s] : progress_)
      if (l == label) return std::string_view(s);
    return std::nullopt;
  }
  bool due(std::size_t done) const override { return every_ != 0 && done % every_ == 0; }
  void save_progress(std::string label, std::size_t, std::string state) override {
    for (auto& [l, s] : progress_)
      if (l == label) {
        s = std::move(state);
        return;
      }
    progress_.emplace_back(std::move(label), std::move(state));
  }
  void complete(const run_result& r) override {
    if (completed(r.label))
      throw config_error(fmt::format(
          "two runs are labelled '{}': runs that share a store need distinct labels", r.label));
    std::erase_if(progress_, [&](const auto& p) { return p.first == r.label; });
    completed_.push_back(r);
  }
  /// Forgets a completed run (so that it runs again) or a run's saved progress.
  void forget(std::string_view label) {
    std::erase_if(progress_, [&](const auto& p) { return p.first == label; });
    std::erase_if(completed_, [&](const auto& r) { return r.label == label; });
  }

 private:
  std::size_t every_;
  std::vector<std::pair<std::string, std::string>> progress_;
  std::vector<run_result> completed_;
};

}  // namespace ouro::inline v0
