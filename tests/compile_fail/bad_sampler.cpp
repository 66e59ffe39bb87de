#include "common.hpp"
struct sampler {
  std::vector<int> operator()(const good_model&, std::size_t n, ouro::Rng auto&) const {
    return std::vector<int>(n);
  }
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, sampler{}, ouro::regime::replace{}};
}
