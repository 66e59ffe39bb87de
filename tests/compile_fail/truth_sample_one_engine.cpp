// A truth whose sample() takes one engine type: one sentence from from_truth, nothing more.
#include <random>

#include "common.hpp"
struct truth {
  using dataset_type = std::vector<double>;
  dataset_type sample(std::size_t n, std::mt19937_64&) const { return dataset_type(n); }
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
  ouro::run_options opt;
  opt.samples = ouro::schedule::constant{2};
  loop.run(ouro::from_truth(truth{}), opt);
}
