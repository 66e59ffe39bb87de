// Figures from results: io::plot_results draws each metric against generation (the Monte Carlo
// mean, its 95% band and the theory curve where one is attached) as PNG panels, and
// io::render_png runs any gnuplot script. gnuplot is started directly (no shell) in a private
// folder, with the data written into its script (no data files read back, no column numbers), and
// only a complete figure is renamed into place: paths with spaces or quotes are safe, no write
// follows a link, and without gnuplot the call says so in one sentence and draws nothing. See
// docs/results.md#figures.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/io/atomic_file.hpp"

namespace ouro::inline v0::io {

/// What a figure call did: `drawn` (and an empty `message`), or a one-sentence `message` saying
/// why not (no gnuplot, gnuplot failed, nothing to plot). Converts to bool: true when drawn.
struct plot_status {
  bool drawn = false;
  std::string message;
  explicit operator bool() const noexcept { return drawn; }
};

/// `s` as a gnuplot string literal: single-quoted, so that gnuplot substitutes nothing in it (it
/// runs `backquoted` commands and expands @macros outside single quotes), with each quote doubled
/// and control characters made spaces. A label, a title or a file name can hold anything.
inline std::string gnuplot_string(std::string_view s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'')
      out += "''";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += ' ';
    else
      out += c;
  }
  return out + '\'';
}

/// A number for a gnuplot data block ("NaN" for a missing value; gnuplot skips it).
inline std::string gnuplot_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "1e308" : "-1e308";
  return fmt::format("{}", v);
}

/// The gnuplot program: $OUROBOROS_GNUPLOT when set (empty: none), else `gnuplot` on PATH; empty
/// when there is none.
inline std::string find_gnuplot() {
  auto usable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (const char* forced = std::getenv("OUROBOROS_GNUPLOT"))
    return *forced && usable(forced) ? std::string(forced) : std::string();
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto end = std::min(dirs.find(':'), dirs.size());
    const std::string candidate =
        fmt::format("{}/gnuplot", end == 0 ? std::string_view(".") : dirs.substr(0, end));
    if (usable(candidate)) return candidate;
    dirs = end == dirs.size() ? std::string_view{} : dirs.substr(end + 1);
  }
  return {};
}

/// Size and font of a rendered figure.
struct png_canvas {
  unsigned width = 900, height = 600;  ///< pixels
  std::string font = ",10";            ///< gnuplot font spec
};

/// Renders a gnuplot script as the PNG `png`. The script draws with whatever commands it likes but
/// sets neither terminal nor output: render_png puts `set terminal pngcairo` (with `canvas`) and
/// the output in front of it. gnuplot runs in a private folder made next to `png`
/// (`plot.tmp.XXXXXX`, mode 0700, removed afterwards), started without a shell, so the figure's
/// name never enters a command; the complete figure is then renamed over `png` (never written
/// through a link). With `keep_script`, the script is also written (atomically) next to the figure
/// as `<png without .png>.gp`, ready to run by hand in that folder. The folder is created when
/// missing. Throws config_error for a path without a file name and io_error when the folder cannot
/// be written; a missing or failing gnuplot is a plot_status with one sentence.
inline plot_status render_png(const std::string& script, const std::filesystem::path& png,
                              const png_canvas& canvas = {}, bool keep_script = false) {
  if (!png.has_filename())
    throw config_error(fmt::format("a figure needs a file name, not '{}'", png.string()));
  const auto dir = png.has_parent_path() ? png.parent_path() : std::filesystem::path(".");
  {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw io_error(fmt::format("cannot create the folder '{}' for the figure {}: {}",
                                 dir.string(), png.filename().string(), ec.message()));
  }
  const std::string head = fmt::format("set terminal pngcairo size {},{} noenhanced font {}\n",
                                       canvas.width, canvas.height, gnuplot_string(canvas.font));
  if (keep_script) {
    auto kept = png;
    kept.replace_extension(".gp");
    write_file_atomic(kept, head + "set output " + gnuplot_string(png.filename().string()) + "\n" +
                                script + "unset output\n");
  }
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    const char* forced = std::getenv("OUROBOROS_GNUPLOT");
    return {false, forced && !*forced
                       ? fmt::format("figures are off (OUROBOROS_GNUPLOT is empty): {} not drawn "
                                     "(its data files are written)",
                                     png.string())
                   : forced ? fmt::format("gnuplot not found at OUROBOROS_GNUPLOT='{}': {} not "
                                          "drawn (its data files are written)",
                                          forced, png.string())
                            : fmt::format("gnuplot not found: {} not drawn (its data files are "
                                          "written)",
                                          png.string())};
  }
  std::string staging = (dir / "plot.tmp.XXXXXX").string();
  if (!::mkdtemp(staging.data()))
    throw io_error(fmt::format("cannot create a folder for a figure in '{}': {}", dir.string(),
                               std::strerror(errno)));
  plot_status st;
  try {
    const std::filesystem::path stage(staging);
    write_file_atomic(stage / "figure.gp",
                      head + "set output 'figure.png'\n" + script + "unset output\n");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {  // the child: only async-signal-safe calls
      ::dup2(2, 1);  // gnuplot's messages go to stderr
      if (::chdir(staging.c_str()) != 0) ::_exit(126);
      const char* argv[] = {"gnuplot", "figure.gp", nullptr};
      ::execv(gnuplot.c_str(), const_cast<char* const*>(argv));
      ::_exit(127);
    }
    int status = 0;
    if (pid > 0)
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    std::error_code ec;
    const bool ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                    std::filesystem::is_regular_file(stage / "figure.png", ec);
    if (ok) {
      durable_rename(stage / "figure.png", png);
      st.drawn = true;
    } else {
      st.message =
          fmt::format("gnuplot failed to draw {} (its data files are written)", png.string());
    }
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::remove_all(staging, ec);
  return st;
}

/// One panel of plot_results: a metric, its title (default: the metric's name) and its y scale.
struct figure_panel {
  std::string metric{};
  std::string title{};  ///< empty: the metric's name
  bool log_y = false;   ///< log scale (band edges at or below zero are drawn at 1e-300)
  std::string y_label{};
};

/// What plot_results draws.
struct figure_options {
  std::vector<figure_panel> panels{};  ///< empty: one panel per metric of the first run
  std::vector<std::string> runs{};     ///< the runs to draw, by label; empty: every run
  std::string title{};                 ///< above the panels; empty: the experiment's name
  unsigned columns = 0;                ///< panels per row; 0: up to 3
  unsigned panel_width = 480, panel_height = 360;  ///< pixels per panel
  bool band = true;                                ///< the 95% confidence band of the mean
  bool theory = true;       ///< the theory curve (dashed) where the run has one for the metric
  bool keep_script = true;  ///< also write `<png without .png>.gp` (data inline)
};

namespace detail {
inline const metric_series* find_series(const run_result& run, std::string_view metric) {
  for (const auto& s : run.summary)
    if (s.name == metric) return &s;
  return nullptr;
}
inline const std::vector<double>* find_theory(const run_result& run, std::string_view metric) {
  for (const auto& [name, v] : run.theory)
    if (name == metric) return &v;
  return nullptr;
}
}  // namespace detail

namespace detail {
/// What a figure draws: the runs (by figure_options::runs, or all) and the panels (by
/// figure_options::panels, or one per metric of the first run), with the grid they fill.
struct figure_layout {
  std::vector<const run_result*> runs;
  std::vector<figure_panel> panels;
  unsigned columns = 1, rows = 1;
};
inline figure_layout lay_out(const results& r, const figure_options& f) {
  figure_layout l;
  if (f.runs.empty()) {
    for (const auto& run : r.runs) l.runs.push_back(&run);
  } else {
    for (const auto& label : f.runs) {
      const run_result* found = r.run(label);
      if (!found)
        throw config_error(fmt::format("plot_results: the results have no run '{}'", label));
      l.runs.push_back(found);
    }
  }
  if (l.runs.empty()) throw config_error("plot_results: the results have no run to draw");
  l.panels = f.panels;
  if (l.panels.empty())
    for (const auto& name : l.runs.front()->metric_names) l.panels.push_back({name, {}, false, {}});
  if (l.panels.empty()) throw config_error("plot_results: the runs have no metric to draw");
  for (const auto& p : l.panels) {
    bool any = false;
    for (const auto* run : l.runs) any = any || find_series(*run, p.metric);
    if (!any)
      throw config_error(fmt::format("plot_results: no run to draw has a metric '{}'", p.metric));
  }
  l.columns =
      f.columns ? f.columns : static_cast<unsigned>(std::min<std::size_t>(l.panels.size(), 3));
  l.rows = static_cast<unsigned>((l.panels.size() + l.columns - 1) / l.columns);
  return l;
}
/// The script for a layout (see results_plot_script).
inline std::string plot_script(const results& r, const figure_options& f, const figure_layout& l);
}  // namespace detail

/// The gnuplot script of plot_results (without terminal and output), for callers who restyle it.
/// Throws config_error naming a panel's metric or a run that the results do not have.
inline std::string results_plot_script(const results& r, const figure_options& f = {}) {
  return detail::plot_script(r, f, detail::lay_out(r, f));
}

inline std::string detail::plot_script(const results& r, const figure_options& f,
                                       const figure_layout& l) {
  const auto& runs = l.runs;
  const auto& panels = l.panels;
  std::string s;
  auto out = std::back_inserter(s);
  // the data, inline: one block per (run, panel), and one per theory curve
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (std::size_t k = 0; k < panels.size(); ++k) {
      if (const auto* ser = detail::find_series(*runs[i], panels[k].metric)) {
        fmt::format_to(out, "$m{}_{} << EOD\n", i, k);
        for (std::size_t g = 0; g < ser->generation.size(); ++g) {
          double lo = ser->ci95_lo[g];
          if (panels[k].log_y && !(lo > 0)) lo = 1e-300;
          fmt::format_to(out, "{} {} {} {}\n", ser->generation[g], gnuplot_number(ser->mean[g]),
                         gnuplot_number(lo), gnuplot_number(ser->ci95_hi[g]));
        }
        s += "EOD\n";
      }
      if (const auto* th = detail::find_theory(*runs[i], panels[k].metric); th && f.theory) {
        fmt::format_to(out, "$t{}_{} << EOD\n", i, k);
        const std::size_t n = std::min(th->size(), runs[i]->generations);
        for (std::size_t g = 0; g < n; ++g)
          fmt::format_to(out, "{} {}\n", g, gnuplot_number((*th)[g]));
        s += "EOD\n";
      }
    }
  const unsigned cols = l.columns, rows = l.rows;
  const std::string title = f.title.empty() ? r.experiment : f.title;
  fmt::format_to(out, "set datafile missing 'NaN'\nset key top right\nset grid\n");
  fmt::format_to(out, "set multiplot layout {},{}{}\n", rows, cols,
                 title.empty() ? std::string() : " title " + gnuplot_string(title));
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const auto& p = panels[k];
    fmt::format_to(out, "set title {}\nset xlabel 'generation'\nset ylabel {}\n",
                   gnuplot_string(p.title.empty() ? p.metric : p.title), gnuplot_string(p.y_label));
    s += p.log_y ? "set logscale y\n" : "unset logscale y\n";
    std::string plot;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (!detail::find_series(*runs[i], p.metric)) continue;
      const std::size_t colour = i + 1;
      auto add = [&](const std::string& clause) {
        plot += plot.empty() ? "plot " : ", \\\n     ";
        plot += clause;
      };
      if (f.band)
        add(
            fmt::format("$m{}_{} using 1:3:4 with filledcurves lc {} fs transparent solid 0.25 "
                        "notitle",
                        i, k, colour));
      add(fmt::format("$m{}_{} using 1:2 with lines lc {} lw 2 title {}", i, k, colour,
                      gnuplot_string(runs[i]->label)));
      if (f.theory && detail::find_theory(*runs[i], p.metric))
        add(fmt::format("$t{}_{} using 1:2 with lines lc {} dt 2 lw 2 title {}", i, k, colour,
                        gnuplot_string(runs[i]->label + " theory")));
    }
    s += plot + "\n";
  }
  s += "unset multiplot\n";
  return s;
}

/// Draws the results as the PNG `png`: one panel per metric (figure_options::panels, or every
/// metric), each run's Monte Carlo mean against generation with its 95% band, and the theory curve
/// (dashed) where one is attached (run_result::theory). See render_png for how it is drawn; throws
/// config_error for a panel or run the results do not have, io_error when the folder cannot be
/// written.
inline plot_status plot_results(const results& r, const std::filesystem::path& png,
                                const figure_options& f = {}) {
  const auto layout = detail::lay_out(r, f);
  png_canvas canvas;
  canvas.width = layout.columns * f.panel_width;
  canvas.height = layout.rows * f.panel_height + 40;
  return render_png(detail::plot_script(r, f, layout), png, canvas, f.keep_script);
}

}  // namespace ouro::inline v0::io
