// A run that Python steps generation by generation (ouroboros.start, ouroboros.start_loop): the
// collapse_run of any loop behind one interface, bound once as ouroboros._ouroboros._Run.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace ouro_py {

/// A stepped run. One call at a time: a second thread, or a model's own code, that calls it
/// while it advances gets an error (run_guard).
class stepped_run {
 public:
  std::atomic<bool> busy{false};
  /// Called with a replicate's failure before it goes on to Python (the Python loop raises it
  /// from the model's own exception).
  std::function<void(const ouro::run_error&)> on_error;
  virtual ~stepped_run() = default;
  virtual bool done() const = 0;
  virtual std::size_t generations_done() const = 0;
  virtual void advance() = 0;
  virtual py::list models() const = 0;
  virtual py::array_t<double> values() const = 0;
  virtual std::vector<std::string> metric_names() const = 0;
  virtual ouro::run_result finish() = 0;
};

/// A model as Python sees it: a copy of a bound C++ model (a Python model's loop overloads it).
template <class M>
py::object model_to_python(const M& m) {
  return py::cast(m);
}

/// The run of `Loop` on `Source`; the loop lives with it (the run refers to it).
template <class Loop, class Source>
class stepped_run_of final : public stepped_run {
 public:
  stepped_run_of(Loop loop, Source source, ouro::run_options opt)
      : loop_(std::make_unique<Loop>(std::move(loop))),
        run_(loop_->start(std::move(source), std::move(opt))) {}
  bool done() const override { return run_.done(); }
  std::size_t generations_done() const override { return run_.generations_done(); }
  void advance() override { run_.advance(); }
  py::list models() const override {
    py::list out;
    for (const auto* m : run_.models()) out.append(m ? model_to_python(*m) : py::none());
    return out;
  }
  py::array_t<double> values() const override {
    const auto v = run_.values();
    const auto K = static_cast<py::ssize_t>(run_.metric_names().size());
    py::array_t<double> a({K ? static_cast<py::ssize_t>(v.size()) / K : 0, K});
    std::copy(v.begin(), v.end(), a.mutable_data());
    return a;
  }
  std::vector<std::string> metric_names() const override { return run_.metric_names(); }
  ouro::run_result finish() override { return std::move(run_).finish(); }

 private:
  std::unique_ptr<Loop> loop_;
  ouro::collapse_run<Loop, Source> run_;
};

/// Binds stepped_run as _Run (once, in the module).
void bind_stepped_run(py::module_& m);

}  // namespace ouro_py
