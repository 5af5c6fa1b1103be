/*
 * Migrations against the real PostgreSQL of the test stack ($KS_PGCONN):
 * idempotent, one transaction per file, a failing file leaves no trace.
 * Runs in a scratch schema so the application's tables are not touched.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "migrate.h"
#include "testutil.h"

static char	 dir[] = "/tmp/ks-mig-XXXXXX";
static char	 schema[64];
static struct db db;

static void
put(const char *name, const char *sql)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(sql, f);
	fclose(f);
}

static long
scalar(const char *sql)
{
	PGresult	*res = PQexec(db.conn, sql);
	long		 v;

	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	v = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void
setup(void)
{
	const char	*conn = getenv("KS_PGCONN");
	char		 ci[1200], sql[256];

	ck_assert_msg(conn != NULL, "KS_PGCONN is not set: run through tests/run.sh");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(schema, sizeof(schema), "ks_mig_%d", (int)getpid());
	ck_assert_int_eq(db_open(&db, conn), 0);
	snprintf(sql, sizeof(sql), "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s",
	    schema, schema);
	ck_assert_int_eq(db_simple(&db, sql), 0);
	db_close(&db);
	snprintf(ci, sizeof(ci), "%s options='-csearch_path=%s -cclient_min_messages=warning'", conn, schema);
	ck_assert_int_eq(db_open(&db, ci), 0);
}

static void
teardown(void)
{
	char	 sql[128], cmd[128];

	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
	(void)db_simple(&db, sql);
	db_close(&db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

START_TEST(applies_in_order_once)
{
	put("002_second.sql", "ALTER TABLE t ADD COLUMN b int;");
	put("001_first.sql", "CREATE TABLE t (a int);");
	put("README", "not a migration");
	put("3_bad_name.sql", "this is not run");
	ck_assert_int_eq(migrate_run(&db, dir), 2);
	ck_assert_int_eq(scalar("SELECT count(*) FROM schema_migrations"), 2);
	ck_assert_int_eq(scalar("SELECT count(*) FROM information_schema.columns "
	    "WHERE table_name = 't' AND column_name = 'b' AND table_schema = current_schema()"), 1);
	/* Idempotent. */
	ck_assert_int_eq(migrate_run(&db, dir), 0);
	ck_assert_int_eq(scalar("SELECT count(*) FROM schema_migrations"), 2);
	put("003_third.sql", "CREATE TABLE u (x int);");
	ck_assert_int_eq(migrate_run(&db, dir), 1);
	ck_assert_int_eq(scalar("SELECT max(version) FROM schema_migrations"), 3);
}
END_TEST

START_TEST(failing_file_leaves_no_trace)
{
	put("001_ok.sql", "CREATE TABLE t (a int);");
	/* The first statement succeeds, the second fails: both roll back. */
	put("002_broken.sql", "CREATE TABLE half (a int); SELECT no_such_function();");
	ck_assert_int_eq(migrate_run(&db, dir), -1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM schema_migrations"), 1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM information_schema.tables "
	    "WHERE table_name = 'half' AND table_schema = current_schema()"), 0);
	put("002_broken.sql", "CREATE TABLE half (a int);");
	ck_assert_int_eq(migrate_run(&db, dir), 1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM schema_migrations"), 2);
}
END_TEST

/* Copies sql/NAME into the scratch directory. */
static void
put_real(const char *name)
{
	char	 path[256], *sql;

	snprintf(path, sizeof(path), "sql/%s", name);
	ck_assert_msg((sql = tu_slurp(path, NULL)) != NULL, "cannot read %s", path);
	put(name, sql);
	free(sql);
}

/* 007: names of attempts that match no account, recorded as typed before,
 * are redacted; accounts' names and keyed-hash forms stay. */
START_TEST(login_names_redacted)
{
	static const char *const before[] = { "001_init.sql",
	    "002_list_counts.sql", "003_operations.sql", "004_registry.sql",
	    "005_provision.sql", "006_age_inline.sql" };

	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		put_real(before[i]);
	ck_assert_int_eq(migrate_run(&db, dir), 6);
	ck_assert_int_eq(db_simple(&db, "INSERT INTO users (username, "
	    "password_hash) VALUES ('alice', 'x'); INSERT INTO login_attempts "
	    "(username, address, success) VALUES ('alice', '192.0.2.1', false), "
	    "('Hunter2-typed-pw', '192.0.2.1', false), "
	    "('?0123456789abcdef', '192.0.2.1', false)"), 0);
	put_real("007_login_names.sql");
	ck_assert_int_eq(migrate_run(&db, dir), 1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM login_attempts WHERE "
	    "username = 'alice'"), 1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM login_attempts WHERE "
	    "username = '?0123456789abcdef'"), 1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM login_attempts WHERE "
	    "username = '?'"), 1);
	ck_assert_int_eq(scalar("SELECT count(*) FROM login_attempts WHERE "
	    "username LIKE '%Hunter2%'"), 0);
	/* Still counted against the address. */
	ck_assert_int_eq(scalar("SELECT count(*) FROM login_attempts WHERE "
	    "address = '192.0.2.1' AND NOT success"), 3);
}
END_TEST

START_TEST(real_schema_is_current)
{
	/* The stack's own database: every file in sql/ applied, none pending. */
	struct db	 app;

	ck_assert_int_eq(db_open(&app, getenv("KS_PGCONN")), 0);
	ck_assert_int_eq(migrate_run(&app, "sql"), 0);
	db_close(&app);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("migrate");
	TCase	*tc = tcase_create("migrate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, applies_in_order_once);
	tcase_add_test(tc, failing_file_leaves_no_trace);
	tcase_add_test(tc, login_names_redacted);
	tcase_add_test(tc, real_schema_is_current);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
