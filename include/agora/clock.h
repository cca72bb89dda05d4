/* SPDX-License-Identifier: MIT */
/* Time: int64_t milliseconds. Deadlines are on the monotonic clock; message
 * timestamps on the wall clock. */
#ifndef AGORA_CLOCK_H
#define AGORA_CLOCK_H

#include <stdint.h>

#include "agora/err.h"

#ifdef __cplusplus
extern "C" {
#endif

AGORA_API int64_t agora_now_ms(void);  /* monotonic */
AGORA_API int64_t agora_now_us(void);  /* monotonic, microseconds */
AGORA_API int64_t agora_wall_ms(void); /* since the epoch */
AGORA_API void agora_sleep_ms(int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
