/* OME-XML: parse the first Image/Pixels (libxml2) and build documents for
 * the OME-TIFF files we write.
 * SPDX-License-Identifier: MIT */
#include "image/image.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#define OME_MAX_TIFFDATA 1000000

static int is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static const xmlNode *first_child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

/* Read an unsigned attribute; absent → dflt; malformed → -1. */
static int attr_u64(const xmlNode *n, const char *name, uint64_t dflt, uint64_t *out,
		    int *present)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (present)
		*present = v != NULL;
	if (!v) {
		*out = dflt;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull((const char *)v, &end, 10);
	int bad = errno || end == (char *)v || *end || ((const char *)v)[0] == '-';
	xmlFree(v);
	if (bad)
		return -1;
	*out = x;
	return 0;
}

static double attr_double(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (!v)
		return 0;
	char *end;
	double d = strtod((const char *)v, &end);
	if (end == (char *)v || *end || !(d > 0) || d > 1e12)
		d = 0;
	xmlFree(v);
	return d;
}

/* Physical size in µm from value + unit attributes (unit default µm). */
static double phys_um(const xmlNode *n, const char *name)
{
	double v = attr_double(n, name);
	char uname[64];
	snprintf(uname, sizeof(uname), "%sUnit", name);
	xmlChar *u = xmlGetProp(n, (const xmlChar *)uname);
	if (u) {
		const char *s = (const char *)u;
		if (!strcmp(s, "nm"))
			v /= 1000;
		else if (!strcmp(s, "mm"))
			v *= 1000;
		else if (!strcmp(s, "m"))
			v *= 1e6;
		else if (!strcmp(s, "cm"))
			v *= 1e4;
		xmlFree(u);
	}
	return v;
}

void bia_ome_pixels_release(struct bia_ome_pixels *px)
{
	free(px->tiffdata);
	px->tiffdata = NULL;
	px->ntiffdata = 0;
}

static int valid_order(const char *s)
{
	if (strlen(s) != 5 || s[0] != 'X' || s[1] != 'Y')
		return 0;
	int seen = 0;
	for (int i = 2; i < 5; i++) {
		const char *p = strchr("ZCT", s[i]);
		if (!s[i] || !p)
			return 0;
		seen |= 1 << (p - "ZCT");
	}
	return seen == 7;
}

int bia_ome_parse(struct bia_ctx *ctx, const char *xml, size_t len,
		  struct bia_ome_pixels *px)
{
	memset(px, 0, sizeof(*px));
	if (len > INT32_MAX)
		return bia_fail(ctx, BIA_ELIMIT, "OME-XML too large");
	xmlParserCtxtPtr pc = xmlNewParserCtxt();
	if (!pc)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory");
	xmlDocPtr doc = xmlCtxtReadMemory(pc, xml, (int)len, "ome.xml", NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(pc);
		int rc = bia_fail(ctx, BIA_EFORMAT, "invalid OME-XML (line %d): %s",
				  e ? e->line : 0,
				  e && e->message ? e->message : "parse error");
		char *nl = strrchr(ctx->msg, '\n');
		if (nl && nl[1] == '\0')
			*nl = '\0';
		xmlFreeParserCtxt(pc);
		return rc;
	}
	int rc = 0;
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *image = is_elem(root, "OME") ? first_child(root, "Image") : NULL;
	const xmlNode *pix = first_child(image, "Pixels");
	if (!pix) {
		rc = bia_fail(ctx, BIA_EFORMAT, "OME-XML has no OME/Image/Pixels element");
		goto out;
	}
	static const char *const size_attr[5] = {"SizeX", "SizeY", "SizeZ", "SizeC",
						 "SizeT"};
	for (int i = 0; i < 5; i++) {
		int present;
		if (attr_u64(pix, size_attr[i], 1, &px->size[i], &present) || !present ||
		    px->size[i] == 0) {
			rc = bia_fail(ctx, BIA_EFORMAT, "OME-XML Pixels has a missing or invalid %s",
				      size_attr[i]);
			goto out;
		}
	}
	xmlChar *v = xmlGetProp(root, (const xmlChar *)"UUID");
	if (v)
		snprintf(px->uuid, sizeof(px->uuid), "%s", (const char *)v);
	xmlFree(v);
	v = xmlGetProp(pix, (const xmlChar *)"DimensionOrder");
	snprintf(px->dim_order, sizeof(px->dim_order), "%s", v ? (const char *)v : "XYZCT");
	if (v && strlen((const char *)v) != 5)
		px->dim_order[0] = '?';
	xmlFree(v);
	if (!valid_order(px->dim_order)) {
		rc = bia_fail(ctx, BIA_EFORMAT, "OME-XML has an invalid DimensionOrder");
		goto out;
	}
	v = xmlGetProp(pix, (const xmlChar *)"Type");
	snprintf(px->type, sizeof(px->type), "%s", v ? (const char *)v : "");
	xmlFree(v);
	px->phys[0] = phys_um(pix, "PhysicalSizeX");
	px->phys[1] = phys_um(pix, "PhysicalSizeY");
	px->phys[2] = phys_um(pix, "PhysicalSizeZ");
	px->samples_per_pixel = 1;
	const xmlNode *ch = first_child(pix, "Channel");
	if (ch) {
		uint64_t spp;
		if (!attr_u64(ch, "SamplesPerPixel", 1, &spp, NULL) && spp >= 1 && spp <= 64)
			px->samples_per_pixel = (int)spp;
	}
	size_t cap = 0;
	for (const xmlNode *c = pix->children; c; c = c->next) {
		if (!is_elem(c, "TiffData"))
			continue;
		if (px->ntiffdata >= OME_MAX_TIFFDATA) {
			rc = bia_fail(ctx, BIA_ELIMIT, "OME-XML has too many TiffData elements");
			goto out;
		}
		if (px->ntiffdata == cap) {
			cap = cap ? cap * 2 : 8;
			void *t = realloc(px->tiffdata, cap * sizeof(*px->tiffdata));
			if (!t) {
				rc = bia_fail(ctx, BIA_ENOMEM, "out of memory");
				goto out;
			}
			px->tiffdata = t;
		}
		struct bia_ome_tiffdata *td = &px->tiffdata[px->ntiffdata++];
		memset(td, 0, sizeof(*td));
		if (attr_u64(c, "IFD", 0, &td->ifd, NULL) ||
		    attr_u64(c, "FirstZ", 0, &td->first_z, NULL) ||
		    attr_u64(c, "FirstC", 0, &td->first_c, NULL) ||
		    attr_u64(c, "FirstT", 0, &td->first_t, NULL) ||
		    attr_u64(c, "PlaneCount", 0, &td->plane_count, &td->has_plane_count)) {
			rc = bia_fail(ctx, BIA_EFORMAT, "OME-XML TiffData has an invalid attribute");
			goto out;
		}
		const xmlNode *uuid = first_child(c, "UUID");
		if (uuid) {
			xmlChar *fn = xmlGetProp(uuid, (const xmlChar *)"FileName");
			if (fn)
				snprintf(td->file_name, sizeof(td->file_name), "%s",
					 (const char *)fn);
			xmlFree(fn);
			xmlChar *u = xmlNodeGetContent(uuid);
			if (u)
				snprintf(td->uuid, sizeof(td->uuid), "%s", (const char *)u);
			xmlFree(u);
		}
	}
out:
	if (rc)
		bia_ome_pixels_release(px);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(pc);
	return rc;
}

static void xml_escape(struct bia_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			bia_buf_adds(b, "&lt;");
			break;
		case '>':
			bia_buf_adds(b, "&gt;");
			break;
		case '&':
			bia_buf_adds(b, "&amp;");
			break;
		case '"':
			bia_buf_adds(b, "&quot;");
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				bia_buf_addch(b, *s);
		}
	}
}

static const char *ome_type(enum bia_dtype t)
{
	switch (t) {
	case BIA_U8:
		return "uint8";
	case BIA_U16:
		return "uint16";
	case BIA_U32:
		return "uint32";
	case BIA_I32:
		return "int32";
	case BIA_F32:
		return "float";
	}
	return "uint8";
}

char *bia_ome_build(const struct bia_image *img, const char *name)
{
	struct bia_buf b;
	bia_buf_init(&b, 1u << 24);
	bia_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" "
			 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
			 "xsi:schemaLocation=\"http://www.openmicroscopy.org/Schemas/OME/"
			 "2016-06 http://www.openmicroscopy.org/Schemas/OME/2016-06/ome.xsd\" "
			 "Creator=\"biaflows\">");
	bia_buf_adds(&b, "<Image ID=\"Image:0\" Name=\"");
	xml_escape(&b, name ? name : "image");
	bia_buf_addf(&b,
		     "\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" Type=\"%s\" "
		     "SizeX=\"%zu\" SizeY=\"%zu\" SizeZ=\"%zu\" SizeC=\"%zu\" SizeT=\"%zu\"",
		     ome_type(img->dtype), img->x, img->y, img->z, img->c, img->t);
	static const char axis[3] = {'X', 'Y', 'Z'};
	for (int i = 0; i < 3; i++)
		if (img->phys[i] > 0)
			bia_buf_addf(&b, " PhysicalSize%c=\"%.17g\" PhysicalSize%cUnit=\"µm\"",
				     axis[i], img->phys[i], axis[i]);
	bia_buf_adds(&b, ">");
	for (size_t c = 0; c < img->c; c++)
		bia_buf_addf(&b, "<Channel ID=\"Channel:0:%zu\" SamplesPerPixel=\"1\"/>", c);
	bia_buf_addf(&b, "<TiffData IFD=\"0\" PlaneCount=\"%zu\"/>",
		     img->c * img->z * img->t);
	bia_buf_adds(&b, "</Pixels></Image></OME>\n");
	return bia_buf_detach(&b, NULL);
}
