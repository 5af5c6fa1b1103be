#include <string.h>

#include <sodium.h>

#include "csrf.h"

void
csrf_token(char out[CSRF_TOKENLEN], const unsigned char key[SEC_KEYBYTES],
    const char *binding)
{
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(mac, (const unsigned char *)binding,
	    strlen(binding), key);
	sodium_bin2base64(out, CSRF_TOKENLEN, mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
csrf_check(const unsigned char key[SEC_KEYBYTES], const char *binding,
    const char *token)
{
	char	 want[CSRF_TOKENLEN];

	if (token == NULL || strlen(token) != CSRF_TOKENLEN - 1)
		return -1;
	csrf_token(want, key, binding);
	return sodium_memcmp(want, token, CSRF_TOKENLEN - 1) == 0 ? 0 : -1;
}
