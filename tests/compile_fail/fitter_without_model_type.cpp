#include "common.hpp"
struct fitter {
  good_model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
}
