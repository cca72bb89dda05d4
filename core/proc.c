/* SPDX-License-Identifier: MIT */
/* Child processes. The program is found in PATH by the parent; the child
 * only sets up its descriptors and signals and calls execv, so nothing of
 * ours (nng, hiredis) runs after the fork. A close-on-exec pipe carries an
 * exec failure back, so a missing program is an error here, not a silent
 * exit 127 later. die_with_parent uses Linux's PR_SET_PDEATHSIG. */
/* syscall() for close_range (glibc's wrapper is newer than we need). */
#define _DEFAULT_SOURCE /* NOLINT(bugprone-reserved-identifier) */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/log.h"
#include "agora/msg.h"
#include "agora/proc.h"

struct agora_proc {
	agora_strv argv;
	char *path;     /* resolved program */
	char *log_path; /* NULL: /dev/null */
	bool die_with_parent;
	int death_signal;
	pid_t pid;  /* 0 when not running */
	int status; /* waitpid status once exited, else -1 */
};

/* Find prog in PATH (or take it as is if it has a slash). */
static char *
proc_find(const char *prog)
{
	const char *path;
	const char *p;

	if (strchr(prog, '/') != NULL) {
		return access(prog, X_OK) == 0 ? agora_strdup(prog) : NULL;
	}
	path = getenv("PATH"); /* NOLINT(concurrency-mt-unsafe) */
	if (path == NULL) {
		path = "/usr/local/bin:/usr/bin:/bin";
	}
	p = path;
	while (*p != '\0') {
		const char *colon = strchr(p, ':');
		size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		char *cand = agora_sprintf("%.*s/%s", (int)n, p, prog);
		struct stat st;

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0) {
			return cand;
		}
		agora_free(cand);
		if (colon == NULL) {
			break;
		}
		p = colon + 1;
	}
	return NULL;
}

/* In the child: only async-signal-safe calls until execv. */
static void
proc_child(const agora_proc *p, int out_fd, int err_pipe)
{
	sigset_t none;
	int e;
	long max_fd = sysconf(_SC_OPEN_MAX);

	if (p->die_with_parent) {
		prctl(PR_SET_PDEATHSIG,
		      p->death_signal != 0 ? p->death_signal : SIGKILL);
	}
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	/* The child is single-threaded until execv. */
	signal(SIGPIPE, SIG_DFL); /* NOLINT(concurrency-mt-unsafe) */
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
	}
	e = open("/dev/null", O_RDONLY);
	if (e >= 0) {
		dup2(e, STDIN_FILENO);
	}
	if (max_fd < 0 || max_fd > 65536) {
		max_fd = 65536;
	}
	/* One call on Linux 5.11+ instead of one per possible descriptor
	 * (tens of thousands once RLIMIT_NOFILE is raised). */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
		max_fd = 3;
	}
	for (int fd = 3; fd < max_fd; fd++) {
		if (fd != err_pipe) {
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
	}
	execv(p->path, p->argv.v);
	e = errno;
	(void)!write(err_pipe, &e, sizeof(e));
	_exit(127);
}

static agora_err
proc_start(agora_proc *p, char *err, size_t errlen)
{
	int pipefd[2];
	int out_fd;
	int child_errno = 0;
	ssize_t n;
	pid_t pid;

	out_fd = open(p->log_path != NULL ? p->log_path : "/dev/null",
	              O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out_fd < 0 || pipe(pipefd) != 0 ||
	    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, errlen, "%s: cannot set up the child: %s",
		         p->argv.v[0], strerror(errno)); /* NOLINT */
		if (out_fd >= 0) {
			close(out_fd);
		}
		return AGORA_ESYS;
	}
	pid = fork();
	if (pid == 0) {
		proc_child(p, out_fd, pipefd[1]);
	}
	close(out_fd);
	close(pipefd[1]);
	if (pid < 0) {
		snprintf(err, errlen, "%s: fork: %s", p->argv.v[0],
		         strerror(errno)); /* NOLINT(concurrency-mt-unsafe) */
		close(pipefd[0]);
		return AGORA_ESYS;
	}
	do {
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		snprintf(
		    err, errlen, "%s: cannot execute: %s", p->path,
		    strerror(child_errno)); /* NOLINT(concurrency-mt-unsafe) */
		return AGORA_ESYS;
	}
	p->pid = pid;
	p->status = -1;
	agora_log(AGORA_LOG_INFO, "proc", "started %s as pid %d", p->path,
	          (int)pid);
	return AGORA_OK;
}

agora_err
agora_proc_spawn(agora_proc **pp, const agora_proc_opts *opts, char *err,
                 size_t errlen)
{
	agora_proc *p;
	agora_err rv;

	*pp = NULL;
	if (opts == NULL || opts->argv == NULL || opts->argv[0] == NULL) {
		snprintf(err, errlen, "no program to run");
		return AGORA_EINVAL;
	}
	p = agora_calloc(1, sizeof(*p));
	p->path = proc_find(opts->argv[0]);
	if (p->path == NULL) {
		snprintf(err, errlen, "%s: program not found in PATH",
		         opts->argv[0]);
		agora_free(p);
		return AGORA_ENOTFOUND;
	}
	for (size_t i = 0; opts->argv[i] != NULL; i++) {
		agora_strv_push(&p->argv, opts->argv[i]);
	}
	/* execv wants a NULL-terminated vector: push a slot and clear it. */
	agora_strv_push(&p->argv, "");
	agora_free(p->argv.v[p->argv.n - 1]);
	p->argv.v[p->argv.n - 1] = NULL;
	p->log_path =
	    opts->log_path != NULL ? agora_strdup(opts->log_path) : NULL;
	p->die_with_parent = opts->die_with_parent;
	p->death_signal = opts->death_signal;
	rv = proc_start(p, err, errlen);
	if (rv != AGORA_OK) {
		agora_proc_free(p);
		return rv;
	}
	*pp = p;
	return AGORA_OK;
}

int
agora_proc_pid(const agora_proc *p)
{
	return (int)p->pid;
}

bool
agora_proc_alive(agora_proc *p)
{
	int status;
	pid_t r;

	if (p->pid == 0) {
		return false;
	}
	r = waitpid(p->pid, &status, WNOHANG);
	if (r == p->pid || (r < 0 && errno == ECHILD)) {
		p->status = r == p->pid ? status : 0;
		p->pid = 0;
		return false;
	}
	return true;
}

int
agora_proc_status(const agora_proc *p)
{
	return p->pid == 0 ? p->status : -1;
}

agora_err
agora_proc_restart(agora_proc *p, char *err, size_t errlen)
{
	if (agora_proc_alive(p)) {
		return AGORA_OK;
	}
	agora_log(AGORA_LOG_WARN, "proc", "%s exited (status %d); restarting",
	          p->path, p->status);
	return proc_start(p, err, errlen);
}

void
agora_proc_stop(agora_proc *p, int64_t grace_ms)
{
	int64_t deadline;

	if (p == NULL || !agora_proc_alive(p)) {
		return;
	}
	kill(p->pid, SIGTERM);
	deadline = agora_now_ms() + grace_ms;
	while (agora_proc_alive(p)) {
		if (agora_now_ms() >= deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &p->status, 0);
			p->pid = 0;
			break;
		}
		agora_sleep_ms(2);
	}
}

void
agora_proc_free(agora_proc *p)
{
	if (p == NULL) {
		return;
	}
	agora_proc_stop(p, 2000);
	/* The last slot is the NULL terminator; strv_clear frees NULL fine. */
	agora_strv_clear(&p->argv);
	agora_free(p->path);
	agora_free(p->log_path);
	agora_free(p);
}
