// SPDX-License-Identifier: GPL-2.0-only
/* The anomaly detector's model (user/baseline.c): what it learns, when it judges, what it
 * reports and how often. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <cmocka.h>
#include "baseline.h"

static void test_learns_a_steady_rate(void **state)
{
	struct baseline b = { 0 };

	(void)state;
	for (int i = 0; i < 50; i++)
		baseline_learn(&b, 100);
	assert_true(fabs(b.mean - 100) < 1e-9);
	assert_true(b.var < 1e-9);
	assert_int_equal(b.n, 50);
}

static void test_follows_a_change_gradually(void **state)
{
	struct baseline b = { 0 };

	(void)state;
	for (int i = 0; i < 20; i++)
		baseline_learn(&b, 100);
	baseline_learn(&b, 200);
	/* One sample moves the mean by ALPHA of the difference. */
	assert_true(fabs(b.mean - (100 + BASELINE_ALPHA * 100)) < 1e-9);
	assert_true(b.var > 0);
}

static void test_judges_nothing_while_warming_up(void **state)
{
	struct baseline b = { 0 };

	(void)state;
	for (int i = 0; i < BASELINE_WARMUP - 1; i++) {
		assert_false(baseline_judge(&b, 1e9, 0, 3, 1000, false));
		assert_false(baseline_ready(&b));
	}
	/* Everything was learnt, even the huge samples: nothing is judged before warm-up. */
	assert_int_equal(b.n, BASELINE_WARMUP - 1);
}

static void test_reports_a_spike_and_does_not_learn_it(void **state)
{
	struct baseline b = { 0 };
	double mean;

	(void)state;
	for (int i = 0; i < 30; i++)
		baseline_learn(&b, 100 + (i % 2) * 10); /* 100, 110, ...: a little variance */
	mean = b.mean;
	assert_true(baseline_judge(&b, 5000, 1000, 3, 1000, true));
	assert_true(fabs(b.mean - mean) < 1e-9); /* an attack must not become normal */
	/* Within the quiet period: the same spike is not reported again ... */
	assert_false(baseline_judge(&b, 5000, 1000, 3, 1000 + BASELINE_QUIET_MS - 1, true));
	/* ... after it, it is. */
	assert_true(baseline_judge(&b, 5000, 1000, 3, 1000 + BASELINE_QUIET_MS, true));
}

static void test_floor_and_traffic_guard(void **state)
{
	struct baseline b = { 0 };

	(void)state;
	for (int i = 0; i < 30; i++)
		baseline_learn(&b, 10); /* below BASELINE_MIN: no real traffic yet */
	/* Far above, over the floor, but with need_traffic a start from near zero is no spike. */
	assert_false(baseline_exceeds(&b, 5000, 1000, 3, true));
	assert_true(baseline_exceeds(&b, 5000, 1000, 3, false));
	/* Under the floor nothing is reported, however far above. */
	assert_false(baseline_exceeds(&b, 900, 1000, 3, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learns_a_steady_rate),
		cmocka_unit_test(test_follows_a_change_gradually),
		cmocka_unit_test(test_judges_nothing_while_warming_up),
		cmocka_unit_test(test_reports_a_spike_and_does_not_learn_it),
		cmocka_unit_test(test_floor_and_traffic_guard),
	};

	return cmocka_run_group_tests_name("baseline", tests, NULL, NULL);
}
