// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tiering's decisions (fs/tiering.c cdm_tier_decide): hysteresis, the
 * FAST budget, the per-period move limits, the rest after a move, and a
 * window of hot chunks that moves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cdmfs/heat.h"
#include "tiering.h"

#define N 16
static const struct cdm_tier_limits wide = {
	.hot = 500, .cold = 200, .budget = N, .up = N, .down = N,
};

static struct cdm_tier_chunk c[N];
static uint32_t heat[N];
static int8_t move[N];

static void start(enum cdm_tier_on on)
{
	for (int i = 0; i < N; i++)
		c[i] = (struct cdm_tier_chunk){ .heat = CDM_HEAT_NONE, .on = on };
}

/* heat 1500 in [lo, hi), 0 elsewhere */
static void window(int lo, int hi)
{
	for (int i = 0; i < N; i++)
		heat[i] = i >= lo && i < hi ? 1500 : 0;
}

/* One period; apply the moves as the thread does when they succeed. */
static size_t period(const struct cdm_tier_limits *lim)
{
	size_t n = cdm_tier_decide(c, N, heat, lim, move);

	for (int i = 0; i < N; i++)
		if (move[i])
			c[i].on = move[i] > 0 ? CDM_TIER_ON_FAST : CDM_TIER_ON_SLOW;
	return n;
}

static int on_fast(void)
{
	int n = 0;

	for (int i = 0; i < N; i++)
		n += c[i].on == CDM_TIER_ON_FAST;
	return n;
}

static void test_cold_after_three(void **state)
{
	start(CDM_TIER_ON_FAST);
	window(0, 4);
	assert_int_equal(period(&wide), 0);
	assert_int_equal(period(&wide), 0);
	/* third period below cold: the 12 cold chunks go to SLOW */
	assert_int_equal(period(&wide), 12);
	for (int i = 0; i < N; i++)
		assert_int_equal(c[i].on, i < 4 ? CDM_TIER_ON_FAST : CDM_TIER_ON_SLOW);
}

static void test_hot_after_two_and_rest(void **state)
{
	start(CDM_TIER_ON_SLOW);
	window(8, 12);
	assert_int_equal(period(&wide), 0);
	assert_int_equal(period(&wide), 4);
	assert_int_equal(on_fast(), 4);
	for (int i = 8; i < 12; i++)
		assert_int_equal(c[i].on, CDM_TIER_ON_FAST);
	/* gone cold at once: left alone while it rests, then demoted */
	window(0, 0);
	assert_int_equal(period(&wide), 0);
	assert_int_equal(period(&wide), 0);
	assert_int_equal(period(&wide), 4);
	assert_int_equal(on_fast(), 0);
}

static void test_between_stays(void **state)
{
	start(CDM_TIER_ON_FAST);
	for (int i = 0; i < N; i++)
		heat[i] = 300;	/* warm: neither */
	for (int p = 0; p < 6; p++)
		assert_int_equal(period(&wide), 0);
	/* and unknown chunks keep what was known */
	for (int i = 0; i < N; i++)
		heat[i] = CDM_HEAT_NONE;
	for (int p = 0; p < 6; p++)
		assert_int_equal(period(&wide), 0);
	assert_int_equal(on_fast(), N);
}

static void test_budget_and_rate(void **state)
{
	struct cdm_tier_limits lim = wide;

	/* all on FAST with a budget of 4: the coldest leave, 3 a period */
	start(CDM_TIER_ON_FAST);
	lim.budget = 4;
	lim.down = 3;
	window(0, 4);
	assert_int_equal(period(&lim), 3);
	assert_int_equal(on_fast(), 13);
	for (int p = 0; p < 6; p++)
		period(&lim);
	assert_int_equal(on_fast(), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(c[i].on, CDM_TIER_ON_FAST);

	/* the window moves: hot chunks displace cold ones, 2 up a period */
	lim.up = 2;
	lim.down = 2;
	window(10, 14);
	for (int p = 0; p < 8; p++) {
		period(&lim);
		assert_true(on_fast() <= 4);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(c[i].on, i >= 10 && i < 14 ? CDM_TIER_ON_FAST :
							      CDM_TIER_ON_SLOW);
	/* no move allowed: nothing moves */
	lim.up = lim.down = 0;
	window(0, 4);
	for (int p = 0; p < 4; p++)
		assert_int_equal(period(&lim), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold_after_three),
		cmocka_unit_test(test_hot_after_two_and_rest),
		cmocka_unit_test(test_between_stays),
		cmocka_unit_test(test_budget_and_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
