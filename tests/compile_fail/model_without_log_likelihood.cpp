// A model without log_likelihood runs in the loop; a metric that needs it says so in one sentence.
#include "common.hpp"
#include "ouroboros/core/metrics.hpp"
struct model {
  using dataset_type = std::vector<double>;
  dataset_type sample(std::size_t n, ouro::Rng auto&) const { return dataset_type(n); }
};
struct fitter {
  using model_type = model;
  model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{},
                           ouro::metrics::heldout_loglik{std::vector<double>{1.0}}};
  ouro::run_options opt;
  opt.samples = ouro::schedule::constant{2};
  loop.run(std::vector<double>{1.0, 2.0}, opt);
}
