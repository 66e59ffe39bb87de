// The truth passed without from_truth: told to wrap it.
#include "common.hpp"
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
  ouro::run_options opt;
  opt.samples = ouro::schedule::constant{2};
  loop.run(good_model{}, opt);
}
