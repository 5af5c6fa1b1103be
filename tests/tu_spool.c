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

#include "testutil.h"
#include "tu_hosts.h"
#include "tu_spool.h"

const char		*ts_dir, *ts_build, *ts_pgconn;
struct keys		 ts_keys;
const struct keys *const ts_sealkey = &ts_keys;
struct db		 ts_db;
char			 ts_tmp[] = "/tmp/ks-spool-XXXXXX";
static pid_t		 spoolers[8];
static int		 nspoolers;

/* The spoolers this run started, in its own stack directory: two test
 * runs on one machine must not kill each other's. */
static const char *
pidlist(void)
{
	static char	 path[512];
	const char	*dir = getenv("KS_DIR");

	snprintf(path, sizeof(path), "%s/run/test-spoolers.pids",
	    dir != NULL ? dir : "/nonexistent");
	return path;
}

/* Runs in the parent after every test: no spooler outlives its test. */
void
ts_reap_all(void)
{
	FILE	*f = fopen(pidlist(), "r");
	int	 pid;

	if (f == NULL)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			(void)kill(-pid, SIGKILL);
	fclose(f);
	unlink(pidlist());
}

pid_t
ts_spooler_start(const char *extra_env)
{
	char	 conf[512], logp[600];
	pid_t	 pid;

	snprintf(conf, sizeof(conf), "%s/keystone.conf", ts_dir);
	snprintf(logp, sizeof(logp), "%s/log/spooler-test.log", ts_dir);
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
		snprintf(bin, sizeof(bin), "%s/keystone-spooler", ts_build);
		execl(bin, "keystone-spooler", "-c", conf, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	spoolers[nspoolers++] = pid;
	/* A failing check ends the test before its ts_teardown: the suite's
	 * own ts_teardown (in the parent) kills what is listed here. */
	{
		FILE *f = fopen(pidlist(), "a");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)pid);
			fclose(f);
		}
	}
	return pid;
}

void
ts_spooler_kill(pid_t pid, int sig)
{
	int	 st;

	/* The whole session: master and workers. */
	kill(-pid, sig);
	waitpid(pid, &st, 0);
	for (int i = 0; i < nspoolers; i++)
		if (spoolers[i] == pid)
			spoolers[i] = 0;
}

PGresult *
ts_q(const char *sql, int n, const char *const *p)
{
	PGresult	*res = PQexecParams(ts_db.conn, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType	 st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		ck_abort_msg("%s: %s", sql, PQresultErrorMessage(res));
	return res;
}

void
ts_op_field(long long id, const char *col, char *out, size_t sz)
{
	char		 ids[24], sql[256];
	const char	*p[] = { ids };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM operations "
	    "WHERE id = $1::bigint", col);
	res = ts_q(sql, 1, p);
	snprintf(out, sz, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
}

/* Waits until the operation leaves queued/running; returns its status. */
void
ts_wait_done(long long id, int secs, char *status, size_t sz)
{
	for (int i = 0; i < secs * 10; i++) {
		ts_op_field(id, "status", status, sz);
		if (strcmp(status, "queued") && strcmp(status, "running"))
			return;
		usleep(100000);
	}
	ck_abort_msg("operation %lld still %s after %d s", id, status, secs);
}

long long
ts_create(const struct op_step_in *steps, size_t n, const struct secret *sec,
    size_t nsec)
{
	struct op_in	 in = { "check", "none", 0, 0, 0, 0, 0, 0 };
	long long	 id;
	char		 uuid[40];

	ck_assert_int_eq(op_create(&ts_db, &in, steps, n, sec, nsec, ts_sealkey, &id,
	    uuid), 0);
	return id;
}

void
ts_wait_status(long long id, const char *want, int secs)
{
	char	 st[32];

	for (int i = 0; i < secs * 10; i++) {
		ts_op_field(id, "status", st, sizeof(st));
		if (strcmp(st, want) == 0)
			return;
		usleep(100000);
	}
	ck_abort_msg("operation %lld is %s, not %s, after %d s", id, st, want, secs);
}

long long
ts_create_in(const struct op_in *in, const struct op_step_in *steps, size_t n)
{
	long long	 id;
	char		 uuid[40];

	ck_assert_int_eq(op_create(&ts_db, in, steps, n, NULL, 0, ts_sealkey, &id,
	    uuid), 0);
	return id;
}

char *
ts_step_output(long long id, int ordinal)
{
	char		 ids[24], ord[16];
	const char	*p[] = { ids, ord };
	PGresult	*res;
	char		*out;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(ord, sizeof(ord), "%d", ordinal);
	res = ts_q("SELECT coalesce(string_agg(o.chunk, '' ORDER BY o.seq), '') "
	    "FROM operation_steps s LEFT JOIN operation_output o ON o.step_id = s.id "
	    "WHERE s.operation_id = $1::bigint AND s.ordinal = $2::int", 2, p);
	out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

void
ts_step_field(long long id, int ordinal, const char *col, char *out, size_t sz)
{
	char		 ids[24], ord[16], sql[256];
	const char	*p[] = { ids, ord };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(ord, sizeof(ord), "%d", ordinal);
	snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM operation_steps "
	    "WHERE operation_id = $1::bigint AND ordinal = $2::int", col);
	res = ts_q(sql, 2, p);
	snprintf(out, sz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* What an operation ended as and why, for a failed check's message: its
 * status, error, attempts, claimant and times, then each step's status,
 * error, exit and the end of its output. (A static buffer.) */
const char *
ts_op_report(long long id)
{
	static char	 b[4096];
	char		 ids[24];
	const char	*p[] = { ids };
	PGresult	*res;
	int		 n;

	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT format('status %s, error %L, attempt %s, fence %s, "
	    "created %s, started %s, finished %s', status, error, attempt, fence, "
	    "created_at::time, started_at::time, finished_at::time) "
	    "FROM operations WHERE id = $1::bigint", 1, p);
	n = snprintf(b, sizeof(b), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) :
	    "no such operation");
	PQclear(res);
	res = ts_q("SELECT format('; step %s (%s) %s, error %L, exit %s, signal %s, "
	    "started %s, finished %s, output %L', s.ordinal, s.name, s.status, s.error, "
	    "s.exit_code, s.exit_signal, s.started_at::time, s.finished_at::time, "
	    "right((SELECT string_agg(c.chunk, '' ORDER BY c.seq) FROM operation_output c "
	    "WHERE c.step_id = s.id), 300)) FROM operation_steps s "
	    "WHERE s.operation_id = $1::bigint ORDER BY s.ordinal", 1, p);
	for (int i = 0; i < PQntuples(res) && n >= 0 && (size_t)n < sizeof(b); i++)
		n += snprintf(b + n, sizeof(b) - n, "%s", PQgetvalue(res, i, 0));
	PQclear(res);
	return b;
}

void
ts_setup(void)
{
	char	 path[512], err[256];

	ts_reap_all();	/* a failed test's spoolers must not take our work */
	ts_dir = getenv("KS_DIR");
	ts_build = getenv("KS_BUILD");
	ts_pgconn = getenv("KS_PGCONN");
	ck_assert_msg(ts_dir && ts_build && ts_pgconn,
	    "KS_DIR, KS_BUILD and KS_PGCONN must be set (tests/run.sh)");
	snprintf(path, sizeof(path), "%s/master.key", ts_dir);
	ck_assert_msg(keys_load(&ts_keys, path, KEYS_OPENER, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(db_open(&ts_db, ts_pgconn), 0);
	/* Earlier tests' leftovers must not occupy the spoolers. */
	PQclear(ts_q("UPDATE operations SET status = 'cancelled' WHERE status IN "
	    "('queued', 'running')", 0, NULL));
	ck_assert_ptr_nonnull(mkdtemp(ts_tmp));
	nspoolers = 0;
}

void
ts_teardown(void)
{
	char	 cmd[128];

	for (int i = 0; i < nspoolers; i++)
		if (spoolers[i] > 0)
			ts_spooler_kill(spoolers[i], SIGKILL);
	db_close(&ts_db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ts_tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", ts_tmp);
	memcpy(ts_tmp + strlen(ts_tmp) - 6, "XXXXXX", 6);
}


/* Scans every process's argv and environment for s. */
/* Nonzero when a process's argv (and, with env, its environment) holds s. */
static int
proc_has(const char *s, int env)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 path[300], *data;
	size_t		 len;
	int		 found = 0;

	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		for (int k = 0; k < 1 + env && !found; k++) {
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

int
ts_proc_has(const char *s)
{
	return proc_has(s, 1);
}

int
ts_proc_argv_has(const char *s)
{
	return proc_has(s, 0);
}


char *
ts_web_get(const char *path, const char *name)
{
	const char	*url = getenv("KS_URL"), *ca = getenv("KS_CA");
	const char	*user = getenv("KS_USER"), *pw = getenv("KS_PASS");
	char		 script[3072], file[512], cmd[600];
	FILE		*f;

	if (!url || !ca || !user || !pw)
		return NULL;
	snprintf(file, sizeof(file), "%s/pw", ts_tmp);
	if ((f = fopen(file, "w")) == NULL)
		return NULL;
	fputs(pw, f);
	fclose(f);
	snprintf(script, sizeof(script),
	    "set -e; cd '%s'; c() { curl -sS --cacert '%s' -c jar -b jar \"$@\"; }\n"
	    "c '%s/login' -o login.html\n"
	    "t=$(grep -o 'name=\"csrf\" value=\"[^\"]*\"' login.html | head -1 | "
	    "sed 's/.*value=\"//; s/\"$//')\n"
	    "c '%s/login' --data-urlencode \"csrf=$t\" --data-urlencode 'username=%s' "
	    "--data-urlencode password@pw -o /dev/null\n"
	    "c '%s%s' -o '%s'\n", ts_tmp, ca, url, url, user, url, path, name);
	snprintf(file, sizeof(file), "%s/get.sh", ts_tmp);
	if ((f = fopen(file, "w")) == NULL)
		return NULL;
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "bash '%s'", file);
	if (system(cmd) != 0)
		return NULL;
	snprintf(file, sizeof(file), "%s/%s", ts_tmp, name);
	return tu_slurp(file, NULL);
}

void
ts_wait_idle(int secs)
{
	for (int i = 0; i < secs * 5; i++) {
		PGresult *res = ts_q("SELECT count(*) FROM operations WHERE status IN "
		    "('queued', 'running')", 0, NULL);
		int busy = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (busy == 0)
			return;
		usleep(200000);
	}
	ck_abort_msg("operations still running after %d s", secs);
}

long long
ts_add_server(const struct th_host *h, const char *prefix, int build)
{
	char		 name[64];
	const char	*p[] = { name, h->addr, h->key, build ? "true" : "false" };
	PGresult	*res;
	long long	 id;

	snprintf(name, sizeof(name), "%s%s", prefix, h->name);
	res = ts_q("INSERT INTO servers (name, address, ssh_port, ssh_user, host_key, "
	    "role_build, role_runtime, status) VALUES ($1, $2, 22, 'keystone', $3, "
	    "$4::bool, NOT $4::bool, 'active') ON CONFLICT (address, ssh_port) DO UPDATE "
	    "SET name = EXCLUDED.name, host_key = EXCLUDED.host_key, "
	    "role_build = EXCLUDED.role_build, role_runtime = EXCLUDED.role_runtime, "
	    "status = 'active', ssh_user = 'keystone' RETURNING id", 4, p);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

void
ts_wait_registry(const char *listen)
{
	char	 cmd[256], *out;

	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' "
	    "http://%s/v2/", listen);
	for (int i = 0; i < 150; i++) {
		int ok;
		out = th_local(ts_tmp, cmd);
		ok = strcmp(out, "401") == 0;
		free(out);
		if (ok)
			return;
		usleep(200000);
	}
	ck_abort_msg("the registry did not come back on %s", listen);
}
