/* SPDX-License-Identifier: MIT */
/* Test support for agent servers: centers that start child servers with
 * the test plugin, independent servers waited for until they answer, where
 * an agent lives and its status, and the servers' shared log, read for
 * sanitizer reports at the end. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"

/* Every server's log: sanitizer reports from them fail the run. */
static char server_log[128];

bool
t_servers_init(const char *prog)
{
	char err[512];

	if (getenv("AGORA_BIN") == NULL || getenv("AGORA_PLUGIN") == NULL) {
		printf("%s: skipped: AGORA_BIN and AGORA_PLUGIN must name the "
		       "agora program and the test plugin (run with ctest)\n",
		       prog);
		return false;
	}
	/* The plugin's kind here too, for agents that start local. */
	if (agora_plugin_load(getenv("AGORA_PLUGIN"), err, sizeof(err)) !=
	    AGORA_OK) {
		fail_msg("%s: %s", prog, err);
	}
	snprintf(server_log, sizeof(server_log), "/tmp/agora-test-%d.log",
	         (int)getpid());
	return true;
}

const char *
t_server_log(void)
{
	return server_log;
}

agora_center *
t_center_servers(const char *name, const char *children)
{
	return t_center_servers_within(name, children, "5000");
}

agora_center *
t_center_servers_within(const char *name, const char *children,
                        const char *timeout_ms)
{
	static int serial;
	agora_config cfg;
	agora_center *c = NULL;
	char err[512], session[64];

	agora_kinds_builtin();
	agora_config_init(&cfg);
	snprintf(session, sizeof(session), "srv%d-%s-%d", (int)getpid(), name,
	         serial++);
	agora_config_set(&cfg, "redis.url", t_redis_url(), err, sizeof(err));
	agora_config_set(&cfg, "session", session, err, sizeof(err));
	agora_config_set(&cfg, "server.program", getenv("AGORA_BIN"), err,
	                 sizeof(err));
	agora_config_set(&cfg, "server.plugins", getenv("AGORA_PLUGIN"), err,
	                 sizeof(err));
	agora_config_set(&cfg, "server.children", children, err, sizeof(err));
	agora_config_set(&cfg, "step.deadline_ms", "60000", err, sizeof(err));
	agora_config_set(&cfg, "server.log", server_log, err, sizeof(err));
	agora_config_set(&cfg, "server.timeout_ms", timeout_ms, err,
	                 sizeof(err));
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		fail_msg("center: %s", err);
	}
	agora_config_fini(&cfg);
	return c;
}

char *
t_where(agora_center *c, const char *role)
{
	agora_agent_info info;
	char *url;

	AGORA_PASS(agora_registry_get(agora_center_registry(c), role, &info));
	url = agora_strdup(info.server);
	agora_agent_info_fini(&info);
	return url;
}

agora_agent_status
t_status_of(agora_center *c, const char *role)
{
	agora_agent_info info;
	agora_agent_status s;

	AGORA_PASS(agora_registry_get(agora_center_registry(c), role, &info));
	s = info.status;
	agora_agent_info_fini(&info);
	return s;
}

int
t_server_pid(const char *url)
{
	agora_buf reply;
	char err[256];
	const char *p;
	int pid = 0;

	agora_buf_init(&reply, 0);
	AGORA_PASS(agora_server_request(url, NULL, "[{\"op\":\"info\"}]", 5000,
	                                &reply, err, sizeof(err)));
	p = strstr(reply.data, "\"pid\":");
	assert_non_null(p);
	pid = (int)strtol(p + 6, NULL, 10);
	agora_buf_fini(&reply);
	return pid;
}

/* Start argv (a server at url) and wait until it answers. */
static agora_proc *
spawn_answering(const char *const *argv, const char *url)
{
	agora_proc_opts po = { .argv = argv,
		               .die_with_parent = true,
		               .log_path = server_log };
	agora_proc *p = NULL;
	char err[256];

	AGORA_PASS(agora_proc_spawn(&p, &po, err, sizeof(err)));
	/* Ready when it answers: a server is used only once it listens. */
	for (int i = 0; i < 1000; i++) {
		agora_buf reply;
		agora_err rv;
		agora_buf_init(&reply, 0);
		rv = agora_server_request(url, NULL, "[{\"op\":\"alive\"}]",
		                          1000, &reply, err, sizeof(err));
		agora_buf_fini(&reply);
		if (rv == AGORA_OK) {
			return p;
		}
		assert_true(agora_proc_alive(p));
		agora_sleep_ms(10);
	}
	fail_msg("server %s never answered", url);
	return NULL;
}

agora_proc *
t_spawn_server(const char *name, const char *opt, const char *val, char *url,
               size_t urllen)
{
	char path[128];
	const char *argv[] = {
		getenv("AGORA_BIN"),    "server", "--ipc", path, "--plugin",
		getenv("AGORA_PLUGIN"), opt,      val,     NULL
	};

	snprintf(path, sizeof(path), "/tmp/agora-%s-%d.sock", name,
	         (int)getpid());
	snprintf(url, urllen, "ipc://%s", path);
	return spawn_answering(argv, url);
}

agora_proc *
t_spawn_server_argv(const char *name, const char *const *extra, char *url,
                    size_t urllen)
{
	char path[128];
	const char *argv[32] = {
		getenv("AGORA_BIN"),   "server", "--ipc", path, "--plugin",
		getenv("AGORA_PLUGIN")
	};
	size_t n = 6;

	for (size_t i = 0; extra[i] != NULL && n < 31; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	snprintf(path, sizeof(path), "/tmp/agora-%s-%d.sock", name,
	         (int)getpid());
	snprintf(url, urllen, "ipc://%s", path);
	return spawn_answering(argv, url);
}

/* A TCP port nothing listens on now (bind to 0 and read it back). */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

agora_proc *
t_spawn_tcp_server(const char *opt, const char *val, char *url, size_t urllen)
{
	char port[16];
	const char *argv[] = {
		getenv("AGORA_BIN"),    "server", "--port", port, "--plugin",
		getenv("AGORA_PLUGIN"), opt,      val,      NULL
	};

	snprintf(port, sizeof(port), "%d", free_port());
	snprintf(url, urllen, "tcp://127.0.0.1:%s", port);
	return spawn_answering(argv, url);
}

bool
t_servers_clean(const char *prog)
{
	agora_buf log;
	char err[256];
	bool clean = true;

#ifndef AGORA_SANITIZED
	printf("%s: no sanitizer in this build: the servers' log was not "
	       "checked for reports\n",
	       prog);
	unlink(server_log);
	return true;
#endif
	agora_buf_init(&log, 0);
	if (agora_buf_read_file(&log, server_log, err, sizeof(err)) ==
	        AGORA_OK &&
	    log.data != NULL &&
	    (strstr(log.data, "Sanitizer") != NULL ||
	     strstr(log.data, "runtime error") != NULL)) {
		printf("%s: sanitizer reports in %s:\n%s\n", prog, server_log,
		       log.data);
		clean = false;
	}
	agora_buf_fini(&log);
	if (clean) {
		unlink(server_log);
	}
	return clean;
}
