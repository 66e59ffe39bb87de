// Python models in the C++ loop: a model is any Python object with sample(n, rng) returning n
// samples (a 1-D array of n values or an (n, d) array), a fit(data, rng) callable returning the
// next model, and metrics as functions of a model. The library's regimes, replicates, streams,
// summaries, checkpoints and results work on them unchanged: the samples are held as doubles in
// C++ (pooling and subsetting need no Python), and each call into Python takes the GIL. Each call
// gets a numpy Generator seeded from the replicate's own stream, so the numbers depend on the seed
// only, whatever the thread count. See docs/python.md.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/engine.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/run_store.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/io/checkpoint_store.hpp"
#include "stepped_run.hpp"

namespace ouro_py {

/// A training set: n samples of `width` values each, row after row.
struct py_data {
  std::vector<double> v;
  std::size_t width = 1;
  bool rows = false;  ///< 2-D in Python ((n, width)); else 1-D (n values)
  std::size_t size() const noexcept { return width ? v.size() / width : 0; }
};

}  // namespace ouro_py

template <>
struct ouro::dataset_traits<ouro_py::py_data> {
  using D = ouro_py::py_data;
  static std::size_t size(const D& d) noexcept { return d.size(); }
  static void same_shape(const D& a, const D& b) {
    if (a.size() && b.size() && (a.width != b.width || a.rows != b.rows))
      throw ouro::config_error(fmt::format(
          "samples of shape {} and {} cannot be pooled: sample() must return arrays of one shape "
          "per sample in every generation",
          a.rows ? fmt::format("(n, {})", a.width) : std::string("(n,)"),
          b.rows ? fmt::format("(n, {})", b.width) : std::string("(n,)")));
  }
  static D concat(const D& a, const D& b) {
    same_shape(a, b);
    D r{{}, a.size() ? a.width : b.width, a.size() ? a.rows : b.rows};
    r.v.reserve(a.v.size() + b.v.size());
    r.v.insert(r.v.end(), a.v.begin(), a.v.end());
    r.v.insert(r.v.end(), b.v.begin(), b.v.end());
    return r;
  }
  static D subset(const D& d, std::span<const std::size_t> idx) {
    D r{{}, d.width, d.rows};
    r.v.reserve(idx.size() * d.width);
    for (std::size_t i : idx)
      r.v.insert(r.v.end(), d.v.begin() + static_cast<std::ptrdiff_t>(i * d.width),
                 d.v.begin() + static_cast<std::ptrdiff_t>((i + 1) * d.width));
    return r;
  }
  static void append(D& a, const D& b) {
    same_shape(a, b);
    if (!a.size()) {
      a.width = b.width;
      a.rows = b.rows;
    }
    a.v.insert(a.v.end(), b.v.begin(), b.v.end());
  }
  static std::span<const double> sample(const D& d, std::size_t i) noexcept {
    return {d.v.data() + i * d.width, d.width};
  }
};

namespace ouro_py {

namespace {

/// A Python object shared by the copies of a C++ value; the last copy releases it with the GIL.
struct py_ref {
  std::shared_ptr<py::object> p;
  static py_ref wrap(py::object o) {
    return {std::shared_ptr<py::object>(new py::object(std::move(o)), [](py::object* x) {
      py::gil_scoped_acquire gil;
      delete x;
    })};
  }
  const py::object& operator*() const { return *p; }
};

/// The first Python exception of one run, kept (with the GIL) so that the run's error is raised
/// from it: Python shows its traceback as the cause. Each run has its own, shared by its fit,
/// models and metrics.
struct error_stash {
  py::object first;
  void keep(const py::object& e) {  // with the GIL
    if (!first) first = e;
  }
  ~error_stash() {
    if (first) {
      py::gil_scoped_acquire gil;
      first = py::object();
    }
  }
};
using stash_ptr = std::shared_ptr<error_stash>;

/// numpy's bit generator interface (numpy/random/bitgen.h, stable since numpy 1.17): a
/// numpy.random.Generator draws through these functions.
struct numpy_bitgen {
  void* state;
  std::uint64_t (*next_uint64)(void*);
  std::uint32_t (*next_uint32)(void*);
  double (*next_double)(void*);
  std::uint64_t (*next_raw)(void*);
};

/// What one call's numpy Generator draws from: the replicate's stream while the call runs, a
/// stream of its own afterwards (a Generator kept past its call stays valid, draws nothing from
/// any replicate's stream, and keeps this alive through its capsule).
struct call_bits {
  numpy_bitgen bitgen{};  // first: the capsule's pointer
  void* engine = nullptr;
  std::uint64_t (*draw)(void*) = nullptr;
  ouro::default_rng idle{0x6f75726f626f726fULL};
  template <class G>
  static std::uint64_t draw_from(void* g) {
    return ouro::random_bits64(*static_cast<G*>(g));
  }
  static std::uint64_t next(void* s) {
    auto* b = static_cast<call_bits*>(s);
    return b->draw(b->engine);
  }
  void park() {
    engine = &idle;
    draw = &draw_from<ouro::default_rng>;
  }
};

/// A numpy.random.Generator that draws from the replicate's stream `g` while `f(generator)` runs
/// (with the GIL held); it is detached from `g` afterwards.
template <class G, class F>
auto with_generator(G& g, F&& f) {
  static auto* gen_cls = new py::object(py::module_::import("numpy.random").attr("Generator"));
  static auto* bits_cls =
      new py::object(py::module_::import("ouroboros._ouroboros").attr("_StreamBits"));
  static auto* lock_cls = new py::object(py::module_::import("threading").attr("Lock"));
  auto* b = new call_bits();
  b->bitgen.state = b;
  b->bitgen.next_uint64 = &call_bits::next;
  b->bitgen.next_uint32 = [](void* s) {
    return static_cast<std::uint32_t>(call_bits::next(s) >> 32);
  };
  b->bitgen.next_double = [](void* s) {
    return static_cast<double>(call_bits::next(s) >> 11) * 0x1.0p-53;
  };
  b->bitgen.next_raw = &call_bits::next;
  b->engine = &g;
  b->draw = &call_bits::draw_from<G>;
  py::capsule cap(&b->bitgen, "BitGenerator", [](PyObject* c) {
    delete static_cast<call_bits*>(PyCapsule_GetPointer(c, "BitGenerator"));
  });
  struct parked {
    call_bits* b;
    ~parked() { b->park(); }
  } guard{b};
  py::object bits = (*bits_cls)();
  bits.attr("capsule") = cap;
  bits.attr("lock") = (*lock_cls)();
  return f((*gen_cls)(bits));
}

/// Runs f with the GIL; a Python exception becomes a C++ one carrying `what` and the traceback
/// (the loop adds run, replicate and generation), and the run's first one is kept in `stash`.
template <class F>
auto with_python(const stash_ptr& stash, const char* what, F&& f) {
  py::gil_scoped_acquire gil;
  try {
    return f();
  } catch (py::error_already_set& e) {
    std::string tb;
    try {
      tb = py::str("")
               .attr("join")(py::module_::import("traceback")
                                 .attr("format_exception")(e.type(), e.value(), e.trace()))
               .cast<std::string>();
    } catch (...) {
      tb = e.what();
    }
    if (stash) stash->keep(e.value());
    while (!tb.empty() && tb.back() == '\n') tb.pop_back();
    throw std::runtime_error(fmt::format("{} raised an exception:\n{}", what, tb));
  }
}

/// A numpy array of the samples (1-D, or (n, width) rows).
py::array_t<double> to_numpy(const py_data& d) {
  py::array_t<double> a;
  if (d.rows)
    a = py::array_t<double>(
        {static_cast<py::ssize_t>(d.size()), static_cast<py::ssize_t>(d.width)});
  else
    a = py::array_t<double>(static_cast<py::ssize_t>(d.size()));
  std::copy(d.v.begin(), d.v.end(), a.mutable_data());
  return a;
}

/// The Python type of a thread's bit generator object.
struct py_stream_bits {};

using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// `o` as a C-contiguous array of doubles, when it is an array of numbers (bool, integer or
/// real): not of strings or objects that a cast to double would parse.
std::optional<darray> numbers_of(const py::object& o) {
  static auto* asarray = new py::object(py::module_::import("numpy").attr("asarray"));
  try {
    const std::string kind = py::str((*asarray)(o).attr("dtype").attr("kind"));
    if (kind != "b" && kind != "i" && kind != "u" && kind != "f") return std::nullopt;
    auto a = darray::ensure(o);
    if (!a) return std::nullopt;
    return a;
  } catch (py::error_already_set&) {
    return std::nullopt;
  }
}

/// What sample(n, rng) returned, as samples: n values or n rows of numbers.
py_data from_numpy(const py::object& o, std::size_t n) {
  const auto numbers = numbers_of(o);
  const bool ok = numbers.has_value();
  const darray a = ok ? *numbers : darray();
  if (!ok)
    throw py::type_error(fmt::format("sample(n, rng) must return an array of numbers, not {}",
                                     std::string(py::str(py::type::of(o).attr("__name__")))));
  if (a.ndim() != 1 && a.ndim() != 2)
    throw py::value_error(fmt::format(
        "sample(n, rng) must return n values or an (n, d) array, not an array of {} dimensions",
        a.ndim()));
  if (static_cast<std::size_t>(a.shape(0)) != n)
    throw py::value_error(
        fmt::format("sample(n, rng) was asked for {} samples and returned {}", n, a.shape(0)));
  py_data d;
  d.rows = a.ndim() == 2;
  d.width = d.rows ? static_cast<std::size_t>(a.shape(1)) : 1;
  if (d.width == 0) throw py::value_error("sample(n, rng) returned samples of no values");
  d.v.assign(a.data(), a.data() + a.size());
  return d;
}

/// A Python model: sample(n, rng) on the object.
struct py_model {
  using dataset_type = py_data;
  py_ref obj;
  stash_ptr stash;  // none for a model read from a checkpoint
  template <class G>
  py_data sample(std::size_t n, G& g) const {
    return with_python(stash, "the model's sample(n, rng)", [&] {
      return with_generator(
          g, [&](const py::object& rng) { return from_numpy((*obj).attr("sample")(n, rng), n); });
    });
  }
};

/// The fit: a Python callable (data, rng) -> the next model.
struct py_fitter {
  using model_type = py_model;
  py_ref fit_fn;
  stash_ptr stash;
  template <class G>
  py_model fit(const py_data& d, G& g) const {
    return with_python(stash, "fit(data, rng)", [&] {
      py::object m =
          with_generator(g, [&](const py::object& rng) { return (*fit_fn)(to_numpy(d), rng); });
      if (m.is_none()) throw py::type_error("fit(data, rng) returned None; it must return a model");
      if (!py::hasattr(m, "sample"))
        throw py::type_error(fmt::format(
            "fit(data, rng) returned a {} without a method sample(n, rng); it must return a model",
            std::string(py::str(py::type::of(m).attr("__name__")))));
      return py_model{py_ref::wrap(std::move(m)), stash};
    });
  }
};

/// The metrics: Python functions of a model, each giving one number.
struct py_metrics {
  std::vector<std::string> names_;
  py_ref fns;  // a list of callables, one per name
  stash_ptr stash;
  std::vector<std::string> names() const { return names_; }
  std::vector<double> operator()(const ouro::generation_context<py_model>& c) const {
    return with_python(stash, "a metric", [&] {
      std::vector<double> out;
      const py::list fl = py::reinterpret_borrow<py::list>(*fns);
      for (std::size_t k = 0; k < names_.size(); ++k) {
        py::object v = fl[k](*c.model.obj);
        const double x = PyNumber_Check(v.ptr()) ? PyFloat_AsDouble(v.ptr()) : -1.0;
        if (!PyNumber_Check(v.ptr()) || (x == -1.0 && PyErr_Occurred())) {
          PyErr_Clear();
          throw py::type_error(fmt::format("metric '{}' returned {}, not a number a double holds",
                                           names_[k],
                                           std::string(py::str(py::type::of(v).attr("__name__")))));
        }
        out.push_back(x);
      }
      return out;
    });
  }
};

}  // namespace
}  // namespace ouro_py

// Checkpoints: the samples as numbers, a model through pickle.
template <>
struct ouro::checkpoint_traits<ouro_py::py_data> {
  static void save(const ouro_py::py_data& d, ouro::io::binary_writer& w) {
    w.put_u64(d.width);
    w.put_u64(d.rows ? 1 : 0);
    w.put_vector(d.v);
  }
  static ouro_py::py_data load(ouro::io::binary_reader& r) {
    ouro_py::py_data d;
    d.width = r.get_size("sample width", std::uint64_t{1} << 32);
    d.rows = r.get_u64("sample rows") != 0;
    d.v = r.get_vector<double>("samples");
    return d;
  }
};
template <>
struct ouro::checkpoint_traits<ouro_py::py_model> {
  static void save(const ouro_py::py_model& m, ouro::io::binary_writer& w) {
    ouro_py::py::gil_scoped_acquire gil;
    std::string b;
    try {
      b = ouro_py::py::module_::import("pickle").attr("dumps")(*m.obj).cast<std::string>();
    } catch (ouro_py::py::error_already_set& e) {
      throw ouro::run_error(fmt::format(
          "checkpoint: the model cannot be pickled ({}); give models that pickle, or no "
          "checkpoint",
          e.what()));
    }
    w.put_string(b);
  }
  static ouro_py::py_model load(ouro::io::binary_reader& r) {
    const std::string b = r.get_string("pickled model");
    ouro_py::py::gil_scoped_acquire gil;
    return {ouro_py::py_ref::wrap(
                ouro_py::py::module_::import("pickle").attr("loads")(ouro_py::py::bytes(b))),
            nullptr};
  }
};

namespace ouro_py {
namespace {

template <class Regime>
using py_loop = ouro::collapse_loop<py_fitter, ouro::sample::ancestral, Regime, py_metrics>;
using truth_source = decltype(ouro::from_truth(std::declval<py_model>()));

/// A Python model as Python sees it: its object.
py::object model_to_python(const py_model& m) {
  return *m.obj;
}

/// What a Python loop is made of, from the arguments of ouroboros.collapse / ouroboros.start.
struct loop_parts {
  py_fitter fitter;
  py_metrics metrics;
  py_model truth;
  stash_ptr stash;
};

/// Refuses metric names that would break the results files (a CSV field, one line).
void check_metric_name(const std::string& n) {
  if (n.empty() || n.find_first_of(",\"\n\r\t") != std::string::npos ||
      n.find('\0') != std::string::npos)
    throw ouro::config_error(fmt::format(
        "metrics: the name '{}' must be non-empty, without commas, quotes, tabs or line breaks",
        n));
}

/// The fit of a loop: `fit`, or the model's own fit; a model without sample() is refused.
py::object fit_of(const py::object& model, const py::object& fit) {
  if (!py::hasattr(model, "sample")) throw py::type_error("the model has no method sample(n, rng)");
  py::object f = fit;
  if (f.is_none() && py::hasattr(model, "fit")) f = model.attr("fit");
  if (f.is_none() || !PyCallable_Check(f.ptr()))
    throw py::type_error(
        "no fit: give fit=<callable (data, rng) -> model> or a model with a method fit(data, rng)");
  return f;
}

/// The metrics' names and functions, checked; `returns` says what each function returns.
std::pair<std::vector<std::string>, py::list> metrics_of(const py::dict& metrics,
                                                         const char* returns) {
  if (metrics.empty())
    throw ouro::config_error(fmt::format(
        "metrics: give at least one, as a dict of name -> function(model) -> {}", returns));
  std::vector<std::string> names;
  py::list fns;
  for (auto [k, v] : metrics) {
    if (!py::isinstance<py::str>(k)) throw py::type_error("metrics: the names must be strings");
    if (!PyCallable_Check(v.ptr()))
      throw py::type_error(fmt::format("metrics: '{}' is not callable", k.cast<std::string>()));
    names.push_back(k.cast<std::string>());
    check_metric_name(names.back());
    fns.append(v);
  }
  return {std::move(names), std::move(fns)};
}

loop_parts parts_from(const py::object& model, const py::object& fit, const py::dict& metrics) {
  const py::object f = fit_of(model, fit);
  auto [names, fns] = metrics_of(metrics, "number");
  py_metrics m;
  m.names_ = std::move(names);
  m.fns = py_ref::wrap(fns);
  auto stash = std::make_shared<error_stash>();
  m.stash = stash;
  return {py_fitter{py_ref::wrap(f), stash}, m, py_model{py_ref::wrap(model), stash}, stash};
}

ouro::experiments::common_settings common_from(const py::dict& kwargs) {
  using S = ouro::experiments::common_settings;
  auto f = common_fields<S>();
  return settings_from<S>("collapse", f, kwargs);
}

[[noreturn]] void raise_run_error(const ouro::run_error& e, const stash_ptr& stash);

std::unique_ptr<stepped_run> start_run(const loop_parts& p, const ouro::regime::choice& choice,
                                       ouro::run_options opt) {
  return ouro::with_regime(choice, [&](auto regime) -> std::unique_ptr<stepped_run> {
    using L = py_loop<decltype(regime)>;
    auto run = std::make_unique<stepped_run_of<L, truth_source>>(
        L{p.fitter, {}, regime, p.metrics}, ouro::from_truth(p.truth), std::move(opt));
    run->on_error = [stash = p.stash](const ouro::run_error& e) { raise_run_error(e, stash); };
    return run;
  });
}

/// Runs the loop to the end for each sample size with the GIL released.
ouro::run_result run_to_end(stepped_run& run) {
  while (!run.done()) run.advance();
  return run.finish();
}

/// The sample-size schedule of a run whose first size is M: None (M every generation),
/// ("linear", step) (M + step g), ("geometric", ratio) (M ratio^g), or a callable g -> M_g.
ouro::sample_schedule schedule_from(const py::object& sch, std::size_t M) {
  if (sch.is_none()) return ouro::schedule::constant{M};
  if (py::isinstance<py::tuple>(sch) || py::isinstance<py::list>(sch)) {
    const auto seq = py::reinterpret_borrow<py::sequence>(sch);
    if (seq.size() != 2 || !py::isinstance<py::str>(seq[0]))
      throw py::type_error(
          "schedule: give ('linear', step), ('geometric', ratio), a callable g -> M_g or None");
    const auto kind = seq[0].cast<std::string>();
    const double x = cast_setting<double>("schedule", seq[1]);
    if (kind == "linear") {
      if (!std::isfinite(x)) throw ouro::config_error("schedule: the linear step must be finite");
      return ouro::schedule::linear{M, x};
    }
    if (kind == "geometric") {
      if (!(x > 0 && std::isfinite(x)))
        throw ouro::config_error("schedule: the geometric ratio must be a finite number > 0");
      return ouro::schedule::geometric{M, x};
    }
    throw ouro::config_error(fmt::format("schedule: '{}' is neither linear nor geometric", kind));
  }
  if (!PyCallable_Check(sch.ptr()))
    throw py::type_error(
        "schedule: give ('linear', step), ('geometric', ratio), a callable g -> M_g or None");
  return [f = py_ref::wrap(sch)](std::size_t g) -> std::size_t {
    return with_python(nullptr, "the schedule", [&] {
      const auto m = cast_setting<std::size_t>("schedule(g)", (*f)(g));
      if (m < 1 || m > (std::size_t{1} << 32))
        throw ouro::config_error(
            fmt::format("schedule: generation {} gets {} samples; give 1 to 4294967296", g, m));
      return m;
    });
  };
}

/// Refuses a checkpoint path where something other than a checkpoint of the library stands: a
/// new run would otherwise replace it (a folder, a device, a link, a file of the user's).
void check_checkpoint_path(const std::string& path) {
  if (path.find('\0') != std::string::npos)
    throw ouro::config_error("checkpoint: the path must not contain a NUL character");
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::exists(st)) return;
  if (!std::filesystem::is_regular_file(st))
    throw ouro::config_error(fmt::format(
        "checkpoint: '{}' exists and is not a regular file (a folder, a link or a device); give "
        "the path of a checkpoint file, or of none yet",
        path));
  std::ifstream in(path, std::ios::binary);
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  if (!head.empty() && head.find("ouroboros-experiment-checkpoint") == std::string::npos)
    throw ouro::config_error(fmt::format(
        "checkpoint: '{}' exists and is not a checkpoint of this library; it is left as it is: "
        "give another path",
        path));
}

/// Raises the run's error from the first Python exception of the run (its traceback shows as
/// the cause), or rethrows it as it is.
[[noreturn]] void raise_run_error(const ouro::run_error& e, const stash_ptr& stash) {
  py::object cause = stash ? stash->first : py::object();
  if (stash) stash->first = py::object();
  if (!cause) throw;
  if (!PyErr_GivenExceptionMatches(cause.ptr(), PyExc_Exception)) {
    // KeyboardInterrupt (Ctrl-C while the model's Python code ran), SystemExit, ...: the run
    // stops and the exception goes on as Python's own code would raise it
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(cause.ptr())), cause.ptr());
    throw py::error_already_set();
  }
  static auto* cls = new py::object(py::module_::import("ouroboros._ouroboros").attr("RunError"));
  py::object err = (*cls)(e.what());
  PyException_SetCause(err.ptr(), cause.release().ptr());  // steals the reference
  PyErr_SetObject(cls->ptr(), err.ptr());
  throw py::error_already_set();
}

/// The samples of every replicate from a batched call: an (R, n) or (R, n, d) array.
std::vector<py_data> rows_of(const py::object& o, std::size_t R, std::size_t n, const char* what) {
  const auto numbers = numbers_of(o);
  const bool ok = numbers.has_value();
  const darray a = ok ? *numbers : darray();
  if (!ok || (a.ndim() != 2 && a.ndim() != 3))
    throw py::value_error(fmt::format(
        "{} must return an array of shape (replicates, n) or (replicates, n, d)", what));
  if (static_cast<std::size_t>(a.shape(0)) != R || static_cast<std::size_t>(a.shape(1)) != n)
    throw py::value_error(fmt::format(
        "{} was asked for {} samples of {} replicates and returned "
        "an array of shape ({}, {}{})",
        what, n, R, a.shape(0), a.shape(1), a.ndim() == 3 ? fmt::format(", {}", a.shape(2)) : ""));
  const std::size_t width = a.ndim() == 3 ? static_cast<std::size_t>(a.shape(2)) : 1;
  if (width == 0) throw py::value_error(fmt::format("{} returned samples of no values", what));
  std::vector<py_data> out(R);
  for (std::size_t r = 0; r < R; ++r) {
    out[r].rows = a.ndim() == 3;
    out[r].width = width;
    out[r].v.assign(a.data() + r * n * width, a.data() + (r + 1) * n * width);
  }
  return out;
}

/// Every replicate's training set as one array for a batched fit: (R, n) or (R, n, d).
py::array_t<double> stack(const std::vector<py_data>& d) {
  const std::size_t n = d[0].size(), w = d[0].width;
  for (const auto& x : d)
    if (x.size() != n)
      throw ouro::config_error(
          "the replicates' training sets differ in size; the batched form "
          "needs one size for all");
  py::array_t<double> a;
  if (d[0].rows)
    a = py::array_t<double>({static_cast<py::ssize_t>(d.size()), static_cast<py::ssize_t>(n),
                             static_cast<py::ssize_t>(w)});
  else
    a = py::array_t<double>({static_cast<py::ssize_t>(d.size()), static_cast<py::ssize_t>(n)});
  double* out = a.mutable_data();
  for (const auto& x : d) out = std::copy(x.v.begin(), x.v.end(), out);
  return a;
}

/// The batched form: `model` holds every replicate's model; sample(n, rng) returns (R, n[, d]),
/// fit(data, rng) takes (R, n[, d]) and returns the next batched model, and each metric returns R
/// values. The regimes are the library's, applied to each replicate's rows with its own regime
/// stream; each batched call gets a numpy Generator on a stream of (seed, generation, role).
ouro::run_result run_batched(const py::object& truth, const py::object& fit,
                             const std::vector<std::string>& names, const py::list& fns,
                             const ouro::experiments::common_settings& s, std::size_t M,
                             ouro::keep_values keep, const stash_ptr& stash) {
  const std::size_t R = s.replicates, G = s.generations, K = names.size();
  ouro::run_result run;
  run.label = fmt::format("M={}", M);
  run.config = {{"samples", static_cast<std::int64_t>(M)}};
  run.replicates = R;
  run.metric_names = names;
  run.seed = s.seed;
  run.threads = 1;
  run.started = ouro::utc_now_iso8601();
  for (const auto& n : names) run.summary.push_back({n, {}, {}, {}, {}, {}, {}, {}});
  const bool keep_all = keep == ouro::keep_values::all ||
                        (keep == ouro::keep_values::automatic && G * R * K <= 1'000'000);
  const auto t0 = std::chrono::steady_clock::now();
  // the streams of the batched calls: replicate index 2^64 - 1, which no replicate has
  const auto stream = [&](std::size_t g, ouro::stream_role role) {
    return ouro::make_stream(s.seed, ~std::uint64_t{0}, g, role);
  };
  const auto call = [&](const py::object& f, const char* what, auto&&... args) {
    try {
      return f(std::forward<decltype(args)>(args)...);
    } catch (py::error_already_set& e) {
      stash->keep(e.value());
      throw ouro::run_error(fmt::format("run '{}': {} raised: {}", run.label, what, e.what()));
    }
  };
  const auto measure = [&](const py::object& model, std::size_t g) {
    std::vector<double> v(R * K);
    for (std::size_t k = 0; k < K; ++k) {
      const py::object out = call(fns[k], "a metric", model);
      const auto numbers = numbers_of(out);
      const bool ok = numbers.has_value();
      const darray a = ok ? *numbers : darray();
      if (!ok || a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != R)
        throw ouro::run_error(fmt::format(
            "run '{}', generation {}: metric '{}' must return {} numbers (one per replicate)",
            run.label, g, names[k], R));
      for (std::size_t r = 0; r < R; ++r) v[r * K + k] = a.data()[r];
    }
    std::vector<double> col(R);
    for (std::size_t k = 0; k < K; ++k) {
      for (std::size_t r = 0; r < R; ++r) col[r] = v[r * K + k];
      run.summary[k].push(g, ouro::summarize(col));
    }
    if (keep_all) run.values.insert(run.values.end(), v.begin(), v.end());
    run.generations = g + 1;
  };
  const auto draw = [&](const py::object& model, std::size_t n, std::size_t g,
                        ouro::stream_role role, const char* what) {
    auto engine = stream(g, role);
    const py::object out = with_generator(
        engine, [&](const py::object& rng) { return call(model.attr("sample"), what, n, rng); });
    try {
      return rows_of(out, R, n, what);
    } catch (const py::builtin_exception& e) {
      throw ouro::run_error(fmt::format("run '{}', generation {}: {}", run.label, g, e.what()));
    }
  };
  const auto refit = [&](const std::vector<py_data>& data, std::size_t g) {
    auto engine = stream(g, ouro::stream_role::fit);
    py::object m = with_generator(engine, [&](const py::object& rng) {
      return call(fit, "fit(data, rng)", stack(data), rng);
    });
    if (m.is_none() || !py::hasattr(m, "sample"))
      throw ouro::run_error(fmt::format(
          "run '{}', generation {}: fit(data, rng) returned {}; it must return a batched model "
          "with a method sample(n, rng)",
          run.label, g, m.is_none() ? std::string("None") : std::string(py::repr(m))));
    return m;
  };
  const auto check_signals = [] {
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };

  const std::vector<py_data> real =
      draw(truth, M, 0, ouro::stream_role::real, "the truth's sample(n, rng)");
  py::object model = refit(real, 0);
  measure(model, 0);
  ouro::with_regime(ouro::experiments::common_settings(s).regime_choice(), [&](auto regime) {
    using Rg = decltype(regime);
    std::vector<typename Rg::template state<py_data>> states(R);
    for (std::size_t g = 1; g < G; ++g) {
      check_signals();
      std::size_t n_real = 0;
      if constexpr (std::is_same_v<Rg, ouro::regime::mix>)
        n_real = std::min<std::size_t>(
            M, static_cast<std::size_t>(std::llround(regime.real_fraction * double(M))));
      const std::size_t n_synth = M - n_real;
      const auto synth =
          draw(model, n_synth, g, ouro::stream_role::sample, "the model's sample(n, rng)");
      std::vector<py_data> fresh;
      if constexpr (std::is_same_v<Rg, ouro::regime::mix>)
        if (n_real > 0 && regime.source == ouro::regime::real_source_kind::fresh)
          fresh = draw(truth, n_real, g, ouro::stream_role::real, "the truth's sample(n, rng)");
      std::vector<py_data> training(R);
      for (std::size_t r = 0; r < R; ++r) {
        ouro::event_log log;
        ouro::lazy_stream rs(ouro::stream_base(s.seed, r, g),
                             static_cast<std::uint64_t>(ouro::stream_role::regime));
        auto synth_fn = [&](std::size_t n) {
          if (n != n_synth)
            throw ouro::config_error("the regime asked for an unexpected number of samples");
          return synth[r];
        };
        auto fresh_fn = [&](std::size_t n) {
          if (n != fresh.at(r).size())
            throw ouro::config_error("the regime asked for an unexpected number of samples");
          return fresh[r];
        };
        ouro::regime_context<py_data, decltype(synth_fn), decltype(fresh_fn)> ctx(
            g, M, real[r], synth_fn, fresh_fn, rs, log);
        try {
          training[r] = regime.next(states[r], ctx);
        } catch (const ouro::config_error& e) {
          throw ouro::run_error(
              fmt::format("run '{}', replicate {}, generation {}: {}", run.label, r, g, e.what()));
        }
        for (const auto& e : log.entries())
          run.events.push_back({run.label, r, g, e.what, e.action});
      }
      model = refit(training, g);
      measure(model, g);
    }
  });
  run.has_values = keep_all;
  run.seconds = ouro::experiments::detail::seconds_since(t0);
  return run;
}

}  // namespace

/// Holds a stepped run for one call; a second call meanwhile (another thread, or the model's own
/// code) raises RuntimeError instead of corrupting the run.
struct run_guard {
  stepped_run& r;
  explicit run_guard(stepped_run& run) : r(run) {
    if (r.busy.exchange(true))
      throw std::runtime_error(
          "this run is in use by another call (another thread, or the model's own code); call "
          "advance(), models(), values() and finish() one at a time");
  }
  ~run_guard() { r.busy.store(false); }
  run_guard(const run_guard&) = delete;
  run_guard& operator=(const run_guard&) = delete;
};

void bind_stepped_run(py::module_& m) {
  py::class_<stepped_run, std::unique_ptr<stepped_run>>(m, "_Run")
      .def_property_readonly("done", &stepped_run::done)
      .def_property_readonly("generation", &stepped_run::generations_done)
      .def_property_readonly("metric_names", &stepped_run::metric_names)
      .def("advance",
           [](stepped_run& r) {
             const run_guard guard(r);
             try {
               py::gil_scoped_release release;
               r.advance();
             } catch (const ouro::run_error& e) {
               if (r.on_error) r.on_error(e);
               throw;
             }
           })
      .def("models",
           [](stepped_run& r) {
             const run_guard guard(r);
             return r.models();
           })
      .def("values",
           [](stepped_run& r) {
             const run_guard guard(r);
             return r.values();
           })
      .def("finish", [](stepped_run& r, const std::string& experiment) {
        const run_guard guard(r);
        py_results out;
        out.res.experiment = experiment;
        {
          py::gil_scoped_release release;
          out.res.runs.push_back(r.finish());
        }
        out.res.seconds = out.res.runs.back().seconds;
        return out;
      });
}

void bind_python_loop(py::module_& m) {
  // the bit generator of the replicates' streams (numpy.random.Generator takes any object with
  // a `capsule` and a `lock`); dynamic_attr so that each thread's object carries its own
  py::class_<py_stream_bits>(m, "_StreamBits", py::dynamic_attr(),
                             "Draws a numpy Generator's numbers from a replicate's stream.")
      .def(py::init<>());
  bind_stepped_run(m);

  m.def(
      "_start",
      [](const py::object& model, const py::object& fit, const py::dict& metrics,
         const py::dict& settings, unsigned threads, const std::string& keep, bool progress,
         const std::string& label, const py::object& schedule) {
        auto s = common_from(settings);
        if (s.samples.size() != 1)
          throw ouro::config_error("samples: a stepped run takes one sample size");
        ouro::experiments::detail::check_common(s);
        const auto p = parts_from(model, fit, metrics);
        const run_control c = control_from(label, threads, keep, progress);
        auto opt = ouro::experiments::detail::options_for(s, s.samples[0], c.setup());
        opt.samples = schedule_from(schedule, s.samples[0]);
        if (!label.empty()) opt.label = label;
        py::gil_scoped_release release;
        return start_run(p, s.regime_choice(), std::move(opt));
      },
      py::arg("model"), py::arg("fit"), py::arg("metrics"), py::arg("settings"), py::arg("threads"),
      py::arg("keep"), py::arg("progress"), py::arg("label"), py::arg("schedule"));

  m.def(
      "_collapse_batched",
      [](const py::object& truth, const py::object& fit, const py::dict& metrics,
         const py::dict& settings, const std::string& keep, const std::string& experiment) {
        auto s = common_from(settings);
        ouro::experiments::detail::check_common(s);
        const py::object f = fit_of(truth, fit);
        const auto [names, fns] = metrics_of(metrics, "numbers");
        const run_control c = control_from(experiment, 1, keep, false);
        py_results out;
        out.res.experiment = experiment;
        out.res.config = s.regime_choice().to_params();
        out.res.config.emplace_back("generations", static_cast<std::int64_t>(s.generations));
        out.res.config.emplace_back("replicates", static_cast<std::int64_t>(s.replicates));
        out.res.config.emplace_back("batched", true);
        const auto stash = std::make_shared<error_stash>();
        const auto t0 = std::chrono::steady_clock::now();
        try {
          for (std::size_t M : s.samples)
            out.res.runs.push_back(run_batched(truth, f, names, fns, s, M, c.keep, stash));
        } catch (const ouro::run_error& e) {
          raise_run_error(e, stash);
        }
        out.res.seconds = ouro::experiments::detail::seconds_since(t0);
        return out;
      },
      py::arg("model"), py::arg("fit"), py::arg("metrics"), py::arg("settings"), py::arg("keep"),
      py::arg("experiment"));

  m.def(
      "_collapse",
      [](const py::object& model, const py::object& fit, const py::dict& metrics,
         const py::dict& settings, unsigned threads, const std::string& keep, bool progress,
         const std::string& experiment, const std::string& checkpoint, bool resume,
         const py::object& schedule) {
        auto s = common_from(settings);
        ouro::experiments::detail::check_common(s);
        const auto p = parts_from(model, fit, metrics);
        const run_control c = control_from(experiment, threads, keep, progress);
        py_results out;
        out.res.experiment = experiment;
        out.res.config = s.regime_choice().to_params();
        out.res.config.emplace_back("generations", static_cast<std::int64_t>(s.generations));
        out.res.config.emplace_back("replicates", static_cast<std::int64_t>(s.replicates));
        const std::string schedule_text = schedule.is_none() ? std::string("constant")
                                          : PyCallable_Check(schedule.ptr())
                                              ? std::string("callable")
                                              : std::string(py::str(schedule));
        out.res.config.emplace_back("schedule", schedule_text);
        out.res.config.emplace_back("metrics", [&] {
          std::string n;
          for (const auto& x : p.metrics.names_) n += (n.empty() ? "" : ",") + x;
          return n;
        }());
        std::optional<ouro::checkpoint_store> store;
        if (!checkpoint.empty()) check_checkpoint_path(checkpoint);
        if (!checkpoint.empty()) {
          std::string fp =
              fmt::format("experiment={}\nmetrics={}\nschedule={}\n", experiment,
                          std::get<std::string>(out.res.config.back().second), schedule_text);
          fp += fmt::format(
              "regime={}\nreal_fraction={}\nreal_source={}\nbudget={}\ngenerations={}\n"
              "replicates={}\nseed={}\nsamples={}\n",
              s.regime, s.real_fraction, s.real_source, s.budget, s.generations, s.replicates,
              s.seed, fmt::join(s.samples, ","));
          try {
            store.emplace(checkpoint, fp, resume, ouro::checkpoint_schedule{1, 0});
          } catch (const ouro::error& e) {
            // the store speaks of the programs' options
            std::string msg = e.what();
            for (const auto& [from, to] :
                 {std::pair<std::string, std::string>{"without --resume", "with resume=False"},
                  {"--resume", "resume=True"}})
              for (auto at = msg.find(from); at != std::string::npos; at = msg.find(from, at))
                msg.replace(at, from.size(), to);
            if (dynamic_cast<const ouro::config_error*>(&e)) throw ouro::config_error(msg);
            if (dynamic_cast<const ouro::io_error*>(&e)) throw ouro::io_error(msg);
            throw ouro::data_error(msg);
          }
        }
        try {
          py::gil_scoped_release release;
          const auto t0 = std::chrono::steady_clock::now();
          for (std::size_t M : s.samples) {
            if (ouro::experiments::detail::interrupted(out.res)) break;
            auto opt = ouro::experiments::detail::options_for(s, M, c.setup());
            {
              py::gil_scoped_acquire gil;
              opt.samples = schedule_from(schedule, M);
            }
            if (store) opt.checkpoint = &*store;
            auto run = start_run(p, s.regime_choice(), std::move(opt));
            out.res.runs.push_back(run_to_end(*run));
          }
          out.res.seconds = ouro::experiments::detail::seconds_since(t0);
        } catch (const ouro::run_error& e) {
          raise_run_error(e, p.stash);
        }
        raise_if_interrupted(c);
        return out;
      },
      py::arg("model"), py::arg("fit"), py::arg("metrics"), py::arg("settings"), py::arg("threads"),
      py::arg("keep"), py::arg("progress"), py::arg("experiment"), py::arg("checkpoint"),
      py::arg("resume"), py::arg("schedule"));
}

}  // namespace ouro_py
