/* The exact EDT against brute force on random volumes.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "metrics/metrics_int.h"

static void brute_check(size_t nx, size_t ny, size_t nz, unsigned seed, int density)
{
	size_t n = nx * ny * nz;
	uint8_t *f = calloc(n, 1);
	float *d = calloc(n, sizeof(float));
	srand(seed);
	for (size_t i = 0; i < n; i++)
		f[i] = rand() % 100 < density;
	assert_int_equal(bia_edt_sq(f, nx, ny, nz, d), 0);
	for (size_t i = 0; i < n; i++) {
		size_t x = i % nx, y = i / nx % ny, z = i / (nx * ny);
		double best = INFINITY;
		for (size_t j = 0; j < n; j++) {
			if (!f[j])
				continue;
			double dx = (double)(j % nx) - x, dy = (double)(j / nx % ny) - y,
			       dz = (double)(j / (nx * ny)) - z;
			double dd = dx * dx + dy * dy + dz * dz;
			if (dd < best)
				best = dd;
		}
		if (isinf(best))
			assert_true(isinf(d[i]));
		else
			assert_true(fabs(d[i] - best) < 1e-3);
	}
	free(f);
	free(d);
}

static void test_edt_2d(void **state)
{
	(void)state;
	brute_check(31, 17, 1, 1, 3);
	brute_check(40, 40, 1, 2, 30);
	brute_check(1, 50, 1, 3, 5);
	brute_check(50, 1, 1, 4, 5);
}

static void test_edt_3d(void **state)
{
	(void)state;
	brute_check(12, 9, 7, 5, 2);
	brute_check(10, 10, 10, 6, 20);
}

static void test_edt_edge_cases(void **state)
{
	(void)state;
	brute_check(16, 16, 1, 7, 0);	/* no feature: all infinite */
	brute_check(16, 16, 1, 8, 100); /* all feature: all zero */
	uint8_t f[5] = {0, 0, 1, 0, 0};
	float d[5];
	assert_int_equal(bia_edt_sq(f, 5, 1, 1, d), 0);
	assert_true(d[0] == 4 && d[1] == 1 && d[2] == 0 && d[3] == 1 && d[4] == 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edt_2d),
		cmocka_unit_test(test_edt_3d),
		cmocka_unit_test(test_edt_edge_cases),
	};
	return cmocka_run_group_tests_name("edt", tests, NULL, NULL);
}
