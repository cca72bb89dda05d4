# AGORA_SANITIZE = none | address,undefined | thread (nng's NNG_SANITIZER).
add_library(agora_sanitize INTERFACE)
if(NOT AGORA_SANITIZE STREQUAL "none" AND NOT AGORA_SANITIZE STREQUAL "")
	target_compile_options(agora_sanitize INTERFACE
		-fsanitize=${AGORA_SANITIZE} -fno-omit-frame-pointer
		-fno-sanitize-recover=all)
	target_link_options(agora_sanitize INTERFACE
		-fsanitize=${AGORA_SANITIZE})
	# Tests that read sanitizer reports from logs claim so only then.
	target_compile_definitions(agora_sanitize INTERFACE AGORA_SANITIZED=1)
endif()
