/* SPDX-License-Identifier: MIT */
/* Plugins: shared objects that add agent kinds. Only files named by the
 * user are loaded (--plugin FILE, or the *.so files of an explicit
 * --agent-dir), and only once their dynamic symbol table (elfsym.c) shows
 * they define the registration function: dlopen runs a library's
 * constructors, so asking dlsym afterwards would be too late. In a
 * directory, dot-files and anything but regular files are skipped unread.
 * The file checked is the file loaded: it stays open and is loaded through
 * /proc/self/fd, so swapping the path in between changes nothing. */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/log.h"
#include "agora/server.h"
#include "elfsym.h"

typedef int (*plugin_register_fn)(void);

/* Open path and check it; on AGORA_OK *fdp is the open file. A FIFO or a
 * device is refused before it is opened (opening one could block), and
 * again after (in case the path changed). */
static agora_err
plugin_open_checked(const char *path, int *fdp, char *err, size_t errlen)
{
	char why[256];
	struct stat st;
	int fd;
	agora_err rv;

	*fdp = -1;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "plugin %s: cannot read it", path);
		return AGORA_ENOTFOUND;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "plugin %s: not a regular file", path);
		return AGORA_EINVAL;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "plugin %s: cannot read it", path);
		return AGORA_ENOTFOUND;
	}
	rv = agora__elf_defines_function(fd, AGORA_PLUGIN_SYMBOL, why,
	                                 sizeof(why));
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "plugin %s: %s", path, why);
		close(fd);
		return rv == AGORA_ENOTFOUND ? AGORA_ENOTFOUND : AGORA_EINVAL;
	}
	*fdp = fd;
	return AGORA_OK;
}

agora_err
agora_plugin_check(const char *path, char *err, size_t errlen)
{
	int fd;
	agora_err rv = plugin_open_checked(path, &fd, err, errlen);

	if (rv == AGORA_OK) {
		close(fd);
	}
	return rv;
}

/* dlopen the checked file open on fd. The fd stays open once a library is
 * mapped: glibc knows a loaded library by the name it was opened with, so
 * a later plugin opened through the same /proc/self/fd/N would be taken
 * for this one. Without /proc the path is opened again. */
static void *
plugin_dlopen(const char *path, int fd)
{
	char via[64];
	void *so;

	snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
	so = dlopen(access(via, R_OK) == 0 ? via : path, RTLD_NOW | RTLD_LOCAL);
	if (so == NULL) {
		close(fd);
	}
	return so;
}

/* Load path once it is checked. *ran says whether any of its code ran
 * (dlopen succeeded): a file that never ran can be skipped. */
static agora_err
plugin_load_checked(const char *path, bool *ran, char *err, size_t errlen)
{
	plugin_register_fn fn;
	void *so;
	int fd;
	int rc;
	agora_err rv = plugin_open_checked(path, &fd, err, errlen);

	*ran = false;
	if (rv != AGORA_OK) {
		return rv;
	}
	so = plugin_dlopen(path, fd);
	if (so == NULL) {
		/* Plugins load at start-up, on one thread. */
		snprintf(err, errlen, "plugin %s: %s", path,
		         dlerror()); /* NOLINT(concurrency-mt-unsafe) */
		return AGORA_EINVAL;
	}
	*ran = true;
	/* POSIX blesses this cast for dlsym's result. */
	*(void **)(&fn) = dlsym(so, AGORA_PLUGIN_SYMBOL);
	if (fn == NULL) {
		/* The check saw it defined; dlsym disagrees. */
		snprintf(err, errlen, "plugin %s: no %s() in it", path,
		         AGORA_PLUGIN_SYMBOL);
		return AGORA_ENOTFOUND;
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
	bool ran;

	return plugin_load_checked(path, &ran, err, errlen);
}

static bool
plugin_name_fits(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

agora_err
agora_plugin_load_dir(const char *dir, agora_buf *loaded, char *err,
                      size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool ran;
	agora_err rv = AGORA_OK;

	if (d == NULL) {
		snprintf(err, errlen, "agent dir %s: cannot open", dir);
		return AGORA_ENOTFOUND;
	}
	/* A private stream: readdir is safe on it. */
	while (rv == AGORA_OK &&
	       (e = readdir(d)) != NULL) { /* NOLINT(concurrency-mt-unsafe) */
		char *path;
		if (!plugin_name_fits(e->d_name)) {
			continue; /* dot-files are skipped unread */
		}
		path = agora_sprintf("%s/%s", dir, e->d_name);
		rv = plugin_load_checked(path, &ran, err, errlen);
		if (rv == AGORA_OK) {
			(void)agora_buf_addf(loaded, "%s\n", path);
		} else if (!ran) {
			agora_log(AGORA_LOG_WARN, "plugin", "skipped %s", err);
			rv = AGORA_OK; /* none of it ran: skipped */
		}
		agora_free(path);
	}
	closedir(d);
	return rv;
}
