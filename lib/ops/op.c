#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "op.h"
#include "plan.h"
#include "model.h"	/* M_NULL */
#include "row.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* The rows of this module's statements (lib/row.h). */
struct claim_row {			/* ST_OP_CLAIM */
	long long	 op_id, op_fence, op_attempt;
	char		*op_kind;
};
static const struct col claim_cols[] = {
	COL(claim_row, op_id, C_INT), COL(claim_row, op_fence, C_INT),
	COL(claim_row, op_attempt, C_INT), COL(claim_row, op_kind, C_STR),
};
static const struct rowtype claim_t = ROWTYPE(claim_row, claim_cols);

struct renew_row {			/* ST_OP_RENEW */
	int		 cancel_requested;
};
static const struct col renew_cols[] = {
	COL(renew_row, cancel_requested, C_BOOL),
};
static const struct rowtype renew_t = ROWTYPE(renew_row, renew_cols);

struct secret_row {			/* ST_OP_SECRETS */
	char		*name;
	char		*sealed;	/* NULL: by reference */
	char		*ref;
};
static const struct col secret_cols[] = {
	COL(secret_row, name, C_STR), COL(secret_row, sealed, C_STR),
	COL(secret_row, ref, C_STR),
};
static const struct rowtype secret_t = ROWTYPE(secret_row, secret_cols);

void
op_secret_ad(char *out, size_t sz, long long op_id, const char *name)
{
	snprintf(out, sz, "operation_secrets:%lld:%s", op_id, name);
}

int
op_create(struct db *db, const struct op_in *o, const struct op_step_in *steps,
    size_t nsteps, const struct secret *sec, size_t nsec,
    const struct keys *k, long long *id, char uuid[40])
{
	struct plan	*pl;
	int		 op, rc = -1;

	if ((pl = plan_new()) == NULL)
		return -1;
	if ((op = plan_op(pl, o)) == -1)
		goto out;
	for (size_t i = 0; i < nsteps; i++)
		(void)plan_step(pl, op, &steps[i]);
	for (size_t i = 0; i < nsec; i++)
		plan_secret(pl, op, sec[i].name, sec[i].value);
	if (plan_commit(db, pl, k) == -1)
		goto out;
	*id = plan_id(pl, op);
	snprintf(uuid, 40, "%s", plan_uuid(pl, op));
	rc = 0;
out:
	plan_free(pl);
	return rc;
}

int
op_claim(struct db *db, const char *worker, long lease_s, long build_limit,
    struct op_claim *c)
{
	char		 l[24], b[24];
	const char	*p[] = { worker, l, b };
	struct claim_row r;
	int		 rc;

	snprintf(l, sizeof(l), "%ld", lease_s);
	snprintf(b, sizeof(b), "%ld", build_limit);
	if ((rc = row_get(db, &claim_t, ST_OP_CLAIM, NP(p), p, &r)) == 1) {
		c->id = r.op_id;
		c->fence = r.op_fence;
		c->attempt = (int)r.op_attempt;
		snprintf(c->kind, sizeof(c->kind), "%s", r.op_kind ? r.op_kind : "");
	}
	row_unfill(&claim_t, &r);
	return rc;
}

int
op_recover(struct db *db)
{
	struct row_n r;

	if (row_get(db, &row_n_t, ST_OP_RECOVER, 0, NULL, &r) != 1)
		return -1;
	return (int)r.n;
}

int
op_renew(struct db *db, const struct op_claim *c, long lease_s)
{
	char		 id[24], f[24], l[24];
	const char	*p[] = { id, f, l };
	struct renew_row r;
	int		 rc;

	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	snprintf(l, sizeof(l), "%ld", lease_s);
	if ((rc = row_get(db, &renew_t, ST_OP_RENEW, NP(p), p, &r)) != 1)
		return rc;
	return r.cancel_requested == 1 ? 2 : 1;
}

int
op_secrets_load(struct db *db, long long id, const struct keys *k,
    op_resolve_fn resolve, struct op_secrets *out)
{
	char		 ids[24], ad[128];
	const char	*p[] = { ids };
	struct secret_row *v = NULL;
	struct buf	 pt;
	size_t		 n = 0;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(ids, sizeof(ids), "%lld", id);
	if (row_all(db, &secret_t, ST_OP_SECRETS, NP(p), p, (void **)&v,
	    &n) == -1)
		return -1;
	if (n > STEP_MAX_SECRETS)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *name = v[i].name;
		int opened;

		buf_init(&pt);
		op_secret_ad(ad, sizeof(ad), id, name);
		if (v[i].sealed == NULL)
			opened = resolve != NULL && v[i].ref != NULL &&
			    resolve(db, k, v[i].ref, &pt) == 0;
		else
			opened = keys_open_b64(&pt, k, ad, v[i].sealed) == 0;
		/* One line, as the step wrapper requires of every secret. */
		if (!opened || memchr(buf_cstr(&pt), '\n', pt.len) != NULL ||
		    strlen(buf_cstr(&pt)) != pt.len) {
			log_warnx("operation %lld: secret %s does not open", id, name);
			if (pt.ptr != NULL)
				sodium_memzero(pt.ptr, pt.cap);
			buf_release(&pt);
			goto out;
		}
		out->store[2 * i] = strdup(name);
		out->store[2 * i + 1] = buf_detach(&pt, NULL);
		if (out->store[2 * i] == NULL || out->store[2 * i + 1] == NULL)
			goto out;
		out->v[i].name = out->store[2 * i];
		out->v[i].value = out->store[2 * i + 1];
		out->n++;
	}
	rc = 0;
out:
	/* The sealed values are not secret; the opened ones are in out. */
	row_unfill_all(&secret_t, v, n);
	if (rc == -1)
		op_secrets_free(out);
	return rc;
}

void
op_secrets_free(struct op_secrets *s)
{
	for (size_t i = 0; i < sizeof(s->store) / sizeof(s->store[0]); i++) {
		if (s->store[i] != NULL) {
			sodium_memzero(s->store[i], strlen(s->store[i]));
			free(s->store[i]);
		}
	}
	memset(s, 0, sizeof(*s));
}

int
op_report_value(const char *out, const char *key, char *v, size_t vsz)
{
	const char	*line = NULL, *p, *q;
	size_t		 kl = strlen(key), n;

	for (p = out; (p = strstr(p, "KS_REPORT ")) != NULL; p++)
		if (p == out || p[-1] == '\n')
			line = p;
	if (line == NULL)
		return -1;
	for (p = line + 10; *p != '\0' && *p != '\n'; p = q) {
		p += strspn(p, " ");
		q = p + strcspn(p, " \n");
		if ((size_t)(q - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			n = (size_t)(q - p) - kl - 1;
			if (n >= vsz)
				return -1;
			memcpy(v, p + kl + 1, n);
			v[n] = '\0';
			return 0;
		}
	}
	return -1;
}
