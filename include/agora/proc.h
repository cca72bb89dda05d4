/* SPDX-License-Identifier: MIT */
/* Child processes: spawn a program (fork and exec at once, never running
 * library code in the child, so it is safe after nng has started), have it
 * die with its parent, find out whether it is still alive, stop it with
 * SIGTERM then SIGKILL, and start it again (supervision). */
#ifndef AGORA_PROC_H
#define AGORA_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct agora_proc agora_proc;

typedef struct agora_proc_opts {
	const char *const *argv; /* argv[0] is looked up in PATH; NULL-ended */
	const char *log_path; /* stdout and stderr go here; NULL: /dev/null */
	/* A signal when the parent dies (Linux's PR_SET_PDEATHSIG: it
	 * follows the thread that called agora_proc_spawn, so spawn from a
	 * thread that lives as long as the child should). */
	bool die_with_parent;
	int death_signal; /* that signal; 0: SIGKILL */
} agora_proc_opts;

/* Start a child. If the program cannot be executed (not found, not
 * executable) the error is AGORA_ENOTFOUND or AGORA_ESYS and err says why;
 * no child is left behind. The options are copied. */
AGORA_API agora_err agora_proc_spawn(agora_proc **pp,
                                     const agora_proc_opts *opts, char *err,
                                     size_t errlen);
AGORA_API int agora_proc_pid(const agora_proc *p);
/* True while the child runs; reaps it once it has exited. */
AGORA_API bool agora_proc_alive(agora_proc *p);
/* Its exit status (as from waitpid) once it is no longer alive, else -1. */
AGORA_API int agora_proc_status(const agora_proc *p);
/* Start the same program again if it has exited (supervision). */
AGORA_API agora_err agora_proc_restart(agora_proc *p, char *err, size_t errlen);
/* SIGTERM, wait up to grace_ms, then SIGKILL; always reaps. */
AGORA_API void agora_proc_stop(agora_proc *p, int64_t grace_ms);
/* Stop (if running) and free. NULL is fine. */
AGORA_API void agora_proc_free(agora_proc *p);

#ifdef __cplusplus
}
#endif
#endif
