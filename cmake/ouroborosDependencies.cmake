# The dependencies of the requested components of an installed (or exported) Ouroboros, found
# with find_dependency: _ouroboros_comps lists the layers to load, with what they build on. Nothing
# is set in the consumer's scope beyond what find_package itself sets.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(fmt)
if("io" IN_LIST _ouroboros_comps)
  find_dependency(nlohmann_json)
endif()
if("models" IN_LIST _ouroboros_comps)
  find_dependency(xtensor)
  find_dependency(xtensor-blas)
  find_dependency(BLAS)
  find_dependency(LAPACK)
  find_dependency(ZLIB)
endif()
if("mpi" IN_LIST _ouroboros_comps)
  find_dependency(MPI COMPONENTS CXX)
endif()
