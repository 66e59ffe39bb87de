// What the translation units of the Python module share: the results object Python sees, the
// conversion of settings from keyword arguments, and the run options every experiment gets.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/plot.hpp"

namespace ouro_py {

namespace py = pybind11;

/// An experiment's results as Python holds them: the C++ results, the extra JSON the program
/// writes with them (the GMM's snapshots), and the figure the program draws.
struct py_results {
  ouro::results res;
  nlohmann::json extra;  // null: none
  ouro::io::figure_options figure;
  bool has_figure = false;
  bool theory_file = true;  ///< the program writes <name>_theory.csv
  std::string figure_file;  ///< the program's figure file (empty: <name>.png)
  /// Figures the program draws beyond the summary figure (the GMM's contours), into a folder.
  std::function<ouro::io::plot_status(const std::filesystem::path&)> more_figures;
  /// Files the program writes beyond the results files, figures or not (the n-gram histograms,
  /// the VAE's digits), into a folder.
  std::function<void(const std::filesystem::path&)> more_files;
};

/// One setting of an experiment: its name, how a keyword argument sets it, how its default reads.
template <class S>
struct field {
  std::string name;
  std::function<void(S&, py::handle)> set;
  std::function<py::object(const S&)> get;
};

/// Casts a keyword argument to T, or raises TypeError naming the setting.
template <class T>
T cast_setting(const std::string& name, py::handle v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!py::isinstance<py::bool_>(v))
      throw py::type_error(fmt::format("{}: must be True or False, not {}", name,
                                       std::string(py::str(py::type::of(v).attr("__name__")))));
    return v.cast<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    py::object i;
    if (!py::isinstance<py::bool_>(v)) {
      try {
        i = py::module_::import("operator").attr("index")(v);
      } catch (py::error_already_set&) {
        i = py::object();
      }
    }
    if (!i)
      throw py::type_error(fmt::format("{}: must be a whole number, not {}", name,
                                       std::string(py::str(py::type::of(v).attr("__name__")))));
    if (i.attr("__lt__")(0).template cast<bool>())
      throw py::value_error(fmt::format("{}: {} is negative; give a whole number >= 0", name,
                                        std::string(py::str(i))));
    if (i.attr("bit_length")().template cast<int>() > 64)
      throw py::value_error(
          fmt::format("{}: {} does not fit in 64 bits", name, std::string(py::str(i))));
    return static_cast<T>(i.template cast<std::uint64_t>());
  } else if constexpr (std::is_floating_point_v<T>) {
    if (py::isinstance<py::bool_>(v) || py::isinstance<py::str>(v) ||
        py::isinstance<py::bytes>(v) || !PyNumber_Check(v.ptr()))
      throw py::type_error(fmt::format("{}: must be a number", name));
    try {
      return py::float_(py::reinterpret_borrow<py::object>(v)).cast<double>();
    } catch (const py::error_already_set&) {
      throw py::type_error(fmt::format("{}: must be a number", name));
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!py::isinstance<py::str>(v)) {
      if constexpr (true) {
        if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v))
          return std::string(py::str(v));  // bandwidth=0.3 reads as "0.3"
      }
      throw py::type_error(fmt::format("{}: must be a string", name));
    }
    auto text = v.cast<std::string>();
    if (text.find('\0') != std::string::npos)
      throw py::value_error(fmt::format("{}: must not contain a NUL character", name));
    return text;
  } else {  // a list of values; a single value is a list of one
    using E = typename T::value_type;
    T out;
    if (py::isinstance<py::str>(v) || !py::hasattr(v, "__iter__")) {
      out.push_back(cast_setting<E>(name, v));
      return out;
    }
    for (auto item : v) out.push_back(cast_setting<E>(name, item));
    return out;
  }
}

template <class S, class T>
field<S> make_field(std::string name, T S::*member) {
  return {name, [name, member](S& s, py::handle v) { s.*member = cast_setting<T>(name, v); },
          [member](const S& s) { return py::cast(s.*member); }};
}

/// The common settings of every experiment as fields.
template <class S>
std::vector<field<S>> common_fields() {
  using C = ouro::experiments::common_settings;
  return {make_field<S>("samples", static_cast<std::vector<std::size_t> S::*>(&C::samples)),
          make_field<S>("generations", static_cast<std::size_t S::*>(&C::generations)),
          make_field<S>("replicates", static_cast<std::size_t S::*>(&C::replicates)),
          make_field<S>("regime", static_cast<std::string S::*>(&C::regime)),
          make_field<S>("real_fraction", static_cast<double S::*>(&C::real_fraction)),
          make_field<S>("real_source", static_cast<std::string S::*>(&C::real_source)),
          make_field<S>("budget", static_cast<std::size_t S::*>(&C::budget)),
          make_field<S>("seed", static_cast<std::uint64_t S::*>(&C::seed))};
}

/// The settings from keyword arguments: each known name sets its field; an unknown one raises
/// TypeError; a setting the regime ignores raises ValueError (as the programs refuse it).
template <class S>
S settings_from(const std::string& function, const std::vector<field<S>>& fields,
                const py::dict& kwargs) {
  S s;
  for (auto [k, v] : kwargs) {
    const auto key = k.template cast<std::string>();
    bool known = false;
    for (const auto& f : fields)
      if (f.name == key) {
        f.set(s, v);
        known = true;
      }
    if (!known) {
      std::string names;
      for (const auto& f : fields) names += (names.empty() ? "" : ", ") + f.name;
      throw py::type_error(fmt::format(
          "{}() got an unexpected keyword argument '{}' (its settings: {})", function, key, names));
    }
  }
  const auto ignored = [&](const char* key, const char* when) {
    if (kwargs.contains(key))
      throw ouro::config_error(fmt::format(
          "{}: applies only to {}; this run has regime {}, which ignores it", key, when, s.regime));
  };
  if (s.regime != "mix") {
    ignored("real_fraction", "regime mix");
    ignored("real_source", "regime mix");
  }
  if (s.regime != "accumulate_subsample") ignored("budget", "regime accumulate_subsample");
  return s;
}

/// The defaults of the settings as a dict (for help and for Python's signature).
template <class S>
py::dict defaults_of(const std::vector<field<S>>& fields) {
  const S s;
  py::dict d;
  for (const auto& f : fields) d[py::str(f.name)] = f.get(s);
  return d;
}

/// How a run from Python is set up: threads, which values to keep, progress on stderr, and
/// Ctrl-C (checked after every generation: the run stops after it, and KeyboardInterrupt is
/// raised once the results are complete).
struct run_control {
  unsigned threads = 0;
  ouro::keep_values keep = ouro::keep_values::automatic;
  bool progress = false;
  std::string program;
  std::shared_ptr<std::atomic<bool>> interrupt = std::make_shared<std::atomic<bool>>(false);

  ouro::experiments::run_setup setup() const;
};

run_control control_from(const std::string& program, unsigned threads, const std::string& keep,
                         bool progress);

/// Raises KeyboardInterrupt when the run stopped at Ctrl-C.
void raise_if_interrupted(const run_control& c);

/// Runs f (an experiment) with the GIL released and wraps its results for Python.
template <class F>
py_results run_released(const run_control& c, F&& f) {
  py_results out;
  {
    py::gil_scoped_release release;
    out.res = f();
  }
  raise_if_interrupted(c);
  return out;
}

void bind_core(py::module_& m);
void bind_simple_experiments(py::module_& m);
void bind_gmm_experiment(py::module_& m);
void bind_python_loop(py::module_& m);
void bind_data_experiments(py::module_& m);
void bind_models(py::module_& m);
void bind_named_loop(py::module_& m);

}  // namespace ouro_py

namespace ouro_py {

/// Binds an experiment as <name>(settings: dict, threads, keep, progress) -> _Results and
/// <name>_defaults() -> dict. `run(settings, setup, out)` runs it into out.res (and out.extra).
template <class S, class Run>
void bind_experiment(py::module_& m, const std::string& name, std::vector<field<S>> fields, Run run,
                     ouro::io::figure_options figure,
                     std::vector<ouro::experiments::setting_rule<S>> rules = {}) {
  m.def(
      name.c_str(),
      [name, fields, run, figure, rules](const py::dict& settings, unsigned threads,
                                         const std::string& keep, bool progress) {
        const S s = settings_from<S>(name, fields, settings);
        check(s);  // ouro::experiments::check, found by argument
        ouro::experiments::check_given<S>(
            s, rules, [&](std::string_view n) { return settings.contains(std::string(n)); });
        const run_control c = control_from(name, threads, keep, progress);
        py_results out;
        {
          py::gil_scoped_release release;
          run(s, c.setup(), out);
        }
        raise_if_interrupted(c);
        out.figure = figure;
        out.has_figure = true;
        return out;
      },
      py::arg("settings"), py::arg("threads") = 0u, py::arg("keep") = "auto",
      py::arg("progress") = false);
  m.def((name + "_defaults").c_str(), [fields] { return defaults_of<S>(fields); });
}

}  // namespace ouro_py
