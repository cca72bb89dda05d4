/* SPDX-License-Identifier: MIT */
/* Time: int64_t milliseconds. Deadlines are on the monotonic clock; message
 * timestamps on the wall clock. */
#ifndef AGORA_CLOCK_H
#define AGORA_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

AGORA_API int64_t agora_now_ms(void);  /* monotonic */
AGORA_API int64_t agora_now_us(void);  /* monotonic, microseconds */
AGORA_API int64_t agora_wall_ms(void); /* since the epoch */
AGORA_API void agora_sleep_ms(int64_t ms);

/* A condition variable whose timed waits run on the monotonic clock, so a
 * change of the wall clock neither ends a wait early nor stretches it. */
AGORA_API void agora_cond_init(pthread_cond_t *cv);
/* Wait on cv (lock held) until it is signalled or the monotonic time
 * until_ms (agora_now_ms) has come; false once it has. Wakeups may be
 * spurious: call it in a loop on the condition. */
AGORA_API bool agora_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *lock,
                                     int64_t until_ms);

#ifdef __cplusplus
}
#endif
#endif
