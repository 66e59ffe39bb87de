// Progress of long runs on a terminal or in a log: an observer to attach to run_options.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "ouroboros/core/events.hpp"

namespace ouro::inline v0::io {

/// Progress on `stream` (stderr by default): run, generation, replicates, elapsed time and ETA.
/// On a terminal it refreshes one line about twice a second; otherwise (a log file, a pipe) it
/// prints a line at every tenth of the run. Attach it with options.observers.push_back(...). It
/// never stops a run.
inline observer progress(std::string program, std::FILE* stream = stderr) {
  const bool tty = isatty(fileno(stream)) != 0;
  auto last = std::make_shared<double>(-1.0);
  auto last_decile = std::make_shared<long>(-1);
  return [=](const generation_report& r) {
    const double done = static_cast<double>(r.generation + 1) / static_cast<double>(r.generations);
    const double eta = done > 0 ? r.elapsed_seconds * (1 - done) / done : 0;
    const bool final = r.generation + 1 == r.generations;
    if (tty) {
      if (final || r.elapsed_seconds - *last >= 0.5) {
        *last = r.elapsed_seconds;
        fmt::print(stream,
                   "\r{} [{}] generation {}/{} x {} replicates, {:.1f}s elapsed, ETA {:.1f}s   {}",
                   program, r.label, r.generation + 1, r.generations, r.replicates,
                   r.elapsed_seconds, eta, final ? "\n" : "");
      }
    } else {
      const long decile = static_cast<long>(done * 10);
      if (decile != *last_decile) {
        *last_decile = decile;
        fmt::print(stream,
                   "{} [{}] generation {}/{} x {} replicates, {:.1f}s elapsed, ETA {:.1f}s\n",
                   program, r.label, r.generation + 1, r.generations, r.replicates,
                   r.elapsed_seconds, eta);
      }
    }
    return observer_action::proceed;
  };
}

}  // namespace ouro::inline v0::io
