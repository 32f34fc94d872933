/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <time.h>

#include "drv/clock.h"

static uint64_t ticks_per_ms;
static pthread_once_t calib_once = PTHREAD_ONCE_INIT;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t aisio_drv_now_ms(void)
{
	return mono_ns() / 1000000u;
}

static void calibrate(void)
{
#ifdef AISIO_DRV_CLOCK_TSC
	/* 5 ms against CLOCK_MONOTONIC is plenty for timeouts of milliseconds and up. */
	struct timespec pause = { 0, 5000000 };
	uint64_t n0 = mono_ns(), t0 = aisio_drv_ticks(), n1, t1;

	nanosleep(&pause, NULL);
	n1 = mono_ns();
	t1 = aisio_drv_ticks();
	ticks_per_ms = n1 > n0 ? (t1 - t0) * 1000000u / (n1 - n0) : 1000000u;
	if (!ticks_per_ms)
		ticks_per_ms = 1;
#else
	ticks_per_ms = 1000000u;
#endif
}

uint64_t aisio_drv_ticks_per_ms(void)
{
	pthread_once(&calib_once, calibrate);
	return ticks_per_ms;
}
