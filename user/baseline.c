// SPDX-License-Identifier: GPL-2.0-only
/* The anomaly detector's baselines (baseline.h). */
#include <math.h>
#include "baseline.h"

void baseline_learn(struct baseline *b, double x)
{
	double d = x - b->mean;

	if (!b->n) {
		b->mean = x;
	} else {
		b->mean += BASELINE_ALPHA * d;
		b->var = (1 - BASELINE_ALPHA) * (b->var + BASELINE_ALPHA * d * d);
	}
	b->n++;
}

bool baseline_ready(const struct baseline *b)
{
	return b->n >= BASELINE_WARMUP;
}

bool baseline_exceeds(const struct baseline *b, double x, double floor, double sigma,
		      bool need_traffic)
{
	return baseline_ready(b) && x >= floor && x > b->mean + sigma * sqrt(b->var) &&
	       (!need_traffic || (b->mean >= BASELINE_MIN && x > 4 * b->mean));
}

bool baseline_judge(struct baseline *b, double x, double floor, double sigma, uint64_t now_ms,
		    bool need_traffic)
{
	if (!baseline_exceeds(b, x, floor, sigma, need_traffic)) {
		baseline_learn(b, x);
		return false;
	}
	if (now_ms < b->quiet_until_ms)
		return false;
	b->quiet_until_ms = now_ms + BASELINE_QUIET_MS;
	return true;
}
