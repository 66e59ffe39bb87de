#include "common.hpp"
struct metric {
  double operator()(const ouro::generation_context<good_model>&) const { return 0.0; }
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{},
                           metric{}};
}
