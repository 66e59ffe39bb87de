// The experiments of the programs gaussian_collapse, categorical_collapse, kde_collapse and
// linreg_collapse, bound to Python through ouroboros/experiments/ (the functions the programs
// call, so the numbers are the programs' to the last bit).
#include "bindings.hpp"
#include "ouroboros/experiments/categorical.hpp"
#include "ouroboros/experiments/gaussian.hpp"
#include "ouroboros/experiments/kde.hpp"
#include "ouroboros/experiments/linreg.hpp"

namespace ouro_py {

void bind_simple_experiments(py::module_& m) {
  namespace ex = ouro::experiments;
  {
    using S = ex::gaussian_settings;
    auto f = common_fields<S>();
    f.push_back(make_field("estimator", &S::estimator));
    f.push_back(make_field("variance_floor", &S::variance_floor));
    f.push_back(make_field("exact", &S::exact));
    bind_experiment<S>(
        m, "gaussian_collapse", f,
        [](const S& s, const ex::run_setup& setup, py_results& out) {
          out.res = ex::gaussian_collapse(s, setup);
        },
        ex::gaussian_figure());
  }
  {
    using S = ex::categorical_settings;
    auto f = common_fields<S>();
    f.push_back(make_field("probs", &S::probs));
    f.push_back(make_field("zipf", &S::zipf));
    f.push_back(make_field("pseudocount", &S::pseudocount));
    f.push_back(make_field("exact", &S::exact));
    bind_experiment<S>(
        m, "categorical_collapse", f,
        [](const S& s, const ex::run_setup& setup, py_results& out) {
          out.res = ex::categorical_collapse(s, setup);
        },
        ex::categorical_figure(), ex::categorical_rules());
  }
  {
    using S = ex::kde_settings;
    auto f = common_fields<S>();
    f.push_back(make_field("bandwidth", &S::bandwidth));
    bind_experiment<S>(
        m, "kde_collapse", f,
        [](const S& s, const ex::run_setup& setup, py_results& out) {
          out.res = ex::kde_collapse(s, setup);
        },
        ex::kde_figure());
  }
  {
    using S = ex::linreg_settings;
    auto f = common_fields<S>();
    f.push_back(make_field("dim", &S::dim));
    f.push_back(make_field("rows", &S::rows));
    f.push_back(make_field("noise", &S::noise));
    f.push_back(make_field("ridge", &S::ridge));
    bind_experiment<S>(
        m, "linreg_collapse", f,
        [](const S& s, const ex::run_setup& setup, py_results& out) {
          out.res = ex::linreg_collapse(s, setup);
        },
        ex::linreg_figure());
  }
}

}  // namespace ouro_py
