/* The nine BIAFLOWS problem classes: shared by annotations, metrics,
 * generators and the store (which records a problem's class by its code).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_CLASSES_H
#define BIA_CLASSES_H

/* The nine BIAFLOWS problem classes. Numbers are stable. */
enum bia_class {
	BIA_CLASS_NONE = 0,
	BIA_OBJSEG = 1, /* object segmentation */
	BIA_SPTCNT = 2, /* spot counting */
	BIA_OBJDET = 3, /* object detection */
	BIA_PIXCLA = 4, /* pixel classification */
	BIA_TRETRC = 5, /* filament tree tracing */
	BIA_LOOTRC = 6, /* filament network (loop) tracing */
	BIA_OBJTRK = 7, /* object tracking */
	BIA_PRTTRK = 8, /* particle tracking */
	BIA_LNDDET = 9, /* landmark detection */
	BIA_CLASS_COUNT
};

/* Canonical code ("ObjSeg") and long name ("Object segmentation"). */
const char *bia_class_code(enum bia_class c);
const char *bia_class_name(enum bia_class c);
/* Parse a code case-insensitively; BIA_CLASS_NONE if unknown. */
enum bia_class bia_class_parse(const char *s);
/* A class by its code or its BIAFLOWS discipline name ("Object
 * segmentation", "Filament tracing (trees)"), case-insensitively, as a
 * BIAFLOWS project names its discipline; BIA_CLASS_NONE if neither. */
enum bia_class bia_class_parse_name(const char *s);
/* "ObjSeg, SptCnt, ..." for error messages. */
const char *bia_class_list(void);

#endif
