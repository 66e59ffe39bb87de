# Bad arguments: exit status 2 and one line on stderr that names the option.
# Each case is "arguments separated by |" followed by ">" and the text the message must contain.
set(cases
  "--samples|0>--samples"
  "--generations|0>--generations"
  "--replicates|-3>--replicates"
  "--regime|sideways>--regime"
  "--real-fraction|1.5>--real-fraction"
  "--threads|x>--threads"
  "--checkpoint-every|-1>--checkpoint-every"
  "--checkpoint-interval|-5>--checkpoint-interval"
  "--resume|--checkpoint-every|0>--resume"
  "--no-such-option>no-such-option")
# -DEXTRA="case;case": a program's own cases
if(EXTRA)
  list(APPEND cases ${EXTRA})
endif()
foreach(case IN LISTS cases)
  string(FIND "${case}" ">" gt)
  string(SUBSTRING "${case}" 0 ${gt} argtext)
  math(EXPR after "${gt} + 1")
  string(SUBSTRING "${case}" ${after} -1 expect)
  string(REPLACE "|" ";" args "${argtext}")
  execute_process(COMMAND ${PROGRAM} ${args} --out ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "'${argtext}': exit status ${rc}, expected 2")
  endif()
  string(STRIP "${err}" e)
  string(FIND "${e}" "\n" nl)
  if(NOT nl EQUAL -1)
    message(FATAL_ERROR "'${argtext}': error message is more than one line: ${err}")
  endif()
  string(FIND "${e}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "'${argtext}': error message does not name ${expect}: ${err}")
  endif()
  message(STATUS "'${argtext}' -> ${e}")
endforeach()

# an unknown OUROBOROS_SIMD (the instruction-set cap): exit status 2, one line naming it
execute_process(COMMAND ${CMAKE_COMMAND} -E env OUROBOROS_SIMD=sse9 ${PROGRAM} --out ${OUT}
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
string(STRIP "${err}" e)
if(NOT rc EQUAL 2 OR NOT e MATCHES "^[^\n]*OUROBOROS_SIMD is 'sse9'[^\n]*$")
  message(FATAL_ERROR "OUROBOROS_SIMD=sse9: exit status ${rc}, message ${err}")
endif()
message(STATUS "OUROBOROS_SIMD=sse9 -> ${e}")

# --resume with other options than the checkpoint's: exit status 2, naming the option that
# differs; a damaged checkpoint: exit status 1, saying so. (-DNO_RESUME_CASES=ON for programs
# that cannot run here: they need data.)
if(NO_RESUME_CASES)
  return()
endif()
set(ck ${OUT}_resume)
file(REMOVE_RECURSE ${ck})
execute_process(COMMAND ${PROGRAM} --quick --generations 3 --no-plot --out ${ck}
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the run before the resume cases failed: ${rc}")
endif()
execute_process(COMMAND ${PROGRAM} --quick --generations 4 --no-plot --resume --out ${ck}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "other settings.*generations=3.*generations=4")
  message(FATAL_ERROR "--resume with other options: exit status ${rc}, message ${err}")
endif()
message(STATUS "--resume with other options -> ${err}")
file(GLOB ckpt ${ck}/*.ckpt)
execute_process(COMMAND truncate -s -100 ${ckpt})  # the last 100 bytes lost
execute_process(COMMAND ${PROGRAM} --quick --generations 3 --no-plot --resume --out ${ck}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "checkpoint")
  message(FATAL_ERROR "--resume from a damaged checkpoint: exit status ${rc}, message ${err}")
endif()
message(STATUS "--resume from a damaged checkpoint -> ${err}")
