# Package tests: consumers built against Ouroboros the three ways a project can use it.
# MODE=find_package: installs the build tree into WORK/prefix, then builds one consumer per layer
#   with find_package(ouroboros COMPONENTS ...): the embedding example (core: it must configure
#   without looking for xtensor, nlohmann_json or BLAS), the tutorial (io) and
#   tests/package/models_consumer (models); each one runs.
# MODE=build_tree: the embedding example against the build tree's export (-Douroboros_DIR=BUILD).
# MODE=add_subdirectory: a consumer project that add_subdirectory()s the source tree.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGV}\n${out}\n${err}")
  endif()
endfunction()
# consumer NAME SOURCE_DIR EXPECTED_OUTPUT_REGEX [cmake arguments...]: configures, builds, runs
function(consumer name src regex)
  run(${CMAKE_COMMAND} -S ${src} -B ${WORK}/${name} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
      ${ARGN})
  run(${CMAKE_COMMAND} --build ${WORK}/${name})
  execute_process(COMMAND ${WORK}/${name}/${name} WORKING_DIRECTORY ${WORK}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "${regex}")
    message(FATAL_ERROR "the consumer ${name} did not run as expected: ${rc}\n${out}\n${err}")
  endif()
  message(STATUS "${name}: built and ran")
endfunction()
# the core consumer must not have looked for the heavy dependencies
function(check_core_only name)
  file(STRINGS ${WORK}/${name}/CMakeCache.txt heavy
    REGEX "^(xtensor_DIR|xtensor-blas_DIR|nlohmann_json_DIR|BLAS_[A-Za-z_]*LIBRARIES|ZLIB_LIBRARY)")
  if(heavy)
    message(FATAL_ERROR "find_package(ouroboros COMPONENTS core) looked for: ${heavy}")
  endif()
endfunction()

if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
  set(prefix -DCMAKE_PREFIX_PATH=${WORK}/prefix)
  consumer(embedding ${SOURCE}/examples/embedding "identical to loop.run\\(\\): yes" ${prefix})
  check_core_only(embedding)
  consumer(custom_model ${SOURCE}/examples/custom_model "collapsed to rate 0" ${prefix})
  if(NOT EXISTS ${WORK}/results/custom_model_results.json)
    message(FATAL_ERROR "the tutorial wrote no results")
  endif()
  consumer(models_consumer ${SOURCE}/tests/package/models_consumer "models consumer: ok" ${prefix})
elseif(MODE STREQUAL "build_tree")
  consumer(embedding ${SOURCE}/examples/embedding "identical to loop.run\\(\\): yes"
    -Douroboros_DIR=${BUILD})
  check_core_only(embedding)
else()
  consumer(custom_model ${SOURCE}/tests/package/subdir_consumer "collapsed to rate 0"
    -DOUROBOROS_SOURCE=${SOURCE})
endif()
