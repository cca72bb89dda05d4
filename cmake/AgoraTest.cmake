# agora_test(NAME SOURCE LABELS...): one cmocka executable, one ctest entry.
# Each has the watchdog (tests/support/watchdog.c): 10 s before ctest's
# TIMEOUT it prints the stack of each thread of a hung test. A test
# given a longer TIMEOUT sets AGORA_TEST_WATCHDOG_S to match.
function(agora_test name src)
	add_executable(${name} ${src}
		${PROJECT_SOURCE_DIR}/tests/support/watchdog.c)
	target_link_libraries(${name} PRIVATE agora_testsupport)
	add_test(NAME ${name} COMMAND ${name})
	set_tests_properties(${name} PROPERTIES TIMEOUT 120 LABELS "${ARGN}"
		ENVIRONMENT "AGORA_BIN=$<TARGET_FILE:agora>;AGORA_SRC=${PROJECT_SOURCE_DIR};AGORA_FAKE_LLM=$<TARGET_FILE:fake_llm>;AGORA_PLUGIN=$<TARGET_FILE:tally_plugin>;AGORA_MARKER_PLUGIN=$<TARGET_FILE:marker_plugin>;AGORA_TEST_WATCHDOG_S=110")
endfunction()
