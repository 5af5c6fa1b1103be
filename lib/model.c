#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "model.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* First row of st as an object: 1 found, 0 none, -1 failure. */
static int
one(struct db *db, enum stmt st, int n, const char *const *p, cJSON **out)
{
	PGresult	*res;
	int		 rc;

	*out = NULL;
	if ((res = db_exec(db, st, n, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		rc = 0;
	else
		rc = (*out = db_row_json(res, 0)) != NULL ? 1 : -1;
	PQclear(res);
	return rc;
}

static cJSON *
many(struct db *db, enum stmt st, int n, const char *const *p)
{
	PGresult	*res;
	cJSON		*a;

	if ((res = db_exec(db, st, n, p)) == NULL)
		return NULL;
	a = db_rows_json(res);
	PQclear(res);
	return a;
}

/* A write: 0 done (affected rows in *rows), 1 constraint refusal, -1 failure.
 * When uuid is given, the first row's first column is copied there. */
static int
write1(struct db *db, enum stmt st, int n, const char *const *p, long *rows,
    char uuid[40])
{
	PGresult	*res;

	if ((res = db_exec(db, st, n, p)) == NULL)
		return strncmp(db->sqlstate, "23", 2) == 0 ? 1 : -1;
	if (rows != NULL)
		*rows = PQntuples(res) > 0 ? PQntuples(res) :
		    atol(PQcmdTuples(res));
	if (uuid != NULL) {
		uuid[0] = '\0';
		if (PQntuples(res) > 0 && PQnfields(res) > 0)
			snprintf(uuid, 40, "%s", PQgetvalue(res, 0, PQnfields(res) - 1));
	}
	PQclear(res);
	return 0;
}

int
m_user_by_name(struct db *db, const char *username, cJSON **out)
{
	const char *p[] = { username };
	return one(db, ST_USER_BY_NAME, NP(p), p, out);
}

int
m_user_insert(struct db *db, const char *username, const char *pwhash, int admin)
{
	const char *p[] = { username, pwhash, admin ? "true" : "false" };
	return write1(db, ST_USER_INSERT, NP(p), p, NULL, NULL);
}

int
m_user_set_password(struct db *db, const char *username, const char *pwhash)
{
	const char	*p[] = { username, pwhash };
	long		 rows = 0;
	int		 rc;

	if ((rc = write1(db, ST_USER_SET_PW, NP(p), p, &rows, NULL)) != 0)
		return rc;
	return rows == 1 ? 0 : 1;
}

int
m_sess_insert(struct db *db, const char *id_hash, long long user_id,
    const char *address)
{
	char		 uid[24];
	const char	*p[] = { id_hash, uid, address };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return write1(db, ST_SESS_INSERT, NP(p), p, NULL, NULL);
}

int
m_sess_get(struct db *db, const char *id_hash, long idle_min, long max_hours,
    cJSON **out)
{
	char		 idle[24], max[24];
	const char	*p[] = { id_hash, idle, max };

	snprintf(idle, sizeof(idle), "%ld", idle_min);
	snprintf(max, sizeof(max), "%ld", max_hours);
	return one(db, ST_SESS_GET, NP(p), p, out);
}

int
m_sess_touch(struct db *db, const char *id_hash)
{
	const char *p[] = { id_hash };
	return write1(db, ST_SESS_TOUCH, NP(p), p, NULL, NULL);
}

int
m_sess_take_flash(struct db *db, const char *id_hash, cJSON **out)
{
	const char *p[] = { id_hash };
	return one(db, ST_SESS_TAKE_FLASH, NP(p), p, out);
}

int
m_sess_set_flash(struct db *db, const char *id_hash, const char *kind,
    const char *msg)
{
	const char *p[] = { id_hash, kind, msg };
	return write1(db, ST_SESS_SET_FLASH, NP(p), p, NULL, NULL);
}

int
m_sess_delete(struct db *db, const char *id_hash)
{
	const char *p[] = { id_hash };
	return write1(db, ST_SESS_DELETE, NP(p), p, NULL, NULL);
}

int
m_sess_purge(struct db *db, long idle_min, long max_hours)
{
	char		 idle[24], max[24];
	const char	*p[] = { idle, max };

	snprintf(idle, sizeof(idle), "%ld", idle_min);
	snprintf(max, sizeof(max), "%ld", max_hours);
	return write1(db, ST_SESS_PURGE, NP(p), p, NULL, NULL);
}

void
m_login_name(char out[M_LOGIN_NAMELEN], const unsigned char login_key[32],
    const char *username, int known)
{
	unsigned char	 h[crypto_generichash_BYTES_MIN];

	if (known && strlen(username) < M_LOGIN_NAMELEN) {
		memcpy(out, username, strlen(username) + 1);
		return;
	}
	/* 64 bits of it: no collisions between the few names that matter in
	 * an hour's throttling window, nothing to reverse without the key. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)username,
	    strlen(username), login_key, 32);
	out[0] = '?';
	sodium_bin2hex(out + 1, M_LOGIN_NAMELEN - 1, h, 8);
	sodium_memzero(h, sizeof(h));
}

int
m_login_failures(struct db *db, const char *name, const char *address,
    long long *by_user, long long *by_address)
{
	const char	*p[] = { name, address };
	cJSON		*o;
	int		 rc;

	if ((rc = one(db, ST_LOGIN_FAILS, NP(p), p, &o)) != 1)
		return -1;
	*by_user = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "by_user"));
	*by_address = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(o,
	    "by_address"));
	cJSON_Delete(o);
	return 0;
}

int
m_login_record(struct db *db, const char *name, const char *address,
    int success)
{
	const char *p[] = { name, address, success ? "true" : "false" };
	return write1(db, ST_LOGIN_RECORD, NP(p), p, NULL, NULL);
}

/* "42s", "5m", "3h", "12d": compact ages for list pages. */
static void
fmt_age(char *out, size_t sz, double secs)
{
	long long	 s = secs < 0 ? 0 : (long long)secs;

	if (s < 60)
		snprintf(out, sz, "%llds", s);
	else if (s < 3600)
		snprintf(out, sz, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(out, sz, "%lldh", s / 3600);
	else
		snprintf(out, sz, "%lldd", s / 86400);
}

/* Replaces each row's KEY_s (seconds, or null) with KEY (formatted). */
static void
ages(cJSON *rows, const char *key)
{
	char	 skey[48], text[32];
	cJSON	*row, *v;

	snprintf(skey, sizeof(skey), "%s_s", key);
	cJSON_ArrayForEach(row, rows) {
		if ((v = cJSON_DetachItemFromObject(row, skey)) == NULL)
			continue;
		if (cJSON_IsNumber(v)) {
			fmt_age(text, sizeof(text), v->valuedouble);
			cJSON_AddStringToObject(row, key, text);
		} else
			cJSON_AddNullToObject(row, key);
		cJSON_Delete(v);
	}
}

/* One page of a list: rows of st (parameters [key,] limit, offset) and the
 * total from cst (parameter key, if any), in one round trip. */
static cJSON *
paged(struct db *db, enum stmt st, enum stmt cst, const char *key,
    long limit, long offset, long *total)
{
	char		 l[24], o[24];
	const char	*p[] = { key, l, o };
	const char *const *pp = key != NULL ? p : p + 1;
	struct db_q	 q[] = {
		{ cst, key != NULL ? 1 : 0, p, NULL },
		{ st, key != NULL ? 3 : 2, pp, NULL },
	};
	cJSON		*rows;

	snprintf(l, sizeof(l), "%ld", limit);
	snprintf(o, sizeof(o), "%ld", offset);
	if (db_exec_many(db, q, NP(q)) == -1)
		return NULL;
	*total = PQntuples(q[0].res) == 1 ? atol(PQgetvalue(q[0].res, 0, 0)) : 0;
	if ((rows = db_rows_json(q[1].res)) != NULL)
		ages(rows, "age");
	PQclear(q[0].res);
	PQclear(q[1].res);
	return rows;
}

struct sortstmt {
	const char	*sort;
	enum stmt	 st;
};

/* The statement for sort, or the table's first (its default). */
static enum stmt
sorted(const struct sortstmt *t, size_t n, const char *sort)
{
	for (size_t i = 0; sort != NULL && i < n; i++)
		if (strcmp(t[i].sort, sort) == 0)
			return t[i].st;
	return t[0].st;
}

static const struct sortstmt server_sorts[] = {
	{ "name", ST_SERVER_LIST_NAME }, { "-name", ST_SERVER_LIST_NAME_D },
	{ "address", ST_SERVER_LIST_ADDR }, { "-address", ST_SERVER_LIST_ADDR_D },
	{ "status", ST_SERVER_LIST_STATUS }, { "-status", ST_SERVER_LIST_STATUS_D },
	{ "created", ST_SERVER_LIST_NEW }, { "-created", ST_SERVER_LIST_NEW_D },
};

static const struct sortstmt app_sorts[] = {
	{ "name", ST_APP_LIST_NAME }, { "-name", ST_APP_LIST_NAME_D },
	{ "created", ST_APP_LIST_NEW }, { "-created", ST_APP_LIST_NEW_D },
};

cJSON *
m_server_list(struct db *db, const char *sort, long limit, long offset,
    long *total)
{
	return paged(db, sorted(server_sorts, sizeof(server_sorts) /
	    sizeof(server_sorts[0]), sort), ST_SERVER_COUNT, NULL, limit, offset,
	    total);
}

int
m_server_get(struct db *db, const char *uuid, cJSON **out)
{
	const char *p[] = { uuid };
	return one(db, ST_SERVER_GET, NP(p), p, out);
}

int
m_server_insert(struct db *db, const struct server_in *s, char uuid[40])
{
	const char *p[] = { s->name, s->address, s->ssh_port, s->ssh_user,
	    s->role_build, s->role_runtime };
	return write1(db, ST_SERVER_INSERT, NP(p), p, NULL, uuid);
}

int
m_server_update(struct db *db, const char *uuid, const struct server_in *s)
{
	const char	*p[] = { uuid, s->name, s->address, s->ssh_port,
	    s->ssh_user, s->role_build, s->role_runtime };
	long		 rows = 0;
	int		 rc;

	if ((rc = write1(db, ST_SERVER_UPDATE, NP(p), p, &rows, NULL)) != 0)
		return rc;
	return rows == 1 ? 0 : -1;
}

int
m_server_delete(struct db *db, const char *uuid)
{
	const char *p[] = { uuid };
	return write1(db, ST_SERVER_DELETE, NP(p), p, NULL, NULL);
}

int
m_server_pin(struct db *db, const char *uuid, const char *key, const char *fp)
{
	const char	*p[] = { uuid, key, fp };
	long		 rows = 0;

	if (write1(db, ST_SERVER_PIN, NP(p), p, &rows, NULL) != 0)
		return -1;
	return rows == 1 ? 0 : -1;
}

int
m_server_by_name(struct db *db, const char *name, cJSON **out)
{
	const char *p[] = { name };
	return one(db, ST_SERVER_BY_NAME, NP(p), p, out);
}

cJSON *
m_server_options(struct db *db)
{
	return many(db, ST_SERVER_OPTIONS, 0, NULL);
}

cJSON *
m_server_envs(struct db *db, const char *uuid)
{
	const char *p[] = { uuid };
	return many(db, ST_SERVER_ENVS, NP(p), p);
}

cJSON *
m_app_list(struct db *db, const char *sort, long limit, long offset,
    long *total)
{
	return paged(db, sorted(app_sorts, sizeof(app_sorts) / sizeof(app_sorts[0]),
	    sort), ST_APP_COUNT, NULL, limit, offset, total);
}

int
m_app_get(struct db *db, const char *uuid, cJSON **out)
{
	const char *p[] = { uuid };
	return one(db, ST_APP_GET, NP(p), p, out);
}

int
m_app_insert(struct db *db, const struct app_in *a, char uuid[40])
{
	const char *p[] = { a->name, a->repository_url, a->default_branch };
	return write1(db, ST_APP_INSERT, NP(p), p, NULL, uuid);
}

int
m_app_update(struct db *db, const char *uuid, const struct app_in *a)
{
	const char	*p[] = { uuid, a->name, a->repository_url, a->default_branch };
	long		 rows = 0;
	int		 rc;

	if ((rc = write1(db, ST_APP_UPDATE, NP(p), p, &rows, NULL)) != 0)
		return rc;
	return rows == 1 ? 0 : -1;
}

int
m_app_delete(struct db *db, const char *uuid)
{
	const char *p[] = { uuid };
	return write1(db, ST_APP_DELETE, NP(p), p, NULL, NULL);
}

cJSON *
m_env_list(struct db *db, const char *app_uuid)
{
	const char *p[] = { app_uuid };
	return many(db, ST_ENV_LIST, NP(p), p);
}

int
m_env_get(struct db *db, const char *app_uuid, const char *env_uuid, cJSON **out)
{
	const char *p[] = { app_uuid, env_uuid };
	return one(db, ST_ENV_GET, NP(p), p, out);
}

/* Replaces the environment's runtime servers; inside the caller's
 * transaction. An unknown server UUID is a refusal (1). */
static int
set_servers(struct db *db, const char *env_id, const char *const *servers,
    size_t n)
{
	const char	*p[2] = { env_id, NULL };
	long		 rows;
	int		 rc;

	if ((rc = write1(db, ST_ENV_SERVERS_CLEAR, 1, p, NULL, NULL)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		size_t	 j;

		/* A set: a server named twice is added once. */
		for (j = 0; j < i && strcmp(servers[j], servers[i]) != 0; j++)
			;
		if (j < i)
			continue;
		p[1] = servers[i];
		rows = 0;
		if ((rc = write1(db, ST_ENV_SERVERS_ADD, 2, p, &rows, NULL)) != 0)
			return rc;
		if (rows != 1) {
			snprintf(db->constraint, sizeof(db->constraint),
			    "environment_servers_server_id_fkey");
			return 1;
		}
	}
	return 0;
}

/* Runs the env write (insert or update) and the server set in one
 * transaction; any refusal rolls everything back. */
static int
env_write(struct db *db, enum stmt st, const char *const *p, int n,
    const char *const *servers, size_t nservers, char uuid[40])
{
	PGresult	*res = NULL;
	char		 env_id[24];
	int		 rc = -1;

	if (db_tx_begin(db) == -1)
		return -1;
	if ((res = db_exec(db, st, n, p)) == NULL) {
		rc = strncmp(db->sqlstate, "23", 2) == 0 ? 1 : -1;
		goto out;
	}
	if (PQntuples(res) != 1) {
		rc = -1;	/* the application or environment vanished */
		goto out;
	}
	snprintf(env_id, sizeof(env_id), "%s", PQgetvalue(res, 0, 0));
	if (uuid != NULL)
		snprintf(uuid, 40, "%s", PQgetvalue(res, 0, 1));
	if ((rc = set_servers(db, env_id, servers, nservers)) != 0)
		goto out;
	rc = db_tx_commit(db) == 0 ? 0 : -1;
out:
	PQclear(res);
	if (rc != 0) {
		/* Keep the refusal's sqlstate/constraint across the rollback. */
		struct db saved = *db;
		db_tx_rollback(db);
		memcpy(db->sqlstate, saved.sqlstate, sizeof(db->sqlstate));
		memcpy(db->constraint, saved.constraint, sizeof(db->constraint));
	}
	return rc;
}

int
m_env_insert(struct db *db, const char *app_uuid, const struct env_in *e,
    const char *const *servers, size_t nservers, char uuid[40])
{
	const char *p[] = { app_uuid, e->name, e->branch, e->pinned_commit,
	    e->dockerfile_source, e->dockerfile_path, e->build_location,
	    e->build_server, e->retention_count };
	return env_write(db, ST_ENV_INSERT, p, NP(p), servers, nservers, uuid);
}

int
m_env_update(struct db *db, const char *app_uuid, const char *env_uuid,
    const struct env_in *e, const char *const *servers, size_t nservers)
{
	const char *p[] = { app_uuid, env_uuid, e->name, e->branch,
	    e->pinned_commit, e->dockerfile_source, e->dockerfile_path,
	    e->build_location, e->build_server, e->retention_count };
	return env_write(db, ST_ENV_UPDATE, p, NP(p), servers, nservers, NULL);
}

int
m_env_delete(struct db *db, const char *app_uuid, const char *env_uuid)
{
	const char *p[] = { app_uuid, env_uuid };
	return write1(db, ST_ENV_DELETE, NP(p), p, NULL, NULL);
}

cJSON *
m_env_servers(struct db *db, long long env_id)
{
	char		 id[24];
	const char	*p[] = { id };

	snprintf(id, sizeof(id), "%lld", env_id);
	return many(db, ST_ENV_SERVERS, NP(p), p);
}

cJSON *
m_artifact_list(struct db *db, long long env_id, long limit, long offset,
    long *total)
{
	char	 id[24];
	cJSON	*rows;

	snprintf(id, sizeof(id), "%lld", env_id);
	rows = paged(db, ST_ARTIFACT_LIST, ST_ARTIFACT_COUNT, id, limit, offset,
	    total);
	if (rows != NULL)
		ages(rows, "pruned_age");
	return rows;
}

int
m_overview(struct db *db, cJSON **out)
{
	return one(db, ST_OVERVIEW, 0, NULL, out);
}

/* ---- operations ----------------------------------------------------- */

static const char *
op_idstr(char *b, size_t sz, long long v)
{
	snprintf(b, sz, "%lld", v);
	return b;
}

/* ages() for a single row. */
static void
age1(cJSON *row, const char *key)
{
	cJSON	*a = cJSON_CreateArray();

	if (a == NULL || !cJSON_AddItemToArray(a, row)) {
		cJSON_Delete(a);
		return;
	}
	ages(a, key);
	(void)cJSON_DetachItemFromArray(a, 0);
	cJSON_Delete(a);
}

cJSON *
m_op_list(struct db *db, long limit, long offset, long *total)
{
	return paged(db, ST_OP_LIST, ST_OP_COUNT, NULL, limit, offset, total);
}

int
m_op_get(struct db *db, const char *uuid, cJSON **out)
{
	const char	*p[] = { uuid };
	int		 rc;

	if ((rc = one(db, ST_OP_GET, NP(p), p, out)) == 1)
		age1(*out, "age");
	return rc;
}

int
m_op_info(struct db *db, long long op_id, cJSON **out)
{
	char		 id[24];
	const char	*p[] = { op_idstr(id, sizeof(id), op_id) };

	return one(db, ST_OP_INFO, NP(p), p, out);
}

cJSON *
m_op_steps(struct db *db, long long op_id)
{
	char		 id[24];
	const char	*p[] = { op_idstr(id, sizeof(id), op_id) };

	return many(db, ST_OP_STEPS, NP(p), p);
}

cJSON *
m_op_output(struct db *db, long long step_id)
{
	char		 id[24];
	const char	*p[] = { op_idstr(id, sizeof(id), step_id) };
	PGresult	*res;
	cJSON		*s;

	if ((res = db_exec(db, ST_OP_OUTPUT, NP(p), p)) == NULL)
		return NULL;
	/* string_agg over no rows is NULL: no output yet. */
	s = cJSON_CreateString(PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ?
	    PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return s;
}

cJSON *
m_op_log(struct db *db, long long op_id, long ordinal, long seq, long limit)
{
	char		 id[24], o[24], s[24], l[24];
	const char	*p[] = { op_idstr(id, sizeof(id), op_id), o, s, l };

	snprintf(o, sizeof(o), "%ld", ordinal);
	snprintf(s, sizeof(s), "%ld", seq);
	snprintf(l, sizeof(l), "%ld", limit);
	return many(db, ST_OP_LOG, NP(p), p);
}

int
m_op_log_end(struct db *db, long long op_id, cJSON **out)
{
	char		 id[24];
	const char	*p[] = { op_idstr(id, sizeof(id), op_id) };

	return one(db, ST_OP_LOG_END, NP(p), p, out);
}

int
m_op_cancel(struct db *db, const char *uuid, cJSON **out)
{
	const char	*p[] = { uuid };
	const char	*st;
	char		 id[24];
	const char	*ip[] = { id };
	int		 rc;

	*out = NULL;
	if (db_tx_begin(db) == -1)
		return -1;
	if ((rc = one(db, ST_OP_CANCEL, NP(p), p, out)) != 1)
		goto out;
	st = cJSON_GetStringValue(cJSON_GetObjectItem(*out, "status"));
	if (st != NULL && strcmp(st, "cancelled") == 0) {
		/* No spooler will end it: do what ending it does (lib/spool.c
		 * finish_op) here, secrets first. */
		op_idstr(id, sizeof(id), (long long)cJSON_GetNumberValue(
		    cJSON_GetObjectItem(*out, "id")));
		if (write1(db, ST_OP_SECRETS_DELETE, NP(ip), ip, NULL, NULL) != 0 ||
		    write1(db, ST_OP_SKIP_PENDING, NP(ip), ip, NULL, NULL) != 0) {
			rc = -1;
			goto out;
		}
	}
	rc = db_tx_commit(db) == 0 ? 1 : -1;
out:
	if (rc != 1) {
		db_tx_rollback(db);
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

int
m_op_retry(struct db *db, const char *uuid)
{
	const char	*p[] = { uuid };
	char		 id[40];
	const char	*ip[] = { id };
	long		 rows = 0;
	int		 rc;

	if (db_tx_begin(db) == -1)
		return -1;
	if ((rc = write1(db, ST_OP_RETRY, NP(p), p, &rows, id)) != 0)
		goto out;
	if (rows != 1) {
		rc = 1;
		goto out;
	}
	/* Both in one transaction: the spooler is woken by the commit and
	 * must find the steps already pending. */
	if ((rc = write1(db, ST_OP_RETRY_STEPS, NP(ip), ip, NULL, NULL)) != 0)
		goto out;
	rc = db_tx_commit(db) == 0 ? 0 : -1;
out:
	if (rc != 0)
		db_tx_rollback(db);
	return rc;
}
