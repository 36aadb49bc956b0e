/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The anomaly detector's model (baseline.c): an exponentially weighted mean and variance of a
 * rate, learnt one sample a second, and the test of whether a sample stands far above it. Pure
 * arithmetic, unit-tested on its own (tests/unit/test_baseline.c).
 */
#ifndef MCP_BASELINE_H
#define MCP_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

#define BASELINE_ALPHA	 0.2  /* weight of the newest sample */
#define BASELINE_WARMUP	 5    /* a baseline judges nothing before this many samples */
#define BASELINE_MIN	 50.0 /* a spike is a rise over real traffic, not a start from zero */
#define BASELINE_QUIET_MS 10000 /* one report per series per this long */

struct baseline {
	double mean, var;
	uint32_t n;
	uint64_t quiet_until_ms;
};

void baseline_learn(struct baseline *b, double x);
/* Has the baseline seen enough to judge? */
bool baseline_ready(const struct baseline *b);
/* Above floor and more than sigma standard deviations above the mean (with need_traffic, also
 * over a real baseline: mean >= BASELINE_MIN and x > 4 x mean)? */
bool baseline_exceeds(const struct baseline *b, double x, double floor, double sigma,
		      bool need_traffic);
/* Judge x and learn it unless it is far above (an attack must not become normal). True when
 * it is to be reported: far above, and not within BASELINE_QUIET_MS of the last report. */
bool baseline_judge(struct baseline *b, double x, double floor, double sigma, uint64_t now_ms,
		    bool need_traffic);

#endif
