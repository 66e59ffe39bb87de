// sample() written for one engine type: told to take any engine.
#include <random>

#include "common.hpp"
struct model {
  using dataset_type = std::vector<double>;
  dataset_type sample(std::size_t n, std::mt19937_64&) const { return dataset_type(n); }
};
struct fitter {
  using model_type = model;
  model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
}
