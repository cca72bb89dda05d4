/* SPDX-License-Identifier: MIT */
/* Options shared by the subcommands, and the private Redis's lifetime: the
 * CLI starts it itself so that a signal handler can stop it and remove its
 * directory (with async-signal-safe calls only) when the user presses
 * Ctrl-C. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/models.h"
#include "cli.h"

static agora_redis_server *cli_redis_srv;
static volatile pid_t cli_redis_srv_pid;
static char cli_redis_srv_files[3][512]; /* socket, log, directory */

char *
cli_redis_auth(const char *url)
{
	/* Read once, at start-up. */
	const char *pw =
	    getenv("AGORA_REDIS_PASSWORD"); /* NOLINT(concurrency-mt-unsafe) */

	return url != NULL ? agora_redis_url_auth(url, pw) : NULL;
}

void
cli_url(char *out, size_t n, const char *addr)
{
	if (strstr(addr, "://") != NULL) {
		snprintf(out, n, "%s", addr);
	} else if (strchr(addr, '/') != NULL) {
		snprintf(out, n, "ipc://%s", addr);
	} else {
		snprintf(out, n, "tcp://%s", addr);
	}
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("agora: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Command-line --set and shortcuts are applied after file and environment,
 * so they are kept here in order until cli_common_finish. */
static struct {
	const char *key;
	const char *value;
} cli_sets[64];
static int cli_nsets;

int
cli_exit_code(agora_err rv)
{
	switch (rv) {
	case AGORA_OK:
		return EXIT_OK;
	case AGORA_EREDIS:
	case AGORA_ETRANSPORT:
	case AGORA_ESYS:
	case AGORA_ETIMEDOUT:
	case AGORA_EHTTP:
	case AGORA_ECLOSED:
	case AGORA_EINTERNAL:
		return EXIT_FAIL;
	default:
		return EXIT_USAGE;
	}
}

int
cli_defer(const char *key, const char *value)
{
	if (cli_nsets == 64) {
		cli_error("too many --set options");
		return -1;
	}
	cli_sets[cli_nsets].key = key;
	cli_sets[cli_nsets].value = value;
	cli_nsets++;
	return 1;
}

int
cli_common_option(struct cli_common *co, int argc, char **argv, int *i)
{
	const char *opt = argv[*i];
	const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	static const struct {
		const char *opt;
		const char *key;
	} shortcuts[] = { { "--redis", "redis.url" },
		          { "--session", "session" },
		          { "--log-level", "log.level" },
		          { "--deadline-ms", "step.deadline_ms" } };

	if (strcmp(opt, "--json") == 0) {
		co->json = true;
		return 1;
	}
	for (size_t k = 0; k < sizeof(shortcuts) / sizeof(shortcuts[0]); k++) {
		if (strcmp(opt, shortcuts[k].opt) == 0) {
			if (val == NULL) {
				cli_error("%s needs a value", opt);
				return -1;
			}
			(*i)++;
			return cli_defer(shortcuts[k].key, val);
		}
	}
	if (strcmp(opt, "--model-config") == 0) {
		if (val == NULL || co->nmodel_configs == 16) {
			cli_error("--model-config needs a file (at most 16)");
			return -1;
		}
		(*i)++;
		co->model_configs[co->nmodel_configs++] = val;
		return 1;
	}
	if (strcmp(opt, "--config") == 0 || strcmp(opt, "--set") == 0) {
		if (val == NULL) {
			cli_error("%s needs a value", opt);
			return -1;
		}
		(*i)++;
		if (strcmp(opt, "--config") == 0) {
			co->config_file = val;
			return 1;
		}
		{
			const char *eq = strchr(val, '=');
			char *key;
			if (eq == NULL) {
				cli_error("--set wants KEY=VALUE, not '%s'",
				          val);
				return -1;
			}
			/* Kept for the process's life, like argv itself. */
			key = agora_strndup(val, (size_t)(eq - val));
			return cli_defer(key, eq + 1);
		}
	}
	return 0;
}

bool
cli_common_finish(struct cli_common *co)
{
	char err[512];

	if (co->config_file != NULL &&
	    agora_config_load_file(&co->cfg, co->config_file, err,
	                           sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		return false;
	}
	if (agora_config_load_env(&co->cfg, err, sizeof(err)) != AGORA_OK) {
		cli_error("environment: %s", err);
		return false;
	}
	for (int k = 0; k < cli_nsets; k++) {
		if (agora_config_set(&co->cfg, cli_sets[k].key,
		                     cli_sets[k].value, err,
		                     sizeof(err)) != AGORA_OK) {
			cli_error("%s", err);
			return false;
		}
	}
	agora_log_set_level((agora_log_level)co->cfg.log_level);
	agora_log_set_plain(co->cfg.log_level <= AGORA_LOG_WARN);
	for (int k = 0; k < co->nmodel_configs; k++) {
		if (agora_models_load_file(co->model_configs[k], err,
		                           sizeof(err)) != AGORA_OK) {
			cli_error("%s", err);
			return false;
		}
	}
	agora_config_dump(&co->cfg);
	return true;
}

/* Stop now: the private Redis is killed and its files removed, with
 * async-signal-safe calls only (a second signal, or nothing to put
 * back). */
static void
cli_exit_now(int sig)
{
	if (cli_redis_srv_pid > 0) {
		kill(cli_redis_srv_pid, SIGKILL);
		unlink(cli_redis_srv_files[0]);
		unlink(cli_redis_srv_files[1]);
		rmdir(cli_redis_srv_files[2]);
	}
	_exit(128 + sig);
}

/* Signals are taken by one thread with sigwait, so that a run can be
 * interrupted properly: the step stops, what its agents had drained goes
 * back to their inboxes (a shared Redis keeps it), then the run exits
 * 128 + the signal. A second signal, or one while no step runs (nothing is
 * in flight then), or a run that has not ended CLI_STOP_MS later, exits at
 * once. */
#define CLI_STOP_MS 10000

static pthread_mutex_t cli_sig_lock = PTHREAD_MUTEX_INITIALIZER;
static bool (*cli_sig_fn)(void *arg);
static void *cli_sig_arg;
static atomic_int cli_sig_caught;
static sigset_t cli_sig_set;

static void *
cli_signal_main(void *arg)
{
	int sig = 0;

	(void)arg;
	while (sigwait(&cli_sig_set, &sig) != 0) {
	}
	atomic_store(&cli_sig_caught, sig);
	pthread_mutex_lock(&cli_sig_lock);
	if (cli_sig_fn == NULL || !cli_sig_fn(cli_sig_arg)) {
		pthread_mutex_unlock(&cli_sig_lock);
		cli_exit_now(sig);
	}
	pthread_mutex_unlock(&cli_sig_lock);
	fprintf(stderr, "agora: interrupted; giving back what the agents "
	                "had not answered (again to stop now)\n");
	{
		struct timespec ts = { .tv_sec = CLI_STOP_MS / 1000 };
		int again = sigtimedwait(&cli_sig_set, NULL, &ts);
		cli_exit_now(again > 0 ? again : sig);
	}
	return NULL;
}

void
cli_signals_start(void)
{
	pthread_t t;

	sigemptyset(&cli_sig_set);
	sigaddset(&cli_sig_set, SIGINT);
	sigaddset(&cli_sig_set, SIGTERM);
	sigaddset(&cli_sig_set, SIGHUP);
	/* Blocked here before any thread starts, so every thread of the
	 * process inherits the mask and only cli_signal_main takes them
	 * (children get a clean mask: core/proc.c). */
	pthread_sigmask(SIG_BLOCK, &cli_sig_set, NULL);
	if (pthread_create(&t, NULL, cli_signal_main, NULL) == 0) {
		pthread_detach(t);
	}
}

static bool
cli_interrupt_center(void *c)
{
	return agora_center_interrupt(c);
}

void
cli_signals_attach(agora_center *c)
{
	cli_signals_on(c != NULL ? cli_interrupt_center : NULL, c);
}

void
cli_signals_on(bool (*interrupt)(void *arg), void *arg)
{
	pthread_mutex_lock(&cli_sig_lock);
	cli_sig_fn = interrupt;
	cli_sig_arg = arg;
	pthread_mutex_unlock(&cli_sig_lock);
}

int
cli_signal_caught(void)
{
	return atomic_load(&cli_sig_caught);
}

bool
cli_redis_prepare(struct cli_common *co)
{
	char err[512];

	if (co->cfg.redis_url != NULL && co->cfg.redis_url[0] != '\0') {
		return true;
	}
	if (agora_redis_server_start(&cli_redis_srv, co->cfg.redis_server, err,
	                             sizeof(err)) != AGORA_OK) {
		cli_error("%s", err);
		return false;
	}
	snprintf(cli_redis_srv_files[0], sizeof(cli_redis_srv_files[0]),
	         "%s/redis.sock", agora_redis_server_dir(cli_redis_srv));
	snprintf(cli_redis_srv_files[1], sizeof(cli_redis_srv_files[1]),
	         "%s/redis.log", agora_redis_server_dir(cli_redis_srv));
	snprintf(cli_redis_srv_files[2], sizeof(cli_redis_srv_files[2]), "%s",
	         agora_redis_server_dir(cli_redis_srv));
	cli_redis_srv_pid = agora_redis_server_pid(cli_redis_srv);
	agora_free(co->cfg.redis_url);
	co->cfg.redis_url = agora_strdup(agora_redis_server_url(cli_redis_srv));
	return true;
}

void
cli_redis_release(void)
{
	cli_redis_srv_pid = 0;
	agora_redis_server_stop(cli_redis_srv);
	cli_redis_srv = NULL;
}
