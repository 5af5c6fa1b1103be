#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "op.h"
#include "plan.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

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
	PGresult	*res;
	int		 rc = 0;

	snprintf(l, sizeof(l), "%ld", lease_s);
	snprintf(b, sizeof(b), "%ld", build_limit);
	if ((res = db_exec(db, ST_OP_CLAIM, NP(p), p)) == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		c->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		c->fence = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		c->attempt = atoi(PQgetvalue(res, 0, 2));
		snprintf(c->kind, sizeof(c->kind), "%s", PQgetvalue(res, 0, 3));
		rc = 1;
	}
	PQclear(res);
	return rc;
}

int
op_recover(struct db *db)
{
	PGresult	*res;
	int		 n;

	if ((res = db_exec(db, ST_OP_RECOVER, 0, NULL)) == NULL)
		return -1;
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

int
op_renew(struct db *db, const struct op_claim *c, long lease_s)
{
	char		 id[24], f[24], l[24];
	const char	*p[] = { id, f, l };
	PGresult	*res;
	int		 rc;

	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	snprintf(l, sizeof(l), "%ld", lease_s);
	if ((res = db_exec(db, ST_OP_RENEW, NP(p), p)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		rc = 0;
	else
		rc = PQgetvalue(res, 0, 0)[0] == 't' ? 2 : 1;
	PQclear(res);
	return rc;
}

int
op_secrets_load(struct db *db, long long id, const struct keys *k,
    op_resolve_fn resolve, struct op_secrets *out)
{
	char		 ids[24], ad[128];
	const char	*p[] = { ids };
	PGresult	*res;
	struct buf	 pt;
	int		 rc = -1, n;

	memset(out, 0, sizeof(*out));
	snprintf(ids, sizeof(ids), "%lld", id);
	if ((res = db_exec(db, ST_OP_SECRETS, NP(p), p)) == NULL)
		return -1;
	n = PQntuples(res);
	if (n > STEP_MAX_SECRETS)
		goto out;
	for (int i = 0; i < n; i++) {
		const char *name = PQgetvalue(res, i, 0), *b64 = PQgetvalue(res, i, 1);
		int opened;

		buf_init(&pt);
		op_secret_ad(ad, sizeof(ad), id, name);
		if (PQgetisnull(res, i, 1))
			opened = resolve != NULL &&
			    resolve(db, k, PQgetvalue(res, i, 2), &pt) == 0;
		else
			opened = keys_open_b64(&pt, k, ad, b64) == 0;
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
	PQclear(res);
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
