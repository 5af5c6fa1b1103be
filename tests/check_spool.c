/*
 * The operations engine end to end on the control node: real PostgreSQL,
 * real keystone-spooler processes (started and killed here), real bash.
 * Needs the test stack: $KS_PGCONN, $KS_DIR (config, master key), $KS_BUILD.
 */
#define _GNU_SOURCE	/* memmem */
#include <sys/wait.h>

#include <check.h>
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

static const char	*ks_dir, *ks_build, *pg_conninfo;
static unsigned char	 sealkey[SEC_KEYBYTES];
static struct db	 db;
static pid_t		 spoolers[4];
static int		 nspoolers;
static char		 tmp[] = "/tmp/ks-spool-XXXXXX";

#define PIDLIST	"/tmp/ks-spool-pids"

/* Runs in the parent after every test: no spooler outlives its test. */
static void
reap_all(void)
{
	FILE	*f = fopen(PIDLIST, "r");
	int	 pid;

	if (f == NULL)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			(void)kill(-pid, SIGKILL);
	fclose(f);
	unlink(PIDLIST);
}

static pid_t
spooler_start(const char *extra_env)
{
	char	 conf[512], logp[600];
	pid_t	 pid;

	snprintf(conf, sizeof(conf), "%s/keystone.conf", ks_dir);
	snprintf(logp, sizeof(logp), "%s/log/spooler-test.log", ks_dir);
	if ((pid = fork()) == 0) {
		/* Not the test's stdout: a leftover would hold its pipe. */
		if (freopen(logp, "a", stderr) == NULL ||
		    freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		setenv("KEYSTONE_LEASE_SECONDS", "6", 1);
		setenv("KEYSTONE_POLL_SECONDS", "30", 1);
		setenv("KEYSTONE_SPOOLER_GRACE_SECONDS", "2", 1);
		if (extra_env != NULL)
			putenv((char *)extra_env);
		char bin[512];
		setsid();
		snprintf(bin, sizeof(bin), "%s/keystone-spooler", ks_build);
		execl(bin, "keystone-spooler", "-c", conf, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	spoolers[nspoolers++] = pid;
	/* A failing check ends the test before its teardown: the suite's
	 * own teardown (in the parent) kills what is listed here. */
	{
		FILE *f = fopen(PIDLIST, "a");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)pid);
			fclose(f);
		}
	}
	return pid;
}

static void
spooler_kill(pid_t pid, int sig)
{
	int	 st;

	/* The whole session: master and workers. */
	kill(-pid, sig);
	waitpid(pid, &st, 0);
	for (int i = 0; i < nspoolers; i++)
		if (spoolers[i] == pid)
			spoolers[i] = 0;
}

static PGresult *
q(const char *sql, int n, const char *const *p)
{
	PGresult	*res = PQexecParams(db.conn, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType	 st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		ck_abort_msg("%s: %s", sql, PQresultErrorMessage(res));
	return res;
}

static void
op_field(long long id, const char *col, char *out, size_t sz)
{
	char		 ids[24], sql[256];
	const char	*p[] = { ids };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM operations "
	    "WHERE id = $1::bigint", col);
	res = q(sql, 1, p);
	snprintf(out, sz, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
}

/* Waits until the operation leaves queued/running; returns its status. */
static void
wait_done(long long id, int secs, char *status, size_t sz)
{
	for (int i = 0; i < secs * 10; i++) {
		op_field(id, "status", status, sz);
		if (strcmp(status, "queued") && strcmp(status, "running"))
			return;
		usleep(100000);
	}
	ck_abort_msg("operation %lld still %s after %d s", id, status, secs);
}

static long long
create(const struct op_step_in *steps, size_t n, const struct secret *sec,
    size_t nsec)
{
	struct op_in	 in = { "check", "none", 0, 0, 0, 0, 0, 0 };
	long long	 id;
	char		 uuid[40];

	ck_assert_int_eq(op_create(&db, &in, steps, n, sec, nsec, sealkey, &id,
	    uuid), 0);
	return id;
}

static char *
step_output(long long id, int ordinal)
{
	char		 ids[24], ord[16];
	const char	*p[] = { ids, ord };
	PGresult	*res;
	char		*out;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(ord, sizeof(ord), "%d", ordinal);
	res = q("SELECT coalesce(string_agg(o.chunk, '' ORDER BY o.seq), '') "
	    "FROM operation_steps s LEFT JOIN operation_output o ON o.step_id = s.id "
	    "WHERE s.operation_id = $1::bigint AND s.ordinal = $2::int", 2, p);
	out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

static void
step_field(long long id, int ordinal, const char *col, char *out, size_t sz)
{
	char		 ids[24], ord[16], sql[256];
	const char	*p[] = { ids, ord };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(ord, sizeof(ord), "%d", ordinal);
	snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM operation_steps "
	    "WHERE operation_id = $1::bigint AND ordinal = $2::int", col);
	res = q(sql, 2, p);
	snprintf(out, sz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static void
setup(void)
{
	char	 path[512], err[256];
	unsigned char master[SEC_KEYBYTES];

	reap_all();	/* a failed test's spoolers must not take our work */
	ks_dir = getenv("KS_DIR");
	ks_build = getenv("KS_BUILD");
	pg_conninfo = getenv("KS_PGCONN");
	ck_assert_msg(ks_dir && ks_build && pg_conninfo,
	    "KS_DIR, KS_BUILD and KS_PGCONN must be set (tests/run.sh)");
	snprintf(path, sizeof(path), "%s/master.key", ks_dir);
	ck_assert_msg(sec_key_load(path, master, err, sizeof(err)) == 0, "%s", err);
	sec_subkey(sealkey, master, SEC_SUB_SEAL);
	ck_assert_int_eq(db_open(&db, pg_conninfo), 0);
	/* Earlier tests' leftovers must not occupy the spoolers. */
	PQclear(q("UPDATE operations SET status = 'cancelled' WHERE status IN "
	    "('queued', 'running')", 0, NULL));
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	nspoolers = 0;
}

static void
teardown(void)
{
	char	 cmd[128];

	for (int i = 0; i < nspoolers; i++)
		if (spoolers[i] > 0)
			spooler_kill(spoolers[i], SIGKILL);
	db_close(&db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
}

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

	spooler_start(NULL);
	t0 = time(NULL);
	id = create(s, 3, NULL, 0);
	wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	/* Woken by NOTIFY, not by the 30 s poll. */
	ck_assert_int_lt(time(NULL) - t0, 10);
	out = step_output(id, 1);
	ck_assert_str_eq(out, "one\nerr-one\n");
	free(out);
	out = step_output(id, 2);
	ck_assert_str_eq(out, "line 1\nline 2\nline 3\n");
	free(out);
	for (int i = 1; i <= 3; i++) {
		step_field(id, i, "status", st, sizeof(st));
		ck_assert_str_eq(st, "succeeded");
		step_field(id, i, "exit_code", code, sizeof(code));
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
	spooler_start(NULL);
	id = create(s, 3, NULL, 0);
	wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 2 (breaks): exit status 7");
	step_field(id, 2, "exit_code", code, sizeof(code));
	ck_assert_str_eq(code, "7");
	step_field(id, 3, "status", st, sizeof(st));
	ck_assert_str_eq(st, "skipped");
	ck_assert_int_ne(access("/tmp/ks-spool-never", F_OK), 0);
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

	spooler_start(NULL);
	t0 = time(NULL);
	id = create(s, 1, NULL, 0);
	wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_lt(time(NULL) - t0, 15);
	op_field(id, "error", err, sizeof(err));
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

	snprintf(marker, sizeof(marker), "%s/started", tmp);
	/* First run: the step sleeps; later runs finish at once. */
	snprintf(script, sizeof(script), "if [ -e %s ]; then echo again; exit 0; fi; "
	    "touch %s; sleep 600", marker, marker);
	sp = spooler_start(NULL);
	id = create(s, 1, NULL, 0);
	for (int i = 0; i < 100 && access(marker, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_int_eq(access(marker, F_OK), 0);
	spooler_kill(sp, SIGKILL);
	t0 = time(NULL);
	spooler_start(NULL);
	wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_le(time(NULL) - t0, 6 + 8);	/* within the lease */
	op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "spooler stopped during step 1");
	step_field(id, 1, "status", st, sizeof(st));
	ck_assert_str_eq(st, "failed");

	/* The same with an idempotent step: retried, and succeeds. */
	unlink(marker);
	spooler_kill(spoolers[nspoolers - 1], SIGKILL);
	sp = spooler_start(NULL);
	id2 = create(si, 1, NULL, 0);
	for (int i = 0; i < 100 && access(marker, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_int_eq(access(marker, F_OK), 0);
	spooler_kill(sp, SIGKILL);
	spooler_start(NULL);
	wait_done(id2, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	op_field(id2, "attempt", st, sizeof(st));
	ck_assert_str_eq(st, "2");
	/* Nothing stays running past its lease. */
	{
		PGresult *res = q("SELECT count(*) FROM operations WHERE status = "
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

	snprintf(path, sizeof(path), "%s/ran", tmp);
	spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	for (int i = 0; i < 200; i++) {
		snprintf(script, sizeof(script), "echo %d >> %s", i, path);
		ids[i] = create(s, 1, NULL, 0);
	}
	wait_done(ids[199], 120, st, sizeof(st));
	for (int i = 0; i < 200; i++) {
		wait_done(ids[i], 60, st, sizeof(st));
		ck_assert_str_eq(st, "succeeded");
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

/* Scans every process's argv and environment for s. */
static int
proc_has(const char *s)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 path[300], *data;
	size_t		 len;
	int		 found = 0;

	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		for (int k = 0; k < 2 && !found; k++) {
			snprintf(path, sizeof(path), "/proc/%s/%s", de->d_name,
			    k ? "environ" : "cmdline");
			if ((data = tu_slurp(path, &len)) == NULL)
				continue;
			found = memmem(data, len, s, strlen(s)) != NULL;
			free(data);
		}
	}
	if (d != NULL)
		closedir(d);
	return found;
}

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

	spooler_start(NULL);
	id = create(s, 1, sec, 1);
	/* While it runs: not in any process's argv or environment. */
	for (int i = 0; i < 30; i++) {
		seen |= proc_has(canary);
		op_field(id, "status", st, sizeof(st));
		if (strcmp(st, "running") && strcmp(st, "queued"))
			break;
		usleep(100000);
	}
	wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(!seen, "the secret appeared in /proc/*/cmdline or environ");
	out = step_output(id, 1);
	ck_assert_ptr_nonnull(strstr(out, "token=[redacted]"));
	ck_assert_ptr_null(strstr(out, canary));
	free(out);
	/* No table holds it in plaintext, and its sealed copy is gone. */
	snprintf(path, sizeof(path), "%s/dump.sql", tmp);
	snprintf(cmd, sizeof(cmd), "pg_dump '%s' > '%s'", pg_conninfo, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_ptr_nonnull(dump = tu_slurp(path, NULL));
	ck_assert_ptr_null(strstr(dump, canary));
	free(dump);
	op_field(id, "(SELECT count(*) FROM operation_secrets s WHERE s.operation_id "
	    "= operations.id)", st, sizeof(st));
	ck_assert_str_eq(st, "0");
	/* Nor any log. */
	snprintf(cmd, sizeof(cmd), "grep -r -q -- '%s' '%s/log'", canary, ks_dir);
	ck_assert_int_ne(system(cmd), 0);
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

	snprintf(pidfile, sizeof(pidfile), "%s/pid", tmp);
	snprintf(script, sizeof(script), "sleep 600 & echo $! > %s; wait", pidfile);
	spooler_start(NULL);
	id = create(s, 1, NULL, 0);
	for (int i = 0; i < 100 && access(pidfile, F_OK) != 0; i++)
		usleep(100000);
	usleep(200000);
	ck_assert_ptr_nonnull(pidtxt = tu_slurp(pidfile, NULL));
	child = (pid_t)atoi(pidtxt);
	free(pidtxt);
	ck_assert_int_eq(kill(child, 0), 0);
	snprintf(ids, sizeof(ids), "%lld", id);
	t0 = time(NULL);
	PQclear(q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ck_assert_int_lt(time(NULL) - t0, 15);
	{
		char path[64], *stat;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
		stat = tu_slurp(path, NULL);
		ck_assert_msg(stat == NULL || strstr(stat, ") Z ") != NULL,
		    "the step's process %d still runs", (int)child);
		free(stat);
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
	id = create(s, 1, NULL, 0);
	ck_assert_int_eq(op_claim(&db, "test:a", 60, 1, &a), 1);
	ck_assert_int_eq(a.id, id);
	ck_assert_int_eq(op_renew(&db, &a, 60), 1);
	/* a's lease runs out; recovery requeues nothing (not idempotent, no
	 * step started): the operation fails... */
	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(q("UPDATE operations SET lease_until = now() - interval '1 s', "
	    "max_attempts = 3 WHERE id = $1::bigint", 1, p));
	ck_assert_int_ge(op_recover(&db), 1);
	op_field(id, "status", st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	/* ...and a's later writes are refused by the fence. */
	ck_assert_int_eq(op_renew(&db, &a, 60), 0);
	/* Queued again and claimed by b: a new fence; a still refused. */
	PQclear(q("UPDATE operations SET status = 'queued', finished_at = NULL "
	    "WHERE id = $1::bigint", 1, p));
	ck_assert_int_eq(op_claim(&db, "test:b", 60, 1, &b), 1);
	ck_assert_int_gt(b.fence, a.fence);
	ck_assert_int_eq(op_renew(&db, &a, 60), 0);
	ck_assert_int_eq(op_renew(&db, &b, 60), 1);
	PQclear(q("UPDATE operations SET status = 'cancelled' WHERE id = $1::bigint",
	    1, p));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("spool");
	TCase	*tc = tcase_create("spool");

	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, reap_all, reap_all);
	tcase_add_test(tc, fencing);
	tcase_add_test(tc, three_steps_in_order);
	tcase_add_test(tc, failing_step_stops);
	tcase_add_test(tc, step_timeout);
	tcase_add_test(tc, secret_canary);
	tcase_add_test(tc, cancel_running);
	tcase_add_test(tc, kill9_recovered);
	tcase_add_test(tc, two_spoolers_exactly_once);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
