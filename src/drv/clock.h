/* SPDX-License-Identifier: MIT */
/*
 * A cheap coarse clock for command timeouts. The hot path stamps each
 * batch and checks deadlines rarely, so the clock must cost a few cycles and
 * no system call: the TSC on x86-64 (calibrated once against
 * CLOCK_MONOTONIC), CLOCK_MONOTONIC_COARSE (vDSO) elsewhere.
 */
#ifndef AISIO_DRV_CLOCK_H
#define AISIO_DRV_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define AISIO_DRV_CLOCK_TSC 1
#endif

static inline uint64_t aisio_drv_ticks(void)
{
#ifdef AISIO_DRV_CLOCK_TSC
	return __rdtsc();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* Ticks per millisecond (calibrated on first use; thread safe). */
uint64_t aisio_drv_ticks_per_ms(void);

/* Milliseconds on CLOCK_MONOTONIC, for slow-path waits. */
uint64_t aisio_drv_now_ms(void);

#endif
