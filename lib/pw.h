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
/* NULL when acceptable as a new password, else a message. */
const char *pw_policy(const char *secret_pw);

#endif
