/*
 * Plans (lib/ops/plan.c) and transactions (lib/db/db.c) on the test stack's
 * database, with real keystone-spooler processes for the dependencies:
 * a nested transaction is refused, a plan whose last write fails leaves
 * nothing behind, an operation that depends on two others waits for both
 * (and fails without running when one of them failed), registry
 * provisioning is created whole or not at all, and lib/domain/reg.c reads its
 * rows (the registry's, credentials, nodes, the gate's and the
 * scheduler's) into the right fields.
 * Needs the test stack: $KS_PGCONN, $KS_DIR (config, master key), $KS_BUILD.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config.h"
#include "db.h"
#include "op.h"
#include "plan.h"
#include "reg.h"
#include "testutil.h"
#include "tu_spool.h"

static long long
count(const char *sql)
{
	PGresult	*res = ts_q(sql, 0, NULL);
	long long	 n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

	PQclear(res);
	return n;
}

/* Every row a plan writes, in one number per table ("ops/steps/..."). */
static void
rows(char *out, size_t sz)
{
	PGresult *res = ts_q("SELECT (SELECT count(*) FROM operations) || '/' || "
	    "(SELECT count(*) FROM operation_steps) || '/' || "
	    "(SELECT count(*) FROM operation_secrets) || '/' || "
	    "(SELECT count(*) FROM operation_deps)", 0, NULL);

	snprintf(out, sz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* Seconds since the epoch of an operation's timestamp column. */
static double
epoch(long long id, const char *col)
{
	char	 expr[128], v[64];

	snprintf(expr, sizeof(expr), "extract(epoch FROM %s)", col);
	ts_op_field(id, expr, v, sizeof(v));
	return atof(v);
}

static int
add_op(struct plan *pl, const char *script)
{
	struct op_in	 in = { "deploy", "none", 0, 0, 0, 0, 0, 0 };
	struct op_step_in s = { "run", "control_node", 0, script, 0, 60 };
	int		 op = plan_op(pl, &in);

	ck_assert_int_ge(op, 0);
	ck_assert_ptr_nonnull(plan_step(pl, op, &s));
	return op;
}

static void
expect_status(long long id, const char *want)
{
	char	 st[32], err[256];

	ts_wait_done(id, 60, st, sizeof(st));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strcmp(st, want) == 0, "operation %lld: %s, not %s (%s)", id,
	    st, want, err);
}

/* ---------------------------------------------------------------- tests */

START_TEST(nested_transaction_refused)
{
	struct plan	*pl;
	char		 before[64], after[64];
	const char	*p[] = { "not-a-uuid" };

	rows(before, sizeof(before));
	ck_assert_int_eq(db_tx_begin(&ts_db), 0);
	/* A second one, and anything that makes its own (a plan), refused... */
	ck_assert_int_eq(db_tx_begin(&ts_db), -1);
	ck_assert_int_eq(db_tx_snapshot(&ts_db), -1);
	pl = plan_new();
	add_op(pl, "true");
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), -1);
	ck_assert_int_eq(plan_id(pl, 0), 0);
	plan_free(pl);
	/* ...while the open one goes on: still in it, then rolled back. */
	ck_assert_int_eq(PQtransactionStatus(ts_db.conn), PQTRANS_INTRANS);
	PQclear(ts_q("INSERT INTO operations (kind, subject_type) VALUES "
	    "('deploy', 'none')", 0, NULL));
	db_tx_rollback(&ts_db);
	ck_assert_int_eq(PQtransactionStatus(ts_db.conn), PQTRANS_IDLE);
	rows(after, sizeof(after));
	ck_assert_str_eq(after, before);
	/* A transaction a failed statement aborted does not commit (its
	 * COMMIT answers ROLLBACK), and the failure's sqlstate is kept. */
	ck_assert_int_eq(db_tx_begin(&ts_db), 0);
	ck_assert_ptr_null(db_exec(&ts_db, ST_OP_GET, 1, p));
	ck_assert_str_eq(ts_db.sqlstate, "22P02");
	ck_assert_int_eq(db_tx_commit(&ts_db), -1);
	ck_assert_int_eq(PQtransactionStatus(ts_db.conn), PQTRANS_IDLE);
	ck_assert_int_eq(db_tx_begin(&ts_db), 0);
	ck_assert_ptr_null(db_exec(&ts_db, ST_OP_GET, 1, p));
	db_tx_rollback(&ts_db);
	ck_assert_str_eq(ts_db.sqlstate, "22P02");
	/* Ending what is not open is harmless, and a new one opens. */
	db_tx_rollback(&ts_db);
	ck_assert_int_eq(db_tx_commit(&ts_db), -1);
	ck_assert_int_eq(db_tx_begin(&ts_db), 0);
	ck_assert_int_eq(db_tx_commit(&ts_db), 0);
}
END_TEST

/* Three operations with dependencies, secrets and references; the last
 * write (the third operation's step) is refused by the database: nothing
 * of the plan stays. */
START_TEST(failing_plan_leaves_nothing)
{
	struct op_step_in bad = { "nowhere", "no_such_target", 0, "true", 0, 60 };
	struct plan	*pl = plan_new();
	char		 before[64], after[64];
	int		 a, b, c;

	rows(before, sizeof(before));
	a = add_op(pl, "true");
	plan_secret(pl, a, "TOKEN", "s3cret-canary");
	b = add_op(pl, "true");
	plan_ref(pl, b, "BUILD_PASSWORD", "registry_credentials/build");
	plan_dep(pl, b, a, PLAN_NEEDS);
	c = add_op(pl, "true");
	plan_dep(pl, c, a, PLAN_NEEDS);
	plan_dep(pl, c, b, PLAN_AFTER);
	ck_assert_ptr_nonnull(plan_step(pl, c, &bad));
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), -1);
	rows(after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(plan_id(pl, a), 0);
	ck_assert_int_eq(PQtransactionStatus(ts_db.conn), PQTRANS_IDLE);
	plan_free(pl);

	/* A plan that cannot be built (a dependency on a later operation)
	 * is refused before anything is written. */
	pl = plan_new();
	a = add_op(pl, "true");
	b = add_op(pl, "true");
	plan_dep(pl, a, b, PLAN_NEEDS);
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), -1);
	plan_free(pl);
	rows(after, sizeof(after));
	ck_assert_str_eq(after, before);

	/* The same plan without the bad step: all of it, in one go. */
	pl = plan_new();
	a = add_op(pl, "true");
	plan_secret(pl, a, "TOKEN", "s3cret-canary");
	b = add_op(pl, "true");
	plan_dep(pl, b, a, PLAN_NEEDS);
	c = add_op(pl, "true");
	plan_dep(pl, c, a, PLAN_NEEDS);
	plan_dep(pl, c, b, PLAN_AFTER);
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), 0);
	ck_assert_int_gt(plan_id(pl, a), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM operation_deps"), 3 +
	    strtoll(strrchr(before, '/') + 1, NULL, 10));
	{
		char ids[2][24];
		const char *p[] = { ids[0], ids[1] };
		PGresult *res;
		snprintf(ids[0], sizeof(ids[0]), "%lld", plan_id(pl, c));
		snprintf(ids[1], sizeof(ids[1]), "%lld", plan_id(pl, a));
		/* The operation page's column: the first one it needs. */
		res = ts_q("SELECT depends_on = $2::bigint, (SELECT string_agg("
		    "require_success::text, ',' ORDER BY depends_on) FROM operation_deps "
		    "WHERE operation_id = $1::bigint) FROM operations WHERE id = $1::bigint",
		    2, p);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
		ck_assert_str_eq(PQgetvalue(res, 0, 1), "true,false");
		PQclear(res);
	}
	PQclear(ts_q("UPDATE operations SET status = 'cancelled' WHERE status = "
	    "'queued'", 0, NULL));
	plan_free(pl);
}
END_TEST

/* C needs A and B: it waits for both, then runs. */
START_TEST(waits_for_both)
{
	struct plan	*pl = plan_new();
	int		 a, b, c;
	long long	 ia, ib, ic;

	a = add_op(pl, "sleep 1");
	b = add_op(pl, "sleep 3");
	c = add_op(pl, "echo ran");
	plan_dep(pl, c, a, PLAN_NEEDS);
	plan_dep(pl, c, b, PLAN_NEEDS);
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), 0);
	ia = plan_id(pl, a);
	ib = plan_id(pl, b);
	ic = plan_id(pl, c);
	plan_free(pl);
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=3");
	expect_status(ic, "succeeded");
	expect_status(ia, "succeeded");
	expect_status(ib, "succeeded");
	ck_assert_msg(epoch(ic, "started_at") >= epoch(ia, "finished_at") &&
	    epoch(ic, "started_at") >= epoch(ib, "finished_at"),
	    "C started before both of A and B ended");
	/* A and B ran side by side (three workers): B, the longer, was
	 * running when A ended. */
	ck_assert_msg(epoch(ib, "started_at") < epoch(ia, "finished_at"),
	    "A and B did not run in parallel");
}
END_TEST

/* C needs A and B; B fails: C fails without running, with the reason. D
 * only comes after B: it runs all the same. */
START_TEST(fails_when_one_failed)
{
	struct plan	*pl = plan_new();
	char		 script[512], st[32], err[256];
	int		 a, b, c, d;
	long long	 ic, id;

	snprintf(script, sizeof(script), "touch '%s/c-ran'", ts_tmp);
	a = add_op(pl, "true");
	b = add_op(pl, "sleep 1; exit 3");
	c = add_op(pl, script);
	plan_dep(pl, c, a, PLAN_NEEDS);
	plan_dep(pl, c, b, PLAN_NEEDS);
	d = add_op(pl, "echo after");
	plan_dep(pl, d, b, PLAN_AFTER);
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), 0);
	ic = plan_id(pl, c);
	id = plan_id(pl, d);
	plan_free(pl);
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	expect_status(ic, "failed");
	ts_op_field(ic, "error", err, sizeof(err));
	ck_assert_str_eq(err, "the operation it waited for did not succeed");
	ts_op_field(ic, "started_at", st, sizeof(st));
	ck_assert_msg(st[0] == '\0', "C was started at %s", st);
	ts_step_field(ic, 1, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	snprintf(script, sizeof(script), "%s/c-ran", ts_tmp);
	ck_assert_msg(access(script, F_OK) == -1, "C's step ran");
	expect_status(id, "succeeded");
}
END_TEST

/* A cancelled dependency fails what needs it, too. */
START_TEST(fails_when_one_cancelled)
{
	struct plan	*pl = plan_new();
	int		 a, b;
	long long	 ia, ib;

	a = add_op(pl, "true");
	b = add_op(pl, "true");
	plan_dep(pl, b, a, PLAN_NEEDS);
	ck_assert_int_eq(plan_commit(&ts_db, pl, ts_sealkey), 0);
	ia = plan_id(pl, a);
	ib = plan_id(pl, b);
	plan_free(pl);
	{
		char ids[24];
		const char *p[] = { ids };
		snprintf(ids, sizeof(ids), "%lld", ia);
		PQclear(ts_q("UPDATE operations SET status = 'cancelled', "
		    "finished_at = now() WHERE id = $1::bigint", 1, p));
	}
	ts_spooler_start(NULL);
	expect_status(ib, "failed");
}
END_TEST

/* ------------------------------------------------------- the registry */

static struct config	 cfg;
static long long	 base;	/* operations up to this id are not ours */

/* SQL on a connection of its own, for the suite's cleanup in the parent
 * (which runs even when a test failed half-way). */
static void
parent_sql(const char *sql)
{
	PGconn		*c = PQconnectdb(getenv("KS_PGCONN"));
	PGresult	*res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "cleanup: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
}

/* Before the registry tests, in the parent: none of them may find a
 * registry (tests/run.sh runs this program before any that sets one up),
 * nor the fault a failed earlier run could have left. */
static void
reg_clean(void)
{
	parent_sql("SET client_min_messages = warning; "
	    "DROP TRIGGER IF EXISTS ks_test_refuse_check ON operations; "
	    "DROP FUNCTION IF EXISTS ks_test_refuse_check(); "
	    /* What the tests queued must never run (the next program's
	     * spooler would take it). */
	    "DELETE FROM operations WHERE kind IN ('registry', 'registry_auth') "
	    " OR (kind = 'check' AND subject_type = 'registry'); "
	    "DELETE FROM registry_checks; DELETE FROM registry_credentials; "
	    "DELETE FROM registry; DELETE FROM servers WHERE name LIKE 'reg-row-%'");
}

static void
reg_setup_fixture(void)
{
	char	 path[512], err[256];

	ts_setup();
	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/keystone.conf", ts_dir);
	ck_assert_msg(config_load(&cfg, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(count("SELECT count(*) FROM registry"), 0);
	base = count("SELECT coalesce(max(id), 0) FROM operations");
}

static void
reg_teardown_fixture(void)
{
	config_release(&cfg);
	ts_teardown();
}

/* How many of the operations made since the test began match where. */
static long long
ours(const char *where)
{
	char		 sql[1024], b[24];
	const char	*p[] = { b };
	PGresult	*res;
	long long	 n;

	snprintf(b, sizeof(b), "%lld", base);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM operations o WHERE o.id > "
	    "$1::bigint AND (%s)", where);
	res = ts_q(sql, 1, p);
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* The last operation of registry provisioning (the check) is refused by
 * the database: neither the registry's operation nor any sign-in stays
 * queued, and the registry is not marked provisioning. Without the fault
 * all of them are queued at once, with their dependencies. */
START_TEST(registry_provisioning_whole)
{
	char		 uuid[40], err[256], before[64], after[64];
	long long	 nauth;
	PGresult	*res;
	int		 rc;

	ck_assert_msg(reg_setup(&ts_db, &cfg, ts_sealkey, "registry.plan.test",
	    NULL, err, sizeof(err)) == 0, "%s", err);
	PQclear(ts_q("CREATE OR REPLACE FUNCTION ks_test_refuse_check() RETURNS "
	    "trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test: no check'; "
	    "END $$", 0, NULL));
	PQclear(ts_q("CREATE TRIGGER ks_test_refuse_check BEFORE INSERT ON operations "
	    "FOR EACH ROW WHEN (NEW.kind = 'check') EXECUTE FUNCTION "
	    "ks_test_refuse_check()", 0, NULL));
	rows(before, sizeof(before));
	rc = reg_plan_provision(&ts_db, &cfg, ts_sealkey, 0, uuid, err, sizeof(err));
	/* At once: nothing else may meet the fault. */
	PQclear(ts_q("DROP TRIGGER ks_test_refuse_check ON operations", 0, NULL));
	ck_assert_int_eq(rc, -1);
	rows(after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(ours("true"), 0);
	res = ts_q("SELECT state FROM registry", 0, NULL);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "missing");
	PQclear(res);

	ck_assert_msg(reg_plan_provision(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)) == 0, "%s", err);
	nauth = ours("o.kind = 'registry_auth'");
	ck_assert_int_ge(nauth, 1);
	ck_assert_int_eq(ours("o.kind = 'registry'"), 1);
	ck_assert_int_eq(ours("o.kind = 'check'"), 1);
	ck_assert_int_eq(ours("true"), nauth + 2);
	/* The uuid is the registry's operation (the page shows it). */
	{
		const char *p[] = { uuid };
		res = ts_q("SELECT kind FROM operations WHERE uuid = $1::uuid", 1, p);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "registry");
		PQclear(res);
	}
	/* Each sign-in needs the registry's operation; the check comes after
	 * the registry's and every sign-in, however they end. */
	ck_assert_int_eq(ours("o.kind = 'registry_auth' AND EXISTS (SELECT 1 FROM "
	    "operation_deps x JOIN operations r ON r.id = x.depends_on WHERE "
	    "x.operation_id = o.id AND r.kind = 'registry' AND x.require_success "
	    "AND o.depends_on = r.id)"), nauth);
	{
		char w[512];
		snprintf(w, sizeof(w), "o.kind = 'check' AND (SELECT count(*) FROM "
		    "operation_deps x JOIN operations d ON d.id = x.depends_on WHERE "
		    "x.operation_id = o.id AND NOT x.require_success AND d.id > %lld "
		    "AND d.kind IN ('registry', 'registry_auth')) = %lld", base,
		    nauth + 1);
		ck_assert_int_eq(ours(w), 1);
	}

	/* A check asked for while they are queued comes after them too. */
	ck_assert_msg(reg_plan_check(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)) == 0, "%s", err);
	{
		const char *p[] = { uuid };
		res = ts_q("SELECT count(*) FROM operations c JOIN operation_deps x "
		    "ON x.operation_id = c.id WHERE c.uuid = $1::uuid AND NOT "
		    "x.require_success", 1, p);
		ck_assert_int_eq(strtoll(PQgetvalue(res, 0, 0), NULL, 10), nauth + 1);
		PQclear(res);
	}
}
END_TEST

/* The sign-in on every node: one transaction, and nothing when the
 * registry is not set up. */
START_TEST(sign_in_everywhere_whole)
{
	char	 uuid[40], err[256];

	ck_assert_int_eq(reg_plan_auth_all(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "The managed registry is not set up yet.");
	ck_assert_int_eq(ours("true"), 0);
	ck_assert_msg(reg_setup(&ts_db, &cfg, ts_sealkey, "registry.plan.test",
	    NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(reg_plan_auth_all(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(ours("o.kind = 'registry_auth'"), count("SELECT count(*) "
	    "FROM servers WHERE host_key IS NOT NULL AND status <> 'disabled' AND "
	    "(role_build OR role_runtime)") + 1);	/* and the control node */
	ck_assert_int_eq(ours("o.kind <> 'registry_auth'"), 0);
}
END_TEST

/* reg_load's struct from the row registry_rows_typed stores. */
static void
reg_is(int insecure, int pull_only, const char *state, const char *reason)
{
	struct reg	 r;

	ck_assert_int_eq(reg_load(&ts_db, &r), 1);
	ck_assert_str_eq(r.hostname, "registry.row.test:5443");
	ck_assert_str_eq(r.storage, "/mnt/row");
	ck_assert_str_eq(r.listen, "127.0.0.7:5007");
	ck_assert_int_eq(r.insecure, insecure);
	ck_assert_int_eq(r.pull_only, pull_only);
	ck_assert_str_eq(r.state, state);
	ck_assert_str_eq(r.reason, reason);
	reg_free(&r);
}

/* reg_load's struct from a known row (and from none), and what lib/domain/reg.c
 * reads through its typed rows: the gate's reasons, the scheduler's due
 * flag, the credentials, one server's sign-in (its node row). */
START_TEST(registry_rows_typed)
{
	struct reg	 r;
	char		 name[64], addr[64], sid[24], want[512], reason[512];
	char		 user[64], pw[128], uuid[40], err[256];
	const char	*p[] = { name, addr }, *ip[] = { sid };
	const char	*roles[] = { "build", "runtime" };
	const char	*users[] = { REG_BUILD_USER, REG_RUNTIME_USER };
	long long	 id;
	PGresult	*res;

	/* No row: "missing" and nothing else. */
	ck_assert_int_eq(reg_load(&ts_db, &r), 0);
	ck_assert_str_eq(r.state, "missing");
	ck_assert_ptr_null(r.hostname);
	ck_assert_ptr_null(r.storage);
	ck_assert_ptr_null(r.listen);
	ck_assert_ptr_null(r.reason);
	ck_assert_int_eq(r.insecure, 0);
	ck_assert_int_eq(r.pull_only, 0);
	reg_free(&r);
	ck_assert_ptr_null(r.state);
	snprintf(name, sizeof(name), "reg-row-%d", (int)getpid());
	snprintf(addr, sizeof(addr), "reg-row-%d.test", (int)getpid());
	res = ts_q("INSERT INTO servers (name, address, role_build, role_runtime) "
	    "VALUES ($1, $2, false, true) RETURNING id", 2, p);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	snprintf(sid, sizeof(sid), "%lld", id);
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
	    sizeof(reason)), 1);
	ck_assert_str_eq(reason, "The managed registry is missing: provision it "
	    "on the Registry page before building or deploying.");
	ck_assert_int_eq(reg_check_due(&ts_db, 15), 0);

	/* A known row (reg_setup makes it and the credentials). */
	ck_assert_msg(reg_setup(&ts_db, &cfg, ts_sealkey, "registry.row.test",
	    NULL, err, sizeof(err)) == 0, "%s", err);
	PQclear(ts_q("UPDATE registry SET hostname = 'registry.row.test:5443', "
	    "storage_path = '/mnt/row', listen = '127.0.0.7:5007', insecure = true, "
	    "pull_only = false, state = 'unhealthy', state_reason = 'disk full', "
	    "checked_at = now() - interval '1 hour'", 0, NULL));
	reg_is(1, 0, "unhealthy", "disk full");
	/* No cell of its own yet: never checked. */
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
	    sizeof(reason)), 1);
	ck_assert_str_eq(reason, "The managed registry has not been checked "
	    "yet: run a check on the Registry page.");
	/* Checked an hour ago, nothing queued (ts_setup cancelled it all). */
	ck_assert_int_eq(reg_check_due(&ts_db, 15), 1);
	ck_assert_int_eq(reg_check_due(&ts_db, 120), 0);
	ck_assert_int_eq(reg_plan_auth(&ts_db, &cfg, ts_sealkey, id, 0, 0, uuid,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "Plain-HTTP registries (local development, "
	    "insecure) are not supported by this version.");

	/* Ready without a reason; the server has no check yet, then a failed
	 * one, then passing ones (https, and pull: it is a runtime server). */
	PQclear(ts_q("UPDATE registry SET insecure = false, pull_only = true, "
	    "state = 'ready', state_reason = NULL", 0, NULL));
	reg_is(0, 1, "ready", "");
	/* The registry's own cells on the control node (refused: pull-only). */
	PQclear(ts_q("INSERT INTO registry_checks (node, check_name, ok, message) "
	    "VALUES ('control', 'service', true, ''), ('control', 'push_api', "
	    "true, ''), ('control', 'pull_api', true, ''), ('control', 'refused', "
	    "false, 'the runtime credential pushed')", 0, NULL));
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
	    sizeof(reason)), 1);
	ck_assert_str_eq(reason, "The managed registry is not working on the "
	    "control node (refused): the runtime credential pushed");
	PQclear(ts_q("UPDATE registry_checks SET ok = true, message = '' "
	    "WHERE node = 'control'", 0, NULL));
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
	    sizeof(reason)), 1);
	snprintf(want, sizeof(want), "The managed registry is unreachable from "
	    "%s: no registry check has run on it yet", name);
	ck_assert_str_eq(reason, want);
	PQclear(ts_q("INSERT INTO registry_checks (node, check_name, server_id, ok, "
	    "message) VALUES ('server:' || $1, 'https', $1::bigint, false, "
	    "'certificate not trusted'), ('server:' || $1, 'pull', $1::bigint, "
	    "true, '')", 1, ip));
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
	    sizeof(reason)), 1);
	snprintf(want, sizeof(want), "The managed registry is unreachable from "
	    "%s: certificate not trusted", name);
	ck_assert_str_eq(reason, want);
	PQclear(ts_q("UPDATE registry_checks SET ok = true WHERE server_id = "
	    "$1::bigint", 1, ip));
	ck_assert_msg(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
	    sizeof(reason)) == 0, "%s", reason);
	ck_assert_str_eq(reason, "");

	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(reg_credential(&ts_db, ts_sealkey, roles[i], user,
		    sizeof(user), pw, sizeof(pw)), 0);
		ck_assert_str_eq(user, users[i]);
		ck_assert_uint_eq(strlen(pw), 43);	/* 256 bits, base64url */
	}
	ck_assert_int_eq(reg_credential(&ts_db, ts_sealkey, "nobody", user,
	    sizeof(user), pw, sizeof(pw)), -1);

	/* One server's sign-in: not while its key is unpinned; pinned, one
	 * operation for it, with the runtime credential (its node row). */
	ck_assert_int_eq(reg_plan_auth(&ts_db, &cfg, ts_sealkey, id, 0, 0, uuid,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "That server has no pinned host key or no role.");
	PQclear(ts_q("UPDATE servers SET host_key = 'ssh-ed25519 AAAAC3NzaC1lZDI1"
	    "NTE5AAAAIBy0S7GMqnp9rb3BGGuEuXd3Gs6JtWq0u4sY4sS0O6mX', "
	    "host_key_sha256 = 'SHA256:reg-row' WHERE id = $1::bigint", 1, ip));
	ck_assert_msg(reg_plan_auth(&ts_db, &cfg, ts_sealkey, id, 0, 0, uuid, err,
	    sizeof(err)) == 0, "%s", err);
	snprintf(want, sizeof(want), "o.kind = 'registry_auth' AND o.subject_type "
	    "= 'server' AND o.subject_id = %lld AND o.uuid = '%s' AND EXISTS ("
	    "SELECT 1 FROM operation_steps s WHERE s.operation_id = o.id AND "
	    "s.server_id = o.subject_id AND strpos(s.script, 'REG_USER=''%s''') > 0)",
	    id, uuid, REG_RUNTIME_USER);
	ck_assert_int_eq(ours(want), 1);
	ck_assert_int_eq(ours("true"), 1);
}
END_TEST

/* A server for the gate test (reg_clean removes it); its id. */
static long long
gate_server(const char *tag, int build, int runtime, char *name, size_t sz)
{
	char		 addr[80];
	const char	*p[] = { name, addr, build ? "t" : "f", runtime ? "t" : "f" };
	PGresult	*res;
	long long	 id;

	snprintf(name, sz, "reg-row-%d-%s", (int)getpid(), tag);
	snprintf(addr, sizeof(addr), "%s.test", name);
	res = ts_q("INSERT INTO servers (name, address, role_build, role_runtime) "
	    "VALUES ($1, $2, $3::boolean, $4::boolean) RETURNING id", 4, p);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

/* One cell of the matrix (server 0: the control node), as a check sets it. */
static void
gate_cell_is(long long server, const char *check, int ok, const char *msg)
{
	char		 sid[24];
	const char	*p[] = { sid, check, ok ? "t" : "f", msg };

	snprintf(sid, sizeof(sid), "%lld", server);
	PQclear(ts_q("INSERT INTO registry_checks (node, check_name, server_id, ok, "
	    "message) VALUES (CASE WHEN $1::bigint = 0 THEN 'control' ELSE "
	    "'server:' || $1 END, $2, nullif($1::bigint, 0), $3::boolean, $4) "
	    "ON CONFLICT (node, check_name) DO UPDATE SET ok = EXCLUDED.ok, "
	    "message = EXCLUDED.message", 4, p));
}

static void
gate_is(long long build, const long long *rt, size_t n, int want,
    const char *want_reason)
{
	char	 reason[512];
	int	 rc;

	rc = reg_gate(&ts_db, build, rt, n, reason, sizeof(reason));
	ck_assert_msg(rc == want, "build %lld, %zu runtime: %d, want %d (%s)",
	    build, n, rc, want, reason);
	if (want_reason != NULL)
		ck_assert_str_eq(reason, want_reason);
}

/* The gate looks at the cells of what the work uses: one broken server
 * (which makes the whole registry "unhealthy") blocks only work that
 * involves it; a build on the control node needs the registry too. */
START_TEST(gate_involves_only_its_servers)
{
	char		 an[64], bn[64], bothn[64], cn[64], want[512];
	long long	 a, b, both, c, ab[2];
	const char	*own[] = { "service", "push_api", "pull_api", "refused" };

	a = gate_server("a", 0, 1, an, sizeof(an));
	b = gate_server("b", 0, 1, bn, sizeof(bn));
	both = gate_server("both", 1, 1, bothn, sizeof(bothn));
	ab[0] = a;
	ab[1] = b;

	/* No registry: nothing that builds or deploys goes on. */
	gate_is(0, NULL, 0, 1, "The managed registry is missing: provision it "
	    "on the Registry page before building or deploying.");
	gate_is(REG_GATE_NO_BUILD, NULL, 0, 0, "");

	PQclear(ts_q("INSERT INTO registry (hostname, state) VALUES "
	    "('registry.gate.test', 'provisioning')", 0, NULL));
	gate_is(0, NULL, 0, 1, NULL);
	/* After a check in which b's pull failed: unhealthy as a whole. */
	PQclear(ts_q("UPDATE registry SET state = 'unhealthy', checked_at = now(), "
	    "state_reason = 'pull on b: pull access denied'", 0, NULL));
	for (size_t i = 0; i < 4; i++)
		gate_cell_is(0, own[i], 1, "");
	gate_cell_is(0, "https", 1, "");
	gate_cell_is(0, "push", 1, "");
	gate_cell_is(a, "https", 1, "");
	gate_cell_is(a, "pull", 1, "");
	gate_cell_is(b, "https", 1, "");
	gate_cell_is(b, "pull", 0, "pull access denied");
	gate_cell_is(both, "https", 1, "");
	gate_cell_is(both, "pull", 1, "");
	gate_cell_is(both, "push", 0, "unauthorized: authentication required");

	/* Work not involving b goes on. */
	gate_is(0, NULL, 0, 0, "");
	gate_is(REG_GATE_NO_BUILD, &a, 1, 0, "");
	gate_is(0, &a, 1, 0, "");
	/* Work involving b does not, and says why. */
	snprintf(want, sizeof(want), "The managed registry is unreachable from "
	    "%s: pull access denied", bn);
	gate_is(REG_GATE_NO_BUILD, &b, 1, 1, want);
	gate_is(0, ab, 2, 1, want);

	/* Both roles: as a runtime server its pull cell, as the build node its
	 * push cell. */
	gate_is(REG_GATE_NO_BUILD, &both, 1, 0, "");
	snprintf(want, sizeof(want), "The managed registry is unreachable from "
	    "%s: unauthorized: authentication required", bothn);
	gate_is(both, &a, 1, 1, want);
	gate_cell_is(both, "push", 1, "");
	gate_is(both, &a, 1, 0, "");
	gate_cell_is(both, "https", 0, "certificate not trusted");
	snprintf(want, sizeof(want), "The managed registry is unreachable from "
	    "%s: certificate not trusted", bothn);
	gate_is(both, NULL, 0, 1, want);
	gate_cell_is(both, "https", 1, "");

	/* The control node's own push cell blocks its builds, not deploys
	 * built elsewhere. */
	gate_cell_is(0, "push", 0, "denied: requested access to the resource "
	    "is denied");
	gate_is(0, NULL, 0, 1, "The managed registry is unreachable from the "
	    "control node: denied: requested access to the resource is denied");
	gate_is(both, &a, 1, 0, "");
	gate_is(REG_GATE_NO_BUILD, &a, 1, 0, "");

	/* The registry's own cells block everything. */
	gate_cell_is(0, "pull_api", 0, "manifest unknown");
	gate_is(REG_GATE_NO_BUILD, &a, 1, 1, "The managed registry is not "
	    "working on the control node (pull_api): manifest unknown");
	gate_is(both, NULL, 0, 1, NULL);
	gate_cell_is(0, "pull_api", 1, "");

	/* A server no check has reached yet. */
	c = gate_server("c", 0, 1, cn, sizeof(cn));
	snprintf(want, sizeof(want), "The managed registry is unreachable from "
	    "%s: no registry check has run on it yet", cn);
	gate_is(REG_GATE_NO_BUILD, &c, 1, 1, want);
	gate_is(REG_GATE_NO_BUILD, &a, 1, 0, "");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("plan");
	TCase	*tc = tcase_create("plan");
	TCase	*tr = tcase_create("registry");
	TCase	*ta = tcase_create("sign-in");
	TCase	*tt = tcase_create("registry rows");
	TCase	*tg = tcase_create("registry gate");

	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, ts_setup, ts_teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	tcase_add_test(tc, nested_transaction_refused);
	tcase_add_test(tc, failing_plan_leaves_nothing);
	tcase_add_test(tc, waits_for_both);
	tcase_add_test(tc, fails_when_one_failed);
	tcase_add_test(tc, fails_when_one_cancelled);
	suite_add_tcase(s, tc);
	/* One test each: the unchecked fixture (in the parent, even after a
	 * failure) cleans before and after it. */
	tcase_set_timeout(tr, 120);
	tcase_add_unchecked_fixture(tr, reg_clean, reg_clean);
	tcase_add_checked_fixture(tr, reg_setup_fixture, reg_teardown_fixture);
	tcase_add_test(tr, registry_provisioning_whole);
	suite_add_tcase(s, tr);
	tcase_set_timeout(ta, 120);
	tcase_add_unchecked_fixture(ta, reg_clean, reg_clean);
	tcase_add_checked_fixture(ta, reg_setup_fixture, reg_teardown_fixture);
	tcase_add_test(ta, sign_in_everywhere_whole);
	suite_add_tcase(s, ta);
	tcase_set_timeout(tt, 120);
	tcase_add_unchecked_fixture(tt, reg_clean, reg_clean);
	tcase_add_checked_fixture(tt, reg_setup_fixture, reg_teardown_fixture);
	tcase_add_test(tt, registry_rows_typed);
	suite_add_tcase(s, tt);
	tcase_set_timeout(tg, 120);
	tcase_add_unchecked_fixture(tg, reg_clean, reg_clean);
	tcase_add_checked_fixture(tg, reg_setup_fixture, reg_teardown_fixture);
	tcase_add_test(tg, gate_involves_only_its_servers);
	suite_add_tcase(s, tg);
	return tu_run(s);
}
