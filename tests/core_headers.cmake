# The core layer needs the standard library, fmt and threads only: the headers that
# ouroboros/core.hpp and every header under include/ouroboros/core/ pull in (the preprocessor's
# dependency list) must not include xtensor, xtensor-blas, nlohmann_json, zlib, BLAS/LAPACK or the
# POSIX file headers. (tests/test_run.cpp compiles core.hpp on its own, linked with
# ouroboros::core only.)
#   cmake -DCXX=<compiler> -DINCLUDE=<include dir> -DFMT_INCLUDE=<dir or empty> -P core_headers.cmake
file(GLOB_RECURSE headers RELATIVE ${INCLUDE} ${INCLUDE}/ouroboros/core/*.hpp)
list(APPEND headers ouroboros/core.hpp)
set(bad "xtensor|nlohmann|zlib\\.h|cblas|lapack|/fcntl\\.h|sys/stat\\.h|sys/file\\.h|ouroboros/(io|models)/")
set(flags -std=c++20 -I${INCLUDE})
if(FMT_INCLUDE)
  list(APPEND flags -I${FMT_INCLUDE})
endif()
set(failed "")
foreach(h ${headers})
  file(WRITE ${WORK}/one.cpp "#include \"${h}\"\n")
  execute_process(COMMAND ${CXX} ${flags} -M ${WORK}/one.cpp
    RESULT_VARIABLE rc OUTPUT_VARIABLE deps ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${h}: the preprocessor failed:\n${err}")
    continue()
  endif()
  string(REGEX MATCHALL "[^ \\\\\n]*(${bad})[^ \\\\\n]*" found "${deps}")
  if(found)
    list(REMOVE_DUPLICATES found)
    message(SEND_ERROR "${h} pulls in: ${found}")
    list(APPEND failed ${h})
  endif()
endforeach()
list(LENGTH headers n)
if(failed)
  message(FATAL_ERROR "core headers with heavy dependencies: ${failed}")
endif()
message(STATUS "${n} core headers: standard library, fmt and threads only")
