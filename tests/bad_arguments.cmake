# Bad arguments: exit status 2 and one line on stderr that names the option.
# Each case is "arguments separated by |" followed by ">" and the text the message must contain.
set(cases
  "--samples|0>--samples"
  "--generations|0>--generations"
  "--replicates|-3>--replicates"
  "--regime|sideways>--regime"
  "--real-fraction|1.5>--real-fraction"
  "--threads|x>--threads"
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
