/* The nine BIAFLOWS problem classes.
 * SPDX-License-Identifier: MIT */
#include "util/classes.h"

#include <strings.h>

static const struct {
	const char *code; /* BIAFLOWS code */
	const char *name; /* long name as in BIAFLOWS */
} classes[] = {
	[BIA_CLASS_NONE] = {"", ""},
	[BIA_OBJSEG] = {"ObjSeg", "Object segmentation"},
	[BIA_SPTCNT] = {"SptCnt", "Spot counting"},
	[BIA_OBJDET] = {"ObjDet", "Object detection"},
	[BIA_PIXCLA] = {"PixCla", "Pixel classification"},
	[BIA_TRETRC] = {"TreTrc", "Filament tracing (trees)"},
	[BIA_LOOTRC] = {"LooTrc", "Filament tracing (loopy networks)"},
	[BIA_OBJTRK] = {"ObjTrk", "Object tracking"},
	[BIA_PRTTRK] = {"PrtTrk", "Particle tracking"},
	[BIA_LNDDET] = {"LndDet", "Landmark detection"},
};
_Static_assert(sizeof(classes) / sizeof(classes[0]) == BIA_CLASS_COUNT,
	       "one entry per problem class");

const char *bia_class_code(enum bia_class c)
{
	return (unsigned)c < BIA_CLASS_COUNT ? classes[c].code : "";
}

const char *bia_class_name(enum bia_class c)
{
	return (unsigned)c < BIA_CLASS_COUNT ? classes[c].name : "";
}

enum bia_class bia_class_parse(const char *s)
{
	for (int c = 1; c < BIA_CLASS_COUNT; c++)
		if (!strcasecmp(s, classes[c].code))
			return (enum bia_class)c;
	return BIA_CLASS_NONE;
}

enum bia_class bia_class_parse_name(const char *s)
{
	for (int c = 1; c < BIA_CLASS_COUNT; c++)
		if (!strcasecmp(s, classes[c].name))
			return (enum bia_class)c;
	return bia_class_parse(s);
}

const char *bia_class_list(void)
{
	return "ObjSeg, SptCnt, ObjDet, PixCla, TreTrc, LooTrc, ObjTrk, PrtTrk, LndDet";
}
