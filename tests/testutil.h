/* Small helpers shared by the Check test programs. */
#ifndef KS_TESTUTIL_H
#define KS_TESTUTIL_H

#include <sys/types.h>

#include <stddef.h>

/* Reads a whole file; returns a malloc'd NUL-terminated copy or NULL. */
char	*tu_slurp(const char *path, size_t *lenp);
/* Runs a Check suite with CK_NORMAL output; returns the process exit code. */
struct Suite;
int	 tu_run(struct Suite *);

/* The live child processes of parent (at most max) into out; how many,
 * or -1. */
int	 tu_children(pid_t parent, pid_t *out, int max);

/* Waits up to ms for the child pid to exit: 1 and its wait status in
 * *status, or 0 if it still runs. */
int	 tu_wait_exit(pid_t pid, int ms, int *status);

#endif
