/*
 * Plans: operations, their steps, their secrets and the dependencies
 * between them, built in memory and then created in one transaction, or
 * not at all. The one way to create operations (op_create() is a plan of
 * one).
 *
 *	struct plan *pl = plan_new();
 *	int a = plan_op(pl, &registry);		-> index 0
 *	plan_step(pl, a, &s); plan_var(pl, "HOST", h); plan_text(pl, script);
 *	int b = plan_op(pl, &auth);
 *	plan_dep(pl, b, a, PLAN_NEEDS);		b runs only if a succeeded
 *	...
 *	plan_commit(db, pl, keys); plan_uuid(pl, a); plan_free(pl);
 *
 * Building never fails half-way for the caller: an allocation failure or
 * a misuse (a dependency on a later operation, too many secrets) marks
 * the plan failed, and plan_commit() then refuses it whole.
 */
#ifndef KS_PLAN_H
#define KS_PLAN_H

#include <stddef.h>

#include "keys.h"
#include "op.h"

struct db;
struct plan;

/* How an operation depends on another. */
#define PLAN_AFTER	0	/* runs once the other ended, however it ended */
#define PLAN_NEEDS	1	/* runs only if the other succeeded; fails
				 * without running if it failed or was
				 * cancelled */

struct plan	*plan_new(void);
/* Frees the plan; the sealed secrets' values are wiped. NULL is fine. */
void		 plan_free(struct plan *);

/* Adds an operation (its fields copied; in->depends_on > 0 is an existing
 * operation it needs, in->refs its secrets by reference). Returns its
 * index in the plan (0, 1, ...), or -1 (the plan has failed). */
int		 plan_op(struct plan *, const struct op_in *in);
/* op waits for dep, an earlier operation of the same plan (dep < op: a
 * plan's dependencies cannot form a cycle). how: PLAN_AFTER, PLAN_NEEDS. */
void		 plan_dep(struct plan *, int op, int dep, int how);
/* op waits for an operation that exists already (its id). */
void		 plan_dep_id(struct plan *, int op, long long id, int how);
/* A secret of op: its value sealed with the keys' public key at commit;
 * the plan holds a copy until it is freed (then wiped). */
void		 plan_secret(struct plan *, int op, const char *name,
		    const char *secret_value);
/* A secret of op by reference (see struct op_secret_ref). */
void		 plan_ref(struct plan *, int op, const char *name, const char *ref);

/* Starts a step of op from *s (strings copied; s->script, if not NULL,
 * starts its script). The script grows with plan_var() (NAME='value',
 * quoted by lib/core/shq.c) and plan_text(). Returns the step's fields for
 * small changes (secrets, keep_going, group, always...), valid until the
 * next plan_step(); a string put there must outlive the plan (a literal,
 * or plan_str()'s copy). NULL when the plan has failed. */
struct op_step_in *plan_step(struct plan *, int op, const struct op_step_in *s);
void		 plan_var(struct plan *, const char *name, const char *value);
void		 plan_text(struct plan *, const char *text);
/* A copy of s that lives as long as the plan ("" when the plan fails). */
const char	*plan_str(struct plan *, const char *s);

size_t		 plan_nops(const struct plan *);
/* Creates every operation of the plan in one transaction (which must not
 * be open yet: db_tx_begin() refuses nesting). 0, or -1 with nothing
 * created. */
int		 plan_commit(struct db *, struct plan *, const struct keys *);
/* plan_commit(), and then(db, plan, arg) in the same transaction once the
 * operations exist (plan_id() answers): what the plan changes besides
 * (a build supersedes the queued one it replaces...). Its -1 undoes all. */
int		 plan_commit_then(struct db *, struct plan *, const struct keys *,
		    int (*then)(struct db *, const struct plan *, void *), void *arg);
/* After a commit: the id and uuid of the operation at index op. */
long long	 plan_id(const struct plan *, int op);
const char	*plan_uuid(const struct plan *, int op);

#endif
