// Events: degenerate states met during a run, recorded as data instead of crashing the run.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace ouro::inline v0 {

/// One degenerate state and what was done about it.
struct event {
  std::string run;             ///< label of the run (configuration)
  std::size_t replicate = 0;   ///< replicate index
  std::size_t generation = 0;  ///< generation whose model or data the event concerns
  std::string what;            ///< what happened, e.g. "zero variance"
  std::string action;          ///< what was done, e.g. "kept (no variance floor configured)"
  friend bool operator==(const event&, const event&) = default;
};

/// Collects the events of one fit or one draw. Fitters and samplers that accept an `event_log&`
/// as their last argument get one from the loop; the loop stamps run, replicate and generation.
/// Not thread-safe: each replicate step has its own log.
class event_log {
 public:
  struct entry {
    std::string what;
    std::string action;
  };
  void record(std::string what, std::string action) {
    entries_.push_back({std::move(what), std::move(action)});
  }
  const std::vector<entry>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }
  void clear() noexcept { entries_.clear(); }

 private:
  std::vector<entry> entries_;
};

}  // namespace ouro::inline v0
