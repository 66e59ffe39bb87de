# ouroboros_provenance(<target>): records the git revision of <target>'s sources (git describe
# --always --dirty, at configure time) as the macro OUROBOROS_GIT_DESCRIBE, which the results
# files then carry under provenance.git ("unknown" without git or outside a repository). The build
# type needs nothing: the ouroboros::io target defines OUROBOROS_BUILD_TYPE as the consumer's
# configuration.
function(ouroboros_provenance target)
  get_target_property(_src ${target} SOURCE_DIR)
  set(_describe "unknown")
  find_package(Git QUIET)
  if(GIT_FOUND)
    execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty
      WORKING_DIRECTORY ${_src} OUTPUT_VARIABLE _out RESULT_VARIABLE _rc
      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_rc EQUAL 0 AND _out)
      set(_describe "${_out}")
    endif()
  endif()
  target_compile_definitions(${target} PRIVATE OUROBOROS_GIT_DESCRIBE="${_describe}")
endfunction()
