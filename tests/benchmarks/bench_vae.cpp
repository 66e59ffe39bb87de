// Benchmark: training the classic MNIST VAE (784-400-20, Adam 1e-3, batch 128) on the 10,000
// digits of scripts/fetch_data.sh mnist DIR, as tests/benchmarks/peers/vae_torch.py --G 0 does
// (tests/benchmarks/vae_vs_torch.sh runs both). Prints one JSON line: seconds_per_epoch (median
// over the epochs), the GEMM work per epoch and the rate achieved (gflops), the single-precision
// GEMM peak measured here with the same BLAS threads (sgemm_peak_gflops), and the negative ELBO
// per digit after training (one z per digit).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "ouroboros/models/idx.hpp"
#include "ouroboros/models/vae.hpp"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

int main(int argc, char** argv) {
  CLI::App app{"bench_vae: seconds per training epoch of the MNIST VAE"};
  std::string data = "data/mnist";
  std::size_t epochs = 10, batch = 128, threads = 2, hidden = 400, latent = 20;
  app.add_option("--data", data, "Folder with mnist10k-images-idx3-ubyte");
  app.add_option("--epochs", epochs, "Training epochs")->check(CLI::Range(1, 1000));
  app.add_option("--batch", batch, "Minibatch size")->check(CLI::Range(1, 100000));
  app.add_option("--threads", threads, "BLAS threads")->check(CLI::Range(1, 256));
  app.add_option("--hidden", hidden, "Hidden units")->check(CLI::Range(1, 100000));
  app.add_option("--latent", latent, "Latent dimensions")->check(CLI::Range(1, 10000));
  CLI11_PARSE(app, argc, argv);
  if (openblas_set_num_threads) openblas_set_num_threads(static_cast<int>(threads));
  using namespace ouro;
  using clock = std::chrono::steady_clock;
  try {
    const auto set =
        io::read_mnist(data + "/mnist10k-images-idx3-ubyte", data + "/mnist10k-labels-idx1-ubyte");
    const std::size_t n = set.size(), D = set.images.shape()[1];
    // the GEMM work of one epoch: 4 products forward, 7 backward, per batch of b rows
    const double H = static_cast<double>(hidden), L = static_cast<double>(latent),
                 Dd = static_cast<double>(D);
    // forward 4DH + 6LH (X W1', H1 W2', Z W3', H3 W4'), backward 6DH + 12LH
    const double per_row = 10 * Dd * H + 18 * L * H;
    const double flops = per_row * static_cast<double>(n);
    std::vector<double> times;
    auto last = clock::now();
    models::vae_fitter<float> fit;
    fit.shape = {D, hidden, latent};
    fit.epochs = epochs;
    fit.batch = batch;
    fit.on_epoch = [&](std::size_t, double) {
      const auto now = clock::now();
      times.push_back(std::chrono::duration<double>(now - last).count());
      last = now;
    };
    default_rng g(0);
    event_log log;
    last = clock::now();
    const auto m = fit.fit(set.images, g, log);
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    default_rng ge(12345);
    const double nelbo = m.negative_elbo(set.images, ge) / static_cast<double>(n);
    // sgemm peak: 1024^3 products, best of 5
    const std::size_t P = 1024;
    xt::xtensor<float, 2> A = xt::xtensor<float, 2>::from_shape({P, P}), B = A, C = A;
    for (std::size_t i = 0; i < A.size(); ++i)
      A.data()[i] = static_cast<float>(i % 7) * 0.1f,
      B.data()[i] = static_cast<float>(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = clock::now();
      xt::blas::gemm(A, B, C, false, false, 1.0f, 0.0f);
      best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count());
    }
    const double peak = 2.0 * P * P * P / best / 1e9;
    const nlohmann::json out{{"digits", n},
                             {"epochs", epochs},
                             {"batch", batch},
                             {"threads", threads},
                             {"seconds_per_epoch", median},
                             {"epoch_seconds", times},
                             {"gemm_gflop_per_epoch", flops / 1e9},
                             {"gflops", flops / median / 1e9},
                             {"sgemm_peak_gflops", peak},
                             {"share_of_peak", flops / median / 1e9 / peak},
                             {"neg_elbo_per_digit", nelbo}};
    fmt::print("{}\n", out.dump());
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_vae: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
