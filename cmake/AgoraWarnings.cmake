# The warning set of STYLE.md 2.13, in one interface target.
add_library(agora_warnings INTERFACE)
target_compile_options(agora_warnings INTERFACE
	-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wmissing-declarations -Wold-style-definition
	-Wredundant-decls -Wwrite-strings -Wcast-qual -Wcast-align
	-Wpointer-arith -Wformat=2 -Wundef -Wvla -Wconversion
	-Wno-sign-conversion -Wdouble-promotion -Wimplicit-fallthrough
	-Wnull-dereference -Werror=implicit-function-declaration)
if(AGORA_WERROR)
	target_compile_options(agora_warnings INTERFACE -Werror)
endif()
