/* SPDX-License-Identifier: MIT */
/* A watchdog built into every cmocka test program (cmake/AgoraTest.cmake):
 * a program still running AGORA_TEST_WATCHDOG_S seconds after it started
 * (set a little under its ctest TIMEOUT) prints the stack of each of its
 * threads, then aborts, so a hang in CI shows where it hangs instead of a
 * bare "Timeout". Each thread prints its own stack from a SIGUSR2 handler
 * (gdb cannot attach here); frames read "binary(+offset)", for
 * `addr2line -f -e binary offset`. Unset or 0: no watchdog. */
#define _GNU_SOURCE
#include <dirent.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t watchdog_done;

static void
watchdog_nap(long ms)
{
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&left, &left) != 0) {
	}
}

/* SIGUSR2: this thread's stack to stderr (backtrace was loaded at start,
 * so nothing here allocates). */
static void
watchdog_on_signal(int sig)
{
	void *frames[64];
	int n = backtrace(frames, 64);
	char head[32] = "-- thread ", digits[24];
	long tid = (long)syscall(SYS_gettid);
	size_t len = strlen(head), k = 0;

	(void)sig;
	do { /* no snprintf in a signal handler */
		digits[k++] = (char)('0' + tid % 10);
		tid /= 10;
	} while (tid > 0 && k < sizeof(digits));
	while (k > 0) {
		head[len++] = digits[--k];
	}
	head[len++] = '\n';
	if (write(2, head, len) < 0) {
		/* nothing to do */
	}
	backtrace_symbols_fd(frames, n, 2);
	watchdog_done = 1;
}

static void *
watchdog_main(void *arg)
{
	long seconds = (long)(intptr_t)arg;
	int pid = (int)getpid();
	DIR *d;
	struct dirent *e;

	watchdog_nap(seconds * 1000);
	fprintf(stderr,
	        "watchdog: still running after %ld s; the stack of each "
	        "thread of pid %d follows\n",
	        seconds, pid);
	d = opendir("/proc/self/task");
	while (d != NULL && (e = readdir(d)) != NULL) {
		long tid = strtol(e->d_name, NULL, 10);
		if (tid <= 0 || tid == (long)syscall(SYS_gettid)) {
			continue;
		}
		watchdog_done = 0;
		if (syscall(SYS_tgkill, pid, tid, SIGUSR2) != 0) {
			continue;
		}
		/* One at a time, so the stacks do not interleave. */
		for (int i = 0; i < 100 && !watchdog_done; i++) {
			watchdog_nap(10);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
	abort();
}

__attribute__((constructor)) static void
watchdog_start(void)
{
	const char *v = getenv("AGORA_TEST_WATCHDOG_S");
	long seconds = v != NULL ? strtol(v, NULL, 10) : 0;
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t th;
	void *warm[1];

	if (seconds <= 0) {
		return;
	}
	(void)backtrace(warm, 1); /* loads libgcc now, not in the handler */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, watchdog_main,
	                   (void *)(intptr_t)seconds) != 0) {
		fprintf(stderr, "watchdog: not started\n");
	}
	pthread_attr_destroy(&attr);
}
