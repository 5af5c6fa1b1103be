#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "keys.h"

#define PKEYVER		2		/* 'K' values are version 1 */
#define PHDR		(1 + 4)

/*
 * Overwrites the stack below the caller: what key derivation left in the
 * frames of the functions it called (hash states, copies of the master
 * key) must not survive into the workers forked later.
 */
static void __attribute__((noinline))
wipe_stack(void)
{
	volatile unsigned char	 pad[16384];

	sodium_memzero((void *)pad, sizeof(pad));
	__asm__ __volatile__("" : : "r"(pad) : "memory");
}

static void __attribute__((noinline))
derive(struct keys *k, const unsigned char master[SEC_KEYBYTES],
    enum keys_set set)
{
	unsigned char	 seed[SEC_KEYBYTES], sk[KEYS_SKBYTES];

	memset(k, 0, sizeof(*k));
	sec_subkey(k->csrf, master, SEC_SUB_CSRF);
	sec_subkey(k->token, master, SEC_SUB_TOKEN);
	sec_subkey(k->login, master, SEC_SUB_LOGIN);
	sec_subkey(k->prov, master, SEC_SUB_PROV);
	sec_subkey(k->hook, master, SEC_SUB_HOOK);
	sec_subkey(seed, master, SEC_SUB_SEALBOX);
	crypto_box_seed_keypair(k->seal_pk, sk, seed);
	if (set == KEYS_OPENER) {
		memcpy(k->seal_sk, sk, sizeof(sk));
		sec_subkey(k->legacy, master, SEC_SUB_SEAL);
		k->can_open = 1;
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
}

void
keys_derive(struct keys *k, const unsigned char master[SEC_KEYBYTES],
    enum keys_set set)
{
	derive(k, master, set);
	wipe_stack();
	(void)sodium_mlock(k, sizeof(*k));
}

int
keys_load(struct keys *k, const char *path, enum keys_set set, char *err,
    size_t errsz)
{
	unsigned char	 master[SEC_KEYBYTES];
	int		 rc;

	memset(k, 0, sizeof(*k));
	if ((rc = sec_key_load(path, master, err, errsz)) == 0)
		keys_derive(k, master, set);
	sodium_memzero(master, sizeof(master));
	(void)sodium_munlock(master, sizeof(master));
	wipe_stack();
	return rc;
}

void
keys_release(struct keys *k)
{
	sodium_memzero(k, sizeof(*k));
}

static void
full_ad(struct buf *b, const char *ad, uint32_t keyver)
{
	buf_printf(b, "%s|v%u", ad, (unsigned)keyver);
	buf_putc(b, '\0');
}

int
keys_seal_b64(char **out, const struct keys *k, const char *ad,
    const void *secret_pt, size_t len)
{
	struct buf	 pt;
	unsigned char	*ct = NULL;
	size_t		 ctlen, b64len;
	int		 rc = -1;

	*out = NULL;
	buf_init(&pt);
	full_ad(&pt, ad, PKEYVER);
	if (pt.ptr == NULL || buf_put(&pt, secret_pt, len) == -1)
		goto out;
	ctlen = PHDR + crypto_box_SEALBYTES + pt.len;
	if ((ct = malloc(ctlen)) == NULL)
		goto out;
	ct[0] = 'P';
	ct[1] = (unsigned char)(PKEYVER >> 24);
	ct[2] = (unsigned char)(PKEYVER >> 16);
	ct[3] = (unsigned char)(PKEYVER >> 8);
	ct[4] = (unsigned char)PKEYVER;
	if (crypto_box_seal(ct + PHDR, (unsigned char *)pt.ptr, pt.len,
	    k->seal_pk) != 0)
		goto out;
	b64len = sodium_base64_ENCODED_LEN(ctlen, sodium_base64_VARIANT_ORIGINAL);
	if ((*out = malloc(b64len)) == NULL)
		goto out;
	sodium_bin2base64(*out, b64len, ct, ctlen, sodium_base64_VARIANT_ORIGINAL);
	rc = 0;
out:
	if (pt.ptr != NULL)
		sodium_memzero(pt.ptr, pt.cap);
	buf_release(&pt);
	free(ct);
	return rc;
}

/* Opens a 'P' value (bin, n) into out. */
static int
open_sealed(struct buf *out, const struct keys *k, const char *ad,
    const unsigned char *bin, size_t n)
{
	struct buf	 want, pt;
	uint32_t	 keyver;
	int		 rc = -1;

	buf_init(&want);
	buf_init(&pt);
	if (n < PHDR + crypto_box_SEALBYTES)
		return -1;
	keyver = (uint32_t)bin[1] << 24 | (uint32_t)bin[2] << 16 |
	    (uint32_t)bin[3] << 8 | bin[4];
	full_ad(&want, ad, keyver);
	if (want.ptr == NULL ||
	    buf_grow(&pt, n - PHDR - crypto_box_SEALBYTES + 1) == -1)
		goto out;
	if (crypto_box_seal_open((unsigned char *)pt.ptr, bin + PHDR, n - PHDR,
	    k->seal_pk, k->seal_sk) != 0)
		goto out;
	pt.len = n - PHDR - crypto_box_SEALBYTES;
	pt.ptr[pt.len] = '\0';
	/* Bound to this place: the sealed AD equals the expected one. */
	if (pt.len < want.len || sodium_memcmp(pt.ptr, want.ptr, want.len) != 0)
		goto out;
	if (buf_put(out, pt.ptr + want.len, pt.len - want.len) == -1)
		goto out;
	rc = 0;
out:
	if (pt.ptr != NULL)
		sodium_memzero(pt.ptr, pt.cap);
	buf_release(&pt);
	buf_release(&want);
	return rc;
}

int
keys_open_b64(struct buf *out, const struct keys *k, const char *ad,
    const char *b64)
{
	size_t		 blen = strlen(b64), binlen;
	unsigned char	*bin;
	int		 rc = -1;

	if (!k->can_open)
		return -1;
	if ((bin = malloc(blen + 1)) == NULL)
		return -1;
	if (sodium_base642bin(bin, blen + 1, b64, blen, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || binlen == 0)
		goto out;
	if (bin[0] == 'P')
		rc = open_sealed(out, k, ad, bin, binlen);
	else
		rc = sec_open(out, k->legacy, ad, bin, binlen);
out:
	free(bin);
	return rc;
}
