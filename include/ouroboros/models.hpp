// The reference models of Ouroboros and their metrics: the 1-D Gaussian and the categorical
// (standard library only), the multivariate Gaussian and the Gaussian mixture with EM
// (xtensor), the n-gram language model (Kneser-Ney) with its decoders, and the VAE (xtensor,
// xtensor-blas, BLAS); the data readers they use (IDX images with zlib, text corpora). CMake
// target ouroboros::models. See docs/models.md and docs/architecture.md.
#pragma once

#include "ouroboros/core.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/categorical_exact.hpp"
#include "ouroboros/models/corpus.hpp"
#include "ouroboros/models/dataset_xtensor.hpp"
#include "ouroboros/models/figures.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gaussian_exact.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/idx.hpp"
#include "ouroboros/models/kde.hpp"
#include "ouroboros/models/linear_regression.hpp"
#include "ouroboros/models/metrics/categorical.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"
#include "ouroboros/models/metrics/gmm.hpp"
#include "ouroboros/models/metrics/mv_gaussian.hpp"
#include "ouroboros/models/metrics/ngram.hpp"
#include "ouroboros/models/metrics/vae.hpp"
#include "ouroboros/models/mv_gaussian.hpp"
#include "ouroboros/models/ngram.hpp"
#include "ouroboros/models/ngram_decode.hpp"
#include "ouroboros/models/vae.hpp"
