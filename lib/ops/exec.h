/*
 * Executors run one step's script somewhere: on the control node (local,
 * exec_local.c) or on a server over SSH (ssh.c). Both send the same wrapper
 * (step.h) to `bash -s`, stream the output through the same filter, and
 * report the same result.
 *
 * Each is a channel (struct chan): a child's pipes, or a libssh2 channel.
 * One loop, supervise() (exec.c), drives any number of channels at once in
 * one process: it starts them (an SSH connect is a non-blocking start, so
 * a silent host holds up nobody), writes their input, reads their output
 * through the filter, ticks, and applies each one's timeout, cancel and
 * output cap.
 */
#ifndef KS_EXEC_H
#define KS_EXEC_H

#include <sys/types.h>

#include <poll.h>
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

/*
 * A channel: where one step runs. Every call returns at once.
 */
#define CHAN_MAXFD	3	/* pollfds a channel asks for at most */
#define CHAN_EOF	(-2)	/* read: the output has ended */

struct chan;
struct chan_ops {
	/* Moves the start on (SSH: connect, handshake, host key, auth, open,
	 * exec). 0 once the wrapper runs, 1 while under way, -1 with err. */
	int	(*start)(struct chan *, char *err, size_t errsz);
	/* Fills pfd with what it waits for (wr: it has input to write);
	 * returns how many. May lower *ms, for what poll cannot see. */
	int	(*want)(struct chan *, struct pollfd *, int wr, int *ms);
	/* Bytes written, 0 to try again, -1 when the input is gone. */
	ssize_t	(*write)(struct chan *, const char *, size_t);
	/* Bytes read (stdout and stderr alike), 0 to try again, CHAN_EOF,
	 * or -1 with err (the connection is lost). */
	ssize_t	(*read)(struct chan *, char *, size_t, char *err, size_t);
	/* Closes the step's stdin, the cancel signal (step.h): 0 done, 1 to
	 * try again. */
	int	(*close_input)(struct chan *);
	/* Nonzero once the step has ended (local: reaped; SSH: closed). */
	int	(*exited)(struct chan *);
	/* Stops whatever is left, at the end of a cancel's grace. */
	void	(*kill)(struct chan *);
	/* Optional: -1 with err when the peer has gone silent for longer
	 * than a step of timeout_s may be quiet. */
	int	(*alive)(struct chan *, long long quiet_ms, long timeout_s,
		    char *err, size_t errsz);
	/* Fills res (exited, status, signal or error) once the step is over;
	 * of has had all the output (its in-band status). */
	void	(*result)(struct chan *, const struct outfilter *, struct exec_res *);
	void	(*free)(struct chan *);
};
struct chan {
	const struct chan_ops	*ops;
};

/* One step for supervise(). */
struct sup_item {
	struct chan		*ch;	/* taken: supervise() frees it */
	struct exec_req		 rq;	/* rq.tick is not used */
	int			 cancel;	/* set (from a tick) to cancel it */
	/* Set by supervise(): */
	int			 done;
	long long		 ended_ms;	/* when (step_now_ms()) */
	int			 rc;	/* 0 ran to an end, -1 could not start */
	struct exec_res		 res;
};

/*
 * Runs every item at once until each has ended. tick (may be NULL) runs
 * about once a second; nonzero cancels every item still running. Each
 * item's result is in its res, as exec_local() would report it. -1 only
 * when nothing could be supervised (out of memory): every rc is -1 then.
 */
int	supervise(struct sup_item *, size_t n, int (*tick)(void *), void *arg);
/* One step on ch (taken), with rq's tick: 0 or -1 as exec_local(). */
int	exec_run(struct chan *, const struct exec_req *, struct exec_res *);

/* A channel that runs the step with bash on the control node. */
struct chan	*chan_local(void);

/* 0 when the step ran to an end (see res: it may still have failed), -1
 * when it could not be started or supervised (res->error says why). */
int	exec_local(const struct exec_req *, struct exec_res *);

#endif
