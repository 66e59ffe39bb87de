// The core layer of Ouroboros: concepts, the collapse loop and its run object, regimes, samplers,
// sample-size schedules, results and summary statistics, random engines and streams, events,
// executors, checkpoint traits and the run_store interface, sweeps of work items, and the closed
// forms of the theory. It needs the standard library, fmt and threads only (CMake target
// ouroboros::core); the I/O layer (ouroboros/io.hpp) and the reference models
// (ouroboros/models.hpp) build on it. See docs/architecture.md.
#pragma once

#include "ouroboros/core/binary.hpp"
#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/dataset.hpp"
#include "ouroboros/core/concepts/distribution.hpp"
#include "ouroboros/core/concepts/fitter.hpp"
#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/core/concepts/regime.hpp"
#include "ouroboros/core/concepts/rng.hpp"
#include "ouroboros/core/concepts/sampler.hpp"
#include "ouroboros/core/engine.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/executor.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/metrics.hpp"
#include "ouroboros/core/model_traits.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/core/real_source.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/core/run.hpp"
#include "ouroboros/core/run_store.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/schedule.hpp"
#include "ouroboros/core/stats.hpp"
#include "ouroboros/core/sweep.hpp"
#include "ouroboros/core/theory.hpp"
#include "ouroboros/core/values.hpp"
#include "ouroboros/core/version.hpp"
