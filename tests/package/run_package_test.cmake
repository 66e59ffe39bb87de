# MODE=find_package: installs the build tree into WORK/prefix, then configures and builds the
# tutorial (examples/custom_model) against it with find_package(ouroboros).
# MODE=add_subdirectory: builds a consumer project that add_subdirectory()s the source tree.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGV}\n${out}\n${err}")
  endif()
endfunction()
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
  run(${CMAKE_COMMAND} -S ${SOURCE}/examples/custom_model -B ${WORK}/build -G ${GENERATOR}
      -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release)
else()
  run(${CMAKE_COMMAND} -S ${SOURCE}/tests/package/subdir_consumer -B ${WORK}/build -G ${GENERATOR}
      -DOUROBOROS_SOURCE=${SOURCE} -DCMAKE_BUILD_TYPE=Release)
endif()
run(${CMAKE_COMMAND} --build ${WORK}/build)
execute_process(COMMAND ${WORK}/build/custom_model WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "collapsed to rate 0" OR NOT EXISTS ${WORK}/results/custom_model.json)
  message(FATAL_ERROR "the consumer program did not run: ${rc} ${out}")
endif()
message(STATUS "${MODE}: consumer built and ran")
