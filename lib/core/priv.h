/*
 * Dropping privileges, as OpenBSD's daemons do: a process started as root
 * acquires what it needs (sockets, keys, templates), then becomes an
 * unprivileged account for good before it touches any request.
 */
#ifndef KS_PRIV_H
#define KS_PRIV_H

#include <stddef.h>

/* Becomes user (its uid, primary gid and supplementary groups) for good
 * and checks that root cannot be regained. A process that already runs as
 * user succeeds without change. -1 with a message in err. */
int	priv_drop(const char *user, char *err, size_t errsz);

#endif
