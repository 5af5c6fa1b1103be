/*
 * lib/web/model.c and lib/db/db.c against the real PostgreSQL of the test stack
 * ($KS_PGCONN; without it the program fails: a suite that skipped itself
 * would let `make check` pass with nothing tested).
 *
 * Covered: the return conventions of lib/web/model.h (lookups 1/0/-1, writes
 * 0/1/-1 with the refusing constraint's name), every list order and its
 * total, the compact ages, the environment transaction (a refused runtime
 * server leaves nothing behind), the trigger-kept artifact total, sessions
 * and login throttling counts, and how lib/db/row.c types its values.
 *
 * Each test runs in its own process (CK_FORK) with its own connection and
 * names everything it creates with the run's time, pid and a counter, so
 * the program can be rerun on the same database; the teardown deletes
 * those rows again.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "model.h"
#include "row.h"
#include "testutil.h"

#define NP(a)		((int)(sizeof(a) / sizeof((a)[0])))
#define ALL		1000000L	/* a page size that takes every row */
#define TEST_TIMEOUT	60
#define IDLE_MIN	30
#define MAX_HOURS	12

static struct db	 db;
static char		 run[32];	/* this run, set before the tests fork */
static char		 tag[48];	/* this test: run and pid */
static int		 seq;

/* ---- fixture, names ------------------------------------------------- */

/*
 * Deletes the rows whose names contain key. Applications first: their
 * environments, artifacts and runtime server links go with them, which
 * frees the servers.
 */
static void
cleanup(struct db *d, const char *key)
{
	static const char *const sql[] = {
		"DELETE FROM applications WHERE strpos(name, $1) > 0",
		"DELETE FROM servers WHERE strpos(name, $1) > 0",
		"DELETE FROM users WHERE strpos(username, $1) > 0",
		"DELETE FROM login_attempts WHERE strpos(username, $1) > 0",
	};
	const char	*p[] = { key };
	PGresult	*res;

	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK)
		return;
	if (PQtransactionStatus(d->conn) != PQTRANS_IDLE)
		PQclear(PQexec(d->conn, "ROLLBACK"));
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		res = PQexecParams(d->conn, sql[i], 1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			fprintf(stderr, "check_model: cleanup: %s: %s", sql[i],
			    PQresultErrorMessage(res));
		PQclear(res);
	}
}

static void
setup(void)
{
	const char	*conn = getenv("KS_PGCONN");

	ck_assert_msg(conn != NULL && conn[0] != '\0',
	    "KS_PGCONN is not set: run through tests/run.sh");
	snprintf(tag, sizeof(tag), "%s-%d", run, (int)getpid());
	ck_assert_int_eq(db_open(&db, conn), 0);
}

/* What the test created goes again, so the web and browser tests that run
 * after this program on the same stack see the lists they expect. */
static void
teardown(void)
{
	cleanup(&db, tag);
	db_close(&db);
}

/* In the parent once the tests ran: what failed tests left behind (a
 * failing check ends the test's process before its teardown). */
static void
cleanup_run(void)
{
	struct db	 d;

	if (db_open(&d, getenv("KS_PGCONN")) == 0)
		cleanup(&d, run);
	db_close(&d);
}

/* A name no other test (or earlier run) uses: PREFIX-TAG-N. */
static void
uniq(char *buf, size_t sz, const char *prefix)
{
	snprintf(buf, sz, "%s-%s-%d", prefix, tag, ++seq);
}

/* ---- test-side SQL on the same connection --------------------------- */

static PGresult *
q(const char *sql, int n, const char *const *p)
{
	PGresult	*res;
	ExecStatusType	 s;

	res = PQexecParams(db.conn, sql, n, NULL, p, NULL, NULL, 0);
	s = PQresultStatus(res);
	ck_assert_msg(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK,
	    "%s: %s", sql, PQresultErrorMessage(res));
	return res;
}

/* Runs sql with parameters a and b (NULL: fewer parameters). */
static void
exec2(const char *sql, const char *a, const char *b)
{
	const char	*p[] = { a, b };

	PQclear(q(sql, b != NULL ? 2 : a != NULL ? 1 : 0, p));
}

/* The integer in the first column of sql's only row. */
static long long
num2(const char *sql, const char *a, const char *b)
{
	const char	*p[] = { a, b };
	PGresult	*res;
	long long	 v;

	res = q(sql, b != NULL ? 2 : a != NULL ? 1 : 0, p);
	ck_assert_int_eq(PQntuples(res), 1);
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* ---- JSON helpers --------------------------------------------------- */

static const cJSON *
key(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "no key \"%s\"", k);
	return v;
}

static const char *
str(const cJSON *o, const char *k)
{
	const char	*s = cJSON_GetStringValue(key(o, k));

	ck_assert_msg(s != NULL, "\"%s\" is not a string", k);
	return s;
}

static long long
num(const cJSON *o, const char *k)
{
	const cJSON	*v = key(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "\"%s\" is not a number", k);
	return (long long)v->valuedouble;
}

static int
boolv(const cJSON *o, const char *k)
{
	const cJSON	*v = key(o, k);

	ck_assert_msg(cJSON_IsBool(v), "\"%s\" is not a boolean", k);
	return cJSON_IsTrue(v);
}

static void
is_null(const cJSON *o, const char *k)
{
	ck_assert_msg(cJSON_IsNull(key(o, k)), "\"%s\" is not null", k);
}

/* Index of the row whose "uuid" is uuid, or -1. */
static int
pos(const cJSON *rows, const char *uuid)
{
	const cJSON	*r, *u;
	int		 i = 0;

	cJSON_ArrayForEach(r, rows) {
		u = cJSON_GetObjectItemCaseSensitive(r, "uuid");
		if (cJSON_IsString(u) && strcmp(u->valuestring, uuid) == 0)
			return i;
		i++;
	}
	return -1;
}

static const cJSON *
row(const cJSON *rows, const char *uuid)
{
	int	 i = pos(rows, uuid);

	ck_assert_msg(i >= 0, "row %s not in the list", uuid);
	return cJSON_GetArrayItem(rows, i);
}

/* An age string "<n><unit>" with lo <= n <= hi. */
static void
age_in(const char *age, long lo, long hi, char unit)
{
	char	*end;
	long	 n = strtol(age, &end, 10);

	ck_assert_msg(end != age && end[0] == unit && end[1] == '\0' &&
	    n >= lo && n <= hi, "age \"%s\" not in %ld..%ld%c", age, lo, hi, unit);
}

/* ---- typed rows as views --------------------------------------------- */

/*
 * The tests below read rows through their views (row_view(), keyed by
 * column name, as the templates see them), which checks each typed row
 * and its view in one go; typed_rows reads the structs themselves.
 */
#define AS_VIEW(T, rc, r, o) do {					\
	*(o) = (rc) == 1 ? T##_view(&(r)) : NULL;			\
	T##_free(&(r));							\
} while (0)
#define LIST_VIEW(L, rc, l) do {					\
	v = (rc) == 0 ? L##_view(&(l)) : NULL;				\
	L##_free(&(l));							\
} while (0)

static int
t_server_get(const char *uuid, cJSON **o)
{
	struct server_row r;
	int rc = m_server_get(&db, uuid, &r);
	AS_VIEW(server_row, rc, r, o);
	return rc;
}

static int
t_app_get(const char *uuid, cJSON **o)
{
	struct app_row r;
	int rc = m_app_get(&db, uuid, &r);
	AS_VIEW(app_row, rc, r, o);
	return rc;
}

static int
t_env_get(const char *app, const char *env, cJSON **o)
{
	struct env_row r;
	int rc = m_env_get(&db, app, env, &r);
	AS_VIEW(env_row, rc, r, o);
	return rc;
}

static int
t_user_by_name(const char *name, cJSON **o)
{
	struct user_row r;
	int rc = m_user_by_name(&db, name, &r);
	AS_VIEW(user_row, rc, r, o);
	return rc;
}

static int
t_sess_get(const char *h, long idle, long max, cJSON **o)
{
	struct sess_row r;
	int rc = m_sess_get(&db, h, idle, max, &r);
	AS_VIEW(sess_row, rc, r, o);
	return rc;
}

static int
t_take_flash(const char *h, cJSON **o)
{
	struct flash_row r;
	int rc = m_sess_take_flash(&db, h, &r);
	AS_VIEW(flash_row, rc, r, o);
	return rc;
}

static int
t_overview(cJSON **o)
{
	struct overview_row r;
	int rc = m_overview(&db, &r);
	*o = rc == 1 ? overview_row_view(&r) : NULL;
	return rc;
}

static cJSON *
t_server_list(const char *sort, long limit, long offset, long *total)
{
	struct server_list l;
	cJSON *v;
	int rc = m_server_list(&db, sort, limit, offset, &l);
	*total = l.total;
	LIST_VIEW(server_list, rc, l);
	return v;
}

static cJSON *
t_app_list(const char *sort, long limit, long offset, long *total)
{
	struct app_list l;
	cJSON *v;
	int rc = m_app_list(&db, sort, limit, offset, &l);
	*total = l.total;
	LIST_VIEW(app_list, rc, l);
	return v;
}

static cJSON *
t_artifact_list(long long env, long limit, long offset, long *total)
{
	struct artifact_list l;
	cJSON *v;
	int rc = m_artifact_list(&db, env, limit, offset, &l);
	*total = l.total;
	LIST_VIEW(artifact_list, rc, l);
	return v;
}

static cJSON *
t_env_list(const char *app)
{
	struct env_list l;
	cJSON *v;
	int rc = m_env_list(&db, app, &l);
	LIST_VIEW(env_list, rc, l);
	return v;
}

static cJSON *
t_server_envs(const char *uuid)
{
	struct server_envs l;
	cJSON *v;
	int rc = m_server_envs(&db, uuid, &l);
	LIST_VIEW(server_envs, rc, l);
	return v;
}

static cJSON *
t_server_options(void)
{
	struct server_options l;
	cJSON *v;
	int rc = m_server_options(&db, &l);
	LIST_VIEW(server_options, rc, l);
	return v;
}

static cJSON *
t_env_servers(long long id)
{
	struct env_servers l;
	cJSON *v;
	int rc = m_env_servers(&db, id, &l);
	LIST_VIEW(env_servers, rc, l);
	return v;
}

/* ---- fixtures in the database --------------------------------------- */

struct srv {
	char	 name[128], addr[128], uuid[40];
};

struct app {
	char	 name[128], uuid[40];
};

static void
srv_in(struct server_in *in, const struct srv *s, const char *port)
{
	in->name = s->name;
	in->address = s->addr;
	in->ssh_port = port;
	in->ssh_user = "keystone";
	in->role_build = "false";
	in->role_runtime = "true";
}

/* A new server; name and addr may be NULL (unique ones). */
static void
new_server(struct srv *s, const char *name, const char *addr)
{
	struct server_in	 in;

	if (name != NULL)
		snprintf(s->name, sizeof(s->name), "%s", name);
	else
		uniq(s->name, sizeof(s->name), "srv");
	if (addr != NULL)
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
	else
		uniq(s->addr, sizeof(s->addr), "host");
	srv_in(&in, s, "22");
	memset(s->uuid, 'x', sizeof(s->uuid));
	ck_assert_int_eq(m_server_insert(&db, &in, s->uuid), 0);
	ck_assert_uint_eq(strlen(s->uuid), 36);
}

static void
new_app(struct app *a, const char *name)
{
	struct app_in	 in = { NULL, "https://git.example.com/k/app.git", "main" };

	if (name != NULL)
		snprintf(a->name, sizeof(a->name), "%s", name);
	else
		uniq(a->name, sizeof(a->name), "app");
	in.name = a->name;
	ck_assert_int_eq(m_app_insert(&db, &in, a->uuid), 0);
	ck_assert_uint_eq(strlen(a->uuid), 36);
}

static void
env_defaults(struct env_in *e, const char *name)
{
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->branch = NULL;
	e->pinned_commit = NULL;
	e->dockerfile_source = "repository";
	e->dockerfile_path = "Dockerfile";
	e->build_location = "default";
	e->build_server = NULL;
	e->retention_count = "3";
}

static long long
env_id(const char *app, const char *env)
{
	cJSON		*o;
	long long	 id;

	ck_assert_int_eq(t_env_get(app, env, &o), 1);
	id = num(o, "id");
	cJSON_Delete(o);
	return id;
}

/* Environments named name in application app. */
static long long
env_count(const char *app, const char *name)
{
	return num2("SELECT count(*) FROM environments e JOIN applications a "
	    "ON a.id = e.application_id WHERE a.uuid = $1::uuid AND e.name = $2",
	    app, name);
}

/* m_env_servers(id) is exactly the set want[0..n). */
static void
env_servers_are(long long id, const char *const *want, int n)
{
	cJSON	*rows = t_env_servers(id);

	ck_assert_ptr_nonnull(rows);
	ck_assert_int_eq(cJSON_GetArraySize(rows), n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(pos(rows, want[i]) >= 0, "runtime server %s missing",
		    want[i]);
	cJSON_Delete(rows);
}

/* ---- row.c ----------------------------------------------------------- */

/* One field of each column type of lib/db/row.h. */
struct kinds {
	int		 t, f, nb;
	long long	 i4, i8, i2, big, ni;
	char		*nt, *s, *ds, *ts, *es, *num, *u, *age, *took;
};
static const struct col kinds_cols[] = {
	COL(kinds, t, C_BOOL), COL(kinds, f, C_BOOL), COL(kinds, nb, C_BOOL),
	COL(kinds, i4, C_INT), COL(kinds, i8, C_INT), COL(kinds, i2, C_INT),
	COL(kinds, big, C_INT), COL(kinds, ni, C_INT), COL(kinds, nt, C_STR),
	COL(kinds, s, C_STR), COL(kinds, ds, C_STR), COL(kinds, ts, C_STR),
	COL(kinds, es, C_STR), COL(kinds, num, C_STR), COL(kinds, u, C_STR),
	COL(kinds, age, C_AGE), COL(kinds, took, C_TOOK),
};
static const struct rowtype kinds_t = ROWTYPE(kinds, kinds_cols);

struct secs {
	char		*age, *took;
};
static const struct col secs_cols[] = {
	COL(secs, age, C_AGE), COL(secs, took, C_TOOK),
};
static const struct rowtype secs_t = ROWTYPE(secs, secs_cols);

struct counted {
	long long	 n;
};
static const struct col counted_cols[] = { COL(counted, n, C_INT) };
static const struct rowtype counted_t = ROWTYPE(counted, counted_cols);

/* A known row into the struct by column name (in any order, other
 * columns ignored), NULL as M_NULL, -1 or NULL; its view typed the same
 * way; a statement without a column the type needs fails. */
START_TEST(row_types)
{
	PGresult	*res;
	struct kinds	 k;
	struct counted	*v;
	size_t		 n;
	cJSON		*o, *a;

	res = q("SELECT 'x' AS extra, 185 AS took_s, 300 AS age_s, "
	    "true AS t, false AS f, 42::int4 AS i4, -7::int8 AS i8, "
	    "3::int2 AS i2, 1234567890123::int8 AS big, NULL::int4 AS ni, "
	    "NULL::text AS nt, NULL::bool AS nb, 'hello'::text AS s, "
	    "'12'::text AS ds, 't'::text AS ts, ''::text AS es, "
	    "1.5::numeric AS num, 'a6e4c0f4-1111-4222-8333-944445555666'::uuid AS u",
	    0, NULL);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_int_eq(row_fill(&kinds_t, res, 0, &k), 0);
	PQclear(res);
	ck_assert_int_eq(k.t, 1);
	ck_assert_int_eq(k.f, 0);
	ck_assert_int_eq(k.nb, -1);
	ck_assert_int_eq(k.i4, 42);
	ck_assert_int_eq(k.i8, -7);
	ck_assert_int_eq(k.i2, 3);
	ck_assert_int_eq(k.big, 1234567890123LL);
	ck_assert(k.ni == M_NULL);
	ck_assert_ptr_null(k.nt);
	ck_assert_str_eq(k.s, "hello");
	ck_assert_str_eq(k.age, "5m");
	ck_assert_str_eq(k.took, "3m 05s");

	ck_assert_ptr_nonnull(o = row_view(&kinds_t, &k));
	ck_assert_int_eq(boolv(o, "t"), 1);
	ck_assert_int_eq(boolv(o, "f"), 0);
	ck_assert_int_eq(num(o, "i4"), 42);
	ck_assert_int_eq(num(o, "i8"), -7);
	ck_assert_int_eq(num(o, "i2"), 3);
	ck_assert_int_eq(num(o, "big"), 1234567890123LL);
	is_null(o, "ni");
	is_null(o, "nt");
	is_null(o, "nb");
	ck_assert_str_eq(str(o, "s"), "hello");
	/* Text stays text whatever it looks like. */
	ck_assert_str_eq(str(o, "ds"), "12");
	ck_assert_str_eq(str(o, "ts"), "t");
	ck_assert_str_eq(str(o, "es"), "");
	ck_assert_str_eq(str(o, "num"), "1.5");
	ck_assert_str_eq(str(o, "u"), "a6e4c0f4-1111-4222-8333-944445555666");
	ck_assert_str_eq(str(o, "age"), "5m");
	ck_assert_str_eq(str(o, "took"), "3m 05s");
	ck_assert_int_eq(cJSON_GetArraySize(o), (int)ROW_NELEM(kinds_cols));
	cJSON_Delete(o);
	row_unfill(&kinds_t, &k);
	ck_assert_ptr_null(k.s);
	ck_assert_ptr_null(k.took);

	/* Ages keep one unit, durations two. */
	for (size_t i = 0; i < 5; i++) {
		static const char *const want[][3] = {
			{ "-5", "0s", "0s" }, { "42", "42s", "42s" },
			{ "185", "3m", "3m 05s" }, { "7620", "2h", "2h 07m" },
			{ "90000", "1d", "25h 00m" },
		};
		struct secs	 t;
		const char	*p[] = { want[i][0] };

		res = q("SELECT $1::bigint AS age_s, $1::bigint AS took_s", 1, p);
		ck_assert_int_eq(row_fill(&secs_t, res, 0, &t), 0);
		PQclear(res);
		ck_assert_str_eq(t.age, want[i][1]);
		ck_assert_str_eq(t.took, want[i][2]);
		row_unfill(&secs_t, &t);
	}

	/* A column missing: -1 and nothing kept. */
	res = q("SELECT true AS t, 'hello'::text AS s", 0, NULL);
	ck_assert_int_eq(row_fill(&kinds_t, res, 0, &k), -1);
	ck_assert_ptr_null(k.s);
	PQclear(res);

	res = q("SELECT g AS n FROM generate_series(1, 3) g", 0, NULL);
	ck_assert_int_eq(row_fill_all(&counted_t, res, (void **)&v, &n), 0);
	PQclear(res);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(a = row_view_all(&counted_t, v, n));
	ck_assert_int_eq(cJSON_GetArraySize(a), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(v[i].n, i + 1);
		ck_assert_int_eq(num(cJSON_GetArrayItem(a, i), "n"), i + 1);
	}
	cJSON_Delete(a);
	row_unfill_all(&counted_t, v, n);

	/* No rows: an empty array, not NULL (NULL means failure). */
	res = q("SELECT 1 AS n WHERE false", 0, NULL);
	ck_assert_int_eq(row_fill_all(&counted_t, res, (void **)&v, &n), 0);
	PQclear(res);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(a = row_view_all(&counted_t, v, n));
	ck_assert_int_eq(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
	row_unfill_all(&counted_t, v, n);
}
END_TEST

/* ---- db.c ------------------------------------------------------------ */

/* db_exec_many: one round trip; a failure anywhere leaves no result and a
 * connection that still works. */
START_TEST(exec_many_pipeline)
{
	const char	*bad[] = { "not-a-uuid" };
	const char	*none[] = { "a6e4c0f4-1111-4222-8333-944445555666" };
	struct db_q	 ok[] = {
		{ ST_SERVER_COUNT, 0, NULL, NULL },
		{ ST_SERVER_GET, 1, none, NULL },
	};
	struct db_q	 first[] = {
		{ ST_SERVER_GET, 1, bad, NULL },
		{ ST_SERVER_COUNT, 0, NULL, NULL },
	};
	struct db_q	 second[] = {
		{ ST_SERVER_COUNT, 0, NULL, NULL },
		{ ST_SERVER_GET, 1, bad, NULL },
	};
	struct db_q	*fail[] = { first, second };
	PGresult	*res;

	ck_assert_int_eq(db_exec_many(&db, ok, NP(ok)), 0);
	ck_assert_ptr_nonnull(ok[0].res);
	ck_assert_ptr_nonnull(ok[1].res);
	ck_assert_int_eq(PQntuples(ok[0].res), 1);
	ck_assert_int_eq(PQntuples(ok[1].res), 0);
	PQclear(ok[0].res);
	PQclear(ok[1].res);

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(db_exec_many(&db, fail[i], 2), -1);
		ck_assert_ptr_null(fail[i][0].res);
		ck_assert_ptr_null(fail[i][1].res);
		ck_assert_str_eq(db.sqlstate, "22P02");	/* invalid uuid text */
		/* Out of the pipeline, same connection. */
		ck_assert_ptr_nonnull(res = db_exec(&db, ST_SERVER_COUNT, 0, NULL));
		PQclear(res);
		ck_assert_int_eq(PQpipelineStatus(db.conn), PQ_PIPELINE_OFF);
	}
}
END_TEST

/* ---- users ----------------------------------------------------------- */

START_TEST(user_insert_get)
{
	char	 name[96], bad[] = "Not Valid";
	cJSON	*o;

	uniq(name, sizeof(name), "mu");
	ck_assert_int_eq(t_user_by_name(name, &o), 0);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(m_user_insert(&db, name, "hash-1", 1), 0);
	ck_assert_int_eq(t_user_by_name(name, &o), 1);
	ck_assert_int_gt(num(o, "id"), 0);
	ck_assert_str_eq(str(o, "username"), name);
	ck_assert_str_eq(str(o, "password_hash"), "hash-1");
	ck_assert_int_eq(boolv(o, "is_admin"), 1);
	cJSON_Delete(o);

	ck_assert_int_eq(m_user_insert(&db, name, "hash-2", 0), 1);
	ck_assert_str_eq(db_constraint(&db), "users_username_key");
	ck_assert(db_unique_violation(&db));
	ck_assert_int_eq(m_user_insert(&db, bad, "hash", 0), 1);
	ck_assert_str_eq(db_constraint(&db), "users_username_check");

	ck_assert_int_eq(m_user_set_password(&db, name, "hash-3"), 0);
	ck_assert_str_eq(db_constraint(&db), "");
	ck_assert_int_eq(t_user_by_name(name, &o), 1);
	ck_assert_str_eq(str(o, "password_hash"), "hash-3");
	cJSON_Delete(o);
	/* An unknown user is a refusal, not a failure. */
	ck_assert_int_eq(m_user_set_password(&db, bad, "hash"), 1);
}
END_TEST

/* ---- servers --------------------------------------------------------- */

/* The structs themselves: typed values, NULL for SQL NULL, and a row
 * zeroed when nothing is found, so its _free is always safe. */
START_TEST(typed_rows)
{
	const char		*nouuid = "00000000-0000-4000-8000-000000000000";
	struct srv		 s;
	struct server_row	 r;
	struct server_list	 l;
	int			 seen = 0;

	new_server(&s, NULL, NULL);
	ck_assert_int_eq(m_server_get(&db, s.uuid, &r), 1);
	ck_assert_int_gt(r.id, 0);
	ck_assert_str_eq(r.uuid, s.uuid);
	ck_assert_str_eq(r.name, s.name);
	ck_assert_int_eq(r.ssh_port, 22);
	ck_assert_int_eq(r.role_build, 0);
	ck_assert_int_eq(r.role_runtime, 1);
	ck_assert_ptr_null(r.host_key);
	ck_assert_ptr_null(r.host_key_sha256);
	server_row_free(&r);
	ck_assert_ptr_null(r.name);
	ck_assert_int_eq(m_server_by_name(&db, s.name, &r), 1);
	ck_assert_str_eq(r.uuid, s.uuid);
	server_row_free(&r);
	ck_assert_int_eq(m_server_get(&db, nouuid, &r), 0);
	ck_assert_ptr_null(r.uuid);
	server_row_free(&r);
	ck_assert_int_eq(m_server_get(&db, "not-a-uuid", &r), -1);
	server_row_free(&r);

	ck_assert_int_eq(m_server_list(&db, "-created", ALL, 0, &l), 0);
	ck_assert_int_ge(l.total, 1);
	ck_assert_uint_eq(l.n, (size_t)l.total);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].uuid, s.uuid) == 0) {
			ck_assert_str_eq(l.v[i].age, "0s");
			ck_assert_int_eq(l.v[i].pinned, 0);
			seen++;
		}
	ck_assert_int_eq(seen, 1);
	server_list_free(&l);
	ck_assert_ptr_null(l.v);
}
END_TEST

START_TEST(server_crud)
{
	struct srv		 s;
	struct server_in	 in;
	cJSON			*o;
	long long		 n;

	n = num2("SELECT count(*) FROM servers", NULL, NULL);
	new_server(&s, NULL, NULL);
	ck_assert_int_eq(num2("SELECT count(*) FROM servers", NULL, NULL), n + 1);

	ck_assert_int_eq(t_server_get(s.uuid, &o), 1);
	ck_assert_int_gt(num(o, "id"), 0);
	ck_assert_str_eq(str(o, "uuid"), s.uuid);
	ck_assert_str_eq(str(o, "name"), s.name);
	ck_assert_str_eq(str(o, "address"), s.addr);
	ck_assert_int_eq(num(o, "ssh_port"), 22);
	ck_assert_str_eq(str(o, "ssh_user"), "keystone");
	ck_assert_int_eq(boolv(o, "role_build"), 0);
	ck_assert_int_eq(boolv(o, "role_runtime"), 1);
	ck_assert_str_eq(str(o, "status"), "new");
	is_null(o, "host_key");
	is_null(o, "host_key_sha256");
	age_in(str(o, "age"), 0, 5, 's');
	ck_assert_uint_eq(strlen(str(o, "created")), strlen("2026-01-01 00:00 UTC"));
	ck_assert_ptr_nonnull(strstr(str(o, "created"), " UTC"));
	cJSON_Delete(o);

	uniq(s.name, sizeof(s.name), "srv-renamed");
	uniq(s.addr, sizeof(s.addr), "host-renamed");
	srv_in(&in, &s, "2222");
	in.ssh_user = "deploy";
	in.role_build = "true";
	in.role_runtime = "false";
	ck_assert_int_eq(m_server_update(&db, s.uuid, &in), 0);
	ck_assert_int_eq(t_server_get(s.uuid, &o), 1);
	ck_assert_str_eq(str(o, "name"), s.name);
	ck_assert_str_eq(str(o, "address"), s.addr);
	ck_assert_int_eq(num(o, "ssh_port"), 2222);
	ck_assert_str_eq(str(o, "ssh_user"), "deploy");
	ck_assert_int_eq(boolv(o, "role_build"), 1);
	ck_assert_int_eq(boolv(o, "role_runtime"), 0);
	cJSON_Delete(o);

	/* The options list and the overview see it. */
	ck_assert_ptr_nonnull(o = t_server_options());
	ck_assert_int_eq(boolv(row(o, s.uuid), "role_build"), 1);
	cJSON_Delete(o);
	ck_assert_int_eq(t_overview(&o), 1);
	ck_assert_int_eq(num(o, "servers"), n + 1);
	ck_assert_int_eq(num(o, "servers_active"),
	    num2("SELECT count(*) FROM servers WHERE status = 'active'", NULL, NULL));
	ck_assert_int_eq(num(o, "applications"),
	    num2("SELECT count(*) FROM applications", NULL, NULL));
	cJSON_Delete(o);

	ck_assert_int_eq(m_server_delete(&db, s.uuid), 0);
	ck_assert_int_eq(t_server_get(s.uuid, &o), 0);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(num2("SELECT count(*) FROM servers", NULL, NULL), n);
}
END_TEST

START_TEST(server_refusals)
{
	struct srv		 a, b, c;
	struct server_in	 in;
	cJSON			*o;

	new_server(&a, NULL, NULL);
	new_server(&b, NULL, NULL);

	/* Same name, another address. */
	snprintf(c.name, sizeof(c.name), "%s", a.name);
	uniq(c.addr, sizeof(c.addr), "host");
	srv_in(&in, &c, "22");
	ck_assert_int_eq(m_server_insert(&db, &in, c.uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "servers_name_key");
	ck_assert(db_unique_violation(&db));

	/* A success clears the last refusal. */
	ck_assert_int_eq(t_server_get(a.uuid, &o), 1);
	cJSON_Delete(o);
	ck_assert_str_eq(db_constraint(&db), "");
	ck_assert(!db_unique_violation(&db));

	/* Same address and port, another name. */
	uniq(c.name, sizeof(c.name), "srv");
	snprintf(c.addr, sizeof(c.addr), "%s", a.addr);
	ck_assert_int_eq(m_server_insert(&db, &in, c.uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "servers_address_ssh_port_key");
	/* Same address on another port is another server. */
	srv_in(&in, &c, "2200");
	ck_assert_int_eq(m_server_insert(&db, &in, c.uuid), 0);
	ck_assert_uint_eq(strlen(c.uuid), 36);

	/* Not a number at all: a failure (logged), not a refusal. */
	uniq(c.name, sizeof(c.name), "srv");
	uniq(c.addr, sizeof(c.addr), "host");
	srv_in(&in, &c, "twenty-two");
	ck_assert_int_eq(m_server_insert(&db, &in, c.uuid), -1);
	ck_assert_str_eq(db_constraint(&db), "");

	/* A port out of range: the column's CHECK. */
	uniq(c.name, sizeof(c.name), "srv");
	uniq(c.addr, sizeof(c.addr), "host");
	srv_in(&in, &c, "70000");
	ck_assert_int_eq(m_server_insert(&db, &in, c.uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "servers_ssh_port_check");

	/* Updates are refused by the same constraints, and change nothing. */
	snprintf(c.name, sizeof(c.name), "%s", a.name);
	snprintf(c.addr, sizeof(c.addr), "%s", b.addr);
	srv_in(&in, &c, "22");
	ck_assert_int_eq(m_server_update(&db, b.uuid, &in), 1);
	ck_assert_str_eq(db_constraint(&db), "servers_name_key");
	snprintf(c.name, sizeof(c.name), "%s", b.name);
	snprintf(c.addr, sizeof(c.addr), "%s", a.addr);
	ck_assert_int_eq(m_server_update(&db, b.uuid, &in), 1);
	ck_assert_str_eq(db_constraint(&db), "servers_address_ssh_port_key");
	ck_assert_int_eq(t_server_get(b.uuid, &o), 1);
	ck_assert_str_eq(str(o, "name"), b.name);
	ck_assert_str_eq(str(o, "address"), b.addr);
	cJSON_Delete(o);
}
END_TEST

START_TEST(server_unknown_uuid)
{
	const char		*nouuid = "00000000-0000-4000-8000-000000000000";
	struct srv		 s;
	struct server_in	 in;
	cJSON			*o = (cJSON *)&o;
	long long		 n;

	new_server(&s, NULL, NULL);
	n = num2("SELECT count(*) FROM servers", NULL, NULL);
	ck_assert_int_eq(t_server_get(nouuid, &o), 0);
	ck_assert_ptr_null(o);
	srv_in(&in, &s, "22");
	uniq(s.name, sizeof(s.name), "ghost");
	ck_assert_int_eq(m_server_update(&db, nouuid, &in), -1);
	ck_assert_int_eq(m_server_delete(&db, nouuid), 0);
	ck_assert_int_eq(num2("SELECT count(*) FROM servers", NULL, NULL), n);
	ck_assert_int_eq(num2("SELECT count(*) FROM servers WHERE name = $1",
	    s.name, NULL), 0);
	/* Not a UUID at all: a failure, not "not found". */
	ck_assert_int_eq(t_server_get("not-a-uuid", &o), -1);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(m_server_update(&db, "not-a-uuid", &in), -1);
	ck_assert_int_eq(m_server_delete(&db, "not-a-uuid"), -1);
	/* The connection is still usable afterwards. */
	ck_assert_int_eq(t_server_get(s.uuid, &o), 1);
	cJSON_Delete(o);
}
END_TEST

START_TEST(server_list_orders)
{
	/*
	 * Four servers A..D that each order puts in another sequence:
	 * names a < b < c < d, addresses B < D < A < C, statuses D active <
	 * C disabled < A new < B unreachable, created C < D < B < A.
	 */
	static const struct {
		const char	*sort, *order;
	} want[] = {
		{ "name", "ABCD" }, { "-name", "DCBA" },
		{ "address", "BDAC" }, { "-address", "CADB" },
		{ "status", "DCAB" }, { "-status", "BACD" },
		{ "created", "CDBA" }, { "-created", "ABDC" },
		/* Anything else: by name. */
		{ "bogus", "ABCD" }, { NULL, "ABCD" }, { "", "ABCD" },
		{ "NAME", "ABCD" }, { "name;DROP", "ABCD" },
	};
	static const char *const status[4] = { "new", "unreachable", "disabled",
	    "active" };
	static const char *const created[4] = { "1 day", "2 days", "4 days",
	    "3 days" };
	static const char *const ages[4] = { "1d", "2d", "4d", "3d" };
	static const int addr_rank[4] = { 3, 1, 4, 2 };
	struct srv	 s[4];
	char		 base[96], name[128], addr[128];
	cJSON		*rows, *page;
	const cJSON	*r;
	long		 total, t2;
	long long	 n;
	int		 p[4];

	uniq(base, sizeof(base), "sort");
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s-%c", base, 'a' + i);
		snprintf(addr, sizeof(addr), "%s-%d", base, addr_rank[i]);
		new_server(&s[i], name, addr);
		exec2("UPDATE servers SET status = $2 WHERE uuid = $1::uuid",
		    s[i].uuid, status[i]);
		exec2("UPDATE servers SET created_at = now() - $2::interval "
		    "WHERE uuid = $1::uuid", s[i].uuid, created[i]);
	}
	n = num2("SELECT count(*) FROM servers", NULL, NULL);

	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		total = -1;
		rows = t_server_list(want[w].sort, ALL, 0, &total);
		ck_assert_ptr_nonnull(rows);
		ck_assert_int_eq(total, n);
		ck_assert_int_eq(cJSON_GetArraySize(rows), n);
		for (int i = 0; i < 4; i++) {
			p[i] = pos(rows, s[i].uuid);
			ck_assert_int_ge(p[i], 0);
		}
		for (int i = 0; i < 3; i++)
			ck_assert_msg(p[want[w].order[i] - 'A'] <
			    p[want[w].order[i + 1] - 'A'],
			    "sort \"%s\": %c not before %c", want[w].sort ?
			    want[w].sort : "(null)", want[w].order[i],
			    want[w].order[i + 1]);
		cJSON_Delete(rows);
	}

	/* The rows a page shows. */
	ck_assert_ptr_nonnull(rows = t_server_list("created", ALL, 0, &total));
	for (int i = 0; i < 4; i++) {
		r = row(rows, s[i].uuid);
		ck_assert_str_eq(str(r, "name"), s[i].name);
		ck_assert_str_eq(str(r, "status"), status[i]);
		ck_assert_int_eq(num(r, "ssh_port"), 22);
		ck_assert_int_eq(boolv(r, "role_runtime"), 1);
		ck_assert_int_eq(boolv(r, "pinned"), 0);
		ck_assert_str_eq(str(r, "age"), ages[i]);
		ck_assert_ptr_null(cJSON_GetObjectItem(r, "age_s"));
	}
	cJSON_Delete(rows);

	/* Limit and offset: a window of the whole list; the total is still
	 * the whole. */
	ck_assert_ptr_nonnull(rows = t_server_list("-created", ALL, 0, &total));
	t2 = -1;
	ck_assert_ptr_nonnull(page = t_server_list("-created", 2, 1, &t2));
	ck_assert_int_eq(t2, total);
	ck_assert_int_eq(cJSON_GetArraySize(page), 2);
	for (int i = 0; i < 2; i++)
		ck_assert_str_eq(str(cJSON_GetArrayItem(page, i), "uuid"),
		    str(cJSON_GetArrayItem(rows, i + 1), "uuid"));
	cJSON_Delete(page);
	t2 = -1;
	ck_assert_ptr_nonnull(page = t_server_list("name", 10, total, &t2));
	ck_assert_int_eq(cJSON_GetArraySize(page), 0);
	ck_assert_int_eq(t2, total);
	cJSON_Delete(page);
	cJSON_Delete(rows);
}
END_TEST

START_TEST(server_ages)
{
	/* Set back by ago, the list (formatted in C) and the detail page
	 * (ks_age() in SQL) show the same age. Elapsed time only adds to an
	 * age, so each case stays clear of the next unit's boundary. */
	static const struct {
		const char	*ago;
		long		 lo, hi;
		char		 unit;
	} cases[] = {
		{ "-1 hour", 0, 0, 's' },		/* in the future: 0s */
		{ "0 seconds", 0, 5, 's' },
		{ "30 seconds", 30, 40, 's' },
		{ "60 seconds", 1, 1, 'm' },
		{ "5 minutes 10 seconds", 5, 5, 'm' },
		{ "1 hour", 1, 1, 'h' },
		{ "3 hours 5 minutes", 3, 3, 'h' },
		{ "1 day", 1, 1, 'd' },
		{ "2 days 1 hour", 2, 2, 'd' },
		{ "400 days", 400, 400, 'd' },
	};
	struct srv	 s;
	cJSON		*rows, *o;
	long		 total;

	new_server(&s, NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		exec2("UPDATE servers SET created_at = now() - $2::interval "
		    "WHERE uuid = $1::uuid", s.uuid, cases[i].ago);
		ck_assert_ptr_nonnull(rows = t_server_list("-created", ALL, 0,
		    &total));
		age_in(str(row(rows, s.uuid), "age"), cases[i].lo, cases[i].hi,
		    cases[i].unit);
		cJSON_Delete(rows);
		ck_assert_int_eq(t_server_get(s.uuid, &o), 1);
		age_in(str(o, "age"), cases[i].lo, cases[i].hi, cases[i].unit);
		cJSON_Delete(o);
	}
}
END_TEST

/* ks_age() is inlined into the query (a function call per row costs more
 * than the rest of a lookup): EXPLAIN shows its expression, not the call. */
START_TEST(age_inlined)
{
	PGresult	*res;
	int		 seen = 0;

	res = q("EXPLAIN (VERBOSE, COSTS OFF) SELECT ks_age(created_at) FROM servers",
	    0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *line = PQgetvalue(res, i, 0);
		ck_assert_msg(strstr(line, "ks_age(") == NULL, "not inlined: %s", line);
		seen += strstr(line, "CASE") != NULL;
	}
	ck_assert_int_ge(seen, 1);
	PQclear(res);
}
END_TEST

START_TEST(server_delete_in_use)
{
	struct srv	 run, build;
	struct app	 a;
	struct env_in	 e;
	char		 name[96], uuid[40], uuid2[40];
	const char	*srvs[1];
	cJSON		*rows, *o;

	new_server(&run, NULL, NULL);
	new_server(&build, NULL, NULL);
	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	srvs[0] = run.uuid;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, srvs, 1, uuid), 0);
	uniq(name, sizeof(name), "env");
	e.build_location = "specific";
	e.build_server = build.uuid;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid2), 0);

	ck_assert_ptr_nonnull(rows = t_server_envs(run.uuid));
	ck_assert_int_eq(cJSON_GetArraySize(rows), 1);
	ck_assert_str_eq(str(row(rows, uuid), "app_uuid"), a.uuid);
	ck_assert_str_eq(str(row(rows, uuid), "app_name"), a.name);
	cJSON_Delete(rows);
	ck_assert_ptr_nonnull(rows = t_server_envs(build.uuid));
	ck_assert_int_eq(cJSON_GetArraySize(rows), 1);
	ck_assert_str_eq(str(row(rows, uuid2), "name"), name);
	cJSON_Delete(rows);

	ck_assert_int_eq(m_server_delete(&db, run.uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environment_servers_server_id_fkey");
	ck_assert(db_fk_violation(&db));
	ck_assert_int_eq(m_server_delete(&db, build.uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_build_server_id_fkey");
	ck_assert_int_eq(t_server_get(run.uuid, &o), 1);
	cJSON_Delete(o);
	ck_assert_int_eq(t_server_get(build.uuid, &o), 1);
	cJSON_Delete(o);

	/* Once nothing uses them, they go. */
	ck_assert_int_eq(m_env_delete(&db, a.uuid, uuid), 0);
	ck_assert_int_eq(m_env_delete(&db, a.uuid, uuid2), 0);
	ck_assert_int_eq(m_server_delete(&db, run.uuid), 0);
	ck_assert_int_eq(m_server_delete(&db, build.uuid), 0);
	ck_assert_int_eq(t_server_get(run.uuid, &o), 0);
}
END_TEST

/* ---- applications ---------------------------------------------------- */

START_TEST(app_crud)
{
	const char	*nouuid = "00000000-0000-4000-8000-000000000000";
	struct app	 a, b;
	struct app_in	 in;
	char		 name[128], scratch[40];
	cJSON		*o;

	/* Every field set: git_host (sql/014) is read by m_app_update. */
	memset(&in, 0, sizeof(in));
	new_app(&a, NULL);
	new_app(&b, NULL);
	ck_assert_int_eq(t_app_get(a.uuid, &o), 1);
	ck_assert_int_gt(num(o, "id"), 0);
	ck_assert_str_eq(str(o, "uuid"), a.uuid);
	ck_assert_str_eq(str(o, "name"), a.name);
	ck_assert_str_eq(str(o, "repository_url"), "https://git.example.com/k/app.git");
	ck_assert_str_eq(str(o, "default_branch"), "main");
	age_in(str(o, "age"), 0, 5, 's');
	cJSON_Delete(o);

	uniq(name, sizeof(name), "app-renamed");
	in.name = name;
	in.repository_url = "ssh://git@git.example.com/k/other.git";
	in.default_branch = "trunk";
	ck_assert_int_eq(m_app_update(&db, a.uuid, &in), 0);
	ck_assert_int_eq(t_app_get(a.uuid, &o), 1);
	ck_assert_str_eq(str(o, "name"), name);
	ck_assert_str_eq(str(o, "repository_url"), in.repository_url);
	ck_assert_str_eq(str(o, "default_branch"), "trunk");
	cJSON_Delete(o);

	/* Duplicate names, on insert and on update. */
	in.name = b.name;
	ck_assert_int_eq(m_app_insert(&db, &in, scratch), 1);
	ck_assert_str_eq(db_constraint(&db), "applications_name_key");
	ck_assert_int_eq(m_app_update(&db, a.uuid, &in), 1);
	ck_assert_str_eq(db_constraint(&db), "applications_name_key");
	ck_assert_int_eq(t_app_get(a.uuid, &o), 1);
	ck_assert_str_eq(str(o, "name"), name);
	cJSON_Delete(o);
	/* An empty repository URL: its CHECK. */
	in.name = name;
	in.repository_url = "";
	ck_assert_int_eq(m_app_update(&db, a.uuid, &in), 1);
	ck_assert_str_eq(db_constraint(&db), "applications_repository_url_check");

	/* Unknown UUIDs. */
	ck_assert_int_eq(t_app_get(nouuid, &o), 0);
	ck_assert_ptr_null(o);
	in.repository_url = "https://x";
	ck_assert_int_eq(m_app_update(&db, nouuid, &in), -1);
	ck_assert_int_eq(m_app_delete(&db, nouuid), 0);

	ck_assert_int_eq(m_app_delete(&db, b.uuid), 0);
	ck_assert_int_eq(t_app_get(b.uuid, &o), 0);
	ck_assert_int_eq(t_app_get(a.uuid, &o), 1);
	cJSON_Delete(o);
}
END_TEST

START_TEST(app_list_orders)
{
	/* Names a < b < c, created B < C < A. */
	static const struct {
		const char	*sort, *order;
	} want[] = {
		{ "name", "ABC" }, { "-name", "CBA" },
		{ "created", "BCA" }, { "-created", "ACB" },
		{ "bogus", "ABC" }, { NULL, "ABC" }, { "address", "ABC" },
	};
	static const char *const created[3] = { "5 minutes 10 seconds",
	    "2 days 1 hour", "3 hours 5 minutes" };
	static const char *const ages[3] = { "5m", "2d", "3h" };
	struct app	 a[3];
	struct env_in	 e;
	char		 base[96], name[128], uuid[40];
	cJSON		*rows, *o;
	const cJSON	*r;
	long		 total;
	long long	 n;
	int		 p[3];

	uniq(base, sizeof(base), "sorted");
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s-%c", base, 'a' + i);
		new_app(&a[i], name);
		exec2("UPDATE applications SET created_at = now() - $2::interval "
		    "WHERE uuid = $1::uuid", a[i].uuid, created[i]);
	}
	/* Two environments in A, none in the others. */
	for (int i = 0; i < 2; i++) {
		uniq(name, sizeof(name), "env");
		env_defaults(&e, name);
		ck_assert_int_eq(m_env_insert(&db, a[0].uuid, &e, NULL, 0, uuid), 0);
	}
	n = num2("SELECT count(*) FROM applications", NULL, NULL);

	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		total = -1;
		ck_assert_ptr_nonnull(rows = t_app_list(want[w].sort, ALL, 0,
		    &total));
		ck_assert_int_eq(total, n);
		ck_assert_int_eq(cJSON_GetArraySize(rows), n);
		for (int i = 0; i < 3; i++)
			ck_assert_int_ge(p[i] = pos(rows, a[i].uuid), 0);
		for (int i = 0; i < 2; i++)
			ck_assert_msg(p[want[w].order[i] - 'A'] <
			    p[want[w].order[i + 1] - 'A'],
			    "sort \"%s\": %c not before %c", want[w].sort ?
			    want[w].sort : "(null)", want[w].order[i],
			    want[w].order[i + 1]);
		cJSON_Delete(rows);
	}

	ck_assert_ptr_nonnull(rows = t_app_list("name", ALL, 0, &total));
	for (int i = 0; i < 3; i++) {
		r = row(rows, a[i].uuid);
		ck_assert_str_eq(str(r, "name"), a[i].name);
		ck_assert_str_eq(str(r, "default_branch"), "main");
		ck_assert_int_eq(num(r, "env_count"), i == 0 ? 2 : 0);
		ck_assert_str_eq(str(r, "age"), ages[i]);
		ck_assert_ptr_null(cJSON_GetObjectItem(r, "age_s"));
		ck_assert_int_eq(t_app_get(a[i].uuid, &o), 1);
		ck_assert_str_eq(str(o, "age"), ages[i]);
		cJSON_Delete(o);
	}
	cJSON_Delete(rows);

	ck_assert_ptr_nonnull(rows = t_app_list("name", 1, 0, &total));
	ck_assert_int_eq(cJSON_GetArraySize(rows), 1);
	ck_assert_int_eq(total, n);
	cJSON_Delete(rows);
}
END_TEST

/* ---- environments ---------------------------------------------------- */

START_TEST(env_insert_servers)
{
	struct srv	 s[3];
	struct app	 a;
	struct env_in	 e;
	char		 name[96], uuid[40];
	const char	*srvs[3], *want[3];
	cJSON		*o, *rows;
	long long	 id;

	for (int i = 0; i < 3; i++)
		new_server(&s[i], NULL, NULL);
	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	e.branch = "release";
	e.pinned_commit = "0123456789abcdef0123456789abcdef01234567";
	e.retention_count = "7";
	for (int i = 0; i < 3; i++)
		srvs[i] = want[i] = s[i].uuid;
	memset(uuid, 'x', sizeof(uuid));
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, srvs, 3, uuid), 0);
	ck_assert_uint_eq(strlen(uuid), 36);

	ck_assert_int_eq(t_env_get(a.uuid, uuid, &o), 1);
	id = num(o, "id");
	ck_assert_str_eq(str(o, "uuid"), uuid);
	ck_assert_str_eq(str(o, "name"), name);
	ck_assert_str_eq(str(o, "branch"), "release");
	ck_assert_str_eq(str(o, "effective_branch"), "release");
	ck_assert_str_eq(str(o, "pinned_commit"), e.pinned_commit);
	ck_assert_str_eq(str(o, "dockerfile_source"), "repository");
	ck_assert_str_eq(str(o, "build_location"), "default");
	ck_assert_int_eq(num(o, "retention_count"), 7);
	is_null(o, "build_server_uuid");
	age_in(str(o, "age"), 0, 5, 's');
	cJSON_Delete(o);
	env_servers_are(id, want, 3);

	ck_assert_ptr_nonnull(rows = t_env_servers(id));
	ck_assert_str_eq(str(row(rows, s[1].uuid), "name"), s[1].name);
	ck_assert_str_eq(str(row(rows, s[1].uuid), "address"), s[1].addr);
	ck_assert_str_eq(str(row(rows, s[1].uuid), "status"), "new");
	cJSON_Delete(rows);

	/* An environment in another application of the same name is not it. */
	ck_assert_int_eq(t_env_get("00000000-0000-4000-8000-000000000000",
	    uuid, &o), 0);

	/* Without a branch: the application's default. */
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 0);
	ck_assert_int_eq(t_env_get(a.uuid, uuid, &o), 1);
	is_null(o, "branch");
	ck_assert_str_eq(str(o, "effective_branch"), "main");
	id = num(o, "id");
	cJSON_Delete(o);
	env_servers_are(id, NULL, 0);

	ck_assert_ptr_nonnull(rows = t_env_list(a.uuid));
	ck_assert_int_eq(cJSON_GetArraySize(rows), 2);
	ck_assert_int_eq(num(row(rows, uuid), "server_count"), 0);
	ck_assert_str_eq(str(row(rows, uuid), "branch"), "main");
	cJSON_Delete(rows);
}
END_TEST

START_TEST(env_insert_repeated_servers)
{
	/* The runtime servers are a set: a UUID sent twice (a form field
	 * repeated) names the same server once. */
	struct srv	 s[2];
	struct app	 a;
	struct env_in	 e;
	char		 name[96], uuid[40];
	const char	*srvs[4], *want[2];
	int		 rc;

	new_server(&s[0], NULL, NULL);
	new_server(&s[1], NULL, NULL);
	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	srvs[0] = s[0].uuid;
	srvs[1] = s[1].uuid;
	srvs[2] = s[0].uuid;
	srvs[3] = s[1].uuid;
	want[0] = s[0].uuid;
	want[1] = s[1].uuid;
	rc = m_env_insert(&db, a.uuid, &e, srvs, 4, uuid);
	ck_assert_msg(rc == 0, "m_env_insert with repeated servers: %d "
	    "(constraint \"%s\")", rc, db_constraint(&db));
	env_servers_are(env_id(a.uuid, uuid), want, 2);

	/* And the same on update. */
	srvs[0] = s[1].uuid;
	srvs[1] = s[1].uuid;
	rc = m_env_update(&db, a.uuid, uuid, &e, srvs, 2);
	ck_assert_msg(rc == 0, "m_env_update with repeated servers: %d "
	    "(constraint \"%s\")", rc, db_constraint(&db));
	env_servers_are(env_id(a.uuid, uuid), want + 1, 1);
}
END_TEST

START_TEST(env_insert_unknown_server)
{
	struct srv	 s;
	struct app	 a;
	struct env_in	 e;
	char		 name[96], uuid[40];
	const char	*srvs[2];
	long long	 envs, links;

	new_server(&s, NULL, NULL);
	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	envs = num2("SELECT count(*) FROM environments", NULL, NULL);
	links = num2("SELECT count(*) FROM environment_servers", NULL, NULL);

	/* A known server first: its link and the environment must go too. */
	srvs[0] = s.uuid;
	srvs[1] = "00000000-0000-4000-8000-000000000000";
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, srvs, 2, uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environment_servers_server_id_fkey");
	ck_assert_int_eq(env_count(a.uuid, name), 0);
	ck_assert_int_eq(num2("SELECT count(*) FROM environments", NULL, NULL), envs);
	ck_assert_int_eq(num2("SELECT count(*) FROM environment_servers", NULL,
	    NULL), links);

	/* The connection is out of the rolled-back transaction: the same
	 * environment with the known server alone is created. */
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, srvs, 1, uuid), 0);
	ck_assert_int_eq(env_count(a.uuid, name), 1);
	env_servers_are(env_id(a.uuid, uuid), srvs, 1);
	ck_assert_int_eq(PQtransactionStatus(db.conn), PQTRANS_IDLE);

	/* A malformed build server UUID: a failure, rolled back too. */
	uniq(name, sizeof(name), "env");
	e.name = name;
	e.build_location = "specific";
	e.build_server = "not-a-uuid";
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, srvs, 1, uuid), -1);
	ck_assert_int_eq(env_count(a.uuid, name), 0);
	ck_assert_int_eq(PQtransactionStatus(db.conn), PQTRANS_IDLE);
	e.build_location = "default";
	e.build_server = NULL;

	/* An unknown application: a failure, nothing written. */
	uniq(name, sizeof(name), "env");
	e.name = name;
	ck_assert_int_eq(m_env_insert(&db, "00000000-0000-4000-8000-000000000000",
	    &e, srvs, 1, uuid), -1);
	ck_assert_int_eq(num2("SELECT count(*) FROM environments WHERE name = $1",
	    name, NULL), 0);
	ck_assert_int_eq(PQtransactionStatus(db.conn), PQTRANS_IDLE);
}
END_TEST

START_TEST(env_unique_name)
{
	struct app	 a, b;
	struct env_in	 e;
	char		 name[96], other[96], uuid[40], uuid2[40];
	cJSON		*o;

	new_app(&a, NULL);
	new_app(&b, NULL);
	uniq(name, sizeof(name), "production");
	env_defaults(&e, name);
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 0);
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid2), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_application_id_name_key");
	ck_assert(db_unique_violation(&db));
	ck_assert_int_eq(env_count(a.uuid, name), 1);
	/* Another application may use the name. */
	ck_assert_int_eq(m_env_insert(&db, b.uuid, &e, NULL, 0, uuid2), 0);
	ck_assert_int_eq(env_count(b.uuid, name), 1);
	ck_assert_str_ne(uuid, uuid2);
	/* Each environment belongs to its own application only. */
	ck_assert_int_eq(t_env_get(b.uuid, uuid, &o), 0);
	ck_assert_int_eq(m_env_delete(&db, b.uuid, uuid), 0);
	ck_assert_int_eq(env_count(a.uuid, name), 1);

	/* Renaming onto a sibling's name is refused the same way. */
	uniq(other, sizeof(other), "staging");
	e.name = other;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid2), 0);
	e.name = name;
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid2, &e, NULL, 0), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_application_id_name_key");
	ck_assert_int_eq(t_env_get(a.uuid, uuid2, &o), 1);
	ck_assert_str_eq(str(o, "name"), other);
	cJSON_Delete(o);
}
END_TEST

START_TEST(env_build_location)
{
	struct srv	 bs;
	struct app	 a;
	struct env_in	 e;
	char		 name[96], uuid[40];
	cJSON		*o;

	new_server(&bs, NULL, NULL);
	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);

	/* 'specific' without a build server: the table's CHECK. */
	e.build_location = "specific";
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_check");
	ck_assert_int_eq(env_count(a.uuid, name), 0);
	/* An unknown build server is no build server. */
	e.build_server = "00000000-0000-4000-8000-000000000000";
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_check");
	/* A build server without 'specific' neither. */
	e.build_location = "default";
	e.build_server = bs.uuid;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_check");
	/* Values outside the columns' own CHECKs. */
	e.build_location = "elsewhere";
	e.build_server = NULL;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_build_location_check");
	e.build_location = "default";
	e.retention_count = "0";
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_retention_count_check");
	e.retention_count = "3";
	ck_assert_int_eq(env_count(a.uuid, name), 0);

	e.build_location = "specific";
	e.build_server = bs.uuid;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, uuid), 0);
	ck_assert_int_eq(t_env_get(a.uuid, uuid, &o), 1);
	ck_assert_str_eq(str(o, "build_location"), "specific");
	ck_assert_str_eq(str(o, "build_server_uuid"), bs.uuid);
	ck_assert_str_eq(str(o, "build_server_name"), bs.name);
	cJSON_Delete(o);

	/* Back to 'external' while keeping the server: refused, unchanged. */
	e.build_location = "external";
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, NULL, 0), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_check");
	e.build_server = NULL;
	/* ... and without its registry override (sql/014_builds.sql). */
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, NULL, 0), 1);
	ck_assert_str_eq(db_constraint(&db), "environments_check2");
	exec2("UPDATE environments SET ext_registry_host = 'reg.example.com', "
	    "ext_registry_user = 'u', ext_registry_password_sealed = 'x' "
	    "WHERE uuid = $1::uuid", uuid, NULL);
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, NULL, 0), 0);
	ck_assert_int_eq(t_env_get(a.uuid, uuid, &o), 1);
	ck_assert_str_eq(str(o, "build_location"), "external");
	is_null(o, "build_server_uuid");
	cJSON_Delete(o);
}
END_TEST

START_TEST(env_update_servers)
{
	struct srv	 s[3];
	struct app	 a;
	struct env_in	 e;
	char		 name[96], name2[96], uuid[40];
	const char	*srvs[3], *nouuid = "00000000-0000-4000-8000-000000000000";
	cJSON		*o, *rows;
	long long	 id;

	for (int i = 0; i < 3; i++)
		new_server(&s[i], NULL, NULL);
	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	srvs[0] = s[0].uuid;
	srvs[1] = s[1].uuid;
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, srvs, 2, uuid), 0);
	id = env_id(a.uuid, uuid);
	env_servers_are(id, srvs, 2);

	/* The set is replaced, not added to. */
	srvs[0] = s[2].uuid;
	uniq(name2, sizeof(name2), "env-renamed");
	e.name = name2;
	e.branch = "next";
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, srvs, 1), 0);
	env_servers_are(id, srvs, 1);
	ck_assert_int_eq(t_env_get(a.uuid, uuid, &o), 1);
	ck_assert_str_eq(str(o, "name"), name2);
	ck_assert_str_eq(str(o, "branch"), "next");
	ck_assert_int_eq(num(o, "id"), id);
	cJSON_Delete(o);

	/* An unknown server: refused, and neither the set nor the fields
	 * changed. */
	srvs[0] = s[0].uuid;
	srvs[1] = nouuid;
	e.name = name;
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, srvs, 2), 1);
	ck_assert_str_eq(db_constraint(&db), "environment_servers_server_id_fkey");
	srvs[0] = s[2].uuid;
	env_servers_are(id, srvs, 1);
	ck_assert_int_eq(t_env_get(a.uuid, uuid, &o), 1);
	ck_assert_str_eq(str(o, "name"), name2);
	cJSON_Delete(o);

	/* All three, then none. */
	for (int i = 0; i < 3; i++)
		srvs[i] = s[i].uuid;
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, srvs, 3), 0);
	env_servers_are(id, srvs, 3);
	ck_assert_ptr_nonnull(rows = t_env_list(a.uuid));
	ck_assert_int_eq(num(row(rows, uuid), "server_count"), 3);
	cJSON_Delete(rows);
	ck_assert_int_eq(m_env_update(&db, a.uuid, uuid, &e, NULL, 0), 0);
	env_servers_are(id, NULL, 0);

	/* An unknown environment, or one of another application. */
	ck_assert_int_eq(m_env_update(&db, a.uuid, nouuid, &e, srvs, 1), -1);
	ck_assert_int_eq(m_env_update(&db, nouuid, uuid, &e, srvs, 1), -1);
	env_servers_are(id, NULL, 0);
	ck_assert_int_eq(PQtransactionStatus(db.conn), PQTRANS_IDLE);
}
END_TEST

/* ---- artifacts ------------------------------------------------------- */

/* Artifacts FIRST..LAST of environment id, artifact g created g minutes
 * ago with tag "...:g". */
static void
add_artifacts(long long id, int first, int last)
{
	char		 sid[24], f[16], l[16];
	const char	*p[] = { sid, f, l };

	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(f, sizeof(f), "%d", first);
	snprintf(l, sizeof(l), "%d", last);
	PQclear(q("INSERT INTO build_artifacts (application_id, environment_id, "
	    " registry_host, tag, manifest_digest, commit_sha, status, created_at) "
	    "SELECT e.application_id, e.id, 'registry.test', "
	    " 'registry.test/keystone/app/env:' || g, "
	    " 'sha256:' || md5('m' || g) || md5('n' || g), "
	    " md5('c' || g) || left(md5('d' || g), 8), 'available', "
	    " now() - g * interval '1 minute' "
	    "FROM environments e CROSS JOIN generate_series($2::int, $3::int) g "
	    "WHERE e.id = $1::bigint", NP(p), p));
}

/* m_artifact_list's total for id, checked against a real count. */
static long
artifact_total(long long id)
{
	char	 sid[24];
	cJSON	*rows;
	long	 total = -1;

	snprintf(sid, sizeof(sid), "%lld", id);
	ck_assert_ptr_nonnull(rows = t_artifact_list(id, 1, 0, &total));
	ck_assert_int_eq(total, num2("SELECT count(*) FROM build_artifacts "
	    "WHERE environment_id = $1::bigint", sid, NULL));
	ck_assert_int_eq(cJSON_GetArraySize(rows), total > 0 ? 1 : 0);
	cJSON_Delete(rows);
	return total;
}

START_TEST(artifact_list_total)
{
	struct app	 a;
	struct env_in	 e;
	char		 name[96], u1[40], u2[40], sid[24], t[64];
	cJSON		*rows, *o;
	const cJSON	*r;
	long long	 id1, id2;
	long		 total;

	new_app(&a, NULL);
	uniq(name, sizeof(name), "env");
	env_defaults(&e, name);
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, u1), 0);
	uniq(name, sizeof(name), "env");
	ck_assert_int_eq(m_env_insert(&db, a.uuid, &e, NULL, 0, u2), 0);
	id1 = env_id(a.uuid, u1);
	id2 = env_id(a.uuid, u2);
	snprintf(sid, sizeof(sid), "%lld", id1);

	ck_assert_int_eq(artifact_total(id1), 0);
	add_artifacts(id1, 1, 25);
	add_artifacts(id2, 1, 3);
	ck_assert_int_eq(artifact_total(id1), 25);
	ck_assert_int_eq(artifact_total(id2), 3);
	ck_assert_int_eq(num2("SELECT artifact_rows FROM environments "
	    "WHERE id = $1::bigint", sid, NULL), 25);

	/* Newest first; a page is a window; the total is every row. */
	total = -1;
	ck_assert_ptr_nonnull(rows = t_artifact_list(id1, 10, 0, &total));
	ck_assert_int_eq(total, 25);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 10);
	for (int i = 0; i < 10; i++) {
		r = cJSON_GetArrayItem(rows, i);
		snprintf(t, sizeof(t), "registry.test/keystone/app/env:%d", i + 1);
		ck_assert_str_eq(str(r, "tag"), t);
		ck_assert_str_eq(str(r, "status"), "available");
		ck_assert_int_eq(strncmp(str(r, "short_sha"), str(r, "commit_sha"),
		    12), 0);
		ck_assert_uint_eq(strlen(str(r, "short_sha")), 12);
		ck_assert_uint_eq(strlen(str(r, "uuid")), 36);
		is_null(r, "pruned_age");
		ck_assert_ptr_null(cJSON_GetObjectItem(r, "age_s"));
		ck_assert_ptr_null(cJSON_GetObjectItem(r, "pruned_age_s"));
	}
	age_in(str(cJSON_GetArrayItem(rows, 0), "age"), 1, 1, 'm');
	age_in(str(cJSON_GetArrayItem(rows, 9), "age"), 10, 10, 'm');
	cJSON_Delete(rows);
	ck_assert_ptr_nonnull(rows = t_artifact_list(id1, 10, 20, &total));
	ck_assert_int_eq(total, 25);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 5);
	ck_assert_str_eq(str(cJSON_GetArrayItem(rows, 0), "tag"),
	    "registry.test/keystone/app/env:21");
	cJSON_Delete(rows);

	/* A status change moves no count; a pruned row shows its age. */
	exec2("UPDATE build_artifacts SET status = 'pruned', pruned_at = now() - "
	    "interval '2 hours 5 minutes' WHERE environment_id = $1::bigint AND "
	    "tag LIKE '%:2'", sid, NULL);
	ck_assert_int_eq(artifact_total(id1), 25);
	ck_assert_ptr_nonnull(rows = t_artifact_list(id1, 3, 0, &total));
	r = cJSON_GetArrayItem(rows, 1);
	ck_assert_str_eq(str(r, "status"), "pruned");
	ck_assert_str_eq(str(r, "pruned_age"), "2h");
	cJSON_Delete(rows);

	/* Deletes follow, per environment. */
	exec2("DELETE FROM build_artifacts WHERE environment_id = $1::bigint AND "
	    "tag ~ ':1[0-6]$'", sid, NULL);
	ck_assert_int_eq(artifact_total(id1), 18);
	ck_assert_int_eq(artifact_total(id2), 3);
	ck_assert_ptr_nonnull(rows = t_env_list(a.uuid));
	ck_assert_int_eq(num(row(rows, u1), "artifact_count"), 17); /* available */
	ck_assert_int_eq(num(row(rows, u2), "artifact_count"), 3);
	cJSON_Delete(rows);
	add_artifacts(id1, 100, 101);
	ck_assert_int_eq(artifact_total(id1), 20);

	/* Deleting an environment with its artifacts. */
	ck_assert_int_eq(m_env_delete(&db, a.uuid, u2), 0);
	ck_assert_int_eq(t_env_get(a.uuid, u2, &o), 0);
	total = -1;
	ck_assert_ptr_nonnull(rows = t_artifact_list(id2, 10, 0, &total));
	ck_assert_int_eq(total, 0);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 0);
	cJSON_Delete(rows);

	/* And the whole application: cascades through the trigger. */
	ck_assert_int_eq(m_app_delete(&db, a.uuid), 0);
	ck_assert_int_eq(t_app_get(a.uuid, &o), 0);
	ck_assert_int_eq(t_env_get(a.uuid, u1, &o), 0);
	total = -1;
	ck_assert_ptr_nonnull(rows = t_artifact_list(id1, 10, 0, &total));
	ck_assert_int_eq(total, 0);
	ck_assert_int_eq(cJSON_GetArraySize(rows), 0);
	cJSON_Delete(rows);
	ck_assert_int_eq(num2("SELECT count(*) FROM build_artifacts WHERE "
	    "environment_id = $1::bigint", sid, NULL), 0);
}
END_TEST

/* ---- sessions, login attempts ---------------------------------------- */

/* A new user; returns its id. */
static long long
new_user(char *name, size_t sz)
{
	cJSON		*o;
	long long	 id;

	uniq(name, sz, "mu");
	ck_assert_int_eq(m_user_insert(&db, name, "hash", 0), 0);
	ck_assert_int_eq(t_user_by_name(name, &o), 1);
	id = num(o, "id");
	cJSON_Delete(o);
	return id;
}

/* A session ID hash of the right length, unique to this run. */
static void
new_hash(char h[65])
{
	snprintf(h, 65, "%016lx%016x%032d", (unsigned long)time(NULL),
	    (unsigned)getpid(), ++seq);
	ck_assert_uint_eq(strlen(h), 64);
}

static int
sess_exists(const char *h)
{
	return (int)num2("SELECT count(*) FROM sessions WHERE id_hash = $1", h,
	    NULL);
}

START_TEST(session_get_limits)
{
	char		 user[96], h[65], bad[] = "tooshort";
	cJSON		*o = (cJSON *)&o;
	long long	 uid;

	uid = new_user(user, sizeof(user));
	new_hash(h);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 0);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(m_sess_insert(&db, h, uid, "192.0.2.7"), 0);
	ck_assert_int_eq(m_sess_insert(&db, h, uid, "192.0.2.7"), 1);
	ck_assert_str_eq(db_constraint(&db), "sessions_pkey");
	ck_assert_int_eq(m_sess_insert(&db, bad, uid, "192.0.2.7"), 1);
	ck_assert_str_eq(db_constraint(&db), "sessions_id_hash_check");

	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 1);
	ck_assert_int_eq(num(o, "id"), uid);
	ck_assert_str_eq(str(o, "username"), user);
	ck_assert_int_eq(boolv(o, "has_flash"), 0);
	ck_assert_int_eq(boolv(o, "stale"), 0);
	cJSON_Delete(o);

	/* Seen two minutes ago: still valid, but stale (worth a touch). */
	exec2("UPDATE sessions SET last_seen_at = now() - interval '2 minutes' "
	    "WHERE id_hash = $1", h, NULL);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 1);
	ck_assert_int_eq(boolv(o, "stale"), 1);
	cJSON_Delete(o);
	ck_assert_int_eq(m_sess_touch(&db, h), 0);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 1);
	ck_assert_int_eq(boolv(o, "stale"), 0);
	cJSON_Delete(o);

	/* Idle past the limit: gone, though the row is still there. */
	exec2("UPDATE sessions SET last_seen_at = now() - interval '31 minutes' "
	    "WHERE id_hash = $1", h, NULL);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 0);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(sess_exists(h), 1);
	ck_assert_int_eq(t_sess_get(h, 60, MAX_HOURS, &o), 1);
	cJSON_Delete(o);

	/* Active, but older than the absolute limit. */
	exec2("UPDATE sessions SET last_seen_at = now(), created_at = now() - "
	    "interval '13 hours' WHERE id_hash = $1", h, NULL);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 0);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, 24, &o), 1);
	cJSON_Delete(o);

	ck_assert_int_eq(m_sess_delete(&db, h), 0);
	ck_assert_int_eq(sess_exists(h), 0);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, 24, &o), 0);
}
END_TEST

START_TEST(session_unknown_user)
{
	char	 h[65];

	new_hash(h);
	ck_assert_int_eq(m_sess_insert(&db, h, 0, "192.0.2.7"), 1);
	ck_assert_str_eq(db_constraint(&db), "sessions_user_id_fkey");
	ck_assert(db_fk_violation(&db));
	ck_assert_int_eq(sess_exists(h), 0);
}
END_TEST

START_TEST(session_flash)
{
	char		 user[96], h[65], other[65];
	cJSON		*o = (cJSON *)&o;
	long long	 uid;

	uid = new_user(user, sizeof(user));
	new_hash(h);
	new_hash(other);
	ck_assert_int_eq(m_sess_insert(&db, h, uid, "192.0.2.8"), 0);
	ck_assert_int_eq(m_sess_insert(&db, other, uid, "192.0.2.8"), 0);

	ck_assert_int_eq(m_sess_set_flash(&db, h, "ok", "Server created."), 0);
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 1);
	ck_assert_int_eq(boolv(o, "has_flash"), 1);
	cJSON_Delete(o);
	ck_assert_int_eq(t_sess_get(other, IDLE_MIN, MAX_HOURS, &o), 1);
	ck_assert_int_eq(boolv(o, "has_flash"), 0);
	cJSON_Delete(o);

	ck_assert_int_eq(t_take_flash(h, &o), 1);
	ck_assert_str_eq(str(o, "flash_kind"), "ok");
	ck_assert_str_eq(str(o, "flash"), "Server created.");
	cJSON_Delete(o);
	/* Taken: cleared. */
	ck_assert_int_eq(t_sess_get(h, IDLE_MIN, MAX_HOURS, &o), 1);
	ck_assert_int_eq(boolv(o, "has_flash"), 0);
	cJSON_Delete(o);
	/* Taking again finds nothing: either no row or a null flash. */
	switch (t_take_flash(h, &o)) {
	case 0:
		ck_assert_ptr_null(o);
		break;
	case 1:
		is_null(o, "flash");
		is_null(o, "flash_kind");
		cJSON_Delete(o);
		break;
	default:
		ck_abort_msg("m_sess_take_flash failed");
	}
	ck_assert_int_eq(num2("SELECT count(*) FROM sessions WHERE id_hash = $1 "
	    "AND flash IS NULL AND flash_kind IS NULL", h, NULL), 1);

	/* The last flash wins; an unknown kind is refused. */
	ck_assert_int_eq(m_sess_set_flash(&db, h, "ok", "first"), 0);
	ck_assert_int_eq(m_sess_set_flash(&db, h, "error", "second"), 0);
	ck_assert_int_eq(m_sess_set_flash(&db, h, "warning", "third"), 1);
	ck_assert_str_eq(db_constraint(&db), "sessions_flash_kind_check");
	ck_assert_int_eq(t_take_flash(h, &o), 1);
	ck_assert_str_eq(str(o, "flash_kind"), "error");
	ck_assert_str_eq(str(o, "flash"), "second");
	cJSON_Delete(o);

	/* No such session. */
	new_hash(other);
	ck_assert_int_eq(t_take_flash(other, &o), 0);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(session_purge)
{
	char		 user[96], fresh[65], idle[65], old[65];
	long long	 uid;

	uid = new_user(user, sizeof(user));
	new_hash(fresh);
	new_hash(idle);
	new_hash(old);
	ck_assert_int_eq(m_sess_insert(&db, fresh, uid, "192.0.2.9"), 0);
	ck_assert_int_eq(m_sess_insert(&db, idle, uid, "192.0.2.9"), 0);
	ck_assert_int_eq(m_sess_insert(&db, old, uid, "192.0.2.9"), 0);
	exec2("UPDATE sessions SET last_seen_at = now() - interval '31 minutes' "
	    "WHERE id_hash = $1", idle, NULL);
	exec2("UPDATE sessions SET created_at = now() - interval '13 hours' "
	    "WHERE id_hash = $1", old, NULL);

	ck_assert_int_eq(m_sess_purge(&db, IDLE_MIN, MAX_HOURS), 0);
	ck_assert_int_eq(sess_exists(fresh), 1);
	ck_assert_int_eq(sess_exists(idle), 0);
	ck_assert_int_eq(sess_exists(old), 0);
	ck_assert_int_eq(num2("SELECT count(*) FROM sessions WHERE "
	    "now() - last_seen_at > interval '30 minutes' OR "
	    "now() - created_at > interval '12 hours'", NULL, NULL), 0);
	/* Again: nothing left to purge is not an error. */
	ck_assert_int_eq(m_sess_purge(&db, IDLE_MIN, MAX_HOURS), 0);
	ck_assert_int_eq(sess_exists(fresh), 1);
}
END_TEST

START_TEST(login_counts)
{
	char		 u[96], v[96], addr[96], addr2[96];
	long long	 by_user = -1, by_addr = -1;

	uniq(u, sizeof(u), "lu");
	uniq(v, sizeof(v), "lv");
	uniq(addr, sizeof(addr), "addr");
	uniq(addr2, sizeof(addr2), "addr");
	ck_assert_int_eq(m_login_failures(&db, u, addr, &by_user, &by_addr), 0);
	ck_assert_int_eq(by_user, 0);
	ck_assert_int_eq(by_addr, 0);

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(m_login_record(&db, u, addr, 0), 0);
	ck_assert_int_eq(m_login_record(&db, u, addr, 1), 0);	/* not counted */
	ck_assert_int_eq(m_login_record(&db, v, addr, 0), 0);
	ck_assert_int_eq(m_login_record(&db, v, addr, 0), 0);
	ck_assert_int_eq(m_login_record(&db, u, addr2, 0), 0);
	ck_assert_int_eq(num2("SELECT count(*) FROM login_attempts WHERE "
	    "username = $1 AND success", u, NULL), 1);

	ck_assert_int_eq(m_login_failures(&db, u, addr, &by_user, &by_addr), 0);
	ck_assert_int_eq(by_user, 4);		/* from both addresses */
	ck_assert_int_eq(by_addr, 5);		/* of both users */
	ck_assert_int_eq(m_login_failures(&db, v, addr2, &by_user, &by_addr), 0);
	ck_assert_int_eq(by_user, 2);
	ck_assert_int_eq(by_addr, 1);

	/* Failures older than an hour no longer count. */
	exec2("UPDATE login_attempts SET at = now() - interval '61 minutes' "
	    "WHERE username = $1 AND address = $2", u, addr);
	ck_assert_int_eq(m_login_failures(&db, u, addr, &by_user, &by_addr), 0);
	ck_assert_int_eq(by_user, 1);
	ck_assert_int_eq(by_addr, 2);
}
END_TEST

int
main(void)
{
	Suite	*s;
	TCase	*tc;
	const char *conn = getenv("KS_PGCONN");

	if (conn == NULL || conn[0] == '\0') {
		fprintf(stderr, "check_model: KS_PGCONN is not set: this test "
		    "needs the test stack's PostgreSQL (run it through "
		    "tests/run.sh)\n");
		return EXIT_FAILURE;
	}
	/* The malformed-UUID cases log a warning each (db.c logs every
	 * failure that is not a refusal): those lines are expected. */
	log_setprog("check_model");
	snprintf(run, sizeof(run), "m%lxp%d", (long)time(NULL), (int)getpid());
	s = suite_create("model");
	tc = tcase_create("model");
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_unchecked_fixture(tc, NULL, cleanup_run);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, row_types);
	tcase_add_test(tc, exec_many_pipeline);
	tcase_add_test(tc, user_insert_get);
	tcase_add_test(tc, typed_rows);
	tcase_add_test(tc, server_crud);
	tcase_add_test(tc, server_refusals);
	tcase_add_test(tc, server_unknown_uuid);
	tcase_add_test(tc, server_list_orders);
	tcase_add_test(tc, server_ages);
	tcase_add_test(tc, age_inlined);
	tcase_add_test(tc, server_delete_in_use);
	tcase_add_test(tc, app_crud);
	tcase_add_test(tc, app_list_orders);
	tcase_add_test(tc, env_insert_servers);
	tcase_add_test(tc, env_insert_repeated_servers);
	tcase_add_test(tc, env_insert_unknown_server);
	tcase_add_test(tc, env_unique_name);
	tcase_add_test(tc, env_build_location);
	tcase_add_test(tc, env_update_servers);
	tcase_add_test(tc, artifact_list_total);
	tcase_add_test(tc, session_get_limits);
	tcase_add_test(tc, session_unknown_user);
	tcase_add_test(tc, session_flash);
	tcase_add_test(tc, session_purge);
	tcase_add_test(tc, login_counts);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
