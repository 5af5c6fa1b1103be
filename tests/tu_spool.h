/*
 * Harness for the operations-engine tests (check_spool, check_remote): the
 * test stack's database, keystone-spooler processes started and killed by
 * the test, operations created through lib/ops/op.c, and what they stored.
 */
#ifndef KS_TU_SPOOL_H
#define KS_TU_SPOOL_H

#include <sys/types.h>

#include <libpq-fe.h>

#include "db.h"
#include "op.h"
#include "keys.h"

extern const char	*ts_dir, *ts_build, *ts_pgconn;
/* The spooler's keys (KEYS_OPENER), from the stack's master key. */
extern struct keys	 ts_keys;
extern const struct keys *const ts_sealkey;
extern struct db	 ts_db;
extern char		 ts_tmp[];	/* a fresh directory per test */

/* Checked fixture: stack variables, master key, database, temp dir. */
void		 ts_setup(void);
void		 ts_teardown(void);
/* Kills every spooler a test started (also after a failed check). */
void		 ts_reap_all(void);
/* Starts keystone-spooler (lease 6 s, poll 30 s, grace 2 s); extra_env is
 * one NAME=value or NULL. Output goes to $KS_DIR/log/spooler-test.log. */
pid_t		 ts_spooler_start(const char *extra_env);
void		 ts_spooler_kill(pid_t, int sig);
PGresult	*ts_q(const char *sql, int n, const char *const *p);
long long	 ts_create(const struct op_step_in *, size_t n,
		    const struct secret *, size_t nsec);
/* The same with the operation's own fields (kind, environment, ...). */
long long	 ts_create_in(const struct op_in *, const struct op_step_in *,
		    size_t n);
void		 ts_op_field(long long id, const char *col, char *out, size_t sz);
void		 ts_wait_done(long long id, int secs, char *status, size_t sz);
/* Waits until the operation is in status want (fails the test if not
 * within secs). */
void		 ts_wait_status(long long id, const char *want, int secs);
char		*ts_step_output(long long id, int ordinal);
void		 ts_step_field(long long id, int ordinal, const char *col,
		    char *out, size_t sz);
/* What an operation ended as and why, for a failed check's message: its
 * status, error, attempts, claimant and times, then each step's. (A
 * static buffer.) */
const char	*ts_op_report(long long id);
/* Signs in to the stack's web app ($KS_URL, $KS_CA, $KS_USER, $KS_PASS)
 * with curl and saves the page at path into ts_tmp/name. Returns the
 * page (malloc'd) or NULL. */
char		*ts_web_get(const char *path, const char *name);
/* Waits until no operation is queued or running; fails after secs. */
void		 ts_wait_idle(int secs);
/* Waits until registry:2 answers (401) on its own address listen. */
void		 ts_wait_registry(const char *listen);
struct th_host;
/* An active server row for test host h (its pinned host key, ssh user
 * keystone), named prefix + its name: with the build role (and not the
 * runtime one) when build. Returns its id. */
long long	 ts_add_server(const struct th_host *h, const char *prefix, int build);
/* Nonzero when some process's argv or environment holds s. */
int		 ts_proc_has(const char *s);
/* The same for arguments only (a container's own processes have their
 * environment). */
int		 ts_proc_argv_has(const char *s);

#endif
