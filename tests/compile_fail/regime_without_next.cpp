#include "common.hpp"
struct regime {
  template <class D>
  struct state {};
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, regime{}};
}
