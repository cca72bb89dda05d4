/* SPDX-License-Identifier: MIT */
/* Plugins: shared objects that add agent kinds. Only files named by the
 * user are loaded (--plugin FILE, or the *.so files of an explicit
 * --agent-dir that export the registration symbol); nothing is loaded
 * implicitly, and a directory's other files are never run. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/server.h"

typedef int (*plugin_register_fn)(void);

static agora_err
plugin_open(const char *path, bool must, char *err, size_t errlen)
{
	void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	plugin_register_fn fn;
	int rc;

	if (so == NULL) {
		/* Plugins load at start-up, on one thread. */
		snprintf(err, errlen, "plugin %s: %s", path,
		         dlerror()); /* NOLINT(concurrency-mt-unsafe) */
		return must ? AGORA_ENOTFOUND : AGORA_ECANCELED;
	}
	/* POSIX blesses this cast for dlsym's result. */
	*(void **)(&fn) = dlsym(so, AGORA_PLUGIN_SYMBOL);
	if (fn == NULL) {
		snprintf(err, errlen, "plugin %s: no %s() in it", path,
		         AGORA_PLUGIN_SYMBOL);
		dlclose(so);
		return must ? AGORA_ENOTFOUND : AGORA_ECANCELED;
	}
	rc = fn();
	if (rc != 0) {
		snprintf(err, errlen, "plugin %s: %s() returned %d", path,
		         AGORA_PLUGIN_SYMBOL, rc);
		return AGORA_EINVAL; /* kinds it registered stay; keep it */
	}
	return AGORA_OK;
}

agora_err
agora_plugin_load(const char *path, char *err, size_t errlen)
{
	return plugin_open(path, true, err, errlen);
}

static bool
ends_with_so(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

agora_err
agora_plugin_load_dir(const char *dir, agora_buf *loaded, char *err,
                      size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	agora_err rv = AGORA_OK;

	if (d == NULL) {
		snprintf(err, errlen, "agent dir %s: cannot open", dir);
		return AGORA_ENOTFOUND;
	}
	/* A private stream: readdir is safe on it. */
	while (rv == AGORA_OK &&
	       (e = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe) */
		char *path;
		if (!ends_with_so(e->d_name)) {
			continue;
		}
		path = agora_sprintf("%s/%s", dir, e->d_name);
		rv = plugin_open(path, false, err, errlen);
		if (rv == AGORA_OK) {
			(void)agora_buf_addf(loaded, "%s\n", path);
		} else if (rv == AGORA_ECANCELED) {
			fprintf(stderr, "agora: skipped %s\n", err);
			rv = AGORA_OK; /* not a plugin: skipped */
		}
		agora_free(path);
	}
	closedir(d);
	return rv;
}
