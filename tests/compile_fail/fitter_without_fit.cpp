#include "common.hpp"
struct fitter {
  using model_type = good_model;
  good_model train(const std::vector<double>&) const { return {}; }
};
int main() {
  ouro::collapse_loop loop{fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
}
