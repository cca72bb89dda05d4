/* SPDX-License-Identifier: MIT */
/* Seed 004's video streamer: an action server publishes 640x480 RGB
 * frames (uint8[480, 640, 3]) at 30 Hz; a subscriber prints the frames per
 * second it receives and their latency (publish to callback, by the wall
 * clock, so across machines it is as good as their clocks agree).
 *
 *   ./demos/lace/streamer serve [--url tcp://127.0.0.1:5547] [--seconds N]
 *   ./demos/lace/streamer watch [--url tcp://127.0.0.1:5547] [--seconds 5]
 *   ./demos/lace/streamer          both in one process, for 5 s */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/lace.h"

#define W  640
#define H  480
#define HZ 30

static const char *const obs_keys[] = { "frame" };
static const agora_lace_config stream_config = {
	.kind = AGORA_LACE_ACTION,
	.version = "streamer-1",
	.obs_keys = obs_keys,
	.nobs_keys = 1,
};

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the server -------------------------------------------------------- */

static void
paint(unsigned char *img, long n)
{
	for (long y = 0; y < H; y++) {
		for (long x = 0; x < W; x++) {
			unsigned char *p = img + (y * W + x) * 3;
			p[0] = (unsigned char)(x + n);
			p[1] = (unsigned char)(y + 2 * n);
			p[2] = (unsigned char)((x ^ y) + n);
		}
	}
}

struct serve {
	const char *url;
	double seconds; /* 0: until killed */
	agora_lace_server *s;
	int rv;
};

static void *
publisher(void *arg)
{
	struct serve *sv = arg;
	unsigned char *img = agora_malloc((size_t)W * H * 3);
	agora_lace_array a = { .dtype = AGORA_LACE_U8,
		               .ndim = 3,
		               .shape = { H, W, 3 },
		               .data = img };
	char json[96];
	agora_lace_payload p = { .json = json, .arrays = &a, .narrays = 1 };
	int64_t start = agora_now_ms();

	for (long n = 0; sv->seconds <= 0 ||
	                 agora_now_ms() - start < (int64_t)(sv->seconds * 1000);
	     n++) {
		int64_t due = start + n * 1000 / HZ;
		paint(img, n);
		while (agora_now_ms() < due) {
			agora_sleep_ms(due -
			               agora_now_ms()); /* the frame rate */
		}
		snprintf(json, sizeof(json),
		         "{\"frame\":{\"$array\":0},\"n\":%ld,\"t_us\":%" PRId64
		         "}",
		         n, wall_us());
		p.json_len = strlen(json);
		if (agora_lace_server_publish(sv->s, &p) != AGORA_OK) {
			fprintf(stderr, "streamer: publish failed\n");
			sv->rv = 1;
			break;
		}
	}
	agora_free(img);
	return NULL;
}

static int
serve_start(struct serve *sv, char *err, size_t errlen)
{
	agora_lace_server_opts o = { .url = sv->url };

	if (agora_lace_server_new(&sv->s, &stream_config, &o, err, errlen) !=
	        AGORA_OK ||
	    agora_lace_server_start(sv->s, err, errlen) != AGORA_OK) {
		return 1;
	}
	printf("streamer: publishing %dx%d RGB at %d Hz on %s\n", W, H, HZ,
	       agora_lace_server_url(sv->s));
	fflush(stdout);
	return 0;
}

/* ---- the watcher ------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	long frames, bad;
	int64_t lat_sum, lat_max;
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
on_frame(void *arg, uint64_t seq, const agora_lace_payload *p)
{
	int64_t now = wall_us(), t = 0;
	agora_json *doc = NULL;

	(void)arg;
	(void)seq;
	if (agora_json_parse(&doc, p->json, p->json_len, 4096, 8, NULL, 0) ==
	    AGORA_OK) {
		(void)agora_json_int(agora_json_get(doc, "t_us"), 0, INT64_MAX,
		                     &t);
	}
	agora_json_free(doc);
	pthread_mutex_lock(&seen.lock);
	if (p->narrays != 1 ||
	    agora_lace_array_bytes(&p->arrays[0]) != (size_t)W * H * 3 ||
	    t == 0) {
		seen.bad++;
	} else {
		seen.frames++;
		seen.lat_sum += now - t;
		seen.lat_max = now - t > seen.lat_max ? now - t : seen.lat_max;
	}
	pthread_mutex_unlock(&seen.lock);
}

static int
watch(const char *url, double seconds)
{
	agora_lace_client_opts o = { .url = url, .timeout_ms = 5000 };
	agora_lace_client *c = NULL;
	char err[256];
	long total = 0;

	if (agora_lace_client_open(&c, &stream_config, &o, err, sizeof(err)) !=
	        AGORA_OK ||
	    agora_lace_subscribe(c, on_frame, NULL) != AGORA_OK) {
		fprintf(stderr, "streamer: %s\n", err);
		agora_lace_client_close(c);
		return 1;
	}
	for (int s = 0; s < (int)seconds; s++) {
		long frames;
		int64_t sum, max;
		agora_sleep_ms(1000); /* one line a second */
		pthread_mutex_lock(&seen.lock);
		frames = seen.frames;
		sum = seen.lat_sum;
		max = seen.lat_max;
		seen.frames = 0;
		seen.lat_sum = 0;
		seen.lat_max = 0;
		pthread_mutex_unlock(&seen.lock);
		total += frames;
		printf("streamer: %ld frames/s, latency mean %.2f ms, max "
		       "%.2f ms\n",
		       frames,
		       frames > 0 ? (double)sum / (double)frames / 1000.0 : 0.0,
		       (double)max / 1000.0);
		fflush(stdout);
	}
	agora_lace_client_close(c);
	return total > 0 && seen.bad == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 && argv[1][0] != '-' ? argv[1] : "both";
	struct serve sv = { .url = "tcp://127.0.0.1:5547" };
	double seconds = 5;
	bool timed = false;
	char err[256];
	pthread_t th;
	int rv = 0;

	for (int i = strcmp(mode, "both") == 0 ? 1 : 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0) {
			sv.url = argv[i + 1];
		} else if (strcmp(argv[i], "--seconds") == 0) {
			seconds = strtod(argv[i + 1], NULL);
			timed = true;
		} else {
			fprintf(stderr, "usage: streamer [serve|watch] [--url "
			                "URL] [--seconds N]\n");
			return 2;
		}
	}
	if (strcmp(mode, "watch") == 0) {
		return watch(sv.url, seconds);
	}
	if (strcmp(mode, "serve") != 0 && strcmp(mode, "both") != 0) {
		fprintf(stderr, "usage: streamer [serve|watch] [--url URL] "
		                "[--seconds N]\n");
		return 2;
	}
	/* Serving alone: until killed, unless told how long. */
	sv.seconds = strcmp(mode, "serve") == 0 && !timed ? 0 : seconds + 1;
	if (serve_start(&sv, err, sizeof(err)) != 0) {
		fprintf(stderr, "streamer: %s\n", err);
		return 1;
	}
	pthread_create(&th, NULL, publisher, &sv);
	if (strcmp(mode, "both") == 0) {
		rv = watch(agora_lace_server_url(sv.s), seconds);
	}
	pthread_join(th, NULL);
	agora_lace_server_free(sv.s);
	return rv != 0 ? rv : sv.rv;
}
