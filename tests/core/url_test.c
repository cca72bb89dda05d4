/* SPDX-License-Identifier: MIT */
/* URLs as the security model needs them (DESIGN.md section 11): whether a
 * listener's address is this machine only, decided on the addresses a host
 * resolves to and never on its text. Names are resolved by the getaddrinfo
 * below, which answers a few test names itself and hands the rest to the C
 * library: no test here needs DNS. */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier): RTLD_NEXT */
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>

#include "test.h"

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
                      struct addrinfo **);

static gai_fn
real_getaddrinfo(void)
{
	gai_fn fn;

	/* POSIX blesses this cast for dlsym's result. */
	*(void **)(&fn) = dlsym(RTLD_NEXT, "getaddrinfo");
	return fn;
}

/* Test names: "127.evil.example" resolves to a public address (a name
 * whose text looks like loopback), "mixed.example" to loopback and a
 * private address, "gone.example" to nothing. Each answer is the C
 * library's own for an address literal, so freeaddrinfo frees it. Other
 * names but localhost (in /etc/hosts) must be literals: no DNS. */
int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
	gai_fn real = real_getaddrinfo();
	struct addrinfo *a = NULL, *b = NULL;
	struct addrinfo numeric;
	int rc;

	if (node == NULL || hints == NULL) {
		return real(node, service, hints, res);
	}
	if (strcmp(node, "gone.example") == 0) {
		return EAI_NONAME;
	}
	if (strcmp(node, "127.evil.example") == 0) {
		return real("192.0.2.7", service, hints, res);
	}
	if (strcmp(node, "mixed.example") == 0) {
		rc = real("127.0.0.1", service, hints, &a);
		if (rc == 0) {
			rc = real("10.1.2.3", service, hints, &b);
		}
		if (rc != 0) {
			freeaddrinfo(a);
			return rc;
		}
		a->ai_next = b; /* freeaddrinfo frees node by node */
		*res = a;
		return 0;
	}
	numeric = *hints;
	if (strcmp(node, "localhost") != 0) {
		numeric.ai_flags |= AI_NUMERICHOST;
	}
	return real(node, service, &numeric, res);
}

static void
loopback_is_decided_on_resolved_addresses(void **state)
{
	static const char *const local[] = {
		"tcp://127.0.0.1:7000",
		"tcp://127.1.2.3:7000",
		"tcp://localhost:7000",
		"tcp://[::1]:7000",
		"tls+tcp://localhost:80",
		"ipc:///tmp/x.sock",
		"inproc://x",
	};
	static const char *const not_local[] = {
		"tcp://10.0.0.1:7000",
		"tcp://0.0.0.0:7000",
		"tcp://192.0.2.2:7000",
		"tcp://[::]:7000",
		"tcp://*:7000",
		"tcp://:7000",
		"tcp://127.evil.example:7000",
		"tcp://mixed.example:7000",
		"tcp://gone.example:7000",
		"tcp://[::ffff:10.0.0.1]:80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		if (!agora_url_is_local(local[i])) {
			fail_msg("%s should be local", local[i]);
		}
	}
	for (size_t i = 0; i < sizeof(not_local) / sizeof(not_local[0]); i++) {
		if (agora_url_is_local(not_local[i])) {
			fail_msg("%s should not be local", not_local[i]);
		}
	}
}

static void
an_unresolved_host_is_an_error_not_local(void **state)
{
	char err[256];
	bool local = true;

	(void)state;
	AGORA_FAIL(agora_url_check_local("tcp://gone.example:7000", &local, err,
	                                 sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_false(local);
	assert_non_null(strstr(err, "cannot resolve host 'gone.example'"));
	AGORA_FAIL(agora_url_check_local("nowhere", &local, err, sizeof(err)),
	           AGORA_EINVAL);
	AGORA_PASS(agora_url_check_local("tcp://[::1]:7000", &local, err,
	                                 sizeof(err)));
	assert_true(local);
	AGORA_PASS(agora_url_check_local("tcp://127.evil.example:7000", &local,
	                                 err, sizeof(err)));
	assert_false(local);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loopback_is_decided_on_resolved_addresses),
		cmocka_unit_test(an_unresolved_host_is_an_error_not_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
