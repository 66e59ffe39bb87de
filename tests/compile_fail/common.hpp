// Pieces shared by the compile-fail tests: a valid model, fitter, sampler, regime and metric, so
// that each test breaks exactly one requirement.
#pragma once
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"

struct good_model {
  using dataset_type = std::vector<double>;
  dataset_type sample(std::size_t n, ouro::Rng auto&) const { return dataset_type(n, 0.0); }
  double log_likelihood(const dataset_type&) const { return 0.0; }
};
struct good_fitter {
  using model_type = good_model;
  good_model fit(const std::vector<double>&, ouro::Rng auto&) const { return {}; }
};
struct good_metric {
  std::string name() const { return "zero"; }
  double operator()(const ouro::generation_context<good_model>&) const { return 0.0; }
};
