#include <string.h>

#include "buf.h"
#include "sec.h"
#include "session.h"

void
sess_new(char id[SESS_IDLEN], char hash[65])
{
	sec_random_b64(id, SESS_IDLEN, 32);
	sec_hash_hex(hash, id);
}

int
sess_hash(const char *id, char hash[65])
{
	size_t	 len = strlen(id);

	if (len != SESS_IDLEN - 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	sec_hash_hex(hash, id);
	return 0;
}

int
sess_expired(time_t created, time_t seen, time_t now, long idle_s, long max_s)
{
	if (now < created || now < seen)	/* clock went back: distrust */
		return 1;
	return now - seen > idle_s || now - created > max_s;
}

int
sess_cookie(struct buf *b, const char *name, const char *value, long max_age)
{
	if (buf_printf(b, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax",
	    name, value) == -1)
		return -1;
	if (max_age >= 0)
		return buf_printf(b, "; Max-Age=%ld", max_age);
	return 0;
}
