/* Core utilities: error codes and context, bounded buffers, arenas, logging,
 * JSON helpers, SHA-256, safe paths, small file helpers, fault injection.
 * SPDX-License-Identifier: MIT */
#ifndef BIA_UTIL_H
#define BIA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#if defined(__GNUC__)
#define BIA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define BIA_NORETURN __attribute__((noreturn))
#else
#define BIA_PRINTF(f, a)
#define BIA_NORETURN
#endif

/* ---------------------------------------------------------------- errors */

/* One error enum for the whole codebase. Numbers are explicit and never
 * reused; retired codes keep their slot. */
enum bia_rc {
	BIA_OK = 0,
	BIA_ENOMEM = 1,	      /* allocation failed */
	BIA_EINVAL = 2,	      /* invalid argument or value */
	BIA_EIO = 3,	      /* read/write/system call failed */
	BIA_ENOENT = 4,	      /* no such file or object */
	BIA_EEXIST = 5,	      /* object already exists */
	BIA_EFORMAT = 6,      /* malformed or unsupported file content */
	BIA_ELIMIT = 7,	      /* a configured limit was exceeded */
	BIA_EUSAGE = 8,	      /* wrong command-line usage */
	BIA_ECORRUPT = 9,     /* stored data failed verification */
	BIA_EDB = 10,	      /* database error */
	BIA_EUNSUPPORTED = 11, /* valid but not supported here */
	BIA_EPERM = 12,	      /* not permitted */
	BIA_ESHAPE = 13,      /* images of incompatible shapes */
	BIA_EBUSY = 14,	      /* resource locked by someone else */
	BIA_AGAIN = 15,	      /* not an error: try again */
	BIA_DECLINED = 16,    /* not an error: handler declined */
	BIA_EAUTH = 17,	      /* not authenticated (no or a bad credential) */
	BIA_ERATE = 18,	      /* too many attempts: slow down */
	BIA_EUNAVAIL = 19,    /* the service is stopping or overloaded */
	BIA_RC_COUNT
};

/* Per-operation context: the detailed message of the last failure lives
 * here, never in a global. A CLI invocation, request or job owns one. */
struct bia_ctx {
	enum bia_rc rc;	   /* code of the last failure, BIA_OK if none */
	char msg[1024];	   /* message of the last failure, "" if none */
	uint64_t max_pixels; /* largest image (samples) a reader may allocate */
	uint64_t max_image_bytes; /* largest decoded image (bytes); 0 = no budget */
	int max_json_depth;  /* nesting of a parsed JSON text; 0: BIA_JSON_MAX_DEPTH */
};

/* Initialise a context with defaults (max_pixels from BIAFLOWS_MAX_PIXELS
 * when set, else BIA_DEFAULT_MAX_PIXELS). */
#define BIA_DEFAULT_MAX_PIXELS (UINT64_C(1) << 31)
void bia_ctx_init(struct bia_ctx *ctx);

/* Record a failure on ctx and return rc, so `return bia_fail(...)` works.
 * Message style: lowercase, no full stop, subject in 'quotes'. */
int bia_fail(struct bia_ctx *ctx, enum bia_rc rc, const char *fmt, ...)
	BIA_PRINTF(3, 4);
/* Prefix the current message with "<prefix>: " (e.g. a file name). Returns
 * ctx->rc. */
int bia_fail_prefix(struct bia_ctx *ctx, const char *fmt, ...) BIA_PRINTF(2, 3);
/* Forget the last failure. */
void bia_ctx_clear(struct bia_ctx *ctx);
/* Make a message one line: control characters (a newline in a file name,
 * a terminal escape) become \n, \r, \t or \xHH, in place, truncated to
 * cap. bia_fail, bia_fail_prefix and bia_log apply it, so every error and
 * warning is one line whatever the names it quotes. */
void bia_one_line(char *s, size_t cap);

const char *bia_strerror(enum bia_rc rc);
/* Process exit code for a failure: 2 for usage errors, 1 otherwise. */
int bia_rc_exit_code(enum bia_rc rc);
/* HTTP status for a failure (used by the server). */
int bia_rc_http_status(enum bia_rc rc);
/* The stable machine name of a code: not_found, invalid_argument, conflict,
 * limit_exceeded, busy, invalid_format, ... (docs/architecture.md
 * "Errors"); API error bodies carry it beside the message. */
const char *bia_rc_name(enum bia_rc rc);

/* Always-on check for impossible states: prints file/line and aborts. */
#define BIA_BUG(...) bia__bug(__FILE__, __LINE__, __VA_ARGS__)
void bia__bug(const char *file, int line, const char *fmt, ...)
	BIA_PRINTF(3, 4) BIA_NORETURN;
#ifdef NDEBUG
#define BIA_ASSERT(x) ((void)0)
#else
#define BIA_ASSERT(x) ((x) ? (void)0 : BIA_BUG("assertion failed: %s", #x))
#endif

/* Free and set to NULL. */
#define BIA_FREE(p) do { free(p); (p) = NULL; } while (0)

/* Allocation that aborts on failure is NOT offered: callers check. These
 * wrappers check size arithmetic for overflow and return NULL on failure. */
void *bia_calloc(size_t n, size_t size);
void *bia_malloc2(size_t n, size_t size);
char *bia_strdup(const char *s);
/* Multiply with overflow check: returns 0 and sets *pout, or -1. */
int bia_mul_size(size_t a, size_t b, size_t *pout);

/* --------------------------------------------------------- string buffer */

/* Owning, bounded, always NUL-terminated string buffer. After
 * bia_buf_init, buf is never NULL. Errors (allocation, max exceeded) are
 * sticky in `err` so a run of appends is checked once. */
struct bia_buf {
	char *buf;    /* malloc'd (or a static "" before first growth) */
	size_t len;   /* bytes used, excluding the NUL */
	size_t alloc; /* bytes allocated, 0 while buf is the static "" */
	size_t max;   /* largest len allowed */
	int err;      /* 0, or BIA_ENOMEM / BIA_ELIMIT once an append failed */
};

void bia_buf_init(struct bia_buf *b, size_t max);
void bia_buf_release(struct bia_buf *b);
void bia_buf_reset(struct bia_buf *b); /* len = 0, keeps memory, clears err */
int bia_buf_add(struct bia_buf *b, const void *data, size_t len);
int bia_buf_adds(struct bia_buf *b, const char *s);
int bia_buf_addch(struct bia_buf *b, char c);
int bia_buf_addf(struct bia_buf *b, const char *fmt, ...) BIA_PRINTF(2, 3);
int bia_buf_vaddf(struct bia_buf *b, const char *fmt, va_list ap);
/* Take ownership of the string (malloc'd; caller frees); b is reset empty.
 * Returns NULL if the buffer is in error. */
char *bia_buf_detach(struct bia_buf *b, size_t *plen);

/* Non-owning slice. */
struct bia_str {
	const char *p;
	size_t len;
};

/* ------------------------------------------------------------------ arena */

/* Bump allocator; everything is freed at once by bia_arena_release. With
 * -DBIA_DEBUG_ARENA each allocation is its own malloc so ASan sees
 * overflows. */
struct bia_arena_chunk;
struct bia_arena {
	struct bia_arena_chunk *head; /* newest chunk, malloc'd */
	size_t chunk_size;	      /* default chunk payload size */
	size_t used;		      /* total bytes handed out */
};

void bia_arena_init(struct bia_arena *a, size_t chunk_size);
void bia_arena_release(struct bia_arena *a);
void *bia_arena_alloc(struct bia_arena *a, size_t size); /* zeroed, 16-aligned */
char *bia_arena_strdup(struct bia_arena *a, const char *s);
char *bia_arena_strndup(struct bia_arena *a, const char *s, size_t n);
char *bia_arena_printf(struct bia_arena *a, const char *fmt, ...)
	BIA_PRINTF(2, 3);

/* ---------------------------------------------------------------- logging */

enum bia_log_level {
	BIA_LOG_ERROR = 0,
	BIA_LOG_WARN = 1,
	BIA_LOG_INFO = 2,
	BIA_LOG_DEBUG = 3,
};

/* Process-wide log settings (configuration, not error state). */
void bia_log_set_level(enum bia_log_level level);
enum bia_log_level bia_log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 if unknown. */
int bia_log_parse_level(const char *s);
/* Redirect log output (default stderr); NULL restores stderr. */
void bia_log_set_stream(FILE *f);
void bia_log(enum bia_log_level level, const char *fmt, ...) BIA_PRINTF(2, 3);
#define bia_warn(...) bia_log(BIA_LOG_WARN, __VA_ARGS__)
#define bia_info(...) bia_log(BIA_LOG_INFO, __VA_ARGS__)
#define bia_debug(...) bia_log(BIA_LOG_DEBUG, __VA_ARGS__)

/* ------------------------------------------------------------------- JSON */

/* Limits applied to every JSON document we parse. */
#define BIA_JSON_MAX_BYTES (16u << 20)
#define BIA_JSON_MAX_DEPTH 64

/* Parse a JSON text (at most BIA_JSON_MAX_BYTES, nesting at most
 * BIA_JSON_MAX_DEPTH). On error returns NULL with a message naming the
 * position on ctx. `what` names the input in messages. Caller decrefs. */
json_t *bia_json_parse(struct bia_ctx *ctx, const char *what, const char *text,
		       size_t len);
/* Read and parse a JSON file (same limits). */
json_t *bia_json_load_file(struct bia_ctx *ctx, const char *path);
/* Write `j` to path atomically (temp file, fsync, rename). */
int bia_json_save_file(struct bia_ctx *ctx, const char *path, const json_t *j);
/* Number as JSON: NaN and infinities become "nan", "inf", "-inf". */
json_t *bia_json_real(double v);
/* An API error body: {"error": {"code": bia_rc_name, "message": ctx->msg,
 * "status": the HTTP status}}. */
json_t *bia_error_json(const struct bia_ctx *ctx);
/* Get a string member or `dflt`. */
const char *bia_json_str(const json_t *obj, const char *key, const char *dflt);
/* Text of a JSON value for tables and CSV (malloc'd): strings as they are,
 * integers, reals with `digits` significant digits, true/false, "" for
 * null or absent, arrays and objects as compact JSON. */
char *bia_json_text(const json_t *v, int digits);
/* Append s as one CSV field: quoted (with "" for ") when it holds a comma,
 * a quote, CR or LF. */
int bia_csv_field(struct bia_buf *b, const char *s);

/* ---------------------------------------------------------------- sha256 */

#define BIA_SHA256_HEX 65 /* 64 hex digits + NUL */

struct bia_sha256 {
	unsigned char state[256]; /* opaque libsodium state (crypto_hash_sha256_state) */
};

int bia_sha256_init(struct bia_sha256 *h);
void bia_sha256_update(struct bia_sha256 *h, const void *data, size_t len);
/* Write the lowercase hex digest into hex[BIA_SHA256_HEX]. */
void bia_sha256_final(struct bia_sha256 *h, char hex[BIA_SHA256_HEX]);
void bia_sha256_hex(const void *data, size_t len, char hex[BIA_SHA256_HEX]);
int bia_sha256_file(struct bia_ctx *ctx, const char *path,
		    char hex[BIA_SHA256_HEX], uint64_t *psize /* OUT, may be NULL */);
/* True if s is 64 lowercase hex digits. */
int bia_is_sha256_hex(const char *s);

/* ------------------------------------------------------------------ paths */

#define BIA_PATH_MAX 4096

/* Join base and a relative path into out (size BIA_PATH_MAX). Refuses
 * (BIA_EPERM) an absolute `rel`, any `..` component, and empty results;
 * collapses `.` and repeated slashes in rel. */
int bia_path_join(struct bia_ctx *ctx, char *out, size_t outsz,
		  const char *base, const char *rel);
/* Check that rel is a safe relative path (as bia_path_join). */
int bia_path_check_rel(struct bia_ctx *ctx, const char *rel);
/* Last component of path (pointer into path). */
const char *bia_path_base(const char *path);
/* The stem of a file name: base name without its extension, where the
 * known extensions are .ome.tif .ome.tiff .tif .tiff .png .jpg .jpeg .swc
 * .txt .csv .xml (case-insensitive); other names lose their last `.ext`.
 * Writes into out (size outsz). */
void bia_path_stem(const char *path, char *out, size_t outsz);
/* Extension as bia_path_stem sees it (pointer into path, "" if none). */
const char *bia_path_ext(const char *path);
/* True if the extension names an image format we read (.tif, .tiff,
 * .ome.tif, .ome.tiff, .png, .jpg, .jpeg; case-insensitive). */
int bia_path_is_image(const char *path);

/* ------------------------------------------------------------ files & fs */

/* Create directory and parents (mode 0755). Existing dirs are fine. */
int bia_mkdir_p(struct bia_ctx *ctx, const char *path);
/* Read a whole file, refusing files larger than max. Caller frees *pdata
 * (NUL-terminated for convenience). */
int bia_read_file(struct bia_ctx *ctx, const char *path, size_t max,
		  char **pdata, size_t *plen);
/* Write data to path atomically: temp file in the same dir, fsync,
 * rename, fsync dir. */
int bia_write_file_atomic(struct bia_ctx *ctx, const char *path,
			  const void *data, size_t len);
/* write(2) all of data, retrying on EINTR and short writes; -1 with errno
 * on failure. */
int bia_write_all(int fd, const void *data, size_t len);
/* fsync a directory. */
int bia_fsync_dir(struct bia_ctx *ctx, const char *dir);
int bia_is_dir(const char *path);
int bia_is_file(const char *path);
/* Remove a directory tree (no symlink following). */
int bia_rm_rf(struct bia_ctx *ctx, const char *path);
/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" in out[21]. */
void bia_now_iso(char out[21]);
/* Whether process `pid` is alive: it exists and is not a zombie (state Z
 * or X in /proc/PID/stat; kill(pid, 0) succeeds on a zombie that its parent
 * has not reaped yet, e.g. under an init that reaps orphans late). */
int bia_pid_alive(long pid);
/* When a process started (clock ticks since boot, /proc/PID/stat field
 * 22), 0 if unknown: with the pid it names a process across pid reuse. */
uint64_t bia_pid_start_time(long pid);

/* --------------------------------------------------------- fault injection */

/* Fault-injection sites for crash tests. When the environment variable
 * BIAFLOWS_FAULT names `site` (or "site:N" for the N-th time it is
 * reached), the process acts: default kill -9 itself; "site=stop" sends
 * itself SIGSTOP instead (a test then inspects and resumes it). Costs one
 * getenv when unset. */
void bia_faultsim(const char *site);

/* HSV to RGB: hue in turns (only its fractional part counts), s and v in
 * 0..1; rgb in 0..1. */
void bia_hsv_rgb(double hue, double s, double v, double rgb[3]);

#endif
