// Something that is not real data at all passed to start.
#include "common.hpp"
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
  ouro::run_options opt;
  opt.samples = ouro::schedule::constant{2};
  auto run = loop.start(42, opt);
}
