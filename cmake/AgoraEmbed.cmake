# agora_embed(OUT VAR FILE): turn a text file (a Lua script) into a C file
# defining `const char VAR[]`, so scripts stay readable as .lua files.
function(agora_embed out var file)
	add_custom_command(OUTPUT ${out}
		COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DVAR=${var}
			-P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
		DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
		VERBATIM)
endfunction()
