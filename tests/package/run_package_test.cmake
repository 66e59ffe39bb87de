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

# the results file names the seed it was given, the threads and the start time by itself
function(check_provenance json seed)
  file(READ ${json} j)
  string(JSON got GET "${j}" provenance seed)
  string(JSON threads GET "${j}" provenance threads)
  string(JSON started GET "${j}" provenance started)
  string(JSON build GET "${j}" provenance build_type)
  if(NOT got EQUAL seed OR threads LESS 1 OR NOT started MATCHES "^20[0-9][0-9]-" OR
     NOT build STREQUAL "Release")
    message(FATAL_ERROR "${json}: provenance seed ${got} (want ${seed}), threads ${threads}, "
      "started '${started}', build_type '${build}'")
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
  check_provenance(${WORK}/results/custom_model_results.json 7)
  find_program(gnuplot gnuplot)
  if(gnuplot AND NOT EXISTS ${WORK}/results/custom_model.png)
    message(FATAL_ERROR "the tutorial drew no figure although gnuplot is installed")
  endif()
  consumer(conditional_model ${SOURCE}/examples/conditional_model "largest" ${prefix})
  # the README's example, copied as it stands into a project of its own
  file(READ ${SOURCE}/README.md readme)
  string(FIND "${readme}" "```cpp\n" at)
  math(EXPR at "${at} + 7")
  string(SUBSTRING "${readme}" ${at} -1 rest)
  string(FIND "${rest}" "```" end)
  string(SUBSTRING "${rest}" 0 ${end} code)
  file(WRITE ${WORK}/readme_src/readme_example.cpp "${code}")
  file(WRITE ${WORK}/readme_src/CMakeLists.txt [[
cmake_minimum_required(VERSION 3.21)
project(readme_example LANGUAGES CXX)
find_package(ouroboros REQUIRED)
add_executable(readme_example readme_example.cpp)
target_link_libraries(readme_example PRIVATE ouroboros::ouroboros)
]])
  consumer(readme_example ${WORK}/readme_src "" ${prefix})
  check_provenance(${WORK}/results/my_experiment_results.json 42)
  consumer(models_consumer ${SOURCE}/tests/package/models_consumer "models consumer: ok" ${prefix})
elseif(MODE STREQUAL "build_tree")
  consumer(embedding ${SOURCE}/examples/embedding "identical to loop.run\\(\\): yes"
    -Douroboros_DIR=${BUILD})
  check_core_only(embedding)
else()
  consumer(custom_model ${SOURCE}/tests/package/subdir_consumer "collapsed to rate 0"
    -DOUROBOROS_SOURCE=${SOURCE})
endif()
