/*
 * Executors run one step's script somewhere: on the control node (local)
 * or on a server over SSH (ssh.h). Both send the same wrapper (step.h) to
 * `bash -s`, stream the output through the same filter, and report the
 * same result.
 */
#ifndef KS_EXEC_H
#define KS_EXEC_H

#include <stddef.h>

#include "step.h"

struct exec_req {
	const char		*script;	/* as stored: no secrets */
	const struct secret	*secrets;
	size_t			 nsecrets;
	long			 timeout_s;
	size_t			 output_cap;
	/* Receives redacted output chunks, in order. */
	int			(*output)(void *arg, const char *p, size_t n);
	/* Called about once a second; nonzero cancels the step (a cancel
	 * was requested, or the lease was lost). */
	int			(*tick)(void *arg);
	void			*arg;
};

struct exec_res {
	int		 exited;	/* status below is the exit status */
	int		 status;
	int		 signal;	/* killed by this signal, else 0 */
	char		 signame[16];	/* its name ("TERM"), or "" */
	int		 timed_out;
	int		 cancelled;
	unsigned long long output_bytes;
	int		 truncated;
	char		 error[256];	/* why it could not run or finish */
};

/* 0 when the step ran to an end (see res: it may still have failed), -1
 * when it could not be started or supervised (res->error says why). */
int	exec_local(const struct exec_req *, struct exec_res *);

#endif
