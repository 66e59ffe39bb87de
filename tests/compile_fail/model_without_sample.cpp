#include "common.hpp"
struct model {
  using dataset_type = std::vector<double>;
  double log_likelihood(const dataset_type&) const { return 0; }
};
struct fitter {
  using model_type = model;
  model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
}
