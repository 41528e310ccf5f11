/* Minimum-cost assignment (dense and sparse with dummies), the cluster
 * decomposition and the point grid, against brute force.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_int.h"

/* deterministic generator (rand() is shared with the library) */
static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}
static double rndu(void)
{
	return rnd() / 4294967296.0; /* [0, 1) */
}

/* ------------------------------------------------------------- dense */

/* Minimum over all injective maps rows -> columns (INFINITY if none). */
static double brute_dense(size_t nr, size_t nc, const double *c, size_t i, unsigned usedmask)
{
	if (i == nr)
		return 0;
	double best = INFINITY;
	for (size_t j = 0; j < nc; j++) {
		if (usedmask & (1u << j) || isinf(c[i * nc + j]))
			continue;
		double v = c[i * nc + j] + brute_dense(nr, nc, c, i + 1, usedmask | (1u << j));
		if (v < best)
			best = v;
	}
	return best;
}

static void check_dense(size_t nr, size_t nc, const double *c)
{
	size_t sol[8], sol2[8];
	double want = brute_dense(nr, nc, c, 0, 0);
	int rc = bia__assign_dense(nr, nc, c, sol);
	if (isinf(want)) {
		assert_int_equal(rc, -2);
		return;
	}
	assert_int_equal(rc, 0);
	double got = 0;
	unsigned used = 0;
	for (size_t i = 0; i < nr; i++) {
		assert_true(sol[i] < nc);
		assert_false(used & (1u << sol[i])); /* distinct columns */
		used |= 1u << sol[i];
		assert_false(isinf(c[i * nc + sol[i]]));
		got += c[i * nc + sol[i]];
	}
	assert_true(fabs(got - want) <= 1e-9 * (1 + fabs(want)));
	/* deterministic: same matrix, same answer */
	assert_int_equal(bia__assign_dense(nr, nc, c, sol2), 0);
	assert_memory_equal(sol, sol2, nr * sizeof(size_t));
}

static void test_dense_random(void **state)
{
	(void)state;
	double c[64];
	for (int iter = 0; iter < 3000; iter++) {
		size_t nr = 1 + rnd() % 6, nc = nr + rnd() % (8 - nr);
		int mode = iter % 4;
		for (size_t k = 0; k < nr * nc; k++) {
			if (mode == 0)
				c[k] = rndu() * 10; /* continuous */
			else if (mode == 1)
				c[k] = rnd() % 3; /* many ties */
			else if (mode == 2)
				c[k] = rnd() % 4 == 0 ? INFINITY : rndu() * 5; /* forbidden entries */
			else
				c[k] = rnd() % 2 ? INFINITY : (double)(rnd() % 4); /* often infeasible */
		}
		check_dense(nr, nc, c);
	}
}

static void test_dense_hand(void **state)
{
	(void)state;
	size_t sol[3];
	/* greedy row by row takes (0,0)=1 then (1,1)=10: 11; optimum is
	 * (0,1)=2 + (1,0)=2 = 4 */
	double c1[4] = {1, 2, 2, 10};
	assert_int_equal(bia__assign_dense(2, 2, c1, sol), 0);
	assert_int_equal(sol[0], 1);
	assert_int_equal(sol[1], 0);
	/* rectangular: 1 row, 3 columns, min is column 2 */
	double c2[3] = {5, 4, 3};
	assert_int_equal(bia__assign_dense(1, 3, c2, sol), 0);
	assert_int_equal(sol[0], 2);
	/* ties: the lowest column wins */
	double c3[3] = {1, 1, 1};
	assert_int_equal(bia__assign_dense(1, 3, c3, sol), 0);
	assert_int_equal(sol[0], 0);
	/* refusals: more rows than columns, NaN, all forbidden */
	double c4[2] = {1, 1};
	assert_int_equal(bia__assign_dense(2, 1, c4, sol), -2);
	double c5[2] = {NAN, 1};
	assert_int_equal(bia__assign_dense(1, 2, c5, sol), -2);
	double c6[4] = {INFINITY, 1, INFINITY, 2}; /* both rows need column 1 */
	assert_int_equal(bia__assign_dense(2, 2, c6, sol), -2);
	assert_int_equal(bia__assign_dense(0, 0, NULL, sol), 0);
}

/* ------------------------------------------------------------ sparse */

/* Minimum of Σ edge costs + Σ dummies of unmatched rows (brute force). */
static double brute_sparse(size_t nr, const struct bia__assign_edge *e, size_t ne,
			   const double *dummy, size_t i, unsigned usedmask)
{
	if (i == nr)
		return 0;
	double best = dummy[i] + brute_sparse(nr, e, ne, dummy, i + 1, usedmask);
	for (size_t k = 0; k < ne; k++) {
		if (e[k].row != i || usedmask & (1u << e[k].col))
			continue;
		double v = e[k].cost + brute_sparse(nr, e, ne, dummy, i + 1, usedmask | (1u << e[k].col));
		if (v < best)
			best = v;
	}
	return best;
}

static void test_sparse_random(void **state)
{
	(void)state;
	struct bia__assign_edge e[64];
	double dummy[8];
	size_t re[8], re2[8];
	for (int iter = 0; iter < 3000; iter++) {
		size_t nr = rnd() % 7, nc = rnd() % 7, ne = 0;
		for (size_t i = 0; i < nr; i++) {
			dummy[i] = iter % 2 ? 1 + rnd() % 4 : rndu() * 6;
			for (size_t j = 0; j < nc; j++)
				if (rnd() % 3 == 0) {
					e[ne].row = i;
					e[ne].col = j;
					e[ne].cost = iter % 2 ? (double)(rnd() % 5) : rndu() * 8;
					ne++;
				}
		}
		/* shuffle the edges: the result must not depend on their order
		 * except through duplicates (none here) */
		for (size_t k = ne; k > 1; k--) {
			size_t x = rnd() % k;
			struct bia__assign_edge tmp = e[k - 1];
			e[k - 1] = e[x];
			e[x] = tmp;
		}
		double want = brute_sparse(nr, e, ne, dummy, 0, 0);
		assert_int_equal(bia__assign_sparse(nr, nc, e, ne, dummy, re), 0);
		double got = 0;
		unsigned used = 0;
		for (size_t i = 0; i < nr; i++) {
			if (re[i] == SIZE_MAX) {
				got += dummy[i];
				continue;
			}
			assert_true(re[i] < ne);
			assert_int_equal(e[re[i]].row, i);
			assert_false(used & (1u << e[re[i]].col));
			used |= 1u << e[re[i]].col;
			got += e[re[i]].cost;
		}
		assert_true(fabs(got - want) <= 1e-9 * (1 + want));
		assert_int_equal(bia__assign_sparse(nr, nc, e, ne, dummy, re2), 0);
		assert_memory_equal(re, re2, nr * sizeof(size_t));
	}
}

static void test_sparse_hand(void **state)
{
	(void)state;
	size_t re[3];
	/* ref 0 - cand 0 cost 1, ref 1 - cand 0 cost 0.5 and cand 1 cost 4,
	 * dummies 5. Cheapest edge first (greedy) gives cand 0 to ref 1 (0.5)
	 * and leaves ref 0 its dummy: 0.5 + 5 = 5.5; optimum 1 + 4 = 5 */
	struct bia__assign_edge e[3] = {{0, 0, 1}, {1, 0, 0.5}, {1, 1, 4}};
	double dummy[2] = {5, 5};
	assert_int_equal(bia__assign_sparse(2, 2, e, 3, dummy, re), 0);
	assert_int_equal(re[0], 0); /* edge 0: ref 0 - cand 0 */
	assert_int_equal(re[1], 2); /* edge 2: ref 1 - cand 1 */
	/* a dummy cheaper than the edge wins: 3 < 4 */
	double dummy2[2] = {5, 3};
	assert_int_equal(bia__assign_sparse(2, 2, e, 3, dummy2, re), 0);
	assert_int_equal(re[0], 0);
	assert_int_equal(re[1], SIZE_MAX);
	/* duplicates keep the smallest cost */
	struct bia__assign_edge d[2] = {{0, 0, 2}, {0, 0, 1}};
	double dm[1] = {5};
	assert_int_equal(bia__assign_sparse(1, 1, d, 2, dm, re), 0);
	assert_int_equal(re[0], 1);
	/* refusals */
	struct bia__assign_edge bad[1] = {{0, 3, 1}};
	assert_int_equal(bia__assign_sparse(1, 1, bad, 1, dm, re), -2);
	struct bia__assign_edge nan_e[1] = {{0, 0, NAN}};
	assert_int_equal(bia__assign_sparse(1, 1, nan_e, 1, dm, re), -2);
	/* nothing to do */
	assert_int_equal(bia__assign_sparse(0, 0, NULL, 0, NULL, re), 0);
	assert_int_equal(bia__assign_sparse(2, 0, NULL, 0, dummy, re), 0);
	assert_int_equal(re[0], SIZE_MAX);
	assert_int_equal(re[1], SIZE_MAX);
}

/* ---------------------------------------------------------- clusters */

static void test_clusters(void **state)
{
	(void)state;
	/* rows 0..4, cols 0..4: r0-c1, r2-c1 (r0,r2 share c1), r2-c3, r4-c3
	 * -> cluster {r0,r2,r4; c1,c3}; r1-c0 -> {r1; c0}; r3 alone; c2, c4
	 * without edges */
	struct bia__assign_edge e[5] = {{0, 1, 1}, {2, 1, 1}, {4, 3, 1}, {2, 3, 1}, {1, 0, 1}};
	size_t rc[5], cc[5], k;
	assert_int_equal(bia__assign_clusters(5, 5, e, 5, rc, cc, &k), 0);
	assert_int_equal(k, 3);
	/* numbered by smallest row: r0 -> 0, r1 -> 1, r3 -> 2 */
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[2], 0);
	assert_int_equal(rc[4], 0);
	assert_int_equal(rc[1], 1);
	assert_int_equal(rc[3], 2);
	assert_int_equal(cc[1], 0);
	assert_int_equal(cc[3], 0);
	assert_int_equal(cc[0], 1);
	assert_int_equal(cc[2], SIZE_MAX);
	assert_int_equal(cc[4], SIZE_MAX);
	/* random graphs against a simple flood fill */
	for (int iter = 0; iter < 500; iter++) {
		size_t nr = 1 + rnd() % 12, nc = 1 + rnd() % 12, ne = 0;
		struct bia__assign_edge ed[144];
		for (size_t i = 0; i < nr; i++)
			for (size_t j = 0; j < nc; j++)
				if (rnd() % 8 == 0)
					ed[ne++] = (struct bia__assign_edge){i, j, 0};
		size_t r2[12], c2[12];
		assert_int_equal(bia__assign_clusters(nr, nc, ed, ne, r2, c2, &k), 0);
		/* two rows share a cluster iff connected: relax to a fixed point */
		size_t lab[12];
		for (size_t i = 0; i < nr; i++)
			lab[i] = i;
		for (int changed = 1; changed;) {
			changed = 0;
			for (size_t a = 0; a < ne; a++)
				for (size_t b = 0; b < ne; b++)
					if (ed[a].col == ed[b].col && lab[ed[a].row] != lab[ed[b].row]) {
						size_t m = lab[ed[a].row] < lab[ed[b].row] ? lab[ed[a].row]
											  : lab[ed[b].row];
						lab[ed[a].row] = lab[ed[b].row] = m;
						changed = 1;
					}
		}
		for (size_t i = 0; i < nr; i++)
			for (size_t j = 0; j < nr; j++)
				assert_int_equal(r2[i] == r2[j], lab[i] == lab[j]);
		for (size_t x = 0; x < ne; x++)
			assert_int_equal(c2[ed[x].col], r2[ed[x].row]);
	}
}

/* -------------------------------------------------------------- grid */

struct hits {
	size_t n;
	size_t j[256];
	double d[256];
};

static int collect(void *arg, size_t j, double d)
{
	struct hits *h = arg;
	h->j[h->n] = j;
	h->d[h->n] = d;
	h->n++;
	return 0;
}

static void test_grid(void **state)
{
	(void)state;
	for (int iter = 0; iter < 200; iter++) {
		size_t n = rnd() % 200;
		double xyz[600];
		int64_t t[200];
		double r = iter % 3 == 0 ? 0.5 : iter % 3 == 1 ? 3 : 7.5;
		for (size_t i = 0; i < n; i++) {
			xyz[3 * i] = rnd() % 40;
			xyz[3 * i + 1] = rnd() % 40;
			xyz[3 * i + 2] = iter % 2 ? rnd() % 5 : 0;
			t[i] = rnd() % 3;
		}
		struct bia__pgrid g;
		assert_int_equal(bia__pgrid_build(&g, xyz, t, n, r), 0);
		for (int q = 0; q < 20; q++) {
			double p[3] = {rndu() * 44 - 2, rndu() * 44 - 2, rnd() % 5};
			int64_t tq = rnd() % 3;
			struct hits h = {0};
			assert_int_equal(bia__pgrid_query(&g, p, tq, r, collect, &h), 0);
			size_t want = 0;
			for (size_t i = 0; i < n; i++) {
				double d = bia__dist3(p, xyz + 3 * i);
				if (t[i] != tq || !(d < r))
					continue;
				want++;
				size_t k = 0;
				while (k < h.n && h.j[k] != i)
					k++;
				assert_true(k < h.n);
				assert_true(h.d[k] == d);
			}
			assert_int_equal(h.n, want);
		}
		bia__pgrid_release(&g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dense_hand),   cmocka_unit_test(test_dense_random),
		cmocka_unit_test(test_sparse_hand),  cmocka_unit_test(test_sparse_random),
		cmocka_unit_test(test_clusters),     cmocka_unit_test(test_grid),
	};
	return cmocka_run_group_tests_name("metrics_assign", tests, NULL, NULL);
}
