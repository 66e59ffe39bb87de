// The experiment of the program gmm_collapse, bound to Python through
// ouroboros/experiments/gmm.hpp; the snapshots of replicate 0 go into the results JSON as the
// program writes them.
#include "bindings.hpp"
#include "ouroboros/experiments/gmm.hpp"

namespace ouro_py {

void bind_gmm_experiment(py::module_& m) {
  namespace ex = ouro::experiments;
  using S = ex::gmm_settings;
  auto f = common_fields<S>();
  f.push_back(make_field("components", &S::components));
  f.push_back(make_field("covariance", &S::covariance));
  f.push_back(make_field("reg_covar", &S::reg_covar));
  f.push_back(make_field("init", &S::init));
  f.push_back(make_field("tol", &S::tol));
  f.push_back(make_field("max_iter", &S::max_iter));
  f.push_back(make_field("n_init", &S::n_init));
  f.push_back(make_field("truth", &S::truth));
  f.push_back(make_field("truncate", &S::truncate));
  bind_experiment<S>(
      m, "gmm_collapse", f,
      [](const S& s, const ex::run_setup& setup, py_results& out) {
        auto snaps = std::make_shared<std::vector<ouro::models::gmm_snapshot>>();
        out.res = ex::gmm_collapse(s, setup, snaps.get());
        out.extra["snapshots"] = nlohmann::json::array();
        for (const auto& sn : *snaps) out.extra["snapshots"].push_back(ouro::models::to_json(sn));
        // the program's files: no theory, the summary figure and the contours of replicate 0
        out.theory_file = false;
        out.figure_file = "gmm_sample_size_comparison.png";
        out.more_figures = [snaps](const std::filesystem::path& dir) {
          return ex::gmm_contours(*snaps, dir);
        };
      },
      ex::gmm_figure());
  m.def("gmm_metric_names", &ex::gmm_metric_names);
}

}  // namespace ouro_py
