/* Accounts and permissions: password hashes (argon2id), bearer tokens and
 * browser sessions (random secrets stored as SHA-256), who a caller is
 * (a principal) and what it may do with a problem. The CLI's `user` and
 * `token` commands and the server's routes call these; the store keeps the
 * records (store.h "accounts"). docs/api.md "Authentication".
 * SPDX-License-Identifier: MIT */
#ifndef BIA_AUTH_H
#define BIA_AUTH_H

#include "store/store.h"
#include "util/util.h"

#include <jansson.h>

#define BIA_PWHASH_MAX 128	/* crypto_pwhash_STRBYTES */
#define BIA_SECRET_MAX 64	/* "bfa_" + 43 base64url characters + NUL */
#define BIA_PASSWORD_MIN 8
#define BIA_PASSWORD_MAX 1024
#define BIA_SESSION_TTL (12 * 3600) /* seconds a browser session lasts */

/* argon2id hash of a password (8..1024 bytes) into out[BIA_PWHASH_MAX]. */
int bia_password_hash(struct bia_ctx *ctx, const char *password, char *out);
/* 1 if password matches the hash, 0 otherwise (never an error). */
int bia_password_check(const char *hash, const char *password);

/* A new random secret (`bfa_` + 256 bits, base64url) and its hash (hex
 * SHA-256, what the store keeps). */
void bia_secret_new(char secret[BIA_SECRET_MAX], char hash[65]);
void bia_secret_hash(const char *secret, char hash[65]);

/* Who is calling. An anonymous caller has user_id 0 and role NONE. */
struct bia_principal {
	int64_t user_id;
	char name[BIA_USER_NAME_MAX + 1];
	enum bia_role role;
	int session;	  /* authenticated by a session cookie (needs CSRF) */
	char csrf[65];	  /* the session's CSRF secret */
	int64_t token_id; /* the token or session used */
};
/* The principal of a bearer token or session secret; BIA_EAUTH when it is
 * unknown, revoked or expired. */
int bia_auth_secret(struct bia_ctx *ctx, struct bia_instance *inst, const char *secret,
		    int want_session, struct bia_principal *who);
/* The lists a principal sees: everything for an admin, else public
 * problems and those it is a member of. */
struct bia_viewer bia_principal_viewer(const struct bia_principal *who);

/* What a caller wants to do with a problem. */
enum bia_access { BIA_ACCESS_READ, BIA_ACCESS_WRITE };
/* 0 if allowed. Reading: the problem is public or the caller a member (or
 * an admin). Writing (images, GT, settings, runs): a contributor who is a
 * member, or an admin. A problem the caller may not see is BIA_ENOENT (its
 * existence is not revealed); an anonymous writer BIA_EAUTH; others
 * BIA_EPERM. */
int bia_access_problem(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_principal *who, int64_t problem_id,
		       enum bia_access want);
/* The names of the problems the caller may write to (upload, launch): a
 * JSON array, every visible problem for an admin, the problems a
 * contributor is a member of, none for others. */
int bia_writable_problems(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_principal *who, json_t **pout);
/* 0 if the caller has at least `role` (BIA_EAUTH when anonymous, else
 * BIA_EPERM naming the role needed). */
int bia_access_role(struct bia_ctx *ctx, const struct bia_principal *who, enum bia_role role);

/* A session for name/password: a new secret (the cookie) and its CSRF
 * secret; BIA_EAUTH for an unknown user or a wrong password (the same
 * message for both). */
int bia_session_open(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
		     const char *password, int64_t now, char secret[BIA_SECRET_MAX],
		     struct bia_principal *who);

/* JSON of records as the CLI and the API print them (no hashes). */
json_t *bia_user_json(const struct bia_user *u);
json_t *bia_token_json(const struct bia_token *t);
/* A user and a new API token: {"id", "user", "name", "token": secret}. */
int bia_token_create(struct bia_ctx *ctx, struct bia_instance *inst, const char *user,
		     const char *label, json_t **pout);

/* Signed, expiring links to an image's OME-Zarr for viewers that open
 * plain URLs (napari, vizarr): /zarr/s/<expires>/<signature>/images/<id>.zarr/
 * where the signature is an HMAC-SHA256 (first 32 hex digits) of
 * "images/<id>:<expires>" under the instance's link key (<instance>/link.key,
 * 32 random bytes made on first use; deleting it revokes every link). */
#define BIA_LINK_TTL_DEFAULT (24 * 3600)
#define BIA_LINK_TTL_MAX (30 * 24 * 3600)
int bia_link_sign(struct bia_ctx *ctx, const struct bia_instance *inst, const char *what,
		  int64_t expires, char sig[33]);
/* 0 if sig signs what until expires and expires is after now; BIA_EAUTH
 * (saying which) otherwise. */
int bia_link_check(struct bia_ctx *ctx, const struct bia_instance *inst, const char *what,
		   int64_t expires, const char *sig, int64_t now);
/* A link to image id valid ttl seconds from now: {image_id, path, expires,
 * expires_at} (what `image link` prints and POST /images/{id}/links answers). */
int bia_image_link(struct bia_ctx *ctx, const struct bia_instance *inst, int64_t image_id,
		   int64_t ttl, int64_t now, json_t **pout);

#endif
