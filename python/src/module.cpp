// The Python module ouroboros._ouroboros: the results object, the library's exceptions as
// Python's, reading and writing results folders, and the parts bound in the other files
// (experiments, Python models in the loop, reference models). The package ouroboros
// (python/ouroboros/) is the Python face over it. See docs/python.md.
#include <Python.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>

#include "bindings.hpp"
#include "ouroboros/core/version.hpp"
#include "ouroboros/io/atomic_file.hpp"
#include "ouroboros/io/progress.hpp"
#include "ouroboros/io/results_io.hpp"
#include "ouroboros/io/results_read.hpp"

namespace ouro_py {

ouro::experiments::run_setup run_control::setup() const {
  return [c = *this](ouro::run_options& opt) {
    opt.threads = c.threads;
    opt.keep = c.keep;
    if (c.progress) opt.observers.push_back(ouro::io::progress(c.program));
    // Ctrl-C: Python's handler only runs when Python code does; ask it after every generation
    opt.observers.push_back([flag = c.interrupt](const ouro::generation_report&) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) {
        PyErr_Clear();
        flag->store(true);
      }
      return ouro::observer_action::proceed;
    });
    opt.interrupt = c.interrupt.get();
  };
}

run_control control_from(const std::string& program, unsigned threads, const std::string& keep,
                         bool progress) {
  run_control c;
  c.program = program;
  // as the programs do: more threads than cores are capped at the cores (0: all of them)
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  c.threads = threads == 0 ? 0 : std::min(threads, cores);
  c.progress = progress;
  if (keep == "auto")
    c.keep = ouro::keep_values::automatic;
  else if (keep == "all")
    c.keep = ouro::keep_values::all;
  else if (keep == "none")
    c.keep = ouro::keep_values::none;
  else
    throw ouro::config_error(fmt::format("keep: '{}' is not one of auto, all and none", keep));
  return c;
}

void raise_if_interrupted(const run_control& c) {
  if (c.interrupt->load()) {
    PyErr_SetString(PyExc_KeyboardInterrupt,
                    "interrupted: the run stopped after the generation in progress");
    throw py::error_already_set();
  }
}

namespace {

py::object param_to_python(const ouro::param_value& v) {
  return std::visit([](const auto& x) -> py::object { return py::cast(x); }, v);
}

py::dict params_to_dict(const ouro::params& p) {
  py::dict d;
  for (const auto& [k, v] : p) d[py::str(k)] = param_to_python(v);
  return d;
}

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

/// One run as a dict of plain Python values and numpy arrays.
py::dict run_to_dict(const ouro::run_result& r) {
  py::dict d;
  d["label"] = r.label;
  d["config"] = params_to_dict(r.config);
  d["replicates"] = r.replicates;
  d["generations"] = r.generations;
  d["metric_names"] = r.metric_names;
  py::dict summary;
  for (const auto& s : r.summary) {
    py::dict m;
    py::array_t<std::int64_t> g(static_cast<py::ssize_t>(s.generation.size()));
    for (std::size_t i = 0; i < s.generation.size(); ++i)
      g.mutable_data()[i] = static_cast<std::int64_t>(s.generation[i]);
    m["generation"] = g;
    m["mean"] = to_array(s.mean);
    m["sd"] = to_array(s.sd);
    m["se"] = to_array(s.se);
    m["ci95_lo"] = to_array(s.ci95_lo);
    m["ci95_hi"] = to_array(s.ci95_hi);
    m["median"] = to_array(s.median);
    summary[py::str(s.name)] = m;
  }
  d["summary"] = summary;
  if (r.has_values) {
    const auto K = static_cast<py::ssize_t>(r.metric_names.size());
    py::array_t<double> v(
        {static_cast<py::ssize_t>(r.generations), static_cast<py::ssize_t>(r.replicates), K});
    std::copy(r.values.begin(), r.values.end(), v.mutable_data());
    d["values"] = v;
  } else {
    d["values"] = py::none();
  }
  py::dict theory;
  for (const auto& [name, v] : r.theory) theory[py::str(name)] = to_array(v);
  d["theory"] = theory;
  py::list events;
  for (const auto& e : r.events) {
    py::dict x;
    x["run"] = e.run;
    x["replicate"] = e.replicate;
    x["generation"] = e.generation;
    x["what"] = e.what;
    x["action"] = e.action;
    events.append(x);
  }
  d["events"] = events;
  d["events_dropped"] = r.events_dropped;
  d["seconds"] = r.seconds;
  d["seed"] = r.seed;
  d["threads"] = r.threads;
  d["started"] = r.started;
  d["interrupted"] = r.interrupted;
  return d;
}

/// Writes what the program of the same experiment writes into `folder` (locked while writing):
/// <name>_results.json (with the extra JSON), <name>_summary.csv, <name>_theory.csv, <name>.csv
/// when values were kept, and the figure <name>.png (gnuplot) unless `figure` is false. Returns
/// the message of a figure that could not be drawn (empty when drawn or not asked for).
std::string write_folder(const py_results& r, const std::string& folder, const std::string& name,
                         bool figure) {
  if (folder.empty()) throw ouro::config_error("folder: must name a folder, not ''");
  if (folder.find('\0') != std::string::npos || name.find('\0') != std::string::npos)
    throw ouro::config_error("folder and name must not contain a NUL character");
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw ouro::config_error(fmt::format("name: '{}' must be a plain file name (no '/')", name));
  const std::filesystem::path dir = folder;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec))
    throw ouro::io_error(fmt::format("cannot create the output folder '{}': {}", folder,
                                     ec ? ec.message() : "a file stands at that name"));
  const auto lock = ouro::io::lock_folder(dir);
  ouro::io::remove_stray_temporaries(dir);
  const ouro::io::output_files files{dir, name};
  if (r.theory_file) ouro::io::write_file_atomic(files.theory_csv(), ouro::io::theory_csv(r.res));
  ouro::io::write_results(r.res, dir, name, r.extra, /*tidy=*/true);
  if (r.more_files) r.more_files(dir);
  if (!figure) return {};
  const auto png = r.figure_file.empty() ? files.figure() : dir / r.figure_file;
  auto st =
      ouro::io::plot_results(r.res, png, r.has_figure ? r.figure : ouro::io::figure_options{});
  if (st.drawn && r.more_figures) st = r.more_figures(dir);
  return st.drawn ? std::string() : st.message;
}

}  // namespace

void bind_core(py::module_& m) {
  // the library's exceptions: a bad setting is a ValueError, a file an OSError, a failing model a
  // RunError (a RuntimeError) whose message names the run, replicate and generation
  static py::exception<ouro::run_error> run_error(m, "RunError", PyExc_RuntimeError);
  static py::exception<ouro::data_error> data_error(m, "DataError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ouro::config_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const ouro::io_error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const ouro::data_error& e) {
      PyErr_SetString(data_error.ptr(), e.what());
    } catch (const ouro::run_error& e) {
      PyErr_SetString(run_error.ptr(), e.what());
    } catch (const std::filesystem::filesystem_error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(
          PyExc_MemoryError,
          "out of memory: use fewer replicates, samples or generations (or keep='none')");
    }
  });

  py::class_<py_results>(m, "_Results", "The results of an experiment (the C++ ouro::results).")
      .def_property_readonly("experiment", [](const py_results& r) { return r.res.experiment; })
      .def_property_readonly("config",
                             [](const py_results& r) { return params_to_dict(r.res.config); })
      .def_property_readonly("seconds", [](const py_results& r) { return r.res.seconds; })
      .def("run_count", [](const py_results& r) { return r.res.runs.size(); })
      .def("run",
           [](const py_results& r, std::size_t i) {
             if (i >= r.res.runs.size()) throw py::index_error("no such run");
             return run_to_dict(r.res.runs[i]);
           })
      .def(
          "to_json",
          [](const py_results& r) { return ouro::io::results_json(r.res, r.extra).dump(1); },
          "The results JSON, as the programs write it (with the provenance).")
      .def("summary_csv", [](const py_results& r) { return ouro::io::summary_csv(r.res); })
      .def("figure_panels",
           [](const py_results& r) {
             py::list out;
             if (!r.has_figure) return py::make_tuple(out, std::string(), 0u);
             for (const auto& p : r.figure.panels)
               out.append(py::make_tuple(p.metric, p.title, p.log_y));
             return py::make_tuple(out, r.figure.title, r.figure.columns);
           })
      .def("write", &write_folder, py::arg("folder"), py::arg("name"), py::arg("figure") = true,
           py::call_guard<py::gil_scoped_release>());

  m.def(
      "read_results",
      [](const std::string& folder, const std::string& name) {
        if (folder.find('\0') != std::string::npos || name.find('\0') != std::string::npos)
          throw ouro::config_error("folder and name must not contain a NUL character");
        py_results r;
        py::gil_scoped_release release;
        r.res = ouro::io::read_results(folder, name);
        return r;
      },
      py::arg("folder"), py::arg("name"),
      "Reads <folder>/<name>_results.json (and <name>.csv when present) as the library wrote it.");
  m.attr("__version__") = fmt::format("{}.{}.{}", OUROBOROS_VERSION_MAJOR, OUROBOROS_VERSION_MINOR,
                                      OUROBOROS_VERSION_PATCH);
}

}  // namespace ouro_py

PYBIND11_MODULE(_ouroboros, m) {
  m.doc() = "Ouroboros: simulating model collapse (the C++ engine; use the package ouroboros)";
  ouro_py::bind_core(m);
  ouro_py::bind_simple_experiments(m);
  ouro_py::bind_gmm_experiment(m);
  ouro_py::bind_data_experiments(m);
  ouro_py::bind_python_loop(m);
  ouro_py::bind_models(m);
  ouro_py::bind_named_loop(m);
}
