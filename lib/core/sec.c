#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "sec.h"

#define SEAL_HDR	(1 + 4 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)

int
sec_key_load(const char *path, unsigned char key[SEC_KEYBYTES],
    char *err, size_t errsz)
{
	struct stat	 st;
	char		 hex[2 * SEC_KEYBYTES + 2];
	ssize_t		 n;
	size_t		 binlen;
	int		 fd, rc = -1;

	if (sodium_init() < 0) {
		snprintf(err, errsz, "libsodium failed to initialise");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "master key %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "master key %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errsz, "master key %s: mode %03o lets group or "
		    "others read it; chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	n = read(fd, hex, sizeof(hex));
	if (n == 2 * SEC_KEYBYTES + 1 && hex[n - 1] == '\n')
		n--;
	if (n != 2 * SEC_KEYBYTES ||
	    sodium_hex2bin(key, SEC_KEYBYTES, hex, (size_t)n, NULL, &binlen,
	    NULL) != 0 || binlen != SEC_KEYBYTES) {
		snprintf(err, errsz, "master key %s: malformed (expected 64 hex "
		    "digits; create one with `keystonectl keygen`)", path);
		goto out;
	}
	(void)sodium_mlock(key, SEC_KEYBYTES);
	rc = 0;
out:
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return rc;
}

int
sec_key_generate(const char *path, char *err, size_t errsz)
{
	unsigned char	 key[SEC_KEYBYTES];
	char		 hex[2 * SEC_KEYBYTES + 1];
	int		 fd, rc = -1;

	if (sodium_init() < 0) {
		snprintf(err, errsz, "libsodium failed to initialise");
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	hex[2 * SEC_KEYBYTES] = '\n';
	if (write(fd, hex, sizeof(hex)) != (ssize_t)sizeof(hex) || fsync(fd) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		(void)unlink(path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return rc;
}

void
sec_subkey(unsigned char out[SEC_KEYBYTES],
    const unsigned char master[SEC_KEYBYTES], enum sec_subkey id)
{
	crypto_kdf_derive_from_key(out, SEC_KEYBYTES, (uint64_t)id, "keystone",
	    master);
}

static void
full_ad(struct buf *b, const char *ad, uint32_t keyver)
{
	buf_printf(b, "%s|v%u", ad, (unsigned)keyver);
}

int
sec_seal(struct buf *out, const unsigned char key[SEC_KEYBYTES],
    uint32_t keyver, const char *ad, const void *secret_pt, size_t len)
{
	unsigned char	 hdr[SEAL_HDR];
	struct buf	 a;
	unsigned long long clen;
	size_t		 start = out->len;
	int		 rc = -1;

	buf_init(&a);
	full_ad(&a, ad, keyver);
	hdr[0] = 'K';
	hdr[1] = (unsigned char)(keyver >> 24);
	hdr[2] = (unsigned char)(keyver >> 16);
	hdr[3] = (unsigned char)(keyver >> 8);
	hdr[4] = (unsigned char)keyver;
	randombytes_buf(hdr + 5, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	if (a.ptr == NULL || buf_put(out, hdr, sizeof(hdr)) == -1 ||
	    buf_grow(out, len + crypto_aead_xchacha20poly1305_ietf_ABYTES) == -1)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt((unsigned char *)out->ptr +
	    out->len, &clen, secret_pt, len, (unsigned char *)a.ptr, a.len, NULL,
	    hdr + 5, key);
	out->len += (size_t)clen;
	out->ptr[out->len] = '\0';
	rc = 0;
out:
	if (rc == -1 && out->ptr != NULL) {
		out->len = start;
		out->ptr[start] = '\0';
	}
	buf_release(&a);
	return rc;
}

int
sec_open(struct buf *out, const unsigned char key[SEC_KEYBYTES],
    const char *ad, const void *ct, size_t len)
{
	const unsigned char *c = ct;
	struct buf	 a;
	unsigned long long plen;
	uint32_t	 keyver;
	int		 rc = -1;

	buf_init(&a);
	if (len < SEAL_HDR + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    c[0] != 'K')
		return -1;
	keyver = (uint32_t)c[1] << 24 | (uint32_t)c[2] << 16 |
	    (uint32_t)c[3] << 8 | c[4];
	full_ad(&a, ad, keyver);
	if (a.ptr == NULL || buf_grow(out, len - SEAL_HDR) == -1)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out->ptr +
	    out->len, &plen, NULL, c + SEAL_HDR, len - SEAL_HDR,
	    (unsigned char *)a.ptr, a.len, c + 5, key) != 0)
		goto out;
	out->len += (size_t)plen;
	out->ptr[out->len] = '\0';
	rc = 0;
out:
	buf_release(&a);
	return rc;
}

void
sec_random_b64(char *out, size_t outsz, size_t n)
{
	unsigned char	 raw[64];

	if (n > sizeof(raw))
		n = sizeof(raw);
	randombytes_buf(raw, n);
	sodium_bin2base64(out, outsz, raw, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
sec_hash_hex(char out[65], const char *s)
{
	unsigned char	 h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)s, strlen(s),
	    NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

int
sec_seal_b64(char **out, const unsigned char key[SEC_KEYBYTES], uint32_t keyver,
    const char *ad, const void *pt, size_t len)
{
	struct buf	 ct;
	size_t		 b64len;
	int		 rc = -1;

	*out = NULL;
	buf_init(&ct);
	if (sec_seal(&ct, key, keyver, ad, pt, len) == -1)
		goto out;
	b64len = sodium_base64_ENCODED_LEN(ct.len, sodium_base64_VARIANT_ORIGINAL);
	if ((*out = malloc(b64len)) == NULL)
		goto out;
	sodium_bin2base64(*out, b64len, (unsigned char *)ct.ptr, ct.len,
	    sodium_base64_VARIANT_ORIGINAL);
	rc = 0;
out:
	buf_release(&ct);
	return rc;
}

int
sec_open_b64(struct buf *out, const unsigned char key[SEC_KEYBYTES],
    const char *ad, const char *b64)
{
	size_t		 blen = strlen(b64), binlen;
	unsigned char	*bin;
	int		 rc = -1;

	if ((bin = malloc(blen + 1)) == NULL)
		return -1;
	if (sodium_base642bin(bin, blen + 1, b64, blen, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0)
		rc = sec_open(out, key, ad, bin, binlen);
	free(bin);
	return rc;
}
