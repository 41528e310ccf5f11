/* IIIF Image API 3.0 (level 2) over the pyramids: /iiif/3/<id>/info.json
 * and /iiif/3/<id>/{region}/{size}/{rotation}/{quality}.{format}, with the
 * query extensions z, t, c, window and labels (docs/images.md).
 * SPDX-License-Identifier: MIT */
#include "server/images_int.h"

#include <stdlib.h>
#include <string.h>

static json_t *info_json(struct req *rq, int64_t id, const struct bia_pyramid *p)
{
	const char *host = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Host");
	char base[512];
	snprintf(base, sizeof(base), "http://%s/iiif/3/%lld", host ? host : "localhost",
		 (long long)id);
	json_t *sizes = json_array(), *sf = json_array();
	for (size_t k = p->nlevels; k-- > 0;)
		json_array_append_new(sizes, json_pack("{s:I, s:I}", "width", (json_int_t)p->w[k],
						       "height", (json_int_t)p->h[k]));
	for (size_t k = 0; k < p->nlevels; k++)
		json_array_append_new(sf, json_integer((json_int_t)1 << k));
	json_t *chs = json_array();
	for (size_t c = 0; c < p->c && c < p->nwin; c++) {
		char col[8];
		snprintf(col, sizeof(col), "%06X", p->color[c]);
		json_array_append_new(chs, json_pack("{s:[f,f], s:s}", "window", p->win_start[c],
						     p->win_end[c], "color", col));
	}
	char zarr[96];
	snprintf(zarr, sizeof(zarr), "/zarr/images/%lld.zarr", (long long)id);
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:i, s:I, s:o, s:[{s:i, s:i, s:o}], "
		"s:[s,s,s], s:[s,s], s:[s,s,s,s,s,s,s,s,s,s,s], "
		"s:{s:I, s:I, s:I, s:s, s:o, s:s, s:[s,s,s,s]}}",
		"@context", "http://iiif.io/api/image/3/context.json", "id", base, "type",
		"ImageService3", "protocol", "http://iiif.io/api/image", "profile", "level2", "width",
		(json_int_t)p->w[0], "height", (json_int_t)p->h[0], "maxWidth", BIA_RENDER_MAX_SIDE,
		"maxHeight", BIA_RENDER_MAX_SIDE, "maxArea", (json_int_t)BIA_RENDER_MAX_AREA, "sizes",
		sizes, "tiles", "width", (int)p->chunk, "height", (int)p->chunk, "scaleFactors", sf,
		"extraQualities", "color", "gray", "bitonal", "extraFormats", "png", "webp",
		"extraFeatures", "mirroring", "regionByPct", "regionByPx", "regionSquare",
		"rotationBy90s", "sizeByConfinedWh", "sizeByH", "sizeByPct", "sizeByW", "sizeByWh",
		"sizeUpscaling", "biaflows", "size_z", (json_int_t)p->z, "size_c", (json_int_t)p->c,
		"size_t", (json_int_t)p->t, "dtype", bia_dtype_name(p->dtype), "channels", chs,
		"zarr", zarr, "query", "z", "t", "c", "window");
}

int iiif_handle(struct req *rq)
{
	const char *s = rq->path + strlen("/iiif/3/");
	char *end;
	long long id = strtoll(s, &end, 10);
	if (id <= 0 || end == s || (*end && *end != '/'))
		return img_fail(rq, BIA_ENOENT, "expected /iiif/3/ID/info.json or "
						"/iiif/3/ID/{region}/{size}/{rotation}/{quality}.{format}");
	struct bia_image_rec im;
	int priv = 0;
	enum bia_class cls;
	if (img_access(rq, id, NULL, NULL, &im, &priv, &cls))
		return rq->status;
	if (!*end || !strcmp(end, "/")) {
		char loc[96];
		snprintf(loc, sizeof(loc), "/iiif/3/%lld/info.json", id);
		img_respond_buf(rq, 303, "text/plain", "see info.json\n", 14, NULL, NULL);
		MHD_add_response_header(rq->resp, "Location", loc);
		return 303;
	}
	const char *spec = end + 1;
	struct bia_layer l;
	img_image_layer(&im, cls, &l);
	char dir[BIA_PATH_MAX];
	bia_derived_dir(req_inst(rq), &l, dir, sizeof(dir));
	if (!bia_is_dir(dir))
		return img_pyramid_absent(rq, &l);
	struct bia_pyramid p;
	if (img_pyramid(rq, dir, &p))
		return rq->status;
	const char *cache = priv ? "private, max-age=86400" : "public, max-age=86400";
	if (!strcmp(spec, "info.json")) {
		json_t *j = info_json(rq, id, &p);
		char *t = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		int st = img_respond_buf(rq, 200, "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"",
					 t ? t : "{}", t ? strlen(t) : 2, NULL, cache);
		free(t);
		return st;
	}
	struct bia_render_req rr;
	const char *qz = req_query(rq, "z"), *qt = req_query(rq, "t"), *qc = req_query(rq, "c"),
		   *qw = req_query(rq, "window"), *ql = req_query(rq, "labels");
	if (bia_iiif_parse(&rq->ctx, spec, p.w[0], p.h[0], &rr) ||
	    bia_iiif_query(&rq->ctx, &p, qz, qt, qc, qw, &rr))
		return img_fail(rq, rq->ctx.rc, "%s", rq->ctx.msg);
	/* the answer is a function of the stored files and the request */
	struct bia_layer ll;
	struct bia_pyramid lp;
	int with_labels = ql && *ql;
	if (with_labels) {
		if (img_find_label(rq, id, ql, strlen(ql), &ll))
			return rq->status;
		char ldir[BIA_PATH_MAX];
		bia_derived_dir(req_inst(rq), &ll, ldir, sizeof(ldir));
		if (!bia_is_dir(ldir))
			return img_pyramid_absent(rq, &ll);
		if (img_pyramid(rq, ldir, &lp))
			return rq->status;
	}
	char key[1400], h[65], etag[48];
	snprintf(key, sizeof(key), "%s|%s|%s|%s|%s|%s|%s|%s|%d", im.digest,
		 with_labels ? ll.digest : "", spec, qz ? qz : "", qt ? qt : "", qc ? qc : "",
		 qw ? qw : "", ql ? ql : "", BIA_PYRAMID_FORMAT);
	bia_sha256_hex(key, strlen(key), h);
	snprintf(etag, sizeof(etag), "\"%.32s\"", h);
	if (img_etag_match(rq, etag))
		return img_respond_buf(rq, 304, NULL, "", 0, etag, cache);
	unsigned char *out;
	size_t len;
	const char *type;
	char tbuf[24];
	if (img_tile_get(rq->srv, h, &out, &len, tbuf)) {
		type = tbuf;
	} else {
		if (bia_render(&rq->ctx, &p, with_labels ? &lp : NULL, &rr, &out, &len, &type))
			return img_fail(rq, rq->ctx.rc, "%s", rq->ctx.msg);
		img_tile_put(rq->srv, h, out, len, type);
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(out);
		return img_fail(rq, BIA_ENOMEM, "out of memory");
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Cache-Control", cache);
	img_cors(r);
	MHD_add_response_header(r, "Link", "<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"");
	rq->resp = r;
	rq->status = 200;
	return 200;
}
