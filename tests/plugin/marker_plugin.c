/* SPDX-License-Identifier: MIT */
/* A shared object that is not a plugin, for the tests of plugin loading:
 * it only refers to agora_plugin_register (a weak undefined symbol, so it
 * loads without one), and its constructor writes the file named by
 * AGORA_TEST_MARKER. A loader that checks before it loads never runs that
 * constructor, so the file never appears. */
#include <stdio.h>
#include <stdlib.h>

extern int agora_plugin_register(void) __attribute__((weak));

__attribute__((constructor)) static void
marker_ran(void)
{
	const char *path = getenv("AGORA_TEST_MARKER");
	FILE *f = path != NULL ? fopen(path, "w") : NULL;

	if (f != NULL) {
		fputs("constructor ran\n", f);
		fclose(f);
	}
}

/* The reference that puts agora_plugin_register, undefined, in .dynsym. */
int marker_calls_register(void);

int
marker_calls_register(void)
{
	return agora_plugin_register != NULL ? agora_plugin_register() : -1;
}
