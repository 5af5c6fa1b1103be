/*
 * The prefork master both daemons share (keystone.fcgi, keystone-spooler).
 * Started as root, it loads only the keys the program may hold, lets the
 * program acquire what else it needs (a socket), forks the workers, which
 * drop to the program's account before they work, and keeps them running:
 * a worker that dies is replaced, later each time one dies young, so a
 * crash loop does not spin. SIGTERM or SIGINT is passed on to the workers,
 * which finish what they are doing; those still running after the bound
 * are killed. The keys are wiped before daemon_run returns.
 */
#ifndef KS_DAEMON_H
#define KS_DAEMON_H

#include <signal.h>

#include "keys.h"

#define DAEMON_MAX_WORKERS	64

struct daemon {
	const char	*name;		/* in logs: NAME, and NAME worker */
	long		 workers;	/* 1 to DAEMON_MAX_WORKERS */
	/* The master key file and the set derived from it into *keys
	 * before the workers fork. key_file NULL: the program holds none. */
	const char	*key_file;
	enum keys_set	 key_set;
	struct keys	*keys;
	/* Each worker becomes this account before it works; NULL: it stays
	 * what the master is (the spooler, which runs control-node steps as
	 * root). */
	const char	*user;
	long		 stop_s;	/* after SIGTERM, before SIGKILL */
	/* In the master, after the keys, before the first worker (a
	 * socket, say); -1 stops the program. May be NULL. */
	int		(*prepare)(void *arg);
	/* A worker's life: returns once daemon_stopping is set (a worker
	 * that returns before is replaced). */
	void		(*work)(void *arg);
	/* What arg holds, released in a worker before it exits (so that
	 * LeakSanitizer checks it). May be NULL. */
	void		(*release)(void *arg);
	void		*arg;
};

/* Set in a worker by SIGTERM or SIGINT: finish up and return. */
extern volatile sig_atomic_t	daemon_stopping;

/* Runs d until SIGTERM or SIGINT. 0 once the workers are gone, -1 when it
 * could not start (logged). */
int	daemon_run(struct daemon *d);

#endif
