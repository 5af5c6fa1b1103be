/*
 * Password hashing: argon2id through crypto_pwhash_str at libsodium's
 * INTERACTIVE limits or above. Parameters named secret_* are never logged.
 */
#ifndef KS_PW_H
#define KS_PW_H

#include <sodium.h>

#define PW_HASHBYTES	crypto_pwhash_STRBYTES
#define PW_MINLEN	12
#define PW_MAXLEN	1024

int	pw_hash(char out[PW_HASHBYTES], const char *secret_pw);
/* 0 when secret_pw matches hash, -1 otherwise (also for a malformed hash). */
int	pw_verify(const char *hash, const char *secret_pw);
/* Runs a verification of the same cost against a fixed hash, so an unknown
 * user takes as long to refuse as a wrong password. Always returns -1. */
int	pw_verify_dummy(const char *secret_pw);
/* 1 when hash was made with weaker limits than the current ones. */
int	pw_needs_rehash(const char *hash);
/* pw_verify (with pw_verify_dummy when hash is NULL, and a rehash when the
 * stored hash is weaker than the current limits) run in a short-lived child
 * process: argon2's 64 MiB of working memory never becomes part of a
 * long-lived worker's footprint. Returns 1 on a match (newhash holds a new
 * hash to store, or ""), 0 on no match, -1 on failure. */
int	pw_check(const char *hash, const char *secret_pw,
	    char newhash[PW_HASHBYTES]);
/* NULL when acceptable as a new password, else a message. */
const char *pw_policy(const char *secret_pw);

#endif
