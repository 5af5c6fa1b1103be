#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "http.h"

/*
 * style-src 'self' allows only the stylesheet Caddy serves from /static;
 * script-src 'self' lets later pages add progressive JavaScript from
 * /static without inline code. form-action keeps forms on this origin.
 */
static const struct hdr security[] = {
	{ "Content-Security-Policy", "default-src 'none'; style-src 'self'; "
	    "img-src 'self'; script-src 'self'; connect-src 'self'; "
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "same-origin" },
	{ "Strict-Transport-Security", "max-age=63072000; includeSubDomains" },
	{ "Cross-Origin-Opener-Policy", "same-origin" },
	{ "Permissions-Policy", "camera=(), microphone=(), geolocation=()" },
	{ "Cache-Control", "no-store" },
};

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int
header_safe(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/* The headers; Content-Length too when clen is given. */
static int
open_hdrs(struct resp *r, int status, const char *ctype,
    const struct hdr *extra, size_t nextra, const size_t *clen)
{
	struct buf	 b;
	int		 rc = -1;

	if (r->opened || status < 100 || status > 599)
		return -1;
	for (size_t i = 0; i < nextra; i++)
		if (!header_safe(extra[i].name) || !header_safe(extra[i].value))
			return -1;
	if (ctype != NULL && !header_safe(ctype))
		return -1;
	buf_init(&b);
	if (buf_printf(&b, "Status: %d %s\r\n", status, http_reason(status)) == -1)
		goto out;
	for (size_t i = 0; i < sizeof(security) / sizeof(security[0]); i++)
		if (buf_printf(&b, "%s: %s\r\n", security[i].name,
		    security[i].value) == -1)
			goto out;
	if (ctype != NULL && buf_printf(&b, "Content-Type: %s\r\n", ctype) == -1)
		goto out;
	if (clen != NULL && buf_printf(&b, "Content-Length: %zu\r\n", *clen) == -1)
		goto out;
	for (size_t i = 0; i < nextra; i++)
		if (buf_printf(&b, "%s: %s\r\n", extra[i].name, extra[i].value) == -1)
			goto out;
	if (buf_puts(&b, "\r\n") == -1)
		goto out;
	if (r->write(r->arg, b.ptr, b.len) == -1)
		goto out;
	r->opened = 1;
	r->status = status;
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

int
http_open(struct resp *r, int status, const char *ctype,
    const struct hdr *extra, size_t nextra)
{
	return open_hdrs(r, status, ctype, extra, nextra, NULL);
}

int
http_send(struct resp *r, int status, const char *ctype,
    const struct hdr *extra, size_t nextra, const void *body, size_t len,
    int head)
{
	if (open_hdrs(r, status, ctype, extra, nextra, &len) == -1)
		return -1;
	return head ? 0 : http_write(r, body, len);
}

int
http_write(struct resp *r, const void *p, size_t len)
{
	if (!r->opened)
		return -1;
	if (len == 0)
		return 0;
	if (r->write(r->arg, p, len) == -1)
		return -1;
	r->bytes += len;
	return 0;
}
