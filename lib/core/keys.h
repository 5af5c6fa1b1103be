/*
 * The keys a program holds, derived from the master key at start.
 *
 * Who holds what:
 *   KEYS_WEB     keystone.fcgi: the CSRF, token-hash, login-name,
 *                provisioning and push-hook subkeys, and the PUBLIC half of
 *                the sealing key pair. It seals the secrets it receives but
 *                can open none of them (registry credentials, repository
 *                and environment secrets): a bug in request handling
 *                exposes no stored secret.
 *   KEYS_OPENER  keystone-spooler and keystonectl run by root: the above,
 *                plus the sealing pair's secret half and the symmetric key
 *                that opens values sealed before the pair existed.
 * The master key itself is wiped as soon as the subkeys are derived; only
 * the process that reads the key file (root) ever sees it.
 *
 * Sealed values ('P' form): 'P' | key version (4 bytes BE) |
 * crypto_box_seal("AD|vN" NUL plaintext). The associated data travels
 * inside the box (sealed boxes take none) and is compared when opened, so a
 * ciphertext copied to another row or column still fails to open.
 */
#ifndef KS_KEYS_H
#define KS_KEYS_H

#include <stddef.h>

#include <sodium.h>

#include "sec.h"

#define KEYS_PKBYTES	crypto_box_PUBLICKEYBYTES
#define KEYS_SKBYTES	crypto_box_SECRETKEYBYTES

enum keys_set {
	KEYS_WEB,
	KEYS_OPENER
};

struct keys {
	unsigned char	 csrf[SEC_KEYBYTES];	/* CSRF token HMAC */
	unsigned char	 token[SEC_KEYBYTES];	/* keyed hashes of one-time tokens */
	unsigned char	 login[SEC_KEYBYTES];	/* keyed hashes of unknown login names */
	unsigned char	 prov[SEC_KEYBYTES];	/* provisioning's short-lived secrets */
	unsigned char	 hook[SEC_KEYBYTES];	/* push-hook HMAC verification */
	unsigned char	 seal_pk[KEYS_PKBYTES];	/* anyone may seal */
	int		 can_open;		/* the two below are set */
	unsigned char	 seal_sk[KEYS_SKBYTES];
	unsigned char	 legacy[SEC_KEYBYTES];	/* opens 'K' values (SEC_SUB_SEAL) */
};

/* Reads the master key file, derives set's keys into k and wipes the
 * master key. -1 with a message in err. */
int	keys_load(struct keys *k, const char *path, enum keys_set set,
	    char *err, size_t errsz);
/* The same from a master key in memory (tests, keystonectl keygen). */
void	keys_derive(struct keys *k, const unsigned char master[SEC_KEYBYTES],
	    enum keys_set set);
/* Wipes every key. */
void	keys_release(struct keys *k);

/* *out: base64 of the 'P' form of secret_pt bound to ad (malloc'd; the
 * caller frees it). Needs only the public half. */
int	keys_seal_b64(char **out, const struct keys *k, const char *ad,
	    const void *secret_pt, size_t len);
/* Appends the plaintext of b64 (either form) to out; the caller wipes it.
 * -1 when k cannot open, or the value is malformed, forged or bound to
 * another ad. */
int	keys_open_b64(struct buf *out, const struct keys *k, const char *ad,
	    const char *b64);

#endif
