/* Accounts and permissions (auth.h).
 * SPDX-License-Identifier: MIT */
#include "auth/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <sodium.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(crypto_pwhash_STRBYTES <= BIA_PWHASH_MAX, "password hash buffer");

static int sodium_ready(void)
{
	return sodium_init() >= 0;
}

int bia_password_hash(struct bia_ctx *ctx, const char *password, char *out)
{
	size_t n = strlen(password);
	if (n < BIA_PASSWORD_MIN || n > BIA_PASSWORD_MAX)
		return bia_fail(ctx, BIA_EINVAL, "a password has %d to %d characters",
				BIA_PASSWORD_MIN, BIA_PASSWORD_MAX);
	if (!sodium_ready())
		return bia_fail(ctx, BIA_EIO, "libsodium did not initialise");
	if (crypto_pwhash_str(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return bia_fail(ctx, BIA_ENOMEM, "out of memory hashing a password");
	return 0;
}

int bia_password_check(const char *hash, const char *password)
{
	if (!hash || !*hash || !sodium_ready())
		return 0;
	size_t n = strlen(password);
	if (n > BIA_PASSWORD_MAX)
		return 0;
	return crypto_pwhash_str_verify(hash, password, n) == 0;
}

void bia_secret_hash(const char *secret, char hash[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const unsigned char *)secret, strlen(secret));
	sodium_bin2hex(hash, 65, d, sizeof(d));
}

void bia_secret_new(char secret[BIA_SECRET_MAX], char hash[65])
{
	unsigned char r[32];
	sodium_ready();
	randombytes_buf(r, sizeof(r));
	memcpy(secret, "bfa_", 4);
	sodium_bin2base64(secret + 4, BIA_SECRET_MAX - 4, r, sizeof(r),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(r, sizeof(r));
	bia_secret_hash(secret, hash);
}

int bia_auth_secret(struct bia_ctx *ctx, struct bia_instance *inst, const char *secret,
		    int want_session, struct bia_principal *who)
{
	memset(who, 0, sizeof(*who));
	if (strlen(secret) >= BIA_SECRET_MAX || strncmp(secret, "bfa_", 4))
		return bia_fail(ctx, BIA_EAUTH, "the token is not a BIAFLOWS token");
	char hash[65];
	bia_secret_hash(secret, hash);
	struct bia_token t;
	struct bia_ctx tmp;
	bia_instance_ctx(inst, &tmp);
	if (bia_token_find(&tmp, inst, hash, (int64_t)time(NULL), &t)) {
		if (tmp.rc != BIA_ENOENT)
			return bia_fail(ctx, tmp.rc, "%s", tmp.msg);
		return bia_fail(ctx, BIA_EAUTH, "unknown, revoked or expired token");
	}
	if (want_session != !strcmp(t.kind, "session"))
		return bia_fail(ctx, BIA_EAUTH,
				want_session ? "not a session" : "a session is not a bearer token");
	who->user_id = t.user_id;
	snprintf(who->name, sizeof(who->name), "%s", t.user);
	who->role = t.role;
	who->session = want_session;
	snprintf(who->csrf, sizeof(who->csrf), "%s", t.csrf);
	who->token_id = t.id;
	return 0;
}

struct bia_viewer bia_principal_viewer(const struct bia_principal *who)
{
	struct bia_viewer v = {0, 0};
	if (who->role != BIA_ROLE_ADMIN) {
		v.restricted = 1;
		v.user_id = who->user_id;
	}
	return v;
}

int bia_access_role(struct bia_ctx *ctx, const struct bia_principal *who, enum bia_role role)
{
	if (who->role >= role)
		return 0;
	if (!who->user_id)
		return bia_fail(ctx, BIA_EAUTH, "log in or send a token (this needs the %s role)",
				bia_role_name(role));
	return bia_fail(ctx, BIA_EPERM, "this needs the %s role (user '%s' is %s)",
			bia_role_name(role), who->name, bia_role_name(who->role));
}

int bia_access_problem(struct bia_ctx *ctx, struct bia_instance *inst,
		       const struct bia_principal *who, int64_t problem_id,
		       enum bia_access want)
{
	struct bia_viewer v = bia_principal_viewer(who);
	int visible = 0;
	if (bia_problem_visible(ctx, inst, &v, problem_id, &visible))
		return ctx->rc;
	if (!visible)
		return bia_fail(ctx, BIA_ENOENT, "no problem with id %lld", (long long)problem_id);
	if (want == BIA_ACCESS_READ || who->role == BIA_ROLE_ADMIN)
		return 0;
	if (bia_access_role(ctx, who, BIA_ROLE_CONTRIBUTOR))
		return ctx->rc;
	int member = 0;
	if (bia_problem_is_member(ctx, inst, problem_id, who->user_id, &member))
		return ctx->rc;
	if (!member)
		return bia_fail(ctx, BIA_EPERM, "user '%s' is not a member of problem %lld",
				who->name, (long long)problem_id);
	return 0;
}

int bia_writable_problems(struct bia_ctx *ctx, struct bia_instance *inst,
			  const struct bia_principal *who, json_t **pout)
{
	json_t *a = json_array();
	*pout = NULL;
	if (who->role < BIA_ROLE_CONTRIBUTOR) {
		*pout = a;
		return 0;
	}
	struct bia_viewer v = bia_principal_viewer(who);
	for (int64_t off = 0;; off += BIA_PAGE_MAX) {
		struct bia_problem *p;
		size_t n;
		int64_t total;
		if (bia_problem_list_view(ctx, inst, &v, (struct bia_page){BIA_PAGE_MAX, off}, &p, &n,
					  &total)) {
			json_decref(a);
			return ctx->rc;
		}
		for (size_t i = 0; i < n; i++) {
			int member = who->role == BIA_ROLE_ADMIN;
			if (!member &&
			    bia_problem_is_member(ctx, inst, p[i].id, who->user_id, &member)) {
				bia_problem_list_free(p, n);
				json_decref(a);
				return ctx->rc;
			}
			if (member)
				json_array_append_new(a, json_string(p[i].name));
		}
		bia_problem_list_free(p, n);
		if (n < BIA_PAGE_MAX || off + (int64_t)n >= total)
			break;
	}
	*pout = a;
	return 0;
}

int bia_session_open(struct bia_ctx *ctx, struct bia_instance *inst, const char *name,
		     const char *password, int64_t now, char secret[BIA_SECRET_MAX],
		     struct bia_principal *who)
{
	struct bia_user u;
	struct bia_ctx tmp;
	bia_instance_ctx(inst, &tmp);
	memset(who, 0, sizeof(*who));
	int found = !bia_user_get(&tmp, inst, name, &u);
	if (!found && tmp.rc != BIA_ENOENT)
		return bia_fail(ctx, tmp.rc, "%s", tmp.msg);
	/* the same work and answer whether or not the user exists */
	static const char dummy[] =
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
		"qYw6cwcLkrdgrfWCi8QbTNmH9SPPKHv9YQnUeLtT5Tk";
	int ok = bia_password_check(found ? u.pwhash : dummy, password) && found;
	if (!ok) {
		if (found)
			bia_user_release(&u);
		return bia_fail(ctx, BIA_EAUTH, "wrong user name or password");
	}
	struct bia_token t;
	memset(&t, 0, sizeof(t));
	t.user_id = u.id;
	snprintf(t.kind, sizeof(t.kind), "session");
	snprintf(t.name, sizeof(t.name), "browser session");
	t.expires = now + BIA_SESSION_TTL;
	char hash[65], csrf_secret[BIA_SECRET_MAX], csrf_hash[65];
	bia_secret_new(secret, hash);
	bia_secret_new(csrf_secret, csrf_hash);
	snprintf(t.csrf, sizeof(t.csrf), "%s", csrf_hash);
	int rc = bia_token_add(ctx, inst, &t, hash);
	if (!rc) {
		who->user_id = u.id;
		snprintf(who->name, sizeof(who->name), "%s", u.name);
		who->role = u.role;
		who->session = 1;
		snprintf(who->csrf, sizeof(who->csrf), "%s", t.csrf);
		who->token_id = t.id;
	}
	bia_user_release(&u);
	return rc;
}

json_t *bia_user_json(const struct bia_user *u)
{
	return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)u->id, "name", u->name, "role",
			 bia_role_name(u->role), "created_at", u->created);
}

json_t *bia_token_json(const struct bia_token *t)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)t->id, "user",
			      t->user, "kind", t->kind, "name", t->name, "created_at", t->created);
	json_object_set_new(o, "expires", t->expires ? json_integer(t->expires) : json_null());
	return o;
}

int bia_token_create(struct bia_ctx *ctx, struct bia_instance *inst, const char *user,
		     const char *label, json_t **pout)
{
	struct bia_user u;
	*pout = NULL;
	if (bia_user_get(ctx, inst, user, &u))
		return ctx->rc;
	bia_user_release(&u);
	if (label && strlen(label) >= sizeof(((struct bia_token *)0)->name))
		return bia_fail(ctx, BIA_ELIMIT, "a token label has at most 127 bytes");
	struct bia_token t;
	memset(&t, 0, sizeof(t));
	t.user_id = u.id;
	snprintf(t.kind, sizeof(t.kind), "api");
	snprintf(t.name, sizeof(t.name), "%s", label ? label : "");
	char secret[BIA_SECRET_MAX], hash[65];
	bia_secret_new(secret, hash);
	if (bia_token_add(ctx, inst, &t, hash))
		return ctx->rc;
	snprintf(t.user, sizeof(t.user), "%s", u.name);
	t.role = u.role;
	json_t *o = bia_token_json(&t);
	json_object_set_new(o, "token", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	*pout = o;
	return 0;
}

/* ------------------------------------------------------------- signed links */

static pthread_mutex_t link_mu = PTHREAD_MUTEX_INITIALIZER;
static char link_root[BIA_PATH_MAX];
static unsigned char link_key[crypto_auth_hmacsha256_KEYBYTES];

static int load_link_key(struct bia_ctx *ctx, const struct bia_instance *inst,
			 unsigned char key[crypto_auth_hmacsha256_KEYBYTES])
{
	pthread_mutex_lock(&link_mu);
	if (!strcmp(link_root, inst->root)) {
		memcpy(key, link_key, sizeof(link_key));
		pthread_mutex_unlock(&link_mu);
		return 0;
	}
	char p[BIA_PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/link.key", inst->root);
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, key, crypto_auth_hmacsha256_KEYBYTES);
			close(fd);
			if (n != crypto_auth_hmacsha256_KEYBYTES)
				rc = bia_fail(ctx, BIA_ECORRUPT, "'%s' is not a link key (remove it to "
							       "make a new one)", p);
			break;
		}
		/* make one: written aside, linked into place (a concurrent maker wins) */
		char tmp[BIA_PATH_MAX + 40];
		snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", p, (long)getpid());
		sodium_ready();
		randombytes_buf(key, crypto_auth_hmacsha256_KEYBYTES);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || bia_write_all(fd, key, crypto_auth_hmacsha256_KEYBYTES) || fsync(fd)) {
			if (fd >= 0)
				close(fd);
			unlink(tmp);
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
			break;
		}
		close(fd);
		int lk = link(tmp, p);
		unlink(tmp);
		if (lk && errno != EEXIST) {
			rc = bia_fail(ctx, BIA_EIO, "cannot write '%s': %s", p, strerror(errno));
			break;
		}
	}
	if (!rc) {
		memcpy(link_key, key, sizeof(link_key));
		snprintf(link_root, sizeof(link_root), "%s", inst->root);
	}
	pthread_mutex_unlock(&link_mu);
	return rc;
}

int bia_link_sign(struct bia_ctx *ctx, const struct bia_instance *inst, const char *what,
		  int64_t expires, char sig[33])
{
	unsigned char key[crypto_auth_hmacsha256_KEYBYTES], mac[crypto_auth_hmacsha256_BYTES];
	if (load_link_key(ctx, inst, key))
		return ctx->rc;
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s:%lld", what, (long long)expires);
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (unsigned long long)n, key);
	sodium_memzero(key, sizeof(key));
	sodium_bin2hex(sig, 33, mac, 16);
	return 0;
}

int bia_link_check(struct bia_ctx *ctx, const struct bia_instance *inst, const char *what,
		   int64_t expires, const char *sig, int64_t now)
{
	char want[33];
	if (bia_link_sign(ctx, inst, what, expires, want))
		return ctx->rc;
	if (strlen(sig) != 32 || sodium_memcmp(want, sig, 32))
		return bia_fail(ctx, BIA_EAUTH, "the link's signature is not valid");
	if (expires <= now)
		return bia_fail(ctx, BIA_EAUTH, "the link expired");
	return 0;
}

int bia_image_link(struct bia_ctx *ctx, const struct bia_instance *inst, int64_t image_id,
		   int64_t ttl, int64_t now, json_t **pout)
{
	if (ttl <= 0 || ttl > BIA_LINK_TTL_MAX)
		return bia_fail(ctx, BIA_EINVAL, "a link lasts 1 to %d seconds, not %lld",
				BIA_LINK_TTL_MAX, (long long)ttl);
	char what[64], sig[33], path[160], iso[32];
	snprintf(what, sizeof(what), "images/%lld", (long long)image_id);
	int64_t exp = now + ttl;
	if (bia_link_sign(ctx, inst, what, exp, sig))
		return ctx->rc;
	snprintf(path, sizeof(path), "/zarr/s/%lld/%s/images/%lld.zarr", (long long)exp, sig,
		 (long long)image_id);
	time_t t = (time_t)exp;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	*pout = json_pack("{s:I, s:s, s:s, s:I}", "image_id", (json_int_t)image_id, "path", path,
			  "expires", iso, "expires_at", (json_int_t)exp);
	return 0;
}
