#include "common.hpp"
struct model {
  using dataset_type = std::vector<double>;
  dataset_type sample(std::size_t n, ouro::Rng auto&) const { return dataset_type(n); }
};
struct fitter {
  using model_type = model;
  model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
}
