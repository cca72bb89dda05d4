/* SPDX-License-Identifier: MIT */
/* The agora command: shared pieces of its subcommands. */
#ifndef AGORA_CLI_H
#define AGORA_CLI_H

#include <stdbool.h>

#include "agora/config.h"
#include "agora/lace.h"
#include "agora/redis.h"
#include "agora/taskcenter.h"

/* Exit codes (docs/cli.md). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,   /* a runtime failure: Redis, I/O */
	EXIT_USAGE = 2,  /* bad arguments or bad input */
	EXIT_AGENTS = 3, /* finished, but some agents failed */
};

/* Options every command that talks to Redis shares. */
struct cli_common {
	agora_config cfg;
	const char *config_file;
	const char *model_configs[16]; /* --model-config, in order */
	int nmodel_configs;
	bool json;
	const char *connect[64]; /* run: --connect URL, in order */
	int nconnect;
	bool servers; /* run: --servers N given */
};

/* The exit code for an error: a runtime failure (Redis, a server, the
 * system, a timeout) is EXIT_FAIL, anything else bad input (EXIT_USAGE). */
int cli_exit_code(agora_err rv);

/* The nng URL of a command-line address: a URL as it is, a path with a
 * slash as ipc://PATH, anything else (host:port) as tcp://. */
void cli_url(char *out, size_t n, const char *addr);

/* Print "agora: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* If argv[*i] is a common option, consume it (and its value) and return 1;
 * 0 if it is not one; -1 (after printing why) if it is malformed. */
int cli_common_option(struct cli_common *co, int argc, char **argv, int *i);
/* Defaults, then the config file, then AGORA_* variables, then the options
 * already set on the command line (kept aside until now). */
bool cli_common_finish(struct cli_common *co);
/* Set a configuration key as from the command line (applied last, by
 * cli_common_finish); -1 after printing why if too many. */
int cli_defer(const char *key, const char *value);

/* Take SIGINT, SIGTERM and SIGHUP on a thread of their own (call before
 * any thread starts): the attached center's step is interrupted, so its
 * agents' messages go back, and the run exits 128 + the signal. */
void cli_signals_start(void);
void cli_signals_attach(agora_center *c);
/* The same for anything else: interrupt(arg) stops what runs and says
 * whether something was running (false: exit at once). NULL detaches. */
void cli_signals_on(bool (*interrupt)(void *arg), void *arg);
/* The signal that interrupted the run, or 0. */
int cli_signal_caught(void);

/* Start the private Redis if no URL is configured, and arrange for it to be
 * stopped (and its directory removed) on exit or on SIGINT/SIGTERM. */
bool cli_redis_prepare(struct cli_common *co);
void cli_redis_release(void);
/* A --redis URL of server and ctl (which read no config) with the
 * password of AGORA_REDIS_PASSWORD if it names none; NULL stays NULL.
 * Caller frees; a secret, never printed. */
char *cli_redis_auth(const char *url);

int cli_run(int argc, char **argv, bool chat);
int cli_inspect(int argc, char **argv, bool memory);
int cli_server(int argc, char **argv);
int cli_ctl(int argc, char **argv);
int cli_studio(int argc, char **argv);
int cli_sim(int argc, char **argv);
#include "agora/json.h"
int cli_ctl_print(const char *cmd, const agora_json *result, bool json);

/* agora lace (lace.c), and its printing (lace_print.c): a reply's JSON and
 * a line per array; the interfaces' names; the stores' table. With json,
 * one JSON value on stdout. An answer that is not JSON: AGORA_EPROTO with
 * err. */
int cli_lace(int argc, char **argv);
void cli_lace_print_msg(const agora_lace_msg *m, bool json);
agora_err cli_lace_print_names(const agora_buf *names, bool json, char *err,
                               size_t errlen);
agora_err cli_lace_print_stores(const agora_buf *stores, bool json, char *err,
                                size_t errlen);

#endif
