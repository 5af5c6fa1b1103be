#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "log.h"
#include "model.h"
#include "row.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- views ------------------------------------------------------------ */

/* A lookup by UUID as a view (fn), and a page of a list as one (lfn). */
#define VIEW_GET(fn, T, get)						\
int fn(struct db *db, const char *uuid, cJSON **v)			\
{									\
	struct T r;							\
	int rc = get(db, uuid, &r);					\
	*v = NULL;							\
	if (rc == 1 && (*v = T##_view(&r)) == NULL)			\
		rc = -1;						\
	T##_free(&r);							\
	return rc;							\
}
#define VIEW_LIST(lfn, L, list)						\
int lfn(struct db *db, const char *sort, long limit, long offset,	\
    long *total, cJSON **v)						\
{									\
	struct L l;							\
	int rc = list(db, sort, limit, offset, &l);			\
	*v = NULL;							\
	*total = l.total;						\
	if (rc == 0 && (*v = L##_view(&l)) == NULL)			\
		rc = -1;						\
	L##_free(&l);							\
	return rc;							\
}

/* One page of a list: rows of st (parameters [key,] limit, offset) and the
 * total from cst (parameter key, if any), in one round trip. */
static int
paged(struct db *db, const struct rowtype *t, enum stmt st, enum stmt cst,
    const char *key, long limit, long offset, void **v, size_t *n, long *total)
{
	char		 l[24], o[24];
	const char	*p[] = { key, l, o };
	const char *const *pp = key != NULL ? p : p + 1;
	struct db_q	 q[] = {
		{ cst, key != NULL ? 1 : 0, p, NULL },
		{ st, key != NULL ? 3 : 2, pp, NULL },
	};
	int		 rc;

	*v = NULL;
	*n = 0;
	*total = 0;
	snprintf(l, sizeof(l), "%ld", limit);
	snprintf(o, sizeof(o), "%ld", offset);
	if (db_exec_many(db, q, NELEM(q)) == -1)
		return -1;
	*total = PQntuples(q[0].res) == 1 ? atol(PQgetvalue(q[0].res, 0, 0)) : 0;
	rc = row_fill_all(t, q[1].res, v, n);
	PQclear(q[0].res);
	PQclear(q[1].res);
	return rc;
}

/* The statement for sort among names (parallel to sts), or the first. */
static enum stmt
sorted(const char *const *names, const enum stmt *sts, const char *sort)
{
	for (size_t i = 0; sort != NULL && names[i] != NULL; i++)
		if (strcmp(names[i], sort) == 0)
			return sts[i];
	return sts[0];
}

/* ---- writes --------------------------------------------------------- */

/* A write: 0 done (affected rows in *rows), 1 constraint refusal, -1 failure.
 * When uuid is given, the first row's last column is copied there. */
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

/* ---- users, sessions, sign-in ---------------------------------------- */

static const struct col user_cols[] = {
	COL(user_row, id, C_INT), COL(user_row, username, C_STR),
	COL(user_row, password_hash, C_STR), COL(user_row, is_admin, C_BOOL),
};
static const struct rowtype user_t = ROWTYPE(user_row, user_cols);
ROW_FUNCS(user_row, user_t)

static const struct col sess_cols[] = {
	COL(sess_row, id, C_INT), COL(sess_row, username, C_STR),
	COL(sess_row, has_flash, C_BOOL), COL(sess_row, stale, C_BOOL),
};
static const struct rowtype sess_t = ROWTYPE(sess_row, sess_cols);
ROW_FUNCS(sess_row, sess_t)

static const struct col flash_cols[] = {
	COL(flash_row, flash_kind, C_STR), COL(flash_row, flash, C_STR),
};
static const struct rowtype flash_t = ROWTYPE(flash_row, flash_cols);
ROW_FUNCS(flash_row, flash_t)

int
m_user_by_name(struct db *db, const char *username, struct user_row *u)
{
	const char *p[] = { username };
	return row_get(db, &user_t, ST_USER_BY_NAME, NP(p), p, u);
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
    struct sess_row *s)
{
	char		 idle[24], max[24];
	const char	*p[] = { id_hash, idle, max };

	snprintf(idle, sizeof(idle), "%ld", idle_min);
	snprintf(max, sizeof(max), "%ld", max_hours);
	return row_get(db, &sess_t, ST_SESS_GET, NP(p), p, s);
}

int
m_sess_touch(struct db *db, const char *id_hash)
{
	const char *p[] = { id_hash };
	return write1(db, ST_SESS_TOUCH, NP(p), p, NULL, NULL);
}

int
m_sess_take_flash(struct db *db, const char *id_hash, struct flash_row *f)
{
	const char *p[] = { id_hash };
	return row_get(db, &flash_t, ST_SESS_TAKE_FLASH, NP(p), p, f);
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

struct fails_row {
	long long	 by_user, by_address;
};
static const struct col fails_cols[] = {
	COL(fails_row, by_user, C_INT), COL(fails_row, by_address, C_INT),
};
static const struct rowtype fails_t = ROWTYPE(fails_row, fails_cols);

int
m_login_failures(struct db *db, const char *name, const char *address,
    long long *by_user, long long *by_address)
{
	const char		*p[] = { name, address };
	struct fails_row	 f;

	if (row_get(db, &fails_t, ST_LOGIN_FAILS, NP(p), p, &f) != 1)
		return -1;
	*by_user = f.by_user;
	*by_address = f.by_address;
	return 0;
}

int
m_login_record(struct db *db, const char *name, const char *address,
    int success)
{
	const char *p[] = { name, address, success ? "true" : "false" };
	return write1(db, ST_LOGIN_RECORD, NP(p), p, NULL, NULL);
}

/* ---- servers --------------------------------------------------------- */

static const struct col server_cols[] = {
	COL(server_row, id, C_INT), COL(server_row, uuid, C_STR),
	COL(server_row, name, C_STR), COL(server_row, address, C_STR),
	COL(server_row, ssh_port, C_INT), COL(server_row, ssh_user, C_STR),
	COL(server_row, role_build, C_BOOL), COL(server_row, role_runtime, C_BOOL),
	COL(server_row, status, C_STR), COL(server_row, host_key, C_STR),
	COL(server_row, host_key_sha256, C_STR), COL(server_row, age, C_STR),
	COL(server_row, created, C_STR),
};
static const struct rowtype server_t = ROWTYPE(server_row, server_cols);
ROW_FUNCS(server_row, server_t)

static const struct col server_item_cols[] = {
	COL(server_item, uuid, C_STR), COL(server_item, name, C_STR),
	COL(server_item, address, C_STR), COL(server_item, ssh_port, C_INT),
	COL(server_item, ssh_user, C_STR), COL(server_item, role_build, C_BOOL),
	COL(server_item, role_runtime, C_BOOL), COL(server_item, status, C_STR),
	COL(server_item, pinned, C_BOOL), COL(server_item, age, C_AGE),
};
static const struct rowtype server_item_t = ROWTYPE(server_item, server_item_cols);
LIST_FUNCS(server_list, server_item_t)

static const struct col server_option_cols[] = {
	COL(server_option, uuid, C_STR), COL(server_option, name, C_STR),
	COL(server_option, address, C_STR), COL(server_option, role_build, C_BOOL),
	COL(server_option, role_runtime, C_BOOL),
};
static const struct rowtype server_option_t = ROWTYPE(server_option,
    server_option_cols);
LIST_FUNCS(server_options, server_option_t)

static const struct col server_env_cols[] = {
	COL(server_env, uuid, C_STR), COL(server_env, name, C_STR),
	COL(server_env, app_uuid, C_STR), COL(server_env, app_name, C_STR),
};
static const struct rowtype server_env_t = ROWTYPE(server_env, server_env_cols);
LIST_FUNCS(server_envs, server_env_t)

const char *const m_server_sorts[] = { "name", "-name", "address", "-address",
	"status", "-status", "created", "-created", NULL };
static const enum stmt server_sort_st[] = {
	ST_SERVER_LIST_NAME, ST_SERVER_LIST_NAME_D, ST_SERVER_LIST_ADDR,
	ST_SERVER_LIST_ADDR_D, ST_SERVER_LIST_STATUS, ST_SERVER_LIST_STATUS_D,
	ST_SERVER_LIST_NEW, ST_SERVER_LIST_NEW_D,
};
_Static_assert(NELEM(server_sort_st) + 1 == NELEM(m_server_sorts),
    "one statement per server sort");

int
m_server_list(struct db *db, const char *sort, long limit, long offset,
    struct server_list *l)
{
	return paged(db, &server_item_t, sorted(m_server_sorts, server_sort_st,
	    sort), ST_SERVER_COUNT, NULL, limit, offset, (void **)&l->v, &l->n,
	    &l->total);
}

int
m_server_get(struct db *db, const char *uuid, struct server_row *s)
{
	const char *p[] = { uuid };
	return row_get(db, &server_t, ST_SERVER_GET, NP(p), p, s);
}

VIEW_GET(m_server_view, server_row, m_server_get)
VIEW_LIST(m_server_list_view, server_list, m_server_list)

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

static const struct col hostkey_scan_cols[] = {
	COL(hostkey_scan, id, C_INT), COL(hostkey_scan, uuid, C_STR),
	COL(hostkey_scan, status, C_STR), COL(hostkey_scan, error, C_STR),
	COL(hostkey_scan, active, C_BOOL), COL(hostkey_scan, fresh, C_BOOL),
	COL(hostkey_scan, output, C_STR),
};
static const struct rowtype hostkey_scan_t = ROWTYPE(hostkey_scan,
    hostkey_scan_cols);
ROW_FUNCS(hostkey_scan, hostkey_scan_t)

int
m_hostkey_scan(struct db *db, const char *server_uuid, const char *op_uuid,
    long fresh_min, struct hostkey_scan *h)
{
	char		 m[24];
	const char	*p[] = { server_uuid, op_uuid, m };

	snprintf(m, sizeof(m), "%ld", fresh_min);
	return row_get(db, &hostkey_scan_t, ST_HOSTKEY_SCAN, NP(p), p, h);
}

int
m_app_hostkey_scan(struct db *db, const char *app_uuid, const char *op_uuid,
    long fresh_min, struct hostkey_scan *h)
{
	char		 m[24];
	const char	*p[] = { app_uuid, op_uuid, m };

	snprintf(m, sizeof(m), "%ld", fresh_min);
	return row_get(db, &hostkey_scan_t, ST_APP_HOSTKEY_SCAN, NP(p), p, h);
}

int
m_server_by_name(struct db *db, const char *name, struct server_row *s)
{
	const char *p[] = { name };
	return row_get(db, &server_t, ST_SERVER_BY_NAME, NP(p), p, s);
}

int
m_server_envs_view(struct db *db, const char *uuid, cJSON **v)
{
	struct server_envs	 l;
	int			 rc = m_server_envs(db, uuid, &l);

	*v = rc == 0 ? server_envs_view(&l) : NULL;
	server_envs_free(&l);
	return *v != NULL ? 0 : -1;
}

int
m_server_options(struct db *db, struct server_options *l)
{
	return row_all(db, &server_option_t, ST_SERVER_OPTIONS, 0, NULL,
	    (void **)&l->v, &l->n);
}

int
m_server_envs(struct db *db, const char *uuid, struct server_envs *l)
{
	const char *p[] = { uuid };
	return row_all(db, &server_env_t, ST_SERVER_ENVS, NP(p), p,
	    (void **)&l->v, &l->n);
}

/* ---- applications ---------------------------------------------------- */

static const struct col app_cols[] = {
	COL(app_row, id, C_INT), COL(app_row, uuid, C_STR),
	COL(app_row, name, C_STR), COL(app_row, repository_url, C_STR),
	COL(app_row, default_branch, C_STR), COL(app_row, age, C_STR),
	COL(app_row, repo_auth, C_STR), COL(app_row, deploy_key_public, C_STR),
	COL(app_row, auth_none, C_BOOL), COL(app_row, auth_key, C_BOOL),
	COL(app_row, auth_token, C_BOOL),
	COL(app_row, https_username, C_STR), COL(app_row, token_set, C_BOOL),
	COL(app_row, git_host, C_STR), COL(app_row, git_host_key_sha256, C_STR),
	COL(app_row, git_host_pinned, C_STR),
};
static const struct rowtype app_t = ROWTYPE(app_row, app_cols);
ROW_FUNCS(app_row, app_t)

static const struct col app_item_cols[] = {
	COL(app_item, uuid, C_STR), COL(app_item, name, C_STR),
	COL(app_item, repository_url, C_STR), COL(app_item, default_branch, C_STR),
	COL(app_item, age, C_AGE), COL(app_item, env_count, C_INT),
};
static const struct rowtype app_item_t = ROWTYPE(app_item, app_item_cols);
LIST_FUNCS(app_list, app_item_t)

const char *const m_app_sorts[] = { "name", "-name", "created", "-created",
	NULL };
static const enum stmt app_sort_st[] = {
	ST_APP_LIST_NAME, ST_APP_LIST_NAME_D, ST_APP_LIST_NEW, ST_APP_LIST_NEW_D,
};
_Static_assert(NELEM(app_sort_st) + 1 == NELEM(m_app_sorts),
    "one statement per application sort");

int
m_app_list(struct db *db, const char *sort, long limit, long offset,
    struct app_list *l)
{
	return paged(db, &app_item_t, sorted(m_app_sorts, app_sort_st, sort),
	    ST_APP_COUNT, NULL, limit, offset, (void **)&l->v, &l->n, &l->total);
}

int
m_app_get(struct db *db, const char *uuid, struct app_row *a)
{
	const char *p[] = { uuid };
	return row_get(db, &app_t, ST_APP_GET, NP(p), p, a);
}

VIEW_GET(m_app_view, app_row, m_app_get)
VIEW_LIST(m_app_list_view, app_list, m_app_list)

int
m_app_insert(struct db *db, const struct app_in *a, char uuid[40])
{
	const char *p[] = { a->name, a->repository_url, a->default_branch };
	return write1(db, ST_APP_INSERT, NP(p), p, NULL, uuid);
}

int
m_app_update(struct db *db, const char *uuid, const struct app_in *a)
{
	const char	*p[] = { uuid, a->name, a->repository_url, a->default_branch,
	    a->git_host };
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

/* ---- overview -------------------------------------------------------- */

static const struct col overview_cols[] = {
	COL(overview_row, servers, C_INT), COL(overview_row, servers_active, C_INT),
	COL(overview_row, applications, C_INT),
	COL(overview_row, environments, C_INT), COL(overview_row, artifacts, C_INT),
};
static const struct rowtype overview_t = ROWTYPE(overview_row, overview_cols);
cJSON *overview_row_view(const struct overview_row *o) { return row_view(&overview_t, o); }

int
m_overview(struct db *db, struct overview_row *o)
{
	return row_get(db, &overview_t, ST_OVERVIEW, 0, NULL, o);
}

/* ---- environments ---------------------------------------------------- */

static const struct col env_item_cols[] = {
	COL(env_item, uuid, C_STR), COL(env_item, app_uuid, C_STR),
	COL(env_item, name, C_STR),
	COL(env_item, branch, C_STR), COL(env_item, build_location, C_STR),
	COL(env_item, retention_count, C_INT), COL(env_item, server_count, C_INT),
	COL(env_item, artifact_count, C_INT),
};
static const struct rowtype env_item_t = ROWTYPE(env_item, env_item_cols);
LIST_FUNCS(env_list, env_item_t)

static const struct col env_cols[] = {
	COL(env_row, id, C_INT), COL(env_row, uuid, C_STR),
	COL(env_row, name, C_STR), COL(env_row, branch, C_STR),
	COL(env_row, effective_branch, C_STR), COL(env_row, pinned_commit, C_STR),
	COL(env_row, dockerfile_source, C_STR),
	COL(env_row, dockerfile_path, C_STR), COL(env_row, build_location, C_STR),
	COL(env_row, retention_count, C_INT),
	COL(env_row, build_server_uuid, C_STR),
	COL(env_row, build_server_name, C_STR), COL(env_row, age, C_STR),
	COL(env_row, build_context, C_STR), COL(env_row, preset, C_STR),
	COL(env_row, preset_base_image, C_STR),
	COL(env_row, preset_command, C_STR), COL(env_row, preset_root, C_STR),
	COL(env_row, build_args, C_STR), COL(env_row, build_timeout_s, C_INT),
	COL(env_row, ext_registry_host, C_STR),
	COL(env_row, ext_registry_user, C_STR),
	COL(env_row, ext_registry_ca, C_STR),
	COL(env_row, ext_registry_password_set, C_BOOL),
};
static const struct rowtype env_t = ROWTYPE(env_row, env_cols);
ROW_FUNCS(env_row, env_t)

static const struct col env_server_cols[] = {
	COL(env_server, uuid, C_STR), COL(env_server, name, C_STR),
	COL(env_server, address, C_STR), COL(env_server, status, C_STR),
};
static const struct rowtype env_server_t = ROWTYPE(env_server, env_server_cols);
LIST_FUNCS(env_servers, env_server_t)

static const struct col artifact_cols[] = {
	COL(artifact_item, uuid, C_STR), COL(artifact_item, tag, C_STR),
	COL(artifact_item, manifest_digest, C_STR),
	COL(artifact_item, commit_sha, C_STR), COL(artifact_item, short_sha, C_STR),
	COL(artifact_item, registry_host, C_STR),
	COL(artifact_item, architecture, C_STR), COL(artifact_item, size, C_STR),
	COL(artifact_item, build, C_TOOK), COL(artifact_item, op_uuid, C_STR),
	COL(artifact_item, status, C_STR), COL(artifact_item, age, C_AGE),
	COL(artifact_item, pruned_age, C_AGE),
};
static const struct rowtype artifact_t = ROWTYPE(artifact_item, artifact_cols);
LIST_FUNCS(artifact_list, artifact_t)

static const struct col env_build_cols[] = {
	COL(env_build, uuid, C_STR), COL(env_build, status, C_STR),
	COL(env_build, commit_sha, C_STR), COL(env_build, short_sha, C_STR),
	COL(env_build, error, C_STR), COL(env_build, node, C_STR),
	COL(env_build, rebuild, C_BOOL), COL(env_build, queued, C_BOOL),
	COL(env_build, queue_ahead, C_INT),
	COL(env_build, superseded_by_uuid, C_STR),
	COL(env_build, artifact_uuid, C_STR), COL(env_build, age, C_AGE),
	COL(env_build, took, C_TOOK),
};
static const struct rowtype env_build_t = ROWTYPE(env_build, env_build_cols);
LIST_FUNCS(env_builds, env_build_t)

static const struct col build_node_cols[] = {
	COL(build_node_row, node, C_STR), COL(build_node_row, known, C_BOOL),
	COL(build_node_row, disk_free_mb, C_INT),
	COL(build_node_row, min_free_mb, C_INT),
	COL(build_node_row, pressure, C_BOOL),
	COL(build_node_row, engine_ok, C_BOOL),
	COL(build_node_row, message, C_STR),
	COL(build_node_row, checked_at, C_STR),
	COL(build_node_row, checked_age, C_AGE),
	COL(build_node_row, queue_length, C_INT),
	COL(build_node_row, running, C_INT),
	COL(build_node_row, last_build_uuid, C_STR),
	COL(build_node_row, last_build_status, C_STR),
	COL(build_node_row, last_build_age, C_AGE),
};
static const struct rowtype build_node_t = ROWTYPE(build_node_row,
    build_node_cols);
ROW_FUNCS(build_node_row, build_node_t)

static const char *
idstr(char *b, size_t sz, long long v)
{
	snprintf(b, sz, "%lld", v);
	return b;
}

int
m_env_list(struct db *db, const char *app_uuid, struct env_list *l)
{
	const char *p[] = { app_uuid };
	return row_all(db, &env_item_t, ST_ENV_LIST, NP(p), p, (void **)&l->v,
	    &l->n);
}

int
m_env_list_view(struct db *db, const char *app_uuid, cJSON **v)
{
	struct env_list	 l;
	int		 rc = m_env_list(db, app_uuid, &l);

	*v = rc == 0 ? env_list_view(&l) : NULL;
	env_list_free(&l);
	return *v != NULL ? 0 : -1;
}

int
m_env_get(struct db *db, const char *app_uuid, const char *env_uuid,
    struct env_row *e)
{
	const char *p[] = { app_uuid, env_uuid };
	return row_get(db, &env_t, ST_ENV_GET, NP(p), p, e);
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
    const char *const *servers, size_t nservers, char uuid[40],
    const struct env_in *e)
{
	PGresult	*res = NULL;
	char		 env_id[24], env_uuid[40];
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
	snprintf(env_uuid, sizeof(env_uuid), "%s", PQgetvalue(res, 0, 1));
	if ((rc = set_servers(db, env_id, servers, nservers)) != 0)
		goto out;
	if (e->after != NULL && (rc = e->after(db, strtoll(env_id, NULL, 10),
	    env_uuid, e->after_arg)) != 0) {
		if (rc != 1)
			rc = -1;
		goto out;
	}
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
	    e->build_server, e->retention_count, e->build_context, e->preset,
	    e->preset_base_image, e->preset_command, e->preset_root,
	    e->build_args, e->build_timeout_s };
	return env_write(db, ST_ENV_INSERT, p, NP(p), servers, nservers, uuid,
	    e);
}

int
m_env_update(struct db *db, const char *app_uuid, const char *env_uuid,
    const struct env_in *e, const char *const *servers, size_t nservers)
{
	const char *p[] = { app_uuid, env_uuid, e->name, e->branch,
	    e->pinned_commit, e->dockerfile_source, e->dockerfile_path,
	    e->build_location, e->build_server, e->retention_count,
	    e->build_context, e->preset, e->preset_base_image,
	    e->preset_command, e->preset_root, e->build_args,
	    e->build_timeout_s };
	return env_write(db, ST_ENV_UPDATE, p, NP(p), servers, nservers, NULL,
	    e);
}

int
m_env_delete(struct db *db, const char *app_uuid, const char *env_uuid)
{
	const char *p[] = { app_uuid, env_uuid };
	return write1(db, ST_ENV_DELETE, NP(p), p, NULL, NULL);
}

int
m_env_set_external(struct db *db, long long env_id)
{
	char		 id[24];
	const char	*p[] = { idstr(id, sizeof(id), env_id) };
	long		 rows = 0;
	int		 rc;

	if ((rc = write1(db, ST_ENV_SET_EXTERNAL, NP(p), p, &rows, NULL)) != 0)
		return rc;
	return rows == 1 ? 0 : -1;
}

int
m_env_servers(struct db *db, long long env_id, struct env_servers *l)
{
	char		 id[24];
	const char	*p[] = { idstr(id, sizeof(id), env_id) };

	return row_all(db, &env_server_t, ST_ENV_SERVERS, NP(p), p,
	    (void **)&l->v, &l->n);
}

struct env_ref {			/* m_env_by_names */
	char		*uuid;
};
static const struct col env_ref_cols[] = { COL(env_ref, uuid, C_STR) };
static const struct rowtype env_ref_t = ROWTYPE(env_ref, env_ref_cols);

int
m_env_by_names(struct db *db, const char *app, const char *env, char uuid[40])
{
	struct env_ref	 e;
	const char	*p[] = { app, env };
	int		 rc;

	uuid[0] = '\0';
	if ((rc = row_get(db, &env_ref_t, ST_ENV_BY_NAMES, NP(p), p, &e)) == 1)
		snprintf(uuid, 40, "%s", e.uuid);
	row_unfill(&env_ref_t, &e);
	return rc;
}

int
m_env_builds(struct db *db, long long env_id, long last, struct env_builds *l)
{
	char		 id[24], n[24];
	const char	*p[] = { idstr(id, sizeof(id), env_id), n };

	snprintf(n, sizeof(n), "%ld", last);
	return row_all(db, &env_build_t, ST_ENV_BUILDS, NP(p), p,
	    (void **)&l->v, &l->n);
}

int
m_build_node(struct db *db, long long server_id, long long min_free_kb,
    struct build_node_row *b)
{
	char		 node[40], kb[24], id[24];
	const char	*p[] = { node, kb, server_id > 0 ? id : NULL };

	if (server_id > 0)
		snprintf(node, sizeof(node), "server:%lld", server_id);
	else
		snprintf(node, sizeof(node), "control");
	snprintf(kb, sizeof(kb), "%lld", min_free_kb);
	snprintf(id, sizeof(id), "%lld", server_id);
	return row_get(db, &build_node_t, ST_BUILD_NODE_VIEW, NP(p), p, b);
}

int
m_artifact_list(struct db *db, long long env_id, long limit, long offset,
    struct artifact_list *l)
{
	char	 id[24];

	return paged(db, &artifact_t, ST_ARTIFACT_LIST, ST_ARTIFACT_COUNT,
	    idstr(id, sizeof(id), env_id), limit, offset, (void **)&l->v, &l->n,
	    &l->total);
}

/* ---- operations ----------------------------------------------------- */

static const struct col op_item_cols[] = {
	COL(op_item, uuid, C_STR), COL(op_item, kind, C_STR),
	COL(op_item, status, C_STR), COL(op_item, subject_type, C_STR),
	COL(op_item, error, C_STR), COL(op_item, attempt, C_INT),
	COL(op_item, age, C_AGE), COL(op_item, took, C_TOOK),
	COL(op_item, subject_name, C_STR),
	COL(op_item, superseded_by_uuid, C_STR),
};
static const struct rowtype op_item_t = ROWTYPE(op_item, op_item_cols);
LIST_FUNCS(op_list, op_item_t)

static const struct col op_cols[] = {
	COL(op_row, id, C_INT), COL(op_row, uuid, C_STR), COL(op_row, kind, C_STR),
	COL(op_row, status, C_STR), COL(op_row, subject_type, C_STR),
	COL(op_row, error, C_STR), COL(op_row, attempt, C_INT),
	COL(op_row, cancel_requested, C_BOOL), COL(op_row, has_secrets, C_BOOL),
	COL(op_row, claimed_by, C_STR), COL(op_row, active, C_BOOL),
	COL(op_row, retryable, C_BOOL), COL(op_row, age, C_AGE),
	COL(op_row, depends_on_uuid, C_STR), COL(op_row, created_by, C_STR),
};
static const struct rowtype op_t = ROWTYPE(op_row, op_cols);
ROW_FUNCS(op_row, op_t)

static const struct col op_info_cols[] = {
	COL(op_info, subject_name, C_STR), COL(op_info, env_uuid, C_STR),
	COL(op_info, app_uuid, C_STR), COL(op_info, app_name, C_STR),
	COL(op_info, server_uuid, C_STR), COL(op_info, subject_app_uuid, C_STR),
	COL(op_info, max_attempts, C_INT),
	COL(op_info, created, C_STR), COL(op_info, took, C_TOOK),
	COL(op_info, commit_sha, C_STR), COL(op_info, rebuild, C_BOOL),
	COL(op_info, superseded_by_uuid, C_STR),
	COL(op_info, artifact_uuid, C_STR), COL(op_info, artifact_tag, C_STR),
	COL(op_info, artifact_digest, C_STR),
	COL(op_info, artifact_status, C_STR),
	COL(op_info, artifact_made, C_BOOL),
};
static const struct rowtype op_info_t = ROWTYPE(op_info, op_info_cols);
ROW_FUNCS(op_info, op_info_t)

static const struct col op_step_cols[] = {
	COL(op_step, id, C_INT), COL(op_step, ordinal, C_INT),
	COL(op_step, name, C_STR), COL(op_step, target, C_STR),
	COL(op_step, status, C_STR), COL(op_step, exit_code, C_INT),
	COL(op_step, exit_signal, C_STR), COL(op_step, error, C_STR),
	COL(op_step, output_bytes, C_INT), COL(op_step, truncated, C_BOOL),
	COL(op_step, server_name, C_STR), COL(op_step, took, C_TOOK),
};
static const struct rowtype op_step_t = ROWTYPE(op_step, op_step_cols);
LIST_FUNCS(op_steps, op_step_t)

static const struct col op_chunk_cols[] = {
	COL(op_chunk, step, C_INT), COL(op_chunk, seq, C_INT),
	COL(op_chunk, text, C_STR),
};
static const struct rowtype op_chunk_t = ROWTYPE(op_chunk, op_chunk_cols);
LIST_FUNCS(op_chunks, op_chunk_t)

static const struct col op_log_end_cols[] = {
	COL(op_log_end, step, C_INT), COL(op_log_end, next, C_INT),
};
static const struct rowtype op_log_end_t = ROWTYPE(op_log_end, op_log_end_cols);

struct op_cancelled {
	long long	 id;
	char		*status;
};
static const struct col op_cancelled_cols[] = {
	COL(op_cancelled, id, C_INT), COL(op_cancelled, status, C_STR),
};
static const struct rowtype op_cancelled_t = ROWTYPE(op_cancelled,
    op_cancelled_cols);

int
m_op_list(struct db *db, long limit, long offset, struct op_list *l)
{
	return paged(db, &op_item_t, ST_OP_LIST, ST_OP_COUNT, NULL, limit, offset,
	    (void **)&l->v, &l->n, &l->total);
}

int
m_op_get(struct db *db, const char *uuid, struct op_row *o)
{
	const char *p[] = { uuid };
	return row_get(db, &op_t, ST_OP_GET, NP(p), p, o);
}

int
m_op_info(struct db *db, long long op_id, struct op_info *o)
{
	char		 id[24];
	const char	*p[] = { idstr(id, sizeof(id), op_id) };

	return row_get(db, &op_info_t, ST_OP_INFO, NP(p), p, o);
}

int
m_op_steps(struct db *db, long long op_id, struct op_steps *l)
{
	char		 id[24];
	const char	*p[] = { idstr(id, sizeof(id), op_id) };

	return row_all(db, &op_step_t, ST_OP_STEPS, NP(p), p, (void **)&l->v,
	    &l->n);
}

char *
m_op_output(struct db *db, long long step_id)
{
	char		 id[24];
	const char	*p[] = { idstr(id, sizeof(id), step_id) };
	PGresult	*res;
	char		*s;

	if ((res = db_exec(db, ST_OP_OUTPUT, NP(p), p)) == NULL)
		return NULL;
	/* string_agg over no rows is NULL: no output yet. */
	s = strdup(PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ?
	    PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return s;
}

int
m_op_log(struct db *db, long long op_id, long long step, long seq, long limit,
    struct op_chunks *l)
{
	char		 id[24], o[24], s[24], n[24];
	const char	*p[] = { idstr(id, sizeof(id), op_id), o, s, n };

	snprintf(o, sizeof(o), "%lld", step);
	snprintf(s, sizeof(s), "%ld", seq);
	snprintf(n, sizeof(n), "%ld", limit);
	return row_all(db, &op_chunk_t, ST_OP_LOG, NP(p), p, (void **)&l->v,
	    &l->n);
}

int
m_op_log_end(struct db *db, long long op_id, struct op_log_end *e)
{
	char		 id[24];
	const char	*p[] = { idstr(id, sizeof(id), op_id) };

	return row_get(db, &op_log_end_t, ST_OP_LOG_END, NP(p), p, e);
}

int
m_op_cancel(struct db *db, const char *uuid, char status[16])
{
	const char		*p[] = { uuid };
	struct op_cancelled	 c;
	char			 id[24];
	const char		*ip[] = { id };
	int			 rc;

	memset(&c, 0, sizeof(c));
	status[0] = '\0';
	if (db_tx_begin(db) == -1)
		return -1;
	if ((rc = row_get(db, &op_cancelled_t, ST_OP_CANCEL, NP(p), p, &c)) != 1)
		goto out;
	snprintf(status, 16, "%s", c.status);
	if (strcmp(status, "cancelled") == 0) {
		/* No spooler will end it: do what ending it does (lib/ops/spool.c
		 * finish_op) here, secrets first. */
		idstr(id, sizeof(id), c.id);
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
		status[0] = '\0';
	}
	row_unfill(&op_cancelled_t, &c);
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

/* ---- the managed registry ------------------------------------------- */

static const struct col reg_page_cols[] = {
	COL(reg_page, hostname, C_STR), COL(reg_page, storage_path, C_STR),
	COL(reg_page, listen, C_STR), COL(reg_page, insecure, C_BOOL),
	COL(reg_page, pull_only, C_BOOL), COL(reg_page, state, C_STR),
	COL(reg_page, state_reason, C_STR), COL(reg_page, disk_usage, C_STR),
	COL(reg_page, checked_at, C_STR), COL(reg_page, credentials, C_STR),
};
static const struct rowtype reg_page_t = ROWTYPE(reg_page, reg_page_cols);
ROW_FUNCS(reg_page, reg_page_t)

static const struct col reg_check_cols[] = {
	COL(reg_check, node, C_STR), COL(reg_check, check_name, C_STR),
	COL(reg_check, ok, C_BOOL), COL(reg_check, message, C_STR),
	COL(reg_check, at, C_STR), COL(reg_check, label, C_STR),
};
static const struct rowtype reg_check_t = ROWTYPE(reg_check, reg_check_cols);

LIST_FREE(reg_checks, reg_check_t)

int
m_reg_page(struct db *db, struct reg_page *r)
{
	return row_get(db, &reg_page_t, ST_REG_PAGE, 0, NULL, r);
}

int
m_reg_checks(struct db *db, struct reg_checks *l)
{
	return row_all(db, &reg_check_t, ST_REG_CHECKS, 0, NULL, (void **)&l->v,
	    &l->n);
}
