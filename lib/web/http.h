/*
 * The response opener. Every response goes through http_open(), which
 * writes the status, the security headers, the cache policy and the content
 * type in one place; a handler cannot forget one of them.
 */
#ifndef KS_HTTP_H
#define KS_HTTP_H

#include <stddef.h>

struct resp {
	int	(*write)(void *arg, const void *, size_t);	/* -1 on error */
	void	 *arg;
	int	  opened;	/* headers written */
	int	  status;
	size_t	  bytes;	/* body bytes written */
};

struct hdr {
	const char	*name;
	const char	*value;
};

const char	*http_reason(int status);
/* Writes the headers. Fails (-1) when already opened or when a header value
 * holds CR or LF (header injection), writing nothing. */
int		 http_open(struct resp *, int status, const char *ctype,
		    const struct hdr *extra, size_t nextra);
/* A whole answer: the headers with Content-Length: len, then the body
 * unless head (a HEAD answer announces the length it does not send).
 * Knowing the length lets Caddy forward the body as it is instead of
 * chunking it. */
int		 http_send(struct resp *, int status, const char *ctype,
		    const struct hdr *extra, size_t nextra, const void *body,
		    size_t len, int head);
int		 http_write(struct resp *, const void *, size_t);

#endif
