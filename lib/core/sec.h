/*
 * Secrets at rest and key material (libsodium).
 *
 * The master key file holds 64 hex digits (32 bytes) and a newline; it must
 * be a regular file that group and others cannot access. Purpose-specific
 * keys are derived from it (crypto_kdf), so the master key itself is used for
 * nothing else.
 *
 * Sealed secrets: XChaCha20-Poly1305 with associated data binding the value
 * to where it is stored (e.g. "registry_credentials.password:7") and to the
 * key version, so a ciphertext copied to another row or column fails to open.
 * Layout: 'K' | key version (4 bytes BE) | nonce (24) | ciphertext+tag.
 */
#ifndef KS_SEC_H
#define KS_SEC_H

#include <stddef.h>
#include <stdint.h>

#define SEC_KEYBYTES	32

/* Purposes of derived keys (lib/core/keys.h says which program holds which). */
enum sec_subkey {
	SEC_SUB_CSRF = 1,	/* HMAC key for CSRF tokens */
	SEC_SUB_SEAL = 2,	/* AEAD key of secrets sealed before 010 */
	SEC_SUB_TOKEN = 3,	/* keyed hash for one-time tokens */
	SEC_SUB_LOGIN = 4,	/* keyed hash for unknown login names */
	SEC_SUB_SEALBOX = 5,	/* seed of the sealing key pair */
	SEC_SUB_PROV = 6,	/* AEAD key for provisioning's short-lived secrets */
	SEC_SUB_HOOK = 7	/* HMAC key for push hooks */
};

struct buf;

/* 0 on success; -1 with a message naming the problem (missing, mode,
 * format). The key is locked in memory where the system allows it. */
int	sec_key_load(const char *path, unsigned char key[SEC_KEYBYTES],
	    char *err, size_t errsz);
/* Creates path with mode 0600 holding a new random key; refuses to
 * overwrite an existing file. */
int	sec_key_generate(const char *path, char *err, size_t errsz);
void	sec_subkey(unsigned char out[SEC_KEYBYTES],
	    const unsigned char master[SEC_KEYBYTES], enum sec_subkey);

/* Appends the sealed form of secret_pt to out. */
int	sec_seal(struct buf *out, const unsigned char key[SEC_KEYBYTES],
	    uint32_t keyver, const char *ad, const void *secret_pt, size_t len);
/* Appends the plaintext to out (caller wipes it with sodium_memzero when
 * done). -1 when the ciphertext is malformed, forged, or bound elsewhere. */
int	sec_open(struct buf *out, const unsigned char key[SEC_KEYBYTES],
	    const char *ad, const void *ct, size_t len);

/* The same for text columns: *out is base64 of the sealed form (malloc'd,
 * the caller frees it); sec_open_b64 opens such a value into out. */
int	sec_seal_b64(char **out, const unsigned char key[SEC_KEYBYTES],
	    uint32_t keyver, const char *ad, const void *secret_pt, size_t len);
int	sec_open_b64(struct buf *out, const unsigned char key[SEC_KEYBYTES],
	    const char *ad, const char *b64);

/* Random bytes encoded as URL-safe base64 without padding. out must hold
 * sodium_base64_ENCODED_LEN(n, URLSAFE_NO_PADDING) bytes. */
void	sec_random_b64(char *out, size_t outsz, size_t n);
/* Lower-case hex of BLAKE2b-256 over s (a 65-byte out). */
void	sec_hash_hex(char out[65], const char *s);

#endif
