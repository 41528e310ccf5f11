/* SHA-256 via libsodium, hex digests, hashing files.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((struct bia_sha256 *)0)->state),
	       "bia_sha256 state too small");

static void to_hex(const unsigned char *d, char hex[BIA_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
}

int bia_sha256_init(struct bia_sha256 *h)
{
	return crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)h->state);
}

void bia_sha256_update(struct bia_sha256 *h, const void *data, size_t len)
{
	crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)h->state, data, len);
}

void bia_sha256_final(struct bia_sha256 *h, char hex[BIA_SHA256_HEX])
{
	unsigned char d[32];
	crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)h->state, d);
	to_hex(d, hex);
}

void bia_sha256_hex(const void *data, size_t len, char hex[BIA_SHA256_HEX])
{
	unsigned char d[32];
	crypto_hash_sha256(d, data, len);
	to_hex(d, hex);
}

int bia_sha256_file(struct bia_ctx *ctx, const char *path, char hex[BIA_SHA256_HEX],
		    uint64_t *psize)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bia_fail(ctx, errno == ENOENT ? BIA_ENOENT : BIA_EIO,
				"cannot open '%s': %s", path, strerror(errno));
	struct bia_sha256 h;
	unsigned char buf[65536];
	uint64_t total = 0;
	bia_sha256_init(&h);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return bia_fail(ctx, BIA_EIO, "cannot read '%s': %s", path,
					strerror(e));
		}
		if (n == 0)
			break;
		bia_sha256_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	bia_sha256_final(&h, hex);
	if (psize)
		*psize = total;
	return 0;
}

int bia_is_sha256_hex(const char *s)
{
	size_t i;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}
