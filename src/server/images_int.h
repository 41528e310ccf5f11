/* Private to src/server: the image routes (OME-Zarr, IIIF) and the thread
 * that builds pyramids in the background (images.c, iiif.c).
 * SPDX-License-Identifier: MIT */
#ifndef BIA_IMAGES_INT_H
#define BIA_IMAGES_INT_H

#include "dataset/derived.h"
#include "image/render.h"
#include "server/server_priv.h"

/* Is path one of the image routes (/zarr/..., /iiif/3/...)? */
int img_is_route(const char *path);
/* Answer an image route (GET, HEAD, OPTIONS). */
int img_handle(struct req *rq);
int img_start(struct bia_server *srv);
void img_stop(struct bia_server *srv);

/* Shared by images.c and iiif.c. */
int img_fail(struct req *rq, enum bia_rc rc, const char *fmt, ...) BIA_PRINTF(3, 4);
int img_respond_buf(struct req *rq, int status, const char *type, const void *data, size_t len,
		    const char *etag, const char *cache);
int img_etag_match(struct req *rq, const char *etag);
/* The CORS headers of every answer of the image routes. */
void img_cors(struct MHD_Response *r);
/* The image id's record and the right to read it (signature when sig). */
int img_access(struct req *rq, int64_t id, const char *exp, const char *sig,
	       struct bia_image_rec *im, int *ppriv, enum bia_class *pcls);
/* The layer of the image itself. */
void img_image_layer(const struct bia_image_rec *im, enum bia_class cls, struct bia_layer *l);
/* A label layer of image id by name ("gt", "gt-3", "run-7"): 0, BIA_ENOENT. */
int img_find_label(struct req *rq, int64_t id, const char *name, size_t nlen,
		   struct bia_layer *out);
/* A missing pyramid: 503 while it is built, else why it could not be. */
int img_pyramid_absent(struct req *rq, const struct bia_layer *l);
/* An open pyramid (metadata cached; pyramids never change in place). */
int img_pyramid(struct req *rq, const char *dir, struct bia_pyramid *out);
int iiif_handle(struct req *rq);
/* The rendered-tile cache (keys: hex SHA-256 of what the answer depends on):
 * 1 with a copy of the bytes, 0 on a miss. */
int img_tile_get(struct bia_server *srv, const char *key, unsigned char **pdata, size_t *plen,
		 char type[24]);
void img_tile_put(struct bia_server *srv, const char *key, const unsigned char *data, size_t len,
		  const char *type);
/* GET /api/v1/images/{image}/overlays/{layer} */
int img_overlay_route(struct req *rq);

#endif
