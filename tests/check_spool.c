/*
 * The operations engine end to end on the control node: real PostgreSQL,
 * real keystone-spooler processes (started and killed here), real bash.
 * Needs the test stack: $KS_PGCONN, $KS_DIR (config, master key), $KS_BUILD.
 */
#define _GNU_SOURCE	/* memmem */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "op.h"
#include "sec.h"
#include "testutil.h"
#include "tu_spool.h"
#include "tu_web.h"

START_TEST(three_steps_in_order)
{
	struct op_step_in s[] = {
		{ "first", "control_node", 0, "echo one; echo err-one >&2", 0, 60 },
		{ "second", "control_node", 0, "for i in 1 2 3; do echo line $i; done", 0, 60 },
		{ "third", "control_node", 0, "echo three; exit 0", 0, 60 },
	};
	char	 st[32], code[16], *out;
	long long id;
	time_t	 t0;

	ts_spooler_start(NULL);
	t0 = time(NULL);
	id = ts_create(s, 3, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	/* Woken by NOTIFY, not by the 30 s poll. */
	ck_assert_int_lt(time(NULL) - t0, 10);
	out = ts_step_output(id, 1);
	ck_assert_str_eq(out, "one\nerr-one\n");
	free(out);
	out = ts_step_output(id, 2);
	ck_assert_str_eq(out, "line 1\nline 2\nline 3\n");
	free(out);
	for (int i = 1; i <= 3; i++) {
		ts_step_field(id, i, "status", st, sizeof(st));
		ck_assert_str_eq(st, "succeeded");
		ts_step_field(id, i, "exit_code", code, sizeof(code));
		ck_assert_str_eq(code, "0");
	}
}
END_TEST

START_TEST(failing_step_stops)
{
	struct op_step_in s[] = {
		{ "ok", "control_node", 0, "echo fine", 0, 60 },
		{ "breaks", "control_node", 0, "echo about to fail; exit 7", 0, 60 },
		{ "never", "control_node", 0, "touch /tmp/ks-spool-never", 0, 60 },
	};
	char	 st[32], err[256], code[16];
	long long id;

	unlink("/tmp/ks-spool-never");
	ts_spooler_start(NULL);
	id = ts_create(s, 3, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 2 (breaks): exit status 7");
	ts_step_field(id, 2, "exit_code", code, sizeof(code));
	ck_assert_str_eq(code, "7");
	ts_step_field(id, 3, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ck_assert_int_ne(access("/tmp/ks-spool-never", F_OK), 0);
}
END_TEST

START_TEST(signal_recorded)
{
	struct op_step_in s[] = {
		{ "killed", "control_node", 0, "sh -c 'kill -TERM $$'", 0, 60 },
	};
	char	 st[32], code[16], sig[16];
	long long id;

	ts_spooler_start(NULL);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_step_field(id, 1, "exit_code", code, sizeof(code));
	ck_assert_str_eq(code, "143");
	ts_step_field(id, 1, "exit_signal", sig, sizeof(sig));
	ck_assert_str_eq(sig, "TERM");
}
END_TEST

START_TEST(step_timeout)
{
	struct op_step_in s[] = {
		{ "hangs", "control_node", 0, "echo waiting; sleep 600", 0, 2 },
	};
	char	 st[32], err[256];
	long long id;
	time_t	 t0;

	ts_spooler_start(NULL);
	t0 = time(NULL);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_lt(time(NULL) - t0, 15);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (hangs): timed out after 2 s");
}
END_TEST

START_TEST(kill9_recovered)
{
	char	 marker[256], script[1024], st[32], err[256];
	struct op_step_in s[] = { { "slow", "control_node", 0, script, 0, 600 } };
	struct op_step_in si[] = { { "slow-idempotent", "control_node", 0, script, 1, 600 } };
	long long id, id2;
	pid_t	 sp;
	time_t	 t0;

	snprintf(marker, sizeof(marker), "%s/started", ts_tmp);
	/* First run: the step sleeps; later runs finish at once. */
	snprintf(script, sizeof(script), "if [ -e %s ]; then echo again; exit 0; fi; "
	    "touch %s; sleep 600", marker, marker);
	sp = ts_spooler_start(NULL);
	id = ts_create(s, 1, NULL, 0);
	for (int i = 0; i < 100 && access(marker, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_int_eq(access(marker, F_OK), 0);
	ts_spooler_kill(sp, SIGKILL);
	t0 = time(NULL);
	sp = ts_spooler_start(NULL);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_le(time(NULL) - t0, 6 + 8);	/* within the lease */
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "spooler stopped during step 1");
	ts_step_field(id, 1, "status", st, sizeof(st));
	ck_assert_str_eq(st, "failed");

	/* The same with an idempotent step: retried, and succeeds. */
	unlink(marker);
	ts_spooler_kill(sp, SIGKILL);
	sp = ts_spooler_start(NULL);
	id2 = ts_create(si, 1, NULL, 0);
	for (int i = 0; i < 100 && access(marker, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_int_eq(access(marker, F_OK), 0);
	ts_spooler_kill(sp, SIGKILL);
	ts_spooler_start(NULL);
	ts_wait_done(id2, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ts_op_field(id2, "attempt", st, sizeof(st));
	ck_assert_str_eq(st, "2");
	/* Nothing stays running past its lease. */
	{
		PGresult *res = ts_q("SELECT count(*) FROM operations WHERE status = "
		    "'running' AND lease_until < now()", 0, NULL);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
		PQclear(res);
	}
}
END_TEST

START_TEST(two_spoolers_exactly_once)
{
	char	 path[256], script[512], st[32];
	struct op_step_in s[] = { { "count", "control_node", 0, script, 0, 60 } };
	long long ids[200];
	char	*data, *line;
	int	 seen[200] = { 0 }, lines = 0;

	snprintf(path, sizeof(path), "%s/ran", ts_tmp);
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	for (int i = 0; i < 200; i++) {
		snprintf(script, sizeof(script), "echo %d >> %s", i, path);
		ids[i] = ts_create(s, 1, NULL, 0);
	}
	ts_wait_done(ids[199], 120, st, sizeof(st));
	for (int i = 0; i < 200; i++) {
		ts_wait_done(ids[i], 60, st, sizeof(st));
		ck_assert_msg(strcmp(st, "succeeded") == 0, "operation %d (id %lld): %s",
		    i, ids[i], ts_op_report(ids[i]));
	}
	ck_assert_ptr_nonnull(data = tu_slurp(path, NULL));
	for (line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		int k = atoi(line);
		ck_assert(k >= 0 && k < 200);
		seen[k]++;
		lines++;
	}
	free(data);
	ck_assert_int_eq(lines, 200);
	for (int i = 0; i < 200; i++)
		ck_assert_msg(seen[i] == 1, "operation %d ran %d times", i, seen[i]);
}
END_TEST

START_TEST(secret_canary)
{
	const char	*canary = "canary-Q8vX2pLm7Rt4";
	struct secret	 sec[] = { { "DEPLOY_TOKEN", "canary-Q8vX2pLm7Rt4" } };
	struct op_step_in s[] = {
		{ "uses it", "control_node", 0,
		  "printf 'token=%s\\n' \"$DEPLOY_TOKEN\"; sleep 2; "
		  "printf '%s' \"$DEPLOY_TOKEN\" | sha256sum", 0, 60 },
	};
	char	 st[32], cmd[1024], *out, *dump, path[600];
	long long id;
	int	 seen = 0;

	ts_spooler_start(NULL);
	id = ts_create(s, 1, sec, 1);
	/* While it runs: not in any process's argv or environment. */
	for (int i = 0; i < 30; i++) {
		seen |= ts_proc_has(canary);
		ts_op_field(id, "status", st, sizeof(st));
		if (strcmp(st, "running") && strcmp(st, "queued"))
			break;
		usleep(100000);
	}
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(!seen, "the secret appeared in /proc/*/cmdline or environ");
	out = ts_step_output(id, 1);
	ck_assert_ptr_nonnull(strstr(out, "token=[redacted]"));
	ck_assert_ptr_null(strstr(out, canary));
	free(out);
	/* No table holds it in plaintext, and its sealed copy is gone. */
	snprintf(path, sizeof(path), "%s/dump.sql", ts_tmp);
	snprintf(cmd, sizeof(cmd), "pg_dump '%s' > '%s'", ts_pgconn, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_ptr_nonnull(dump = tu_slurp(path, NULL));
	ck_assert_ptr_null(strstr(dump, canary));
	free(dump);
	ts_op_field(id, "(SELECT count(*) FROM operation_secrets s WHERE s.operation_id "
	    "= operations.id)", st, sizeof(st));
	ck_assert_str_eq(st, "0");
	/* Nor any log. */
	snprintf(cmd, sizeof(cmd), "grep -r -q -- '%s' '%s/log'", canary, ts_dir);
	ck_assert_int_ne(system(cmd), 0);
	/* Nor the operation's page. */
	{
		char uuid[64], page[128], *html;
		ts_op_field(id, "uuid", uuid, sizeof(uuid));
		snprintf(page, sizeof(page), "/ops/%s", uuid);
		ck_assert_ptr_nonnull(html = ts_web_get(page, "op.html"));
		ck_assert_ptr_nonnull(strstr(html, "token=[redacted]"));
		ck_assert_ptr_null(strstr(html, canary));
		free(html);
	}
}
END_TEST

/* A cancelled step that ignores SIGTERM takes the whole grace to end
 * (5 s, longer than this 3 s lease): the lease is renewed meanwhile, so it
 * ends cancelled, not failed by the other spooler's recovery. */
START_TEST(cancel_outlives_lease)
{
	char	 flag[256], script[512], st[32], err[512], ids[24];
	struct op_step_in s[] = { { "stubborn", "control_node", 0, script, 0, 600 } };
	const char *p[] = { ids };
	long long id;

	snprintf(flag, sizeof(flag), "%s/started", ts_tmp);
	snprintf(script, sizeof(script), "trap '' TERM; touch %s; sleep 60", flag);
	ts_spooler_start("KEYSTONE_LEASE_SECONDS=3");
	ts_spooler_start("KEYSTONE_LEASE_SECONDS=3");
	id = ts_create(s, 1, NULL, 0);
	for (int i = 0; i < 300 && access(flag, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_msg(access(flag, F_OK) == 0, "the step never started");
	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	ts_wait_done(id, 60, st, sizeof(st));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strcmp(st, "cancelled") == 0, "operation %lld ended %s: %s",
	    id, st, err);
}
END_TEST

START_TEST(cancel_running)
{
	char	 pidfile[256], script[512], st[32], ids[24], *pidtxt;
	struct op_step_in s[] = { { "long", "control_node", 0, script, 0, 600 } };
	const char *p[] = { ids };
	long long id;
	pid_t	 child;
	time_t	 t0;

	snprintf(pidfile, sizeof(pidfile), "%s/pid", ts_tmp);
	snprintf(script, sizeof(script), "sleep 600 & echo $! > %s; wait", pidfile);
	ts_spooler_start(NULL);
	id = ts_create(s, 1, NULL, 0);
	for (int i = 0; i < 100 && access(pidfile, F_OK) != 0; i++)
		usleep(100000);
	usleep(200000);
	ck_assert_ptr_nonnull(pidtxt = tu_slurp(pidfile, NULL));
	child = (pid_t)atoi(pidtxt);
	free(pidtxt);
	ck_assert_int_eq(kill(child, 0), 0);
	snprintf(ids, sizeof(ids), "%lld", id);
	t0 = time(NULL);
	PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ck_assert_int_lt(time(NULL) - t0, 15);
	{
		char path[64], *stat = NULL;
		int gone = 0;
		/* A SIGKILLed process takes a moment to go: allow 3 s. */
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
		for (int i = 0; i < 30 && !gone; i++) {
			stat = tu_slurp(path, NULL);
			gone = stat == NULL || strstr(stat, ") Z ") != NULL;
			free(stat);
			if (!gone)
				usleep(100000);
		}
		ck_assert_msg(gone, "the step's process %d still runs", (int)child);
	}
}
END_TEST

START_TEST(fencing)
{
	struct op_step_in s[] = { { "x", "control_node", 0, "true", 0, 60 } };
	struct op_claim	 a, b;
	char		 ids[24], st[32];
	const char	*p[] = { ids };
	long long	 id;

	/* No spooler here: this test claims by hand. */
	id = ts_create(s, 1, NULL, 0);
	ck_assert_int_eq(op_claim(&ts_db, "test:a", 60, 1, &a), 1);
	ck_assert_int_eq(a.id, id);
	ck_assert_int_eq(op_renew(&ts_db, &a, 60), 1);
	/* a's lease runs out; recovery requeues nothing (not idempotent, no
	 * step started): the operation fails... */
	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(ts_q("UPDATE operations SET lease_until = now() - interval '1 s', "
	    "max_attempts = 3 WHERE id = $1::bigint", 1, p));
	ck_assert_int_ge(op_recover(&ts_db), 1);
	ts_op_field(id, "status", st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	/* ...and a's later writes are refused by the fence. */
	ck_assert_int_eq(op_renew(&ts_db, &a, 60), 0);
	/* Queued again and claimed by b: a new fence; a still refused. */
	PQclear(ts_q("UPDATE operations SET status = 'queued', finished_at = NULL "
	    "WHERE id = $1::bigint", 1, p));
	ck_assert_int_eq(op_claim(&ts_db, "test:b", 60, 1, &b), 1);
	ck_assert_int_gt(b.fence, a.fence);
	ck_assert_int_eq(op_renew(&ts_db, &a, 60), 0);
	ck_assert_int_eq(op_renew(&ts_db, &b, 60), 1);
	PQclear(ts_q("UPDATE operations SET status = 'cancelled' WHERE id = $1::bigint",
	    1, p));
}
END_TEST

/*
 * A claim that picks an operation committed while the claim waited for the
 * claimers' lock must hand that operation to its worker. (It once came
 * back empty: the claim's outer SELECT, whose snapshot predates the
 * commit, joined the function's result to operations and found no row, so
 * the operation stayed running with nobody on it until recovery failed it
 * as "spooler stopped".) The order is forced: the lock is held here, the
 * claim is seen waiting for it, the operation is committed, the lock let go.
 */
START_TEST(claim_during_commit)
{
	struct op_step_in s[] = { { "x", "control_node", 0, "true", 0, 60 } };
	struct db	 holder;
	struct op_claim	 c;
	long long	 got[2] = { -1, -1 }, id;
	char		 ids[24], st[32];
	const char	*p[] = { ids };
	int		 fd[2], waiting = 0, wst;
	pid_t		 pid;

	ck_assert_int_eq(db_open(&holder, ts_pgconn), 0);
	ck_assert_int_eq(db_tx_begin(&holder), 0);
	ck_assert_int_eq(db_simple(&holder, "SELECT pg_advisory_xact_lock(727275)"), 0);
	ck_assert_int_eq(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		struct db d;
		long long r[2] = { -1, 0 };

		close(fd[0]);
		if (db_open(&d, ts_pgconn) == 0) {
			r[0] = op_claim(&d, "test:race", 60, 1, &c);
			r[1] = r[0] == 1 ? c.id : 0;
			db_close(&d);
		}
		_exit(write(fd[1], r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	close(fd[1]);
	/* The claim has started (its statement's snapshot is taken) and waits. */
	for (int i = 0; i < 100 && !waiting; i++) {
		PGresult *res = ts_q("SELECT count(*) FROM pg_locks WHERE locktype = "
		    "'advisory' AND objid = 727275 AND NOT granted", 0, NULL);
		waiting = atoi(PQgetvalue(res, 0, 0)) > 0;
		PQclear(res);
		if (!waiting)
			usleep(100000);
	}
	ck_assert_msg(waiting, "the claim never waited for the claimers' lock");
	id = ts_create(s, 1, NULL, 0);
	ck_assert_int_eq(db_tx_commit(&holder), 0);
	db_close(&holder);
	ck_assert_int_eq(read(fd[0], got, sizeof(got)), (ssize_t)sizeof(got));
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
	ts_op_field(id, "status", st, sizeof(st));
	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(ts_q("UPDATE operations SET status = 'cancelled' WHERE id = $1::bigint",
	    1, p));
	ck_assert_msg(got[0] == 1 && got[1] == id, "op_claim returned %lld (operation "
	    "%lld) while operation %lld is %s in the database", got[0], got[1], id, st);
}
END_TEST

/* Seconds since the epoch of a timestamp column, as a double. */
static double
ts_epoch(long long id, const char *col)
{
	char	 expr[128], v[64];

	snprintf(expr, sizeof(expr), "extract(epoch FROM %s)", col);
	ts_op_field(id, expr, v, sizeof(v));
	return atof(v);
}

START_TEST(limits_and_order)
{
	struct op_step_in s[] = { { "busy", "control_node", 0, "sleep 2", 0, 60 } };
	struct op_in	 build = { "build", "none", 0, 0, 0, 1, 0, 0 };
	struct op_in	 env = { "deploy", "environment", 0, 0, 0, 0, 0, 0 };
	char		 st[32], ids[24];
	const char	*p[] = { ids };
	long long	 b1, b2, e1, e2, app, envid;
	PGresult	*res;

	/* An environment to serialise on. */
	res = ts_q("INSERT INTO applications (name, repository_url) VALUES "
	    "('spool-limits-' || pg_backend_pid() || '-' || clock_timestamp(), "
	    "'https://example.invalid/x.git') RETURNING id", 0, NULL);
	app = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	snprintf(ids, sizeof(ids), "%lld", app);
	res = ts_q("INSERT INTO environments (application_id, name) VALUES "
	    "($1::bigint, 'e') RETURNING id", 1, p);
	envid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	env.environment_id = envid;
	env.subject_id = envid;

	/* Four workers, yet: one build at a time on the build node (limit 1),
	 * one operation at a time per environment. */
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=4");
	b1 = ts_create_in(&build, s, 1);
	b2 = ts_create_in(&build, s, 1);
	e1 = ts_create_in(&env, s, 1);
	e2 = ts_create_in(&env, s, 1);
	ts_wait_done(b2, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ts_wait_done(e2, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(ts_epoch(b2, "started_at") >= ts_epoch(b1, "finished_at"),
	    "two builds overlapped on one build node");
	ck_assert_msg(ts_epoch(e2, "started_at") >= ts_epoch(e1, "finished_at"),
	    "two operations overlapped on one environment");
	/* ...while unrelated work ran alongside. */
	ck_assert_msg(ts_epoch(e1, "started_at") < ts_epoch(b1, "finished_at"),
	    "unrelated operations did not run in parallel");
	snprintf(ids, sizeof(ids), "%lld", app);
	PQclear(ts_q("DELETE FROM applications WHERE id = $1::bigint", 1, p));
}
END_TEST

/* Builds and deploys of one environment run in separate lanes: a deploy
 * (a rollback) does not wait behind the environment's running build, while
 * two builds of it still run one after the other. */
START_TEST(lanes)
{
	struct op_step_in s[] = { { "busy", "control_node", 0, "sleep 3", 0, 60 } };
	struct op_in	 build = { "build", "environment", 0, 0, 0, 1, 0, 0 };
	struct op_in	 dep = { "deploy", "environment", 0, 0, 0, 0, 0, 0 };
	char		 st[32], ids[24];
	const char	*p[] = { ids };
	long long	 b1, b2, d1, app, envid;
	PGresult	*res;

	res = ts_q("INSERT INTO applications (name, repository_url) VALUES "
	    "('spool-lanes-' || pg_backend_pid() || '-' || clock_timestamp(), "
	    "'https://example.invalid/x.git') RETURNING id", 0, NULL);
	app = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	snprintf(ids, sizeof(ids), "%lld", app);
	res = ts_q("INSERT INTO environments (application_id, name) VALUES "
	    "($1::bigint, 'e') RETURNING id", 1, p);
	envid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	build.environment_id = dep.environment_id = envid;
	build.subject_id = dep.subject_id = envid;
	/* Two build nodes' worth of room: only the lane holds b2 back. */
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=4");
	b1 = ts_create_in(&build, s, 1);
	b2 = ts_create_in(&build, s, 1);
	d1 = ts_create_in(&dep, s, 1);
	ts_wait_done(b2, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ts_wait_done(d1, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(ts_epoch(d1, "started_at") < ts_epoch(b1, "finished_at"),
	    "the deploy waited behind the environment's build");
	ck_assert_msg(ts_epoch(b2, "started_at") >= ts_epoch(b1, "finished_at"),
	    "two builds of one environment overlapped");
	snprintf(ids, sizeof(ids), "%lld", app);
	PQclear(ts_q("DELETE FROM applications WHERE id = $1::bigint", 1, p));
}
END_TEST

START_TEST(dependencies)
{
	struct op_step_in ok[] = { { "build", "control_node", 0, "sleep 1", 0, 60 } };
	struct op_step_in bad[] = { { "build", "control_node", 0, "exit 1", 0, 60 } };
	struct op_step_in dep[] = { { "deploy", "control_node", 0, "true", 0, 60 } };
	struct op_in	 in = { "deploy", "none", 0, 0, 0, 0, 0, 0 };
	char		 st[32], err[256];
	long long	 a, b;

	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	a = ts_create(ok, 1, NULL, 0);
	in.depends_on = a;
	b = ts_create_in(&in, dep, 1);
	ts_wait_done(b, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(ts_epoch(b, "started_at") >= ts_epoch(a, "finished_at"),
	    "the deploy ran before its build ended");
	/* A failed dependency fails the operation waiting for it. */
	a = ts_create(bad, 1, NULL, 0);
	in.depends_on = a;
	b = ts_create_in(&in, dep, 1);
	ts_wait_done(b, 60, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_op_field(b, "error", err, sizeof(err));
	ck_assert_str_eq(err, "the operation it waited for did not succeed");
	ts_step_field(b, 1, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
}
END_TEST

START_TEST(sigterm_grace)
{
	struct op_step_in quick[] = { { "finishes", "control_node", 0,
	    "sleep 1; echo finished", 0, 60 } };
	struct op_step_in slow[] = { { "too long", "control_node", 0,
	    "sleep 600", 0, 600 } };
	char	 st[32], err[256], *out;
	long long id;
	pid_t	 sp;
	int	 wst;

	/* Within the grace period (2 s here) a running step finishes. */
	sp = ts_spooler_start(NULL);
	id = ts_create(quick, 1, NULL, 0);
	ts_wait_status(id, "running", 5);
	kill(sp, SIGTERM);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	out = ts_step_output(id, 1);
	ck_assert_str_eq(out, "finished\n");
	free(out);
	ck_assert_int_eq(waitpid(sp, &wst, 0), sp);
	ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	/* Past it, the step is cancelled, and the spooler still exits. */
	sp = ts_spooler_start(NULL);
	id = ts_create(slow, 1, NULL, 0);
	ts_wait_status(id, "running", 5);
	kill(sp, SIGTERM);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (too long): cancelled (spooler shutting down)");
	ck_assert_int_eq(waitpid(sp, &wst, 0), sp);
	/* A stopping spooler claims nothing new. */
	id = ts_create(quick, 1, NULL, 0);
	sleep(2);
	ts_op_field(id, "status", st, sizeof(st));
	ck_assert_str_eq(st, "queued");
}
END_TEST

/* The spooler's workers killed with SIGKILL are replaced and the new ones
 * run operations; SIGTERM then stops the master and every worker within
 * the bound (grace 2 s + 10 s), the running step cancelled. */
START_TEST(killed_workers_replaced)
{
	struct op_step_in quick[] = { { "quick", "control_node", 0,
	    "echo ran", 0, 60 } };
	struct op_step_in slow[] = { { "slow", "control_node", 0,
	    "sleep 600", 0, 600 } };
	char	 st[32], by[160], *colon;
	pid_t	 sp, old[8], now[8];
	long long id;
	time_t	 t0;
	int	 n = 0, m = 0, wst = 0, fresh = 0;

	sp = ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	for (int i = 0; i < 100 && (n = tu_children(sp, old, 8)) < 2; i++)
		usleep(100000);
	ck_assert_msg(n == 2, "%d spooler workers after 10 s", n);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(kill(old[i], SIGKILL), 0);
	for (int i = 0; i < 100; i++) {
		m = tu_children(sp, now, 8);
		fresh = m == 2;
		for (int j = 0; j < m; j++)
			fresh = fresh && now[j] != old[0] && now[j] != old[1];
		if (fresh)
			break;
		usleep(100000);
	}
	ck_assert_msg(fresh, "10 s after killing both workers: %d workers, "
	    "not both new", m);
	id = ts_create(quick, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");

	id = ts_create(slow, 1, NULL, 0);
	ts_wait_status(id, "running", 10);
	ts_op_field(id, "claimed_by", by, sizeof(by));
	ck_assert_ptr_nonnull(colon = strrchr(by, ':'));
	ck_assert_msg(atoi(colon + 1) == now[0] || atoi(colon + 1) == now[1],
	    "claimed by %s, not by a new worker", by);
	t0 = time(NULL);
	ck_assert_int_eq(kill(sp, SIGTERM), 0);
	ck_assert_msg(tu_wait_exit(sp, 20000, &wst), "the spooler still runs 20 s after SIGTERM");
	ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	ck_assert_int_le(time(NULL) - t0, 2 + 10);
	for (int i = 0; i < m; i++)
		ck_assert_msg(kill(now[i], 0) == -1, "worker %d outlived its "
		    "master", (int)now[i]);
	ts_wait_done(id, 5, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
}
END_TEST

/* ---- the host key check, through the web page and the spooler ---------- */

/* A listening loopback socket; its port into port. */
static int
listener(char *port, size_t sz)
{
	struct sockaddr_in sa;
	socklen_t	 len = sizeof(sa);
	int		 fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sz, "%d", ntohs(sa.sin_port));
	return fd;
}

static int		 hk_fd;
static volatile int	 hk_accepted;

/* Accepts and closes every connection, counting them. */
static void *
hk_closer(void *arg)
{
	int	 c;

	(void)arg;
	while ((c = accept(hk_fd, NULL, NULL)) != -1) {
		__atomic_add_fetch(&hk_accepted, 1, __ATOMIC_SEQ_CST);
		close(c);
	}
	return NULL;
}

/* A server at 127.0.0.1:port; its uuid. */
static void
hk_server(const char *port, char uuid[40])
{
	char		 name[64];
	const char	*p[] = { name, port };
	PGresult	*res;

	snprintf(name, sizeof(name), "hk-%d-%s", (int)getpid(), port);
	res = ts_q("INSERT INTO servers (name, address, ssh_port) VALUES ($1, "
	    "'127.0.0.1', $2::int) RETURNING uuid", 2, p);
	snprintf(uuid, 40, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static void
hk_drop(const char *uuid)
{
	const char	*p[] = { uuid };

	PQclear(ts_q("DELETE FROM operations WHERE subject_type = 'server' AND "
	    "subject_id = (SELECT id FROM servers WHERE uuid = $1::uuid)", 1, p));
	PQclear(ts_q("DELETE FROM servers WHERE uuid = $1::uuid", 1, p));
}

/* Presses the server's "Check" and returns the page it leads to. */
static void
hk_ask(struct tw_client *cl, const char *uuid, char *loc, size_t sz)
{
	struct buf	 f;
	char		 path[128];

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/servers/%s/hostkey/check", uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sz));
	buf_release(&f);
}

/* Reloads the check's page until it stops waiting (at most secs). */
static void
hk_wait(struct tw_client *cl, const char *loc, int secs)
{
	for (int i = 0; i < secs * 5; i++) {
		ck_status(tw_get(cl, loc), cl, 200);
		if (!tw_has(cl, "id=\"op-live\""))
			return;
		usleep(200000);
	}
	ck_abort_msg("the check still runs after %d s:\n%.2000s", secs,
	    tw_body(cl));
}

/*
 * A server that takes connections and closes them at once, and one where
 * nothing listens: the page asks for the check and answers at once; no
 * request connects (the first listener has nobody accepting: a connection
 * would wait in its queue), only the spooler's operation does; the page
 * then shows why no key was found, and offers to check again.
 */
START_TEST(hostkey_check_runs_in_the_spooler)
{
	struct tw_client *cl;
	struct pollfd	 pfd;
	pthread_t	 t;
	char		 port[16], closed[16], uuid[40], uuid2[40];
	char		 loc[256], loc2[256], want[256];
	int		 fd;

	ck_assert_int_eq(tw_env("check_spool"), 0);
	tw_setup(2, 4);
	hk_fd = listener(port, sizeof(port));
	hk_server(port, uuid);
	fd = listener(closed, sizeof(closed));
	close(fd);
	hk_server(closed, uuid2);
	cl = tw_login();
	hk_ask(cl, uuid, loc, sizeof(loc));
	hk_ask(cl, uuid2, loc2, sizeof(loc2));
	ck_status(tw_get(cl, loc), cl, 200);
	ck_has(cl, "Checking the key the server offers");
	pfd.fd = hk_fd;
	pfd.events = POLLIN;
	ck_assert_msg(poll(&pfd, 1, 0) == 0, "a request connected to the server");

	ck_assert_int_eq(pthread_create(&t, NULL, hk_closer, NULL), 0);
	ts_spooler_start(NULL);
	hk_wait(cl, loc, 60);
	snprintf(want, sizeof(want), "The check found no key: 127.0.0.1 port %s "
	    "accepts connections but offered no SSH host key", port);
	ck_has(cl, want);
	ck_has(cl, "Check again");
	ck_hasnt(cl, "name=\"fingerprint\"");
	ck_assert_int_ge(__atomic_load_n(&hk_accepted, __ATOMIC_SEQ_CST), 1);
	hk_wait(cl, loc2, 60);
	snprintf(want, sizeof(want), "The check found no key: cannot connect to "
	    "127.0.0.1 port %s: Connection refused", closed);
	ck_has(cl, want);
	ck_hasnt(cl, "name=\"fingerprint\"");

	shutdown(hk_fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(hk_fd);
	hk_drop(uuid);
	hk_drop(uuid2);
	tw_teardown();
}
END_TEST

/* A step's timestamp column as seconds since the epoch (0: NULL). */
static double
step_epoch(long long id, int ordinal, const char *col)
{
	char	 expr[128], v[64];

	snprintf(expr, sizeof(expr), "extract(epoch FROM %s)", col);
	ts_step_field(id, ordinal, expr, v, sizeof(v));
	return atof(v);
}

/* Waits (a bounded poll) until path exists. */
static void
wait_file(const char *path, int secs)
{
	for (int i = 0; i < secs * 10 && access(path, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_msg(access(path, F_OK) == 0, "%s not there after %d s", path,
	    secs);
}

/*
 * The steps of a group run at the same time: three sleeps of 2, 3 and 4 s
 * take about the longest, not the sum; in the database every one started
 * before any finished. The group's neighbours run before and after it.
 */
START_TEST(group_runs_together)
{
	struct op_step_in s[] = {
		{ .name = "before", .target = "control_node", .script = "echo before",
		  .timeout_s = 60 },
		{ .name = "two", .target = "control_node", .script = "sleep 2; echo two",
		  .timeout_s = 60, .group = 1 },
		{ .name = "three", .target = "control_node", .script = "sleep 3; echo three",
		  .timeout_s = 60, .group = 1 },
		{ .name = "four", .target = "control_node", .script = "sleep 4; echo four",
		  .timeout_s = 60, .group = 1 },
		{ .name = "after", .target = "control_node", .script = "echo after",
		  .timeout_s = 60 },
	};
	char	 st[32], *out;
	double	 last_start = 0, first_end = 1e18, took;
	long long id;

	ts_spooler_start(NULL);
	id = ts_create(s, 5, NULL, 0);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	for (int i = 2; i <= 4; i++) {
		double b = step_epoch(id, i, "started_at");
		double e = step_epoch(id, i, "finished_at");
		if (b > last_start)
			last_start = b;
		if (e < first_end)
			first_end = e;
		ck_assert_msg(b >= step_epoch(id, 1, "finished_at"), "step %d "
		    "started before the step before the group ended: %s", i,
		    ts_op_report(id));
		ck_assert_msg(step_epoch(id, 5, "started_at") >= e, "the step "
		    "after the group started before step %d ended: %s", i,
		    ts_op_report(id));
	}
	ck_assert_msg(last_start < first_end, "the group's steps did not "
	    "overlap: %s", ts_op_report(id));
	took = step_epoch(id, 5, "finished_at") - step_epoch(id, 1, "started_at");
	ck_assert_msg(took >= 4 && took < 7, "the operation took %.1f s (sum 9, "
	    "longest 4): %s", took, ts_op_report(id));
	out = ts_step_output(id, 3);
	ck_assert_str_eq(out, "three\n");
	free(out);
}
END_TEST

/*
 * The fan-out bound: a group of four with step_fanout 2 never has more
 * than two running at once (each step records its start and end in a
 * file, appends of one short line each), and has two at once.
 */
START_TEST(fanout_bound)
{
	char	 path[128], script[4][512], *data, *line;
	struct op_step_in s[4];
	char	 st[32];
	int	 running = 0, most = 0, starts = 0;
	long long id;

	snprintf(path, sizeof(path), "%s/fan", ts_tmp);
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 4; i++) {
		snprintf(script[i], sizeof(script[i]), "echo start %d >> %s; "
		    "sleep 1; echo end %d >> %s", i, path, i, path);
		s[i].name = "member";
		s[i].target = "control_node";
		s[i].script = script[i];
		s[i].timeout_s = 60;
		s[i].group = 7;
	}
	ts_spooler_start("KEYSTONE_STEP_FANOUT=2");
	id = ts_create(s, 4, NULL, 0);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	ck_assert_ptr_nonnull(data = tu_slurp(path, NULL));
	for (line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "start ", 6) == 0) {
			starts++;
			if (++running > most)
				most = running;
		} else if (strncmp(line, "end ", 4) == 0)
			running--;
	}
	free(data);
	ck_assert_int_eq(starts, 4);
	ck_assert_msg(most == 2, "%d steps ran at once (bound 2)", most);
}
END_TEST

/* A failure stops the run, and the always-run step still runs. */
START_TEST(cleanup_after_failure)
{
	char	 mark[256], script[512], st[32], err[256], *out;
	struct op_step_in s[] = {
		{ .name = "ok", .target = "control_node", .script = "echo fine",
		  .timeout_s = 60 },
		{ .name = "breaks", .target = "control_node", .script = "exit 3",
		  .timeout_s = 60 },
		{ .name = "never", .target = "control_node", .script = "echo never",
		  .timeout_s = 60 },
		{ .name = "cleanup", .target = "control_node", .script = script,
		  .timeout_s = 60, .always = 1 },
	};
	long long id;

	snprintf(mark, sizeof(mark), "%s/cleaned", ts_tmp);
	snprintf(script, sizeof(script), "echo cleaning; touch %s", mark);
	ts_spooler_start(NULL);
	id = ts_create(s, 4, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "failed") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 2 (breaks): exit status 3");
	ts_step_field(id, 3, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ts_step_field(id, 4, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	out = ts_step_output(id, 4);
	ck_assert_str_eq(out, "cleaning\n");
	free(out);
	ck_assert_int_eq(access(mark, F_OK), 0);
	ts_op_field(id, "ends_as", st, sizeof(st));
	ck_assert_str_eq(st, "");
}
END_TEST

/* A timeout: the always-run step runs after it. */
START_TEST(cleanup_after_timeout)
{
	struct op_step_in s[] = {
		{ .name = "hangs", .target = "control_node",
		  .script = "echo waiting; sleep 600", .timeout_s = 2 },
		{ .name = "cleanup", .target = "control_node",
		  .script = "echo cleaned up", .timeout_s = 60, .always = 1 },
	};
	char	 st[32], err[256], *out;
	long long id;

	ts_spooler_start(NULL);
	id = ts_create(s, 2, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "failed") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (hangs): timed out after 2 s");
	ts_step_field(id, 2, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	ck_assert(step_epoch(id, 2, "started_at") >= step_epoch(id, 1, "finished_at"));
	out = ts_step_output(id, 2);
	ck_assert_str_eq(out, "cleaned up\n");
	free(out);
}
END_TEST

/*
 * A cancel: the running step is stopped, the next skipped, the always-run
 * step runs (the cancel does not stop it), the operation ends cancelled.
 */
START_TEST(cleanup_after_cancel)
{
	char	 started[256], script[512], st[32], err[256], ids[24], *out;
	struct op_step_in s[] = {
		{ .name = "long", .target = "control_node", .script = script,
		  .timeout_s = 600 },
		{ .name = "never", .target = "control_node", .script = "echo never",
		  .timeout_s = 60 },
		{ .name = "cleanup", .target = "control_node",
		  .script = "sleep 2; echo cleaned up", .timeout_s = 60,
		  .always = 1 },
	};
	const char *p[] = { ids };
	long long id;

	snprintf(started, sizeof(started), "%s/started", ts_tmp);
	snprintf(script, sizeof(script), "touch %s; sleep 600", started);
	ts_spooler_start(NULL);
	id = ts_create(s, 3, NULL, 0);
	wait_file(started, 10);
	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "cancelled") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (long): cancelled");
	ts_step_field(id, 1, "status", st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ts_step_field(id, 2, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ts_step_field(id, 3, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	out = ts_step_output(id, 3);
	ck_assert_str_eq(out, "cleaned up\n");
	free(out);
}
END_TEST

/* Waits (a bounded poll) until step ordinal of operation id is in status
 * want. */
static void
wait_step_status(long long id, int ordinal, const char *want, int secs)
{
	char	 st[32];

	for (int i = 0; i < secs * 10; i++) {
		ts_step_field(id, ordinal, "status", st, sizeof(st));
		if (strcmp(st, want) == 0)
			return;
		usleep(100000);
	}
	ck_abort_msg("step %d not %s after %d s: %s", ordinal, want, secs,
	    ts_op_report(id));
}

/* Waits (a bounded poll) until the spooler's log says it saw the cancel of
 * operation id. */
static void
wait_cancel_seen(long long id, int secs)
{
	char	 logp[512], needle[64], *log;
	int	 seen = 0;

	snprintf(logp, sizeof(logp), "%s/log/spooler-test.log", ts_dir);
	snprintf(needle, sizeof(needle), "operation %lld: cancel requested", id);
	for (int i = 0; i < secs * 10 && !seen; i++) {
		log = tu_slurp(logp, NULL);
		seen = log != NULL && strstr(log, needle) != NULL;
		free(log);
		if (!seen)
			usleep(100000);
	}
	ck_assert_msg(seen, "the spooler did not see the cancel within %d s: %s",
	    secs, ts_op_report(id));
}

/*
 * A group of three steps run one at a time (step_fanout 1); a cancel comes
 * while the first runs (the spooler has seen it), then the first is let go
 * on (its flag file). Returns the operation, ended.
 */
static long long
cancel_mid_group(int finish)
{
	char	 flag[256], script[1024], st[32], ids[24];
	struct op_step_in s[] = {
		{ .name = "first", .target = "control_node", .script = script,
		  .timeout_s = 120, .group = 1, .finish = finish },
		{ .name = "second", .target = "control_node", .script = "echo done-2",
		  .timeout_s = 60, .group = 1, .finish = finish },
		{ .name = "third", .target = "control_node", .script = "echo done-3",
		  .timeout_s = 60, .group = 1, .finish = finish },
	};
	const char *p[] = { ids };
	FILE	*f;
	long long id;

	snprintf(flag, sizeof(flag), "%s/go", ts_tmp);
	/* Waits at most 60 s for the flag. */
	snprintf(script, sizeof(script), "echo waiting; for i in $(seq 600); do "
	    "[ -e %s ] && break; sleep 0.1; done; [ -e %s ] || exit 9; "
	    "echo done-1", flag, flag);
	ts_spooler_start("KEYSTONE_STEP_FANOUT=1");
	id = ts_create(s, 3, NULL, 0);
	wait_step_status(id, 1, "running", 30);
	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	wait_cancel_seen(id, 20);
	ck_assert_ptr_nonnull(f = fopen(flag, "w"));
	fclose(f);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_msg(strcmp(st, "cancelled") == 0, "%s", ts_op_report(id));
	/* The steps after it never started. */
	for (int i = 2; i <= 3; i++) {
		ts_step_field(id, i, "status", st, sizeof(st));
		ck_assert_msg(strcmp(st, "skipped") == 0, "step %d: %s", i,
		    ts_op_report(id));
		ts_step_field(id, i, "started_at", st, sizeof(st));
		ck_assert_msg(st[0] == '\0', "step %d started: %s", i,
		    ts_op_report(id));
	}
	return id;
}

/*
 * A cancel lets a running "finish" step (a deploy to one server) run to
 * its end; the steps not yet started never start; the operation ends
 * cancelled.
 */
START_TEST(cancel_lets_finish_step_end)
{
	char	 st[32], err[256], *out;
	long long id;

	id = cancel_mid_group(1);
	ts_step_field(id, 1, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	out = ts_step_output(id, 1);
	ck_assert_str_eq(out, "waiting\ndone-1\n");
	free(out);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 2 (second): cancelled before it started");
}
END_TEST

/* The same without "finish": the cancel stops the running step. */
START_TEST(cancel_stops_running_step)
{
	char	 st[32], err[256], *out;
	long long id;

	id = cancel_mid_group(0);
	ts_step_field(id, 1, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "cancelled") == 0, "%s", ts_op_report(id));
	out = ts_step_output(id, 1);
	ck_assert_msg(strstr(out, "done-1") == NULL, "the cancelled step ran to "
	    "its end: %s", out);
	free(out);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (first): cancelled");
}
END_TEST

/*
 * A member of a group fails: without keep_going the members still running
 * finish, later steps are skipped, the always-run step runs; with
 * keep_going the rest goes on (and the operation still fails).
 */
START_TEST(group_member_fails)
{
	struct op_step_in s[] = {
		{ .name = "slow", .target = "control_node",
		  .script = "sleep 2; echo slow done", .timeout_s = 60, .group = 1 },
		{ .name = "breaks", .target = "control_node", .script = "exit 4",
		  .timeout_s = 60, .group = 1 },
		{ .name = "next", .target = "control_node", .script = "echo next",
		  .timeout_s = 60 },
		{ .name = "cleanup", .target = "control_node",
		  .script = "echo cleanup", .timeout_s = 60, .always = 1 },
	};
	char	 st[32], err[256], *out;
	long long id;

	ts_spooler_start(NULL);
	id = ts_create(s, 4, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "failed") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 2 (breaks): exit status 4");
	ts_step_field(id, 1, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	out = ts_step_output(id, 1);
	ck_assert_str_eq(out, "slow done\n");
	free(out);
	ts_step_field(id, 2, "exit_code", st, sizeof(st));
	ck_assert_str_eq(st, "4");
	ts_step_field(id, 3, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ts_step_field(id, 4, "status", st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");

	s[1].keep_going = 1;
	id = ts_create(s, 4, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "failed") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 2 (breaks): exit status 4");
	for (int i = 1; i <= 4; i++) {
		ts_step_field(id, i, "status", st, sizeof(st));
		ck_assert_msg(strcmp(st, i == 2 ? "failed" : "succeeded") == 0,
		    "step %d: %s", i, ts_op_report(id));
	}
}
END_TEST

/*
 * kill -9 of the spooler while a group runs: after the lease, recovery
 * fails both running steps, skips the next, and queues the operation for
 * its always-run step, which a new spooler runs; the operation ends
 * failed with the reason.
 */
START_TEST(kill9_group_cleanup)
{
	char	 m1[256], m2[256], s1[512], s2[512], st[32], err[256], *out;
	struct op_step_in s[] = {
		{ .name = "a", .target = "control_node", .script = s1,
		  .timeout_s = 600, .group = 1 },
		{ .name = "b", .target = "control_node", .script = s2,
		  .timeout_s = 600, .group = 1 },
		{ .name = "next", .target = "control_node", .script = "echo next",
		  .timeout_s = 60 },
		{ .name = "cleanup", .target = "control_node",
		  .script = "echo cleaned up", .timeout_s = 60, .always = 1 },
	};
	long long id;
	pid_t	 sp;
	time_t	 t0;

	snprintf(m1, sizeof(m1), "%s/a", ts_tmp);
	snprintf(m2, sizeof(m2), "%s/b", ts_tmp);
	snprintf(s1, sizeof(s1), "touch %s; sleep 600", m1);
	snprintf(s2, sizeof(s2), "touch %s; sleep 600", m2);
	sp = ts_spooler_start(NULL);
	id = ts_create(s, 4, NULL, 0);
	wait_file(m1, 10);
	wait_file(m2, 10);
	ts_spooler_kill(sp, SIGKILL);
	t0 = time(NULL);
	ts_spooler_start(NULL);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "failed") == 0, "%s", ts_op_report(id));
	ck_assert_int_le(time(NULL) - t0, 6 + 8);	/* within the lease */
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "spooler stopped during step 1");
	for (int i = 1; i <= 2; i++) {
		ts_step_field(id, i, "status", st, sizeof(st));
		ck_assert_msg(strcmp(st, "failed") == 0, "step %d: %s", i,
		    ts_op_report(id));
	}
	ts_step_field(id, 2, "error", err, sizeof(err));
	ck_assert_str_eq(err, "spooler stopped during step 2");
	ts_step_field(id, 3, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ts_step_field(id, 4, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	out = ts_step_output(id, 4);
	ck_assert_str_eq(out, "cleaned up\n");
	free(out);
	ts_op_field(id, "attempt", st, sizeof(st));
	ck_assert_str_eq(st, "2");
}
END_TEST

/*
 * SIGTERM past the grace period: the running step is cancelled, and the
 * stopping spooler hands the always-run step over (the operation queued
 * to run just that) instead of having it cancelled too; the next spooler
 * runs it and ends the operation cancelled, with the first reason.
 */
START_TEST(sigterm_hands_over_cleanup)
{
	struct op_step_in s[] = {
		{ .name = "too long", .target = "control_node", .script = "sleep 600",
		  .timeout_s = 600 },
		{ .name = "cleanup", .target = "control_node",
		  .script = "echo cleaned up", .timeout_s = 60, .always = 1 },
	};
	char	 st[32], err[256];
	long long id;
	pid_t	 sp;
	int	 wst;

	sp = ts_spooler_start(NULL);
	id = ts_create(s, 2, NULL, 0);
	ts_wait_status(id, "running", 5);
	kill(sp, SIGTERM);
	ck_assert_int_eq(waitpid(sp, &wst, 0), sp);
	ts_op_field(id, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "queued") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "ends_as", st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ts_step_field(id, 2, "status", st, sizeof(st));
	ck_assert_str_eq(st, "pending");
	ts_spooler_start(NULL);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_msg(strcmp(st, "cancelled") == 0, "%s", ts_op_report(id));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (too long): cancelled (spooler shutting down)");
	ts_step_field(id, 2, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("spool");
	TCase	*tc = tcase_create("spool");

	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, ts_setup, ts_teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	tcase_add_test(tc, fencing);
	tcase_add_test(tc, claim_during_commit);
	tcase_add_test(tc, three_steps_in_order);
	tcase_add_test(tc, failing_step_stops);
	tcase_add_test(tc, step_timeout);
	tcase_add_test(tc, signal_recorded);
	tcase_add_test(tc, secret_canary);
	tcase_add_test(tc, cancel_running);
	tcase_add_test(tc, cancel_outlives_lease);
	tcase_add_test(tc, kill9_recovered);
	tcase_add_test(tc, two_spoolers_exactly_once);
	tcase_add_test(tc, limits_and_order);
	tcase_add_test(tc, lanes);
	tcase_add_test(tc, dependencies);
	tcase_add_test(tc, sigterm_grace);
	tcase_add_test(tc, killed_workers_replaced);
	tcase_add_test(tc, hostkey_check_runs_in_the_spooler);
	tcase_add_test(tc, group_runs_together);
	tcase_add_test(tc, fanout_bound);
	tcase_add_test(tc, cleanup_after_failure);
	tcase_add_test(tc, cleanup_after_timeout);
	tcase_add_test(tc, cleanup_after_cancel);
	tcase_add_test(tc, cancel_lets_finish_step_end);
	tcase_add_test(tc, cancel_stops_running_step);
	tcase_add_test(tc, group_member_fails);
	tcase_add_test(tc, kill9_group_cleanup);
	tcase_add_test(tc, sigterm_hands_over_cleanup);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
