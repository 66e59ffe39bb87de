// Reads points and initial responsibilities (text: "n d K", n rows of x, n rows of
// responsibilities), runs a fixed number of EM iterations from them (tol 0) and prints the
// fitted weights, means and covariances as JSON. Used by gmm_parity.py.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ouroboros/models/gmm_em.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: gmm_parity_runner INPUT ITERATIONS REG_COVAR\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::size_t n = 0, d = 0, K = 0;
  if (!(in >> n >> d >> K) || n == 0 || d == 0 || K == 0) {
    std::fprintf(stderr, "gmm_parity_runner: cannot read the header of %s\n", argv[1]);
    return 1;
  }
  xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({n, d});
  xt::xtensor<double, 2> r = xt::xtensor<double, 2>::from_shape({n, K});
  for (auto& v : x) in >> v;
  for (auto& v : r) in >> v;
  if (!in) {
    std::fprintf(stderr, "gmm_parity_runner: %s is truncated\n", argv[1]);
    return 1;
  }
  ouro::models::gmm_fitter<> fit;
  fit.components = K;
  fit.tol = 0.0;
  fit.max_iter = std::stoul(argv[2]);
  fit.reg_covar = std::stod(argv[3]);
  ouro::event_log log;
  const auto m = fit.fit_from_responsibilities(x, r, log);
  nlohmann::json j;
  j["weights"] = m.weights();
  j["means"] = nlohmann::json::array();
  j["covariances"] = nlohmann::json::array();
  for (std::size_t k = 0; k < K; ++k) {
    j["means"].push_back(std::vector<double>(m.mean(k).begin(), m.mean(k).end()));
    nlohmann::json c = nlohmann::json::array();
    for (std::size_t i = 0; i < d; ++i) {
      std::vector<double> row(d);
      for (std::size_t jj = 0; jj < d; ++jj) row[jj] = m.covariance(k)(i, jj);
      c.push_back(row);
    }
    j["covariances"].push_back(c);
  }
  j["iterations"] = m.report().iterations;
  j["lower_bound"] = m.report().lower_bound;
  std::cout << j.dump() << "\n";
}
