/* Printing of leaderboards (bench, sweep) from their JSON as a table, CSV
 * or Markdown, and the helpers bench, compare and sweep share.
 * SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "metrics/metrics.h"

int cli_parse_bench_format(const char *s)
{
	if (!strcmp(s, "md"))
		return OUT_MD;
	return cli_parse_format(s);
}

int cli_parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

size_t cli_split_commas(char *s, char **out, size_t max)
{
	size_t n = 0;
	for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
		out[n++] = tok;
	return n;
}

int64_t cli_parse_run_id(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *s && !*end && v > 0 ? (int64_t)v : 0;
}

double cli_json_num(const json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v) && !strcmp(json_string_value(v), "inf"))
		return INFINITY;
	if (json_is_string(v) && !strcmp(json_string_value(v), "-inf"))
		return -INFINITY;
	return NAN;
}

void cli_fmt_num(char *out, size_t outsz, double v)
{
	if (isnan(v))
		snprintf(out, outsz, "n/a");
	else if (isinf(v))
		snprintf(out, outsz, v > 0 ? "inf" : "-inf");
	else
		snprintf(out, outsz, "%.4f", v);
}

void cli_fmt_p(char *out, size_t outsz, double p)
{
	if (isnan(p))
		snprintf(out, outsz, "n/a");
	else if (p < 1e-4)
		snprintf(out, outsz, "%.1e", p);
	else
		snprintf(out, outsz, "%.4f", p);
}

void cli_print_failed(FILE *f, json_t *failed, int fmt)
{
	if (!failed || !json_array_size(failed) || fmt == OUT_CSV)
		return;
	fprintf(f, "%s%zu setting(s) did not succeed:\n", fmt == OUT_MD ? "\n**" : "\n",
		json_array_size(failed));
	if (fmt == OUT_MD)
		fprintf(f, "%s", "**\n\n| params | run | status | reason |\n|---|---|---|---|\n");
	size_t i;
	json_t *x;
	json_array_foreach(failed, i, x)
	{
		char *t = json_dumps(json_object_get(x, "params"), JSON_COMPACT | JSON_SORT_KEYS);
		char pt[1024];
		bia_bench_params_text(t, pt, sizeof(pt));
		free(t);
		if (fmt == OUT_MD)
			fprintf(f, "| %s | %lld | %s | %s |\n", pt,
				(long long)json_integer_value(json_object_get(x, "run")),
				bia_json_str(x, "status", ""), bia_json_str(x, "reason", ""));
		else
			fprintf(f, "  %s  run %lld %s: %s\n", pt,
				(long long)json_integer_value(json_object_get(x, "run")),
				bia_json_str(x, "status", ""), bia_json_str(x, "reason", ""));
	}
}

/* "a=1 b=x": the parameters whose value is the same in every entry (the
 * table shows the others). */
static void common_params(json_t *entries, char *out, size_t outsz)
{
	out[0] = '\0';
	size_t k = json_array_size(entries);
	if (!k)
		return;
	json_t *keep = json_object();
	const char *key;
	json_t *val;
	json_object_foreach(json_object_get(json_array_get(entries, 0), "params"), key, val)
	{
		int same = 1;
		for (size_t j = 1; j < k && same; j++) {
			json_t *o = json_object_get(json_object_get(json_array_get(entries, j),
								    "params"),
						    key);
			same = o && json_equal(o, val);
		}
		if (same)
			json_object_set(keep, key, val);
	}
	char *t = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
	bia_bench_params_text(t, out, outsz);
	free(t);
	json_decref(keep);
}

/* Member i of a JSON array as a number (NaN when null or absent). */
static double pair_num(json_t *a, size_t i)
{
	return cli_json_num(json_array_get(a, i));
}

static double num(json_t *o, const char *key)
{
	return cli_json_num(json_object_get(o, key));
}

/* The header of a leaderboard: what is ranked, notes, column titles. */
static void board_head(FILE *f, json_t *lb, int fmt, const char *comp, int pw)
{
	json_t *entries = json_object_get(lb, "entries");
	const char *metric = bia_json_str(lb, "metric", "");
	char comp_col[48] = "";
	if (comp)
		snprintf(comp_col, sizeof(comp_col), "%s mean", comp);
	if (fmt == OUT_CSV) {
		fprintf(f, "rank,entry,params,run,n,n_nan,mean,%s%ssd,median,min,max,ci_lo,ci_hi,"
			   "rank_lo,rank_hi,n_pairs,p,p_holm,tied_with_first\n",
			comp ? comp : "", comp ? "_mean," : "");
		return;
	}
	fprintf(f, "%sleaderboard of '%s' (%s) on %s (%s is better), %zu images, seed %llu, "
		   "%u resamples%s\n",
		fmt == OUT_MD ? "**" : "", bia_json_str(lb, "problem", ""),
		bia_json_str(lb, "class", ""), metric, bia_json_str(lb, "direction", ""),
		(size_t)json_integer_value(json_object_get(lb, "images")),
		(unsigned long long)json_integer_value(json_object_get(lb, "seed")),
		(unsigned)json_integer_value(json_object_get(lb, "resamples")),
		fmt == OUT_MD ? "**" : "");
	if (comp)
		fprintf(f, "%s%s only penalises one kind of error: %s is shown beside it "
			   "(the class's default, balanced main metric is %s)\n",
			fmt == OUT_MD ? "\n" : "", metric, comp,
			bia_metric_main(bia_class_parse(bia_json_str(lb, "class", ""))));
	if (json_is_true(json_object_get(lb, "too_few_images")))
		fprintf(f, "%s%s\n", fmt == OUT_MD ? "\n" : "", bia_json_str(lb, "note", ""));
	char common[2048];
	common_params(entries, common, sizeof(common));
	if (common[0])
		fprintf(f, "%sparameters of every entry: %s\n", fmt == OUT_MD ? "\n" : "", common);
	if (fmt == OUT_MD)
		fprintf(f, "\n| rank | entry | params | run | n (NaN) | mean |%s%s 95%% CI | "
			   "rank interval | p vs #1 (Holm) | tied with #1 |\n"
			   "|---|---|---|---|---|---|%s---|---|---|---|\n",
			comp ? " " : "", comp ? comp_col : "", comp ? "---|" : "");
	else
		fprintf(f, "\n%-5s %-36s %-*s %5s %8s %8s %s%*s%s%19s %11s %16s %s\n", "rank",
			"entry", pw, "params", "run", "n(NaN)", "mean", comp ? "" : "",
			comp ? 10 : 0, comp ? comp_col : "", comp ? " " : "", "95% CI", "rank int.",
			"p vs #1 (Holm)", "tied");
}

/* The lines under a leaderboard: what n/a means, Friedman, robustness. */
static void board_foot(FILE *f, json_t *lb, int fmt, int na_mean, int na_ci, int na_p)
{
	size_t k = json_array_size(json_object_get(lb, "entries"));
	int too_few = json_is_true(json_object_get(lb, "too_few_images"));
	fprintf(f, "\n");
	const char *bullet = fmt == OUT_MD ? "* " : "";
	if (na_mean)
		fprintf(f, "%sn/a mean: the entry has no value on any image (every image NaN)\n",
			bullet);
	if (na_ci)
		fprintf(f, "%sn/a 95%% CI: no bootstrap resample holds a value of the entry\n", bullet);
	if (na_p)
		fprintf(f, "%sn/a p: no image where both have a value, or no non-zero difference "
			   "(the Wilcoxon test needs one)\n",
			bullet);
	json_t *fr = json_object_get(lb, "friedman");
	if (json_is_object(fr)) {
		char st[32], pv[32];
		cli_fmt_num(st, sizeof(st), num(fr, "statistic"));
		cli_fmt_p(pv, sizeof(pv), num(fr, "pvalue"));
		fprintf(f, "%sFriedman test over %zu entries on %zu complete images: chi2 = %s, p = %s\n",
			bullet, k, (size_t)json_integer_value(json_object_get(fr, "n")), st, pv);
	} else {
		fprintf(f, "%sFriedman test: not applicable (%zu entries, %zu complete images%s)\n",
			bullet, k, (size_t)json_integer_value(json_object_get(lb, "images_complete")),
			too_few ? ", too few" : "");
	}
	json_t *rb = json_object_get(lb, "robustness");
	json_t *rm = json_object_get(rb, "median"), *rr = json_object_get(rb, "rank_then_mean");
	size_t fm = (size_t)json_integer_value(json_object_get(rm, "reversed_pairs"));
	size_t fr2 = (size_t)json_integer_value(json_object_get(rr, "reversed_pairs"));
	double tm = num(rm, "kendall_tau"), tr = num(rr, "kendall_tau");
	char t1[32], t2[32];
	cli_fmt_num(t1, sizeof(t1), tm);
	cli_fmt_num(t2, sizeof(t2), tr);
	fprintf(f, "%sRobustness: by median, Kendall tau %s with the mean ranking, %zu pair(s) "
		   "reversed%s; by rank-then-mean, tau %s, %zu pair(s) reversed%s%s\n",
		bullet, t1, fm, fm ? " (RANKING FLIPS)" : "", t2, fr2, fr2 ? " (RANKING FLIPS)" : "",
		isnan(tm) || isnan(tr) ? " (tau n/a: fewer than two distinct ranks)" : "");
	fprintf(f, "%sRanks: equal means share the best rank (=1); Wilcoxon signed-rank, "
		   "two-sided, zero differences dropped, images without a value left out "
		   "pairwise; 'tied' = Holm-adjusted p >= %.2f\n",
		bullet, BIA_LB_ALPHA);
}

void cli_print_board(FILE *f, json_t *lb, int fmt)
{
	json_t *entries = json_object_get(lb, "entries");
	size_t k = json_array_size(entries);
	json_t *cj = json_object_get(lb, "companion_metric");
	const char *comp = json_is_string(cj) ? json_string_value(cj) : NULL;
	int too_few = json_is_true(json_object_get(lb, "too_few_images"));
	/* the table shows the parameters that vary between entries of a
	 * workflow version, in full: the column is as wide as the longest */
	char(*params)[1024] = bia_calloc(k + 1, sizeof(*params));
	if (!params)
		return;
	int pw = 6;
	for (size_t i = 0; i < k; i++) {
		bia_bench_varying_params(entries, i, params[i], sizeof(params[i]));
		if ((int)strlen(params[i]) > pw)
			pw = (int)strlen(params[i]);
	}
	board_head(f, lb, fmt, comp, pw);
	int na_mean = 0, na_ci = 0, na_p = 0;
	for (size_t i = 0; i < k; i++) {
		json_t *x = json_array_get(entries, i), *vs = json_object_get(x, "vs_leader");
		json_t *ci = json_object_get(x, "ci95"), *rint = json_object_get(x, "rank_interval");
		int leader = json_is_true(json_object_get(x, "leader"));
		const char *label = bia_json_str(x, "entry", "");
		long long run = (long long)json_integer_value(json_object_get(x, "run"));
		size_t n = (size_t)json_integer_value(json_object_get(x, "n"));
		size_t n_nan = (size_t)json_integer_value(json_object_get(x, "n_nan"));
		double xmean = num(x, "mean"), ci_lo = pair_num(ci, 0), ci_hi = pair_num(ci, 1);
		double p = leader ? NAN : num(vs, "pvalue");
		double rank_lo = pair_num(rint, 0), rank_hi = pair_num(rint, 1);
		char mean[32], lo[32], hi[32], pr[32], ph[32], rk[32], cm[32];
		cli_fmt_num(mean, sizeof(mean), xmean);
		cli_fmt_num(lo, sizeof(lo), ci_lo);
		cli_fmt_num(hi, sizeof(hi), ci_hi);
		cli_fmt_num(cm, sizeof(cm), num(x, "companion_mean"));
		cli_fmt_p(pr, sizeof(pr), p);
		cli_fmt_p(ph, sizeof(ph), leader ? NAN : num(vs, "pvalue_holm"));
		snprintf(rk, sizeof(rk), "%s%g",
			 json_is_true(json_object_get(x, "rank_shared")) ? "=" : "",
			 (double)json_integer_value(json_object_get(x, "rank")));
		na_mean |= isnan(xmean);
		na_ci |= !too_few && !isnan(xmean) && isnan(ci_lo);
		na_p |= !too_few && !leader && isnan(p);
		const char *tied = too_few ? "n/a"
				   : leader ? "leader"
				   : json_is_true(json_object_get(x, "tied_with_first")) ? "yes"
											  : "no";
		if (fmt == OUT_CSV) {
			char sd[32], med[32], mn[32], mx[32];
			cli_fmt_num(sd, sizeof(sd), num(x, "sd"));
			cli_fmt_num(med, sizeof(med), num(x, "median"));
			cli_fmt_num(mn, sizeof(mn), num(x, "min"));
			cli_fmt_num(mx, sizeof(mx), num(x, "max"));
			fprintf(f, "%s,%s,\"%s\",%lld,%zu,%zu,%s,%s%s%s,%s,%s,%s,%s,%s,%g,%g,%zu,%s,%s,%s\n",
				rk, label, params[i], run, n, n_nan, mean, comp ? cm : "",
				comp ? "," : "", sd, med, mn, mx, lo, hi, rank_lo, rank_hi,
				(size_t)json_integer_value(json_object_get(vs, "n_pairs")), pr, ph,
				tied);
			continue;
		}
		char nn[48], cis[80], ri[48], pp[64];
		snprintf(nn, sizeof(nn), "%zu(%zu)", n, n_nan);
		if (isnan(ci_lo))
			snprintf(cis, sizeof(cis), "n/a");
		else
			snprintf(cis, sizeof(cis), "[%s, %s]", lo, hi);
		if (isnan(rank_lo))
			snprintf(ri, sizeof(ri), "n/a");
		else
			snprintf(ri, sizeof(ri), "[%g, %g]", rank_lo, rank_hi);
		snprintf(pp, sizeof(pp), "%s (%s)", pr, ph);
		if (isnan(p))
			snprintf(pp, sizeof(pp), "n/a");
		const char *pt = params[i][0] ? params[i] : "-";
		if (fmt == OUT_MD)
			fprintf(f, "| %s | %s | %s | %lld | %s | %s |%s%s%s %s | %s | %s | %s |\n", rk,
				label, pt, run, nn, mean, comp ? " " : "", comp ? cm : "",
				comp ? " |" : "", cis, ri, leader ? "-" : pp, tied);
		else
			fprintf(f, "%-5s %-36s %-*s %5lld %8s %8s %s%*s%s%19s %11s %16s %s\n", rk,
				label, pw, pt, run, nn, mean, "", comp ? 10 : 0, comp ? cm : "",
				comp ? " " : "", cis, ri, leader ? "-" : pp, tied);
	}
	free(params);
	if (fmt != OUT_CSV)
		board_foot(f, lb, fmt, na_mean, na_ci, na_p);
}
