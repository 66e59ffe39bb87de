// ouro::mpi::run_items under mpirun, with one and two threads per rank: every item's result comes
// back to rank 0 in item order, and a failure on any rank (a worker rank, or rank 0's own
// workers) ends the work on every rank with the failure's message instead of a hang. Prints one
// line per rank; exits 0 when all is well.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "ouroboros/mpi.hpp"

int main(int argc, char** argv) {
  ouro::mpi::environment env(argc, argv);
  const int rank = env.rank();
  for (unsigned threads : {1u, 2u}) {
    ouro::mpi::distribute_options opt;
    opt.threads = threads;
    // 1. results in item order, whoever ran them
    const auto r = ouro::mpi::run_items(
        60,
        [](std::size_t i) {
          std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 7)));
          return std::to_string(i * i);
        },
        opt);
    if (rank == 0)
      for (std::size_t i = 0; i < 60; ++i)
        if (r.at(i) != std::to_string(i * i)) {
          std::printf("rank 0: item %zu came back as '%s'\n", i, r[i].c_str());
          return 3;
        }
    // 2. failures: on a worker rank, then on rank 0's own thread; each must reach every rank
    struct mode {
      const char* name;
      int failing_rank;
    };
    for (const mode m : {mode{"worker", 1}, mode{"root", 0}}) {
      if (m.failing_rank >= env.size()) continue;
      try {
        (void)ouro::mpi::run_items(
            200,
            [&](std::size_t i) {
              std::this_thread::sleep_for(std::chrono::microseconds(300));
              if (rank == m.failing_rank && i >= 5)
                throw std::runtime_error(std::string("boom in ") + m.name);
              return std::string("x");
            },
            opt);
        std::printf("rank %d: %s failure: no exception\n", rank, m.name);
        return 4;
      } catch (const ouro::run_error& e) {
        const std::string what = e.what();
        if (what.find(std::string("boom in ") + m.name) == std::string::npos ||
            what.find("on rank " + std::to_string(m.failing_rank)) == std::string::npos) {
          std::printf("rank %d: %s failure: wrong message '%s'\n", rank, m.name, what.c_str());
          return 5;
        }
      }
    }
  }
  std::printf("rank %d of %d: ordered results and both failures reported\n", rank, env.size());
  return 0;
}
