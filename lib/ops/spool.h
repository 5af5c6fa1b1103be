/*
 * The spooler's work loop for one claimed operation: its steps in order,
 * a step group's members at the same time (lib/exec.c's supervise(), at
 * most fanout at once), each through the executor for its target, output
 * streamed into the database, the lease renewed while it runs, every
 * write fenced; after a failure, a timeout or a cancel, only the
 * always-run steps (clean-up).
 */
#ifndef KS_SPOOL_H
#define KS_SPOOL_H

#include <signal.h>
#include <stddef.h>

#include "op.h"

struct db;

struct spool {
	struct db		*db;
	char			 worker[128];	/* host:pid, shown as claimed_by */
	long			 lease_s;
	long			 build_limit;	/* operations per build node */
	size_t			 output_cap;	/* stored output per step */
	long			 grace_s;	/* after SIGTERM, before cancelling */
	long			 fanout;	/* a group's steps run at once */
	const struct keys	*keys;		/* KEYS_OPENER: opens secrets */
	op_resolve_fn		 resolve;	/* opens secret references */
	op_report_fn		 report;	/* NULL: no step reports */
	op_prelude_fn		 prelude;	/* NULL: none */
	const char		*ssh_key_file;	/* NULL: no SSH steps possible */
	long			 ssh_connect_timeout;
	long			 ssh_idle_timeout;
	volatile sig_atomic_t	*stopping;	/* set by SIGTERM */
};

/* Runs c to its end. 0 when the operation reached a final state (of any
 * kind), -1 when the lease was lost or the database failed (recovery will
 * end it). */
int	spool_run(struct spool *, const struct op_claim *c);

#endif
