# Installs the Python package (cmake --install --component python) into a scratch prefix and
# imports it from another folder with a Python that knows nothing of the build; checks that the
# default prefix's folder (/usr/local) is one Debian's python3 searches.
#   cmake -DBUILD=<build dir> -DPYTHON=<python3> -DWORK=<scratch dir> -P python_install.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/elsewhere)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --component python --prefix ${WORK}/prefix
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install --component python failed")
endif()
file(GLOB_RECURSE init ${WORK}/prefix/*.py)
list(FILTER init INCLUDE REGEX "/ouroboros/__init__\\.py$")
if(NOT init)
  message(FATAL_ERROR "no ouroboros/__init__.py under ${WORK}/prefix")
endif()
get_filename_component(pkg ${init} DIRECTORY)
get_filename_component(site ${pkg} DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${site} PYTHONDONTWRITEBYTECODE=1
  ${PYTHON} -c "import ouroboros, os; r = ouroboros.gaussian_collapse(samples=[20], generations=5, replicates=50, seed=7); d = r.to_pandas(); assert len(d) == 30, len(d); assert ouroboros.__file__.startswith(os.environ['PYTHONPATH']); print('ok', ouroboros.__version__, len(d), 'rows')"
  WORKING_DIRECTORY ${WORK}/elsewhere RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the installed package does not import: ${err}")
endif()
message(STATUS "${out}")
# where a default install goes must be on the interpreter's path
string(REPLACE "${WORK}/prefix" "/usr/local" default_site "${site}")
execute_process(COMMAND ${PYTHON} -c "import sys; print('\\n'.join(sys.path))" OUTPUT_VARIABLE paths)
string(FIND "${paths}" "${default_site}\n" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${default_site} (the default install) is not on ${PYTHON}'s path:\n${paths}")
endif()
message(STATUS "the default install, ${default_site}, is on ${PYTHON}'s path")
