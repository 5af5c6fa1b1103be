#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "op.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

static const char *
idstr(char *b, size_t sz, long long v)
{
	if (v <= 0)
		return NULL;	/* SQL NULL */
	snprintf(b, sz, "%lld", v);
	return b;
}

void
op_secret_ad(char *out, size_t sz, long long op_id, const char *name)
{
	snprintf(out, sz, "operation_secrets:%lld:%s", op_id, name);
}

static int
insert_secret(struct db *db, long long id, const struct secret *s,
    const struct keys *k)
{
	char		 ad[128], ids[24], *b64 = NULL;
	PGresult	*res = NULL;
	int		 rc = -1;

	op_secret_ad(ad, sizeof(ad), id, s->name);
	if (keys_seal_b64(&b64, k, ad, s->value, strlen(s->value)) == -1)
		goto out;
	{
		const char *p[] = { idstr(ids, sizeof(ids), id), s->name, b64 };
		if ((res = db_exec(db, ST_OP_SECRET_INSERT, NP(p), p)) == NULL)
			goto out;
	}
	rc = 0;
out:
	PQclear(res);
	free(b64);
	return rc;
}

int
op_create(struct db *db, const struct op_in *o, const struct op_step_in *steps,
    size_t nsteps, const struct secret *sec, size_t nsec,
    const struct keys *k, long long *id, char uuid[40])
{
	char		 a[24], b[24], c[24], d[24], e[24], ord[24], to[24], srv[24];
	PGresult	*res = NULL;
	int		 rc = -1;

	if (nsteps == 0 || nsec + o->nrefs > STEP_MAX_SECRETS)
		return -1;
	if (db_simple(db, "BEGIN") == -1)
		return -1;
	{
		const char *p[] = { o->kind, o->subject_type,
		    idstr(a, sizeof(a), o->subject_id),
		    idstr(b, sizeof(b), o->environment_id),
		    idstr(c, sizeof(c), o->build_server_id),
		    o->uses_build_node ? "true" : "false",
		    idstr(d, sizeof(d), o->depends_on),
		    idstr(e, sizeof(e), o->created_by),
		    nsec > 0 ? "true" : "false" };
		if ((res = db_exec(db, ST_OP_INSERT, NP(p), p)) == NULL ||
		    PQntuples(res) != 1)
			goto out;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(uuid, 40, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	res = NULL;
	for (size_t i = 0; i < nsteps; i++) {
		const struct op_step_in *s = &steps[i];
		snprintf(ord, sizeof(ord), "%zu", i + 1);
		snprintf(to, sizeof(to), "%ld", s->timeout_s > 0 ? s->timeout_s : 3600);
		const char *p[] = { idstr(a, sizeof(a), *id), ord, s->name, s->target,
		    idstr(srv, sizeof(srv), s->server_id), s->script,
		    s->idempotent ? "true" : "false", to,
		    s->keep_going ? "true" : "false", s->check_node, s->check_name,
		    s->secrets };
		if ((res = db_exec(db, ST_OP_STEP_INSERT, NP(p), p)) == NULL)
			goto out;
		PQclear(res);
		res = NULL;
	}
	for (size_t i = 0; i < nsec; i++)
		if (insert_secret(db, *id, &sec[i], k) == -1)
			goto out;
	for (size_t i = 0; i < o->nrefs; i++) {
		const char *p[] = { idstr(a, sizeof(a), *id), o->refs[i].name,
		    o->refs[i].ref };
		if ((res = db_exec(db, ST_OP_SECRET_REF_INSERT, NP(p), p)) == NULL)
			goto out;
		PQclear(res);
		res = NULL;
	}
	rc = db_simple(db, "COMMIT");
out:
	PQclear(res);
	if (rc == -1)
		(void)db_simple(db, "ROLLBACK");
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
