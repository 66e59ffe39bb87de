// The I/O layer of Ouroboros: results files (JSON and tidy CSV, written atomically), checkpoint
// files (checkpoint_store, the file-backed run_store), sweep journals, output-folder locks and
// safe file reading. It needs the core, nlohmann_json and POSIX (CMake target ouroboros::io).
// See docs/architecture.md.
#pragma once

#include "ouroboros/core.hpp"
#include "ouroboros/io/atomic_file.hpp"
#include "ouroboros/io/checkpoint_store.hpp"
#include "ouroboros/io/item_journal.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/io/progress.hpp"
#include "ouroboros/io/read_file.hpp"
#include "ouroboros/io/results_io.hpp"
#include "ouroboros/io/results_read.hpp"
