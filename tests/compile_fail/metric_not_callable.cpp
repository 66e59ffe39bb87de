#include "common.hpp"
struct metric {
  std::string name() const { return "m"; }
  double operator()(int) const { return 0.0; }
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{},
                           metric{}};
}
