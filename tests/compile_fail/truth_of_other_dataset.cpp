// A truth whose dataset type is not the model's: both types named, one sentence.
#include "common.hpp"
struct counts {
  using dataset_type = std::vector<int>;
  dataset_type sample(std::size_t n, ouro::Rng auto&) const { return dataset_type(n); }
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, ouro::regime::replace{}};
  ouro::run_options opt;
  opt.samples = ouro::schedule::constant{2};
  loop.run(ouro::from_truth(counts{}), opt);
}
