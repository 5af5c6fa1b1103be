#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "plan.h"
#include "row.h"
#include "shq.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

struct pstep {
	struct op_step_in	 in;
	struct buf		 script;
};

struct pdep {
	int		 idx;	/* an operation of the plan, or -1 */
	long long	 id;	/* else an existing one */
	int		 how;
};

struct pop {
	struct op_in		 in;
	struct pstep		*steps;
	size_t			 nsteps;
	struct secret		*sec;	/* values: copies, wiped */
	size_t			 nsec;
	struct op_secret_ref	*refs;
	size_t			 nrefs;
	struct pdep		*deps;
	size_t			 ndeps;
	long long		 id;	/* after the commit */
	char			 uuid[40];
};

struct plan {
	struct pop	*ops;
	size_t		 nops;
	char		**strs;		/* every string the plan owns */
	size_t		 nstrs;
	struct pstep	*cur;		/* the step plan_var() writes to */
	int		 failed;
};

/* arr (n elements of sz bytes) with room for one more, zeroed; NULL
 * (arr unchanged, the plan failed) when it cannot grow. */
static void *
grow(struct plan *pl, void *arr, size_t n, size_t sz)
{
	char	*p;

	if (pl->failed)
		return NULL;
	if ((p = reallocarray(arr, n + 1, sz)) == NULL) {
		pl->failed = 1;
		return NULL;
	}
	memset(p + n * sz, 0, sz);
	return p;
}

const char *
plan_str(struct plan *pl, const char *s)
{
	char	**slot, *c;

	if (s == NULL)
		return NULL;
	if ((c = strdup(s)) == NULL) {
		pl->failed = 1;
		return "";
	}
	if ((slot = grow(pl, pl->strs, pl->nstrs, sizeof(*slot))) == NULL) {
		free(c);
		return "";
	}
	pl->strs = slot;
	pl->strs[pl->nstrs++] = c;
	return c;
}

struct plan *
plan_new(void)
{
	return calloc(1, sizeof(struct plan));
}

void
plan_free(struct plan *pl)
{
	if (pl == NULL)
		return;
	for (size_t i = 0; i < pl->nops; i++) {
		struct pop *o = &pl->ops[i];
		for (size_t j = 0; j < o->nsteps; j++)
			buf_release(&o->steps[j].script);
		for (size_t j = 0; j < o->nsec; j++) {
			char *v = (char *)o->sec[j].value;
			if (v != NULL) {
				sodium_memzero(v, strlen(v));
				free(v);
			}
		}
		free(o->steps);
		free(o->sec);
		free(o->refs);
		free(o->deps);
	}
	for (size_t i = 0; i < pl->nstrs; i++)
		free(pl->strs[i]);
	free(pl->strs);
	free(pl->ops);
	free(pl);
}

/* The operation at index op, or NULL (and the plan failed). */
static struct pop *
op_at(struct plan *pl, int op)
{
	if (op < 0 || (size_t)op >= pl->nops) {
		if (!pl->failed)
			log_warnx("plan: no operation %d", op);
		pl->failed = 1;
		return NULL;
	}
	return &pl->ops[op];
}

int
plan_op(struct plan *pl, const struct op_in *in)
{
	struct pop	*o;
	int		 idx = (int)pl->nops;

	if ((o = grow(pl, pl->ops, pl->nops, sizeof(*o))) == NULL)
		return -1;
	pl->ops = o;
	o = &pl->ops[pl->nops++];
	o->in = *in;
	o->in.kind = plan_str(pl, in->kind);
	o->in.subject_type = plan_str(pl, in->subject_type);
	o->in.depends_on = 0;	/* a dependency below */
	o->in.refs = NULL;
	o->in.nrefs = 0;
	for (size_t i = 0; i < in->nrefs; i++)
		plan_ref(pl, idx, in->refs[i].name, in->refs[i].ref);
	if (in->depends_on > 0)
		plan_dep_id(pl, idx, in->depends_on, PLAN_NEEDS);
	return pl->failed ? -1 : idx;
}

static void
add_dep(struct plan *pl, int op, int idx, long long id, int how)
{
	struct pop	*o;
	struct pdep	*d;

	if ((o = op_at(pl, op)) == NULL)
		return;
	/* Once per pair (the table's key); needing wins over coming after. */
	for (size_t i = 0; i < o->ndeps; i++)
		if (o->deps[i].idx == idx && o->deps[i].id == id) {
			o->deps[i].how |= how;
			return;
		}
	if ((d = grow(pl, o->deps, o->ndeps, sizeof(*d))) == NULL)
		return;
	o->deps = d;
	d = &o->deps[o->ndeps++];
	d->idx = idx;
	d->id = id;
	d->how = how;
}

void
plan_dep(struct plan *pl, int op, int dep, int how)
{
	if (dep < 0 || dep >= op) {
		if (!pl->failed)
			log_warnx("plan: operation %d cannot depend on %d", op, dep);
		pl->failed = 1;
		return;
	}
	add_dep(pl, op, dep, 0, how);
}

void
plan_dep_id(struct plan *pl, int op, long long id, int how)
{
	if (id <= 0) {
		pl->failed = 1;
		return;
	}
	add_dep(pl, op, -1, id, how);
}

void
plan_secret(struct plan *pl, int op, const char *name, const char *secret_value)
{
	struct pop	*o;
	struct secret	*s;
	char		*v;

	if ((o = op_at(pl, op)) == NULL)
		return;
	if ((v = strdup(secret_value)) == NULL) {
		pl->failed = 1;
		return;
	}
	if ((s = grow(pl, o->sec, o->nsec, sizeof(*s))) == NULL) {
		sodium_memzero(v, strlen(v));
		free(v);
		return;
	}
	o->sec = s;
	s = &o->sec[o->nsec++];
	s->value = v;
	s->name = plan_str(pl, name);
}

void
plan_ref(struct plan *pl, int op, const char *name, const char *ref)
{
	struct pop		*o;
	struct op_secret_ref	*r;

	if ((o = op_at(pl, op)) == NULL ||
	    (r = grow(pl, o->refs, o->nrefs, sizeof(*r))) == NULL)
		return;
	o->refs = r;
	r = &o->refs[o->nrefs++];
	r->name = plan_str(pl, name);
	r->ref = plan_str(pl, ref);
}

struct op_step_in *
plan_step(struct plan *pl, int op, const struct op_step_in *in)
{
	struct pop	*o;
	struct pstep	*s;

	pl->cur = NULL;
	if ((o = op_at(pl, op)) == NULL ||
	    (s = grow(pl, o->steps, o->nsteps, sizeof(*s))) == NULL)
		return NULL;
	o->steps = s;
	s = &o->steps[o->nsteps++];
	s->in = *in;
	s->in.name = plan_str(pl, in->name);
	s->in.target = plan_str(pl, in->target);
	s->in.check_node = plan_str(pl, in->check_node);
	s->in.check_name = plan_str(pl, in->check_name);
	s->in.secrets = plan_str(pl, in->secrets);
	s->in.reports = plan_str(pl, in->reports);
	s->in.script = NULL;	/* the buffer's, at commit */
	pl->cur = s;
	if (in->script != NULL)
		plan_text(pl, in->script);
	return pl->failed ? NULL : &s->in;
}

void
plan_var(struct plan *pl, const char *name, const char *value)
{
	if (pl->cur == NULL || shq_assign(&pl->cur->script, name, value) == -1)
		pl->failed = 1;
}

void
plan_text(struct plan *pl, const char *text)
{
	if (pl->cur == NULL || buf_puts(&pl->cur->script, text) == -1)
		pl->failed = 1;
}

size_t
plan_nops(const struct plan *pl)
{
	return pl->nops;
}

long long
plan_id(const struct plan *pl, int op)
{
	return op >= 0 && (size_t)op < pl->nops ? pl->ops[op].id : 0;
}

const char *
plan_uuid(const struct plan *pl, int op)
{
	return op >= 0 && (size_t)op < pl->nops ? pl->ops[op].uuid : "";
}

/* ------------------------------------------------------------ commit */

static const char *
idstr(char *b, size_t sz, long long v)
{
	if (v <= 0)
		return NULL;	/* SQL NULL */
	snprintf(b, sz, "%lld", v);
	return b;
}

/* PQclear()s what a write returned; -1 when it failed. */
static int
wrote(PGresult *res)
{
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* What ST_OP_INSERT returns. */
struct op_new {
	long long	 id;
	char		*uuid;
};
static const struct col op_new_cols[] = {
	COL(op_new, id, C_INT), COL(op_new, uuid, C_STR),
};
static const struct rowtype op_new_t = ROWTYPE(op_new, op_new_cols);

static long long
dep_id(const struct plan *pl, const struct pdep *d)
{
	return d->idx >= 0 ? pl->ops[d->idx].id : d->id;
}

static int
insert_op(struct db *db, struct plan *pl, struct pop *o, const struct keys *k)
{
	char		 a[24], b[24], c[24], d[24], e[24], ord[24], to[24], srv[24];
	char		 grp[24];
	char		 ad[128], *b64 = NULL;
	long long	 needs = 0;
	struct op_new	 nw;
	int		 rc = -1;

	/* The first operation it needs, for the operation page. */
	for (size_t i = 0; i < o->ndeps && needs == 0; i++)
		if (o->deps[i].how == PLAN_NEEDS)
			needs = dep_id(pl, &o->deps[i]);
	{
		const char *p[] = { o->in.kind, o->in.subject_type,
		    idstr(a, sizeof(a), o->in.subject_id),
		    idstr(b, sizeof(b), o->in.environment_id),
		    idstr(c, sizeof(c), o->in.build_server_id),
		    o->in.uses_build_node ? "true" : "false",
		    idstr(d, sizeof(d), needs),
		    idstr(e, sizeof(e), o->in.created_by),
		    o->nsec > 0 ? "true" : "false" };
		if (row_get(db, &op_new_t, ST_OP_INSERT, NP(p), p, &nw) != 1)
			return -1;
	}
	o->id = nw.id;
	snprintf(o->uuid, sizeof(o->uuid), "%s", nw.uuid);
	row_unfill(&op_new_t, &nw);
	idstr(a, sizeof(a), o->id);
	for (size_t i = 0; i < o->nsteps; i++) {
		const struct op_step_in *s = &o->steps[i].in;
		snprintf(ord, sizeof(ord), "%zu", i + 1);
		snprintf(to, sizeof(to), "%ld", s->timeout_s > 0 ? s->timeout_s : 3600);
		snprintf(grp, sizeof(grp), "%d", s->group);
		const char *p[] = { a, ord, s->name, s->target,
		    idstr(srv, sizeof(srv), s->server_id),
		    buf_cstr(&o->steps[i].script),
		    s->idempotent ? "true" : "false", to,
		    s->keep_going ? "true" : "false", s->check_node, s->check_name,
		    s->secrets, s->group > 0 ? grp : NULL,
		    s->always ? "true" : "false", s->reports,
		    s->finish ? "true" : "false" };
		if (wrote(db_exec(db, ST_OP_STEP_INSERT, NP(p), p)) == -1)
			goto out;
	}
	for (size_t i = 0; i < o->nsec; i++) {
		op_secret_ad(ad, sizeof(ad), o->id, o->sec[i].name);
		if (keys_seal_b64(&b64, k, ad, o->sec[i].value,
		    strlen(o->sec[i].value)) == -1)
			goto out;
		const char *p[] = { a, o->sec[i].name, b64 };
		if (wrote(db_exec(db, ST_OP_SECRET_INSERT, NP(p), p)) == -1)
			goto out;
		free(b64);
		b64 = NULL;
	}
	for (size_t i = 0; i < o->nrefs; i++) {
		const char *p[] = { a, o->refs[i].name, o->refs[i].ref };
		if (wrote(db_exec(db, ST_OP_SECRET_REF_INSERT, NP(p), p)) == -1)
			goto out;
	}
	for (size_t i = 0; i < o->ndeps; i++) {
		const char *p[] = { a, idstr(b, sizeof(b), dep_id(pl, &o->deps[i])),
		    o->deps[i].how == PLAN_NEEDS ? "true" : "false" };
		if (wrote(db_exec(db, ST_OP_DEP_INSERT, NP(p), p)) == -1)
			goto out;
	}
	rc = 0;
out:
	free(b64);
	return rc;
}

int
plan_commit(struct db *db, struct plan *pl, const struct keys *k)
{
	return plan_commit_then(db, pl, k, NULL, NULL);
}

int
plan_commit_then(struct db *db, struct plan *pl, const struct keys *k,
    int (*then)(struct db *, const struct plan *, void *), void *arg)
{
	size_t	 i;

	if (pl->failed || pl->nops == 0) {
		log_warnx("plan: %s; nothing queued", pl->failed ?
		    "it could not be built" : "it is empty");
		return -1;
	}
	for (i = 0; i < pl->nops; i++)
		if (pl->ops[i].nsteps == 0 ||
		    pl->ops[i].nsec + pl->ops[i].nrefs > STEP_MAX_SECRETS) {
			log_warnx("plan: operation %zu (%s) has %s; nothing queued",
			    i, pl->ops[i].in.kind, pl->ops[i].nsteps == 0 ?
			    "no step" : "too many secrets");
			return -1;
		}
	if (db_tx_begin(db) == -1)
		return -1;
	for (i = 0; i < pl->nops; i++)
		if (insert_op(db, pl, &pl->ops[i], k) == -1)
			break;
	if (i == pl->nops && (then == NULL || then(db, pl, arg) == 0) &&
	    db_tx_commit(db) == 0)
		return 0;
	db_tx_rollback(db);
	for (i = 0; i < pl->nops; i++) {
		pl->ops[i].id = 0;
		pl->ops[i].uuid[0] = '\0';
	}
	return -1;
}
