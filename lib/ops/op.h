/*
 * Operations: what they are made of (created through lib/ops/plan.h), and the
 * spooler's side: claim, lease, fenced step writes, recovery.
 *
 * Fencing: op_claim() returns the operation's new fence; every later
 * write for that run passes it, and the database applies it only while the
 * operation is still running under that fence. A worker that lost its lease
 * (and so its fence) cannot overwrite a newer run's result.
 */
#ifndef KS_OP_H
#define KS_OP_H

#include <stddef.h>

#include "keys.h"
#include "step.h"

struct buf;
struct db;

struct op_step_in {
	const char	*name;
	const char	*target;	/* control_node, build_node, ... */
	long long	 server_id;	/* 0: none */
	const char	*script;	/* never holds a secret value */
	int		 idempotent;
	long		 timeout_s;
	int		 keep_going;	/* a failure does not stop later steps */
	/* A cell of the registry health matrix ("control" or "server:<id>",
	 * and the check's name), or NULL for an ordinary step. */
	const char	*check_node;
	const char	*check_name;
	/* The operation's secrets this step gets, space-separated; NULL: all,
	 * "": none. */
	const char	*secrets;
	/* Consecutive steps with the same group (1, 2, ...) run at the same
	 * time, at most step_fanout at once (the rest in waves); 0: a group
	 * of its own. A failed member without keep_going lets the members
	 * already running finish, and the later steps are skipped (except
	 * always-run ones). */
	int		 group;
	/* Runs even after a failure, a timeout or a cancel (clean-up), and
	 * after a crash of the spooler running the operation. */
	int		 always;
	/* What the step's output reports to the operation's report hook
	 * ("commit"...; lines "KS_REPORT key=value ..."), or NULL. Only a
	 * step whose output Keystone's own commands print may report. */
	const char	*reports;
	/* Once started, a cancel lets it run to its end (a change a server
	 * should not be left half-way through); its timeout and a spooler's
	 * shutdown past its grace still stop it. Not started: skipped. */
	int		 finish;
};

/*
 * A secret an operation gets by reference to where it is stored (say
 * "registry_credentials/build"): the planner, which may run in a web
 * worker that cannot open it, names it; the spooler opens it when the
 * operation runs.
 */
struct op_secret_ref {
	const char	*name;	/* the step's variable */
	const char	*ref;
};

/* Opens ref into out (the spooler's resolver: lib/domain/reg.c's, ...); -1 when
 * it names nothing or does not open. */
typedef int (*op_resolve_fn)(struct db *, const struct keys *, const char *ref,
	    struct buf *out);

/*
 * The spooler's report hook: called when a step that reports (op_step_in
 * .reports names what) ended, its output stored, before its end is. It
 * reads what the step printed and records it. Returns OP_REPORT_GO, or
 * OP_REPORT_DONE (the operation has nothing left to do: it succeeds, and
 * only its always-run steps still run), or -1: the step fails with err.
 */
/* The value of key in the last "KS_REPORT key=value ..." line of a step's
 * output out (the last: a step prints its report after what it ran) into
 * v. 0, or -1 when there is none or it does not fit. */
int	op_report_value(const char *out, const char *key, char *v, size_t vsz);

#define OP_REPORT_GO	0
#define OP_REPORT_DONE	1
struct op_claim;
typedef int (*op_report_fn)(struct db *, const struct op_claim *,
	    long long step_id, const char *reports, int succeeded, char *err,
	    size_t errsz);

/*
 * The spooler's prelude hook: what the operation's steps learn only when
 * it runs (a deploy's image, from the build it waited for), as
 * assignments (quoted by lib/core/shq.c) appended to out and put in front
 * of every step's stored script. 0; -1 fails the operation with err.
 */
typedef int (*op_prelude_fn)(struct db *, const struct op_claim *,
	    struct buf *out, char *err, size_t errsz);

struct op_in {
	const char	*kind;
	const char	*subject_type;
	long long	 subject_id;	/* 0: none */
	long long	 environment_id;
	long long	 build_server_id;
	int		 uses_build_node;
	long long	 depends_on;	/* 0, or an existing operation it needs */
	long long	 created_by;
	const struct op_secret_ref *refs;	/* secrets by reference */
	size_t		 nrefs;
};

/* A plan of one operation (lib/ops/plan.h): the operation, its steps, its
 * secrets (values sealed with the public key: any program may create
 * operations) and its secret references, in one transaction. id/uuid (40
 * bytes) of the new operation on success. */
int	op_create(struct db *, const struct op_in *, const struct op_step_in *,
	    size_t nsteps, const struct secret *, size_t nsecrets,
	    const struct keys *, long long *id, char uuid[40]);

struct op_claim {
	long long	 id;
	long long	 fence;
	int		 attempt;
	char		 kind[32];
};

/* 1 claimed (*c filled), 0 nothing runnable, -1 failure. */
int	op_claim(struct db *, const char *worker, long lease_s, long build_limit,
	    struct op_claim *);
/* Operations whose lease expired or whose dependency failed: ended or
 * requeued. Returns how many, -1 on failure. */
int	op_recover(struct db *);
/* 1 lease renewed, 2 renewed but a cancel was requested, 0 lease lost,
 * -1 failure. */
int	op_renew(struct db *, const struct op_claim *, long lease_s);

/* Opens the operation's secrets into out (values owned by store, which the
 * caller wipes and frees with op_secrets_free). */
struct op_secrets {
	struct secret	 v[STEP_MAX_SECRETS];
	size_t		 n;
	char		*store[STEP_MAX_SECRETS * 2];
};
int	op_secrets_load(struct db *, long long id, const struct keys *,
	    op_resolve_fn, struct op_secrets *);
void	op_secrets_free(struct op_secrets *);

/* Binding of a sealed operation secret to its row ("associated data"). */
void	op_secret_ad(char *out, size_t sz, long long op_id, const char *name);

#endif
