/* Small helpers shared by the Check test programs. */
#ifndef KS_TESTUTIL_H
#define KS_TESTUTIL_H

#include <stddef.h>

/* Reads a whole file; returns a malloc'd NUL-terminated copy or NULL. */
char	*tu_slurp(const char *path, size_t *lenp);
/* Runs a Check suite with CK_NORMAL output; returns the process exit code. */
struct Suite;
int	 tu_run(struct Suite *);

#endif
