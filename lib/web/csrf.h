/*
 * CSRF tokens: HMAC-SHA256 (keyed with the CSRF subkey) over a binding
 * string, the session's ID hash for a signed-in user or a pre-session
 * cookie's value on the login form. Tokens are URL-safe base64; checks
 * compare in constant time.
 */
#ifndef KS_CSRF_H
#define KS_CSRF_H

#include <stddef.h>

#include "sec.h"

#define CSRF_TOKENLEN	44	/* 43 characters and NUL */

void	csrf_token(char out[CSRF_TOKENLEN], const unsigned char key[SEC_KEYBYTES],
	    const char *binding);
/* 0 when token (may be NULL) is the token for binding, else -1. */
int	csrf_check(const unsigned char key[SEC_KEYBYTES], const char *binding,
	    const char *token);

#endif
