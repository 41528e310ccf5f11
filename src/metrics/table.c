/* The metric table: one declaration per metric, main metric per class.
 * SPDX-License-Identifier: MIT */
#include "metrics/metrics.h"

#include <string.h>

#define HI 1 /* higher is better */
#define LO 0 /* lower is better */

static const struct bia_metric_def table[] = {
	/* ObjSeg */
	{"DC", "Dice coefficient", BIA_OBJSEG, HI, "fraction", 0, 0,
	 "2|G∩P| / (|G|+|P|) of the binarised foregrounds (label != 0)"},
	{"AHD", "Average Hausdorff distance", BIA_OBJSEG, LO, "px", 0, 0,
	 "mean of the two directed average distances between the foregrounds"},
	{"FOVL", "Fraction Overlap Pred", BIA_OBJSEG, HI, "fraction", 0, 0,
	 "mean over GT objects of the overlap with the most frequent predicted label"},
	{"mAP", "Mean average precision (DSB 2018)", BIA_OBJSEG, HI, "fraction", 0, 0,
	 "TP/(TP+FP+FN) at IoU thresholds 0.5..0.95, averaged"},
	{"JI", "Jaccard index", BIA_OBJSEG, HI, "fraction", 0, 1,
	 "|G∩P| / |G∪P| of the binary foregrounds (1 when both empty)"},
	{"AP50", "Average precision at IoU 0.5", BIA_OBJSEG, HI, "fraction", 0, 1,
	 "TP/(TP+FP+FN) with objects matched at IoU > 0.5"},
	{"PQ", "Panoptic quality", BIA_OBJSEG, HI, "fraction", 0, 1,
	 "sum of matched IoU / (TP + FP/2 + FN/2), matching at IoU > 0.5"},
	{"CTC_SEG", "Cell Tracking Challenge SEG", BIA_OBJSEG, HI, "fraction", 0, 1,
	 "mean Jaccard of GT objects matched by > 50% of their area"},
	/* SptCnt */
	{"REC", "Relative error count", BIA_SPTCNT, LO, "fraction", 0, 0,
	 "|#pred spots - #GT spots| / #GT spots"},
	/* ObjDet */
	{"TP", "True positives", BIA_OBJDET, HI, "count", 1, 0,
	 "GT points matched to a prediction within the gating distance"},
	{"FN", "False negatives", BIA_OBJDET, LO, "count", 1, 0, "GT points left unmatched"},
	{"FP", "False positives", BIA_OBJDET, LO, "count", 1, 0, "predicted points left unmatched"},
	{"RE", "Recall", BIA_OBJDET, HI, "fraction", 0, 0, "TP / (TP + FN)"},
	{"PR", "Precision", BIA_OBJDET, HI, "fraction", 0, 0, "TP / (TP + FP)"},
	{"F1", "F1 score", BIA_OBJDET, HI, "fraction", 0, 0, "harmonic mean of RE and PR"},
	{"RMSE", "Distance root mean square error", BIA_OBJDET, LO, "px", 0, 0,
	 "root mean square distance of matched pairs (0 when none)"},
	/* PixCla */
	{"ACC", "Accuracy", BIA_PIXCLA, HI, "fraction", 0, 0, "fraction of pixels with the GT class"},
	{"F1", "F1 score", BIA_PIXCLA, HI, "fraction", 0, 0, "support-weighted mean of per-class F1"},
	{"PR", "Precision", BIA_PIXCLA, HI, "fraction", 0, 0,
	 "support-weighted mean of per-class precision"},
	{"RE", "Recall", BIA_PIXCLA, HI, "fraction", 0, 0,
	 "support-weighted mean of per-class recall (equals ACC)"},
	/* TreTrc */
	{"TFNR", "NetMets Geometric False Negative Rate (Trees)", BIA_TRETRC, LO, "fraction", 0, 0,
	 "1 - mean Gaussian-weighted closeness of GT tree samples to the traced tree"},
	{"TFPR", "NetMets Geometric False Positive Rate (Trees)", BIA_TRETRC, LO, "fraction", 0, 0,
	 "1 - mean Gaussian-weighted closeness of traced samples to the GT tree"},
	{"TF1", "NetMets F1 (Trees)", BIA_TRETRC, HI, "fraction", 0, 1,
	 "harmonic mean of 1 - TFNR and 1 - TFPR: penalises misses and spurious branches"},
	/* LooTrc */
	{"UVR", "Unmatched voxel rate", BIA_LOOTRC, LO, "fraction", 0, 0,
	 "voxels of either skeleton farther than the gating distance from the other"},
	{"FNR", "Geometric false negative rate", BIA_LOOTRC, LO, "fraction", 0, 0,
	 "NetMets FNR of the GT network against the traced one"},
	{"FPR", "Geometric false positive rate", BIA_LOOTRC, LO, "fraction", 0, 0,
	 "NetMets FPR of the traced network against the GT one"},
	{"F1", "NetMets F1", BIA_LOOTRC, HI, "fraction", 0, 1,
	 "harmonic mean of 1 - FNR and 1 - FPR: penalises misses and spurious paths"},
	/* ObjTrk */
	{"SEG", "Segmentation measure", BIA_OBJTRK, HI, "fraction", 0, 0,
	 "CTC SEG: mean Jaccard of GT objects matched by > 50% of their area, all frames"},
	{"TRA", "Tracking measure", BIA_OBJTRK, HI, "fraction", 0, 0,
	 "CTC TRA: 1 - min(AOGM, AOGM0)/AOGM0"},
	{"DET", "Detection measure", BIA_OBJTRK, HI, "fraction", 0, 1,
	 "CTC DET: 1 - min(AOGM-D, AOGM-D0)/AOGM-D0"},
	/* PrtTrk */
	{"PD", "Pairing distance", BIA_PRTTRK, LO, "px", 0, 0, "total distance of paired tracks"},
	{"NPSA", "Normalized pairing score alpha", BIA_PRTTRK, HI, "fraction", 0, 0,
	 "1 - PD / (distance of GT to nothing)"},
	{"FNPSB", "Full normalized pairing score beta", BIA_PRTTRK, HI, "fraction", 0, 0,
	 "alpha penalised by spurious tracks"},
	{"NRT", "Number of reference tracks", BIA_PRTTRK, HI, "count", 1, 0, "GT tracks"},
	{"NCT", "Number of candidate tracks", BIA_PRTTRK, HI, "count", 1, 0, "predicted tracks"},
	{"JST", "Jaccard similarity tracks", BIA_PRTTRK, HI, "fraction", 0, 0, "NPT / (NRT + NST)"},
	{"NPT", "Number of paired tracks", BIA_PRTTRK, HI, "count", 1, 0,
	 "candidate tracks paired with a GT track"},
	{"NMT", "Number of missed tracks", BIA_PRTTRK, LO, "count", 1, 0, "GT tracks left unpaired"},
	{"NST", "Number of spurious tracks", BIA_PRTTRK, LO, "count", 1, 0,
	 "candidate tracks left unpaired"},
	{"NRD", "Number of reference detections", BIA_PRTTRK, HI, "count", 1, 0,
	 "frames spanned by GT tracks"},
	{"NCD", "Number of candidate detections", BIA_PRTTRK, HI, "count", 1, 0,
	 "frames spanned by candidate tracks"},
	{"JSD", "Jaccard similarity detections", BIA_PRTTRK, HI, "fraction", 0, 0,
	 "NPD / (NRD + NSD)"},
	{"NPD", "Number of paired detections", BIA_PRTTRK, HI, "count", 1, 0,
	 "GT detections matched within the gate"},
	{"NMD", "Number of missed detections", BIA_PRTTRK, LO, "count", 1, 0, "GT detections missed"},
	{"NSD", "Number of spurious detections", BIA_PRTTRK, LO, "count", 1, 0,
	 "candidate detections not matched"},
	/* LndDet */
	{"NREF", "Number of landmarks (REF)", BIA_LNDDET, HI, "count", 1, 0, "GT landmark points"},
	{"NPRED", "Number of landmarks (PRED)", BIA_LNDDET, HI, "count", 1, 0,
	 "predicted landmark points"},
	{"MRE", "Mean relative Euclidean distance", BIA_LNDDET, LO, "px", 0, 0,
	 "mean over landmark classes of the mean distance to the nearest GT point"},
};

static const char *const main_metric[BIA_CLASS_COUNT] = {
	[BIA_OBJSEG] = "mAP", [BIA_SPTCNT] = "REC", [BIA_OBJDET] = "F1",
	[BIA_PIXCLA] = "F1",  [BIA_TRETRC] = "TF1", [BIA_LOOTRC] = "F1",
	[BIA_LNDDET] = "MRE", [BIA_PRTTRK] = "FNPSB", [BIA_OBJTRK] = "TRA",
};

const struct bia_metric_def *bia_metric_table(size_t *pn)
{
	*pn = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct bia_metric_def *bia_metric_class(enum bia_class cls, size_t *pn)
{
	size_t n = sizeof(table) / sizeof(table[0]), i = 0, k = 0;
	while (i < n && table[i].cls != cls)
		i++;
	while (i + k < n && table[i + k].cls == cls)
		k++;
	*pn = k;
	return k ? &table[i] : NULL;
}

const struct bia_metric_def *bia_metric_find(enum bia_class cls, const char *code)
{
	size_t n;
	const struct bia_metric_def *d = bia_metric_class(cls, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(d[i].code, code))
			return &d[i];
	return NULL;
}

const char *bia_metric_main(enum bia_class cls)
{
	return (unsigned)cls < BIA_CLASS_COUNT ? main_metric[cls] : NULL;
}

/* One-sided metrics and the rate that shows the other side. */
static const struct {
	enum bia_class cls;
	const char *metric, *companion;
} companions[] = {
	{BIA_OBJDET, "RE", "PR"},     {BIA_OBJDET, "PR", "RE"},	    {BIA_OBJDET, "TP", "FP"},
	{BIA_OBJDET, "FN", "FP"},     {BIA_OBJDET, "FP", "FN"},	    {BIA_PIXCLA, "RE", "PR"},
	{BIA_PIXCLA, "PR", "RE"},     {BIA_PIXCLA, "ACC", "PR"},    {BIA_TRETRC, "TFNR", "TFPR"},
	{BIA_TRETRC, "TFPR", "TFNR"}, {BIA_LOOTRC, "FNR", "FPR"},   {BIA_LOOTRC, "FPR", "FNR"},
	{BIA_PRTTRK, "NPSA", "NST"},  {BIA_PRTTRK, "NMT", "NST"},   {BIA_PRTTRK, "NST", "NMT"},
	{BIA_PRTTRK, "NMD", "NSD"},   {BIA_PRTTRK, "NSD", "NMD"},   {BIA_OBJSEG, "FOVL", "DC"},
};

const char *bia_metric_companion(enum bia_class cls, const char *code)
{
	for (size_t i = 0; i < sizeof(companions) / sizeof(companions[0]); i++)
		if (companions[i].cls == cls && !strcmp(companions[i].metric, code))
			return companions[i].companion;
	return NULL;
}

int bia_metric_msg_about_gt(const char *msg)
{
	static const char *const gt_words[] = {"ground-truth", "ground truth", "Ground-truth",
					       "Ground truth", "the GT", "GT "};
	static const char *const pred_words[] = {"prediction", "predicted", "Prediction"};
	const char *g = NULL, *p = NULL;
	for (size_t i = 0; i < sizeof(gt_words) / sizeof(gt_words[0]); i++) {
		const char *h = strstr(msg, gt_words[i]);
		if (h && (!g || h < g))
			g = h;
	}
	for (size_t i = 0; i < sizeof(pred_words) / sizeof(pred_words[0]); i++) {
		const char *h = strstr(msg, pred_words[i]);
		if (h && (!p || h < p))
			p = h;
	}
	return g && (!p || g < p);
}
