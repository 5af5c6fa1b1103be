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

/* Builds the dummy hash pw_check checks unknown users against, once, in a
 * short-lived child. Call it at program start, before forking workers, so
 * no login ever pays for it. 0 on success (or when already built), -1. */
int	pw_init(void);
int	pw_hash(char out[PW_HASHBYTES], const char *secret_pw);
/* 0 when secret_pw matches hash, -1 otherwise (also for a malformed hash). */
int	pw_verify(const char *hash, const char *secret_pw);
/* 1 when hash was made with weaker limits than the current ones. */
int	pw_needs_rehash(const char *hash);
/* pw_verify (against pw_init's dummy hash when hash is NULL, so an unknown
 * user costs one argon2id run like a wrong password, and a rehash when the
 * stored hash is weaker than the current limits) run in a short-lived child
 * process: argon2's 64 MiB of working memory never becomes part of a
 * long-lived worker's footprint. Returns 1 on a match (newhash holds a new
 * hash to store, or ""), 0 on no match, -1 on failure (also when hash is
 * NULL and pw_init has not run). */
int	pw_check(const char *hash, const char *secret_pw,
	    char newhash[PW_HASHBYTES]);
/* argon2id runs (hashes and verifications) so far by this process and the
 * children pw_check and pw_init ran: for tests of a login's cost. */
unsigned long pw_runs(void);
/* NULL when acceptable as a new password, else a message. */
const char *pw_policy(const char *secret_pw);

#endif
