#include "common.hpp"
struct regime {
  template <class D, class Ctx>
  D next(int&, Ctx& ctx) const {
    return ctx.synthetic(ctx.samples());
  }
};
int main() {
  ouro::collapse_loop loop{good_fitter{}, ouro::sample::ancestral{}, regime{}};
}
