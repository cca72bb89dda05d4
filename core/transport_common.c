/* SPDX-License-Identifier: MIT */
/* What both ends of the transport share: the process's TLS settings and
 * dialing or listening on tls+tcp://, nng's errors as agora's, and one nng
 * message made of pieces. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "transport_int.h"

/* ---- TLS (tls+tcp://) ------------------------------------------------- */

/* Process-wide: one trust store, one identity. Set before use. */
static char tls_ca[1024], tls_cert[1024];
static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;

void
agora_tls_set(const char *ca_file, const char *cert_key_file)
{
	pthread_mutex_lock(&tls_lock);
	if (ca_file != NULL) {
		snprintf(tls_ca, sizeof(tls_ca), "%s", ca_file);
	}
	if (cert_key_file != NULL) {
		snprintf(tls_cert, sizeof(tls_cert), "%s", cert_key_file);
	}
	pthread_mutex_unlock(&tls_lock);
}

bool
agora__url_is_tls(const char *url)
{
	return strncmp(url, "tls+", 4) == 0;
}

/* The host of scheme://host:port, for the certificate's name check. */
static void
url_host(const char *url, char *out, size_t n)
{
	const char *h = strstr(url, "://");
	const char *colon;

	h = h != NULL ? h + 3 : url;
	colon = strrchr(h, ':');
	snprintf(out, n, "%.*s", (int)(colon ? (size_t)(colon - h) : strlen(h)),
	         h);
}

int
agora__dial_tls(nng_socket sock, const char *url, int flags, char *err,
                size_t errlen)
{
	char host[256], ca[1024];
	nng_dialer d;
	int rv;

	pthread_mutex_lock(&tls_lock);
	snprintf(ca, sizeof(ca), "%s", tls_ca);
	pthread_mutex_unlock(&tls_lock);
	if (ca[0] == '\0') {
		snprintf(err, errlen,
		         "%s: a tls+tcp address needs a CA file to check the "
		         "server (--tls-ca, server.tls_ca)",
		         url);
		return NNG_EINVAL;
	}
	url_host(url, host, sizeof(host));
	if ((rv = nng_dialer_create(&d, sock, url)) == 0 &&
	    (rv = nng_dialer_set_string(d, NNG_OPT_TLS_CA_FILE, ca)) == 0 &&
	    (rv = nng_dialer_set_string(d, NNG_OPT_TLS_SERVER_NAME, host)) ==
	        0) {
		rv = nng_dialer_start(d, flags);
	}
	if (rv != 0) {
		snprintf(err, errlen, "%s: TLS: %s (CA file %s)", url,
		         nng_strerror(rv), ca);
	}
	return rv;
}

int
agora__listen_tls(nng_socket sock, const char *url, nng_listener *lp, char *err,
                  size_t errlen)
{
	char cert[1024];
	nng_listener l;
	int rv;

	pthread_mutex_lock(&tls_lock);
	snprintf(cert, sizeof(cert), "%s", tls_cert);
	pthread_mutex_unlock(&tls_lock);
	if (cert[0] == '\0') {
		snprintf(err, errlen,
		         "cannot listen on %s: it needs a certificate and key "
		         "(--tls-cert FILE)",
		         url);
		return NNG_EINVAL;
	}
	if ((rv = nng_listener_create(&l, sock, url)) == 0 &&
	    (rv = nng_listener_set_string(l, NNG_OPT_TLS_CERT_KEY_FILE,
	                                  cert)) == 0) {
		rv = nng_listener_start(l, 0);
	}
	*lp = l;
	if (rv != 0) {
		snprintf(err, errlen,
		         "cannot listen on %s: %s (certificate %s)", url,
		         nng_strerror(rv), cert);
	}
	return rv;
}

/* ---- shared ----------------------------------------------------------- */

agora_err
agora__tp_err(int rv)
{
	switch (rv) {
	case NNG_ETIMEDOUT:
		return AGORA_ETIMEDOUT;
	case NNG_ECANCELED:
	case NNG_ECLOSED:
		return AGORA_ECANCELED;
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
		return AGORA_EINVAL;
	case NNG_EMSGSIZE:
		return AGORA_ETOOBIG;
	default:
		return AGORA_ETRANSPORT;
	}
}

/* One nng message holding the pieces: the only copy of a request. */
nng_msg *
agora__msg_gather(const agora_iov *v, size_t n)
{
	size_t len = 0;
	nng_msg *m;
	char *p;

	for (size_t i = 0; i < n; i++) {
		len += v[i].len;
	}
	if (nng_msg_alloc(&m, len) != 0) {
		return NULL;
	}
	p = nng_msg_body(m);
	for (size_t i = 0; i < n; i++) {
		if (v[i].len > 0) {
			memcpy(p, v[i].data, v[i].len);
			p += v[i].len;
		}
	}
	return m;
}
