// The whole library: the core (ouroboros/core.hpp), the I/O layer (ouroboros/io.hpp) and the
// reference models (ouroboros/models.hpp); CMake target ouroboros::ouroboros. Include a layer's
// header, or single headers, to compile faster and link less. MPI sweeps are in
// ouroboros/mpi.hpp (target ouroboros::mpi). See docs/architecture.md.
#pragma once

#include "ouroboros/core.hpp"
#include "ouroboros/io.hpp"
#include "ouroboros/models.hpp"
