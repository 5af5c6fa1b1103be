#include <string.h>

#include "form.h"
#include "pw.h"

#define PW_OPS	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEM	crypto_pwhash_MEMLIMIT_INTERACTIVE

int
pw_hash(char out[PW_HASHBYTES], const char *secret_pw)
{
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(out, secret_pw, strlen(secret_pw), PW_OPS,
	    PW_MEM) == 0 ? 0 : -1;
}

int
pw_verify(const char *hash, const char *secret_pw)
{
	if (sodium_init() < 0 || strlen(hash) >= PW_HASHBYTES)
		return -1;
	return crypto_pwhash_str_verify(hash, secret_pw, strlen(secret_pw)) == 0 ?
	    0 : -1;
}

int
pw_verify_dummy(const char *secret_pw)
{
	/* Computed once per process; its password is random and discarded. */
	static char	 dummy[PW_HASHBYTES];
	char		 rnd[33];

	if (dummy[0] == '\0') {
		randombytes_buf(rnd, sizeof(rnd) - 1);
		for (size_t i = 0; i + 1 < sizeof(rnd); i++)
			rnd[i] = (char)('a' + ((unsigned char)rnd[i] % 26));
		rnd[sizeof(rnd) - 1] = '\0';
		if (pw_hash(dummy, rnd) == -1)
			return -1;
		sodium_memzero(rnd, sizeof(rnd));
	}
	(void)pw_verify(dummy, secret_pw);
	return -1;
}

int
pw_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, PW_OPS, PW_MEM) != 0;
}

const char *
pw_policy(const char *secret_pw)
{
	size_t	 len = strlen(secret_pw), cps = 0;

	if (!utf8_valid(secret_pw, len))
		return "must be valid UTF-8 text";
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)secret_pw[i] & 0xC0) != 0x80)
			cps++;
	if (cps < PW_MINLEN)
		return "must be at least 12 characters long";
	if (len > PW_MAXLEN)
		return "must be at most 1024 bytes long";
	return NULL;
}
