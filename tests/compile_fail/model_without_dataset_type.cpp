#include "common.hpp"
struct model {
  std::vector<double> sample(std::size_t n, ouro::Rng auto&) const {
    return std::vector<double>(n);
  }
  double log_likelihood(const std::vector<double>&) const { return 0; }
};
struct fitter {
  using model_type = model;
  model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
}
