/* SPDX-License-Identifier: MIT */
/* Clocks in milliseconds: monotonic for deadlines, wall for timestamps;
 * condition waits with a monotonic deadline. */
#include <errno.h>
#include <time.h>

#include "agora/clock.h"

int64_t
agora_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
agora_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
agora_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
agora_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0) {
		return;
	}
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

void
agora_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
}

bool
agora_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *lock,
                      int64_t until_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(until_ms / 1000),
		               .tv_nsec = (long)(until_ms % 1000) * 1000000 };

	if (agora_now_ms() >= until_ms) {
		return false;
	}
	return pthread_cond_timedwait(cv, lock, &ts) != ETIMEDOUT;
}
