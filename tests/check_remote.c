/*
 * The operations engine over SSH, on real test hosts (tests/hosts): steps
 * on two ready hosts and the control node, host key refusals, timeouts,
 * big output, crash recovery, exactly-once under two spoolers, secrets,
 * cancel, every connection closed however many servers an operation
 * touches, several channels supervised at once with silent hosts among
 * them. Needs the stack ($KS_PGCONN, $KS_DIR, $KS_BUILD) and at least
 * two ready hosts ($KS_HOSTS_STATE, from `hostctl up`).
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exec.h"
#include "ssh.h"
#include "testutil.h"
#include "tu_hosts.h"
#include "tu_spool.h"
#include "tu_web.h"

static struct th_host	 hosts[2];
static const char	*hstate;
static long long	 srv[2];	/* servers.id of hosts[0], hosts[1] */
static int		 seq;

static void
load_hosts(void)
{
	hstate = getenv("KS_HOSTS_STATE");
	ck_assert_msg(th_load("ready", hosts, 2) == 2, "need two ready hosts");
}

/* The server row for address:port (made, or re-pinned) with key. */
static long long
add_server(const char *addr, int port, const char *key)
{
	char		 name[64], ports[16];
	const char	*p[] = { name, addr, ports, key };
	PGresult	*res;
	long long	 id;

	snprintf(name, sizeof(name), "remote-%d-%d", (int)getpid(), seq++);
	snprintf(ports, sizeof(ports), "%d", port);
	res = ts_q("INSERT INTO servers (name, address, ssh_port, ssh_user, host_key) "
	    "VALUES ($1, $2, $3::int, 'keystone', $4) ON CONFLICT (address, ssh_port) "
	    "DO UPDATE SET host_key = EXCLUDED.host_key RETURNING id", 4, p);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

static void
setup(void)
{
	char	 key[512];

	ts_setup();
	load_hosts();
	snprintf(key, sizeof(key), "%s/keys/mgmt_ed25519", hstate);
	setenv("KEYSTONE_SSH_KEY_FILE", key, 1);
	setenv("KEYSTONE_SSH_CONNECT_TIMEOUT", "3", 1);
	srv[0] = add_server(hosts[0].addr, 22, hosts[0].key);
	srv[1] = add_server(hosts[1].addr, 22, hosts[1].key);
}

static void
teardown(void)
{
	ts_teardown();
}

START_TEST(across_two_hosts)
{
	struct op_step_in s[] = {
		{ "control", "control_node", 0, "echo on-control", 0, 60 },
		{ "a", "specific_server", srv[0], "hostname; id -un; docker info "
		  "--format '{{.ServerVersion}}' >/dev/null && echo engine-ok", 0, 60 },
		{ "b", "runtime_server", srv[1], "hostname; echo to-stderr >&2", 0, 60 },
		{ "a-again", "specific_server", srv[0], "echo same-connection", 0, 60 },
	};
	char	 st[32], want[128], *out;
	long long id;

	ts_spooler_start(NULL);
	id = ts_create(s, 4, NULL, 0);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	out = ts_step_output(id, 1);
	ck_assert_str_eq(out, "on-control\n");
	free(out);
	out = ts_step_output(id, 2);
	snprintf(want, sizeof(want), "%s\nkeystone\nengine-ok\n", hosts[0].name);
	ck_assert_str_eq(out, want);
	free(out);
	out = ts_step_output(id, 3);
	snprintf(want, sizeof(want), "%s\nto-stderr\n", hosts[1].name);
	ck_assert_str_eq(out, want);
	free(out);
	for (int i = 1; i <= 4; i++) {
		ts_step_field(id, i, "exit_code", st, sizeof(st));
		ck_assert_str_eq(st, "0");
	}
	/* A remote failure: recorded with its code, later steps skipped. */
	{
		struct op_step_in f[] = {
			{ "fails", "specific_server", srv[1], "exit 42", 0, 60 },
			{ "never", "specific_server", srv[0], "echo never", 0, 60 },
		};
		id = ts_create(f, 2, NULL, 0);
		ts_wait_done(id, 60, st, sizeof(st));
		ck_assert_str_eq(st, "failed");
		ts_step_field(id, 1, "exit_code", st, sizeof(st));
		ck_assert_str_eq(st, "42");
		ts_step_field(id, 2, "status", st, sizeof(st));
		ck_assert_str_eq(st, "skipped");
	}
}
END_TEST

/* More servers than the spooler ever cached connections for (16). */
#define MANY		20
#define MANY_PER	10	/* addresses per extra sshd */

/* The number of lines cmd prints on the machine. */
static int
local_lines(const char *cmd)
{
	char	*out = th_local(ts_tmp, cmd);
	int	 n = 0;

	for (const char *p = out; *p != '\0'; p++)
		n += *p == '\n';
	free(out);
	return n;
}

/* The worker process of spooler sp (started with one worker), or -1. */
static pid_t
worker_of(pid_t sp)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[300], buf[512], *p;
	pid_t		 w = -1;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (w == -1 && (e = readdir(d)) != NULL) {
		FILE	*f;
		int	 ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* "pid (comm) state ppid ...": comm may hold spaces. */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == sp &&
		    strstr(buf, "(keystone-spoole") != NULL)
			w = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return w;
}

/* How many sockets process pid holds open. */
static int
sockets_of(pid_t pid)
{
	DIR		*d;
	struct dirent	*e;
	char		 dir[64], path[400], link[64];
	int		 n = 0;
	ssize_t		 len;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((len = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		n += strncmp(link, "socket:", 7) == 0;
	}
	closedir(d);
	return n;
}

/*
 * Many short steps, one after another on one connection, their output on
 * stdout, on stderr or both: every one ends with its exit status (the
 * wrapper's in-band status is the last thing it prints, on stderr, and
 * must never be lost at the channel's end).
 */
START_TEST(many_short_steps_keep_status)
{
	enum { N = 120 };
	static struct op_step_in s[N];
	static char	 scripts[N][96], names[N][16];
	char		 st[32], err[512];
	long long	 id;

	for (int i = 0; i < N; i++) {
		switch (i % 4) {
		case 0:
			snprintf(scripts[i], sizeof(scripts[i]), "echo out-%d", i);
			break;
		case 1:
			snprintf(scripts[i], sizeof(scripts[i]), "echo err-%d >&2", i);
			break;
		case 2:
			snprintf(scripts[i], sizeof(scripts[i]), "echo o-%d; echo e-%d >&2; "
			    "exit 0", i, i);
			break;
		default:
			snprintf(scripts[i], sizeof(scripts[i]), "head -c 70000 /dev/zero | "
			    "tr '\\0' x; head -c 70000 /dev/zero | tr '\\0' y >&2");
			break;
		}
		snprintf(names[i], sizeof(names[i]), "s%d", i);
		s[i].name = names[i];
		s[i].target = "specific_server";
		s[i].server_id = srv[0];
		s[i].script = scripts[i];
		s[i].timeout_s = 60;
	}
	ts_spooler_start(NULL);
	id = ts_create(s, N, NULL, 0);
	ts_wait_done(id, 600, st, sizeof(st));
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "operation %lld: %s: %s", id, st,
	    err);
}
END_TEST

/*
 * One operation with two steps on each of MANY servers (the second round
 * after all the first ones): each second step reuses its server's
 * connection, and when the operation has ended every connection it made
 * is closed, in a worker that lives on. The servers are one test host's
 * sshd listening on MANY more addresses, 127.5.N.1.. (N: the host's own
 * 127.0.0.N, which the harness hands out to one host on the machine at a
 * time, so concurrent runs never share these addresses).
 */
START_TEST(many_servers_all_closed)
{
	struct op_step_in s[2 * MANY], warm[] = {
		{ "warm", "control_node", 0, "true", 0, 60 } };
	char		 names[2 * MANY][32], net[32], cmd[2048], ls[256], est[256];
	char		 st[32], err[512], want[64], *out[2 * MANY], *o;
	const char	*script = "echo \"$SSH_CONNECTION\"";
	long long	 id;
	pid_t		 sp, w;
	int		 oct, base, socks = -1, sessions = -1, alive, up = 0, down = 0;

	oct = atoi(strrchr(hosts[0].addr, '.') + 1);
	snprintf(net, sizeof(net), "127.5.%d", oct);
	snprintf(ls, sizeof(ls), "ss -Hltn '( sport = :22 )' src %s.0/24", net);
	snprintf(est, sizeof(est), "ss -Htn state established '( sport = :22 )' "
	    "src %s.0/24", net);
	ck_assert_msg(local_lines(ls) == 0, "something already listens on %s.0/24", net);
	/* Extra sshd daemons beside the host's own (one listens on 16
	 * addresses at most): MANY_PER addresses each, the host's keys. */
	snprintf(cmd, sizeof(cmd), "set -e; for d in $(seq 1 %d); do "
	    "f=/etc/ssh/ks-many-$d.conf; { echo \"PidFile /run/ks-many-$d.pid\"; "
	    "echo 'PasswordAuthentication no'; echo 'KbdInteractiveAuthentication no'; "
	    "for k in $(seq $(((d - 1) * %d + 1)) $((d * %d))); do "
	    "echo \"ListenAddress %s.$k\"; done; } > $f; /usr/sbin/sshd -t -f $f; "
	    "/usr/sbin/sshd -f $f -E /var/log/ks-many-$d.log; done",
	    MANY / MANY_PER, MANY_PER, MANY_PER, net);
	ck_assert_msg(th_sh(&hosts[0], ts_tmp, cmd, &o) == 0, "extra sshd: %s", o);
	free(o);
	for (int i = 0; i < 100 && (up = local_lines(ls)) != MANY; i++)
		usleep(100000);
	ck_assert_msg(up == MANY, "sshd listens on %d of %d extra addresses", up, MANY);

	for (int k = 0; k < MANY; k++) {
		char		 addr[48];
		long long	 sid;

		snprintf(addr, sizeof(addr), "%s.%d", net, k + 1);
		sid = add_server(addr, 22, hosts[0].key);	/* one host, one key */
		for (int r = 0; r < 2; r++) {
			struct op_step_in *x = &s[r * MANY + k];
			snprintf(names[r * MANY + k], sizeof(names[0]), "r%d-%d", r, k + 1);
			memset(x, 0, sizeof(*x));
			x->name = names[r * MANY + k];
			x->target = "specific_server";
			x->server_id = sid;
			x->script = script;
			x->timeout_s = 60;
		}
	}
	sp = ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=1");
	/* The worker's own sockets (its database connection) once it works. */
	id = ts_create(warm, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_int_gt(w = worker_of(sp), 0);
	ck_assert_int_ge(base = sockets_of(w), 0);

	id = ts_create(s, 2 * MANY, NULL, 0);
	ts_wait_done(id, 240, st, sizeof(st));
	ts_op_field(id, "error", err, sizeof(err));
	for (int i = 0; i < 2 * MANY; i++)
		out[i] = ts_step_output(id, i + 1);
	/* Closed when the operation ends: a short bound, no process exit. */
	for (int i = 0; i < 100; i++) {
		sessions = local_lines(est);
		socks = sockets_of(w);
		if (sessions == 0 && socks == base)
			break;
		usleep(100000);
	}
	alive = kill(w, 0) == 0 && worker_of(sp) == w;

	/* The host as it was, before any check can end the test. */
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, "for p in /run/ks-many-*.pid; do "
	    "kill $(cat $p); rm -f $p; done; rm -f /etc/ssh/ks-many-*.conf "
	    "/var/log/ks-many-*.log", NULL), 0);
	/* Their servers stay (their steps name them), out of any later work. */
	{
		char		 like[48];
		const char	*p[] = { like };

		snprintf(like, sizeof(like), "%s.%%", net);
		PQclear(ts_q("UPDATE servers SET status = 'disabled', host_key = NULL "
		    "WHERE address LIKE $1", 1, p));
	}
	for (int i = 0; i < 100 && (down = local_lines(ls)) != 0; i++)
		usleep(100000);

	ck_assert_msg(strcmp(st, "succeeded") == 0, "operation %s: %s", st, err);
	ck_assert_msg(alive, "spooler worker %d is gone", (int)w);
	ck_assert_msg(sessions == 0, "%d SSH sessions on %s.0/24 still established "
	    "after the operation ended (the worker holds %d sockets, %d before it)",
	    sessions, net, socks, base);
	ck_assert_msg(socks == base, "spooler worker holds %d sockets after the "
	    "operation, %d before it", socks, base);
	for (int k = 0; k < MANY; k++) {
		/* SSH_CONNECTION: client address and port, server address and
		 * port. Same client port: the same connection. */
		snprintf(want, sizeof(want), " %s.%d 22\n", net, k + 1);
		ck_assert_msg(strstr(out[k], want) != NULL, "step r0-%d: %s", k + 1, out[k]);
		ck_assert_msg(strcmp(out[k], out[MANY + k]) == 0, "server %s.%d: a new "
		    "connection for the second step: %s then %s", net, k + 1, out[k],
		    out[MANY + k]);
	}
	for (int i = 0; i < 2 * MANY; i++)
		free(out[i]);
	ck_assert_msg(down == 0, "sshd still listens on %d extra addresses", down);
}
END_TEST

static void
pin(long long id, const char *key)
{
	char		 ids[24];
	const char	*p[] = { ids, key };

	snprintf(ids, sizeof(ids), "%lld", id);
	PQclear(ts_q("UPDATE servers SET host_key = $2 WHERE id = $1::bigint", 2, p));
}

START_TEST(host_keys_refused_before_sending)
{
	char	 st[32], err[512], script[256], cmd[256];
	struct op_step_in s[] = { { "canary", "specific_server", 0, script, 0, 60 } };
	long long id;

	snprintf(script, sizeof(script), "touch /tmp/ks-hostkey-canary-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "test ! -e /tmp/ks-hostkey-canary-%d", (int)getpid());
	s[0].server_id = srv[0];
	ts_spooler_start(NULL);
	/* Not pinned: nothing is trusted on first use. */
	pin(srv[0], NULL);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(err, "is not pinned yet"));
	/* Pinned to another key: as if the host's key had changed. */
	pin(srv[0], hosts[1].key);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strstr(err, "host key mismatch") != NULL, "%s", err);
	/* The script never reached the host. */
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, cmd, NULL), 0);
	/* With the right key it runs: the refusals were about the key. */
	pin(srv[0], hosts[0].key);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_int_ne(th_sh(&hosts[0], ts_tmp, cmd, NULL), 0);
}
END_TEST

/* keystonectl server pin: shows, then pins only the confirmed key. */
START_TEST(pin_with_keystonectl)
{
	char	 name[128], cmd[1024], fp[128], *out, *p;
	char	 ids[24];
	const char *pp[] = { ids };
	PGresult *res;
	int	 st;

	snprintf(ids, sizeof(ids), "%lld", srv[0]);
	res = ts_q("SELECT name FROM servers WHERE id = $1::bigint", 1, pp);
	snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	pin(srv[0], NULL);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' server pin "
	    "'%s' > '%s/pin.out' 2>&1", ts_build, ts_dir, name, ts_tmp);
	st = system(cmd);
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	snprintf(cmd, sizeof(cmd), "%s/pin.out", ts_tmp);
	ck_assert_ptr_nonnull(out = tu_slurp(cmd, NULL));
	ck_assert_ptr_nonnull(p = strstr(out, "offers SHA256:"));
	snprintf(fp, sizeof(fp), "%.*s", (int)strcspn(p + 7, "\n"), p + 7);
	free(out);
	res = ts_q("SELECT host_key IS NULL FROM servers WHERE id = $1::bigint", 1, pp);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");	/* shown, not pinned */
	PQclear(res);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' server pin "
	    "'%s' SHA256:AAAAwrongAAAA >/dev/null 2>&1", ts_build, ts_dir, name);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	res = ts_q("SELECT host_key IS NULL FROM servers WHERE id = $1::bigint", 1, pp);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' server pin "
	    "'%s' '%s' >/dev/null 2>&1", ts_build, ts_dir, name, fp);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
	res = ts_q("SELECT host_key, host_key_sha256 FROM servers WHERE id = $1::bigint",
	    1, pp);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), hosts[0].key);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), fp);
	PQclear(res);
}
END_TEST

/* Pulls the value of the form field name out of html into out. */
static void
field_value(const char *html, const char *name, char *out, size_t sz)
{
	char		 mark[96];
	const char	*p, *e;

	snprintf(mark, sizeof(mark), "name=\"%s\" value=\"", name);
	ck_assert_msg((p = strstr(html, mark)) != NULL, "no %s field", name);
	p += strlen(mark);
	ck_assert_ptr_nonnull(e = strchr(p, '"'));
	snprintf(out, sz, "%.*s", (int)(e - p), p);
}

/*
 * The web flow, over HTTPS: the server page's "Check and pin" queues the
 * check, an operation the spooler runs; its page waits for it, then shows
 * the fingerprint of the key the server offers; the confirm button pins
 * exactly that key.
 */
START_TEST(pin_on_the_web)
{
	struct tw_client *cl;
	struct buf	 f;
	char		 path[128], uuid[64], ids[24], loc[256], op[64], fp[128];
	const char	*pp[] = { ids };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", srv[1]);
	res = ts_q("SELECT uuid FROM servers WHERE id = $1::bigint", 1, pp);
	snprintf(uuid, sizeof(uuid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	pin(srv[1], NULL);
	ck_assert_int_eq(tw_env("check_remote"), 0);
	tw_setup(1, 4);
	cl = tw_login();
	ts_spooler_start(NULL);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/servers/%s/hostkey/check", uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	/* The page waits for the check (bounded). */
	for (int i = 0; i < 300; i++) {
		ck_status(tw_get(cl, loc), cl, 200);
		if (!tw_has(cl, "id=\"op-live\""))
			break;
		usleep(200000);
	}
	ck_hasnt(cl, "id=\"op-live\"");
	field_value(tw_body(cl), "op", op, sizeof(op));
	field_value(tw_body(cl), "fingerprint", fp, sizeof(fp));
	ck_assert_ptr_nonnull(strstr(fp, "SHA256:"));
	/* Shown, not pinned. */
	res = ts_q("SELECT host_key IS NULL FROM servers WHERE id = $1::bigint", 1, pp);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "op", op);
	tw_fadd(&f, "fingerprint", fp);
	snprintf(path, sizeof(path), "/servers/%s/hostkey", uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	res = ts_q("SELECT host_key, host_key_sha256 FROM servers WHERE id = $1::bigint",
	    1, pp);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), hosts[1].key);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), fp);
	PQclear(res);
	/* The key pinned is the one Keystone's own connections get. */
	{
		struct op_step_in s[] = {
			{ "x", "specific_server", srv[1], "echo pinned-ok", 0, 60 },
		};
		char	 st[32], *out;
		long long id = ts_create(s, 1, NULL, 0);

		ts_wait_done(id, 60, st, sizeof(st));
		ck_assert_str_eq(st, "succeeded");
		out = ts_step_output(id, 1);
		ck_assert_str_eq(out, "pinned-ok\n");
		free(out);
	}
	PQclear(ts_q("DELETE FROM operations WHERE kind = 'hostkey' AND "
	    "subject_id = $1::bigint", 1, pp));
	buf_release(&f);
	tw_teardown();
}
END_TEST

START_TEST(unreachable_and_silent)
{
	struct sockaddr_in sa;
	char	 st[32], err[512];
	struct op_step_in s[] = { { "x", "specific_server", 0, "true", 0, 60 } };
	long long id, closed, silent;
	socklen_t len = sizeof(sa);
	time_t	 t0;
	int	 fd;

	/* Nothing listens: refused at once. */
	closed = add_server("127.0.0.251", 22, hosts[0].key);
	/* Listens, never speaks: the handshake must give up (timeout 3 s). */
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	silent = add_server("127.0.0.1", ntohs(sa.sin_port), hosts[0].key);
	ts_spooler_start(NULL);
	s[0].server_id = closed;
	t0 = time(NULL);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strstr(err, "cannot connect") != NULL, "%s", err);
	ck_assert_int_lt(time(NULL) - t0, 5);
	s[0].server_id = silent;
	t0 = time(NULL);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_lt(time(NULL) - t0, 3 + 6);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strstr(err, "handshake") != NULL, "%s", err);
	close(fd);
}
END_TEST

static int
collect(void *arg, const char *p, size_t n)
{
	return buf_put(arg, p, n);
}

/* A TCP listener on 127.0.0.1 that never accepts; its port into *port. */
static int
listener(int backlog, int *port)
{
	struct sockaddr_in sa;
	socklen_t	 len = sizeof(sa);
	int		 fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * Several SSH channels supervised at once in this process (what step
 * groups run on): two steps on hosts[0] over one connection, one on
 * hosts[1], one on the control node, and two servers that never answer
 * SSH: one accepts the TCP connection and never speaks, one never answers
 * the TCP connect at all (its listener's accept queue is full, so the
 * kernel drops new SYNs). The others finish while the silent ones are
 * still connecting; each silent one fails on its own deadline, saying so.
 */
START_TEST(group_with_silent_hosts)
{
	enum { N = 6, CT = 5 };
	const char	*conn_of = "echo \"$SSH_CONNECTION\"";
	struct ssh_target t;
	struct ssh_conn	*k[4];
	struct sup_item	 it[N];
	struct buf	 out[N];
	char		 keyf[512], script[N][128], want[128], *l0, *l1;
	int		 mute, full, filler, mute_port, full_port;
	long long	 t0, last_real = 0;

	snprintf(keyf, sizeof(keyf), "%s/keys/mgmt_ed25519", hstate);
	mute = listener(8, &mute_port);
	full = listener(0, &full_port);
	/* Backlog 0 holds one connection: this one fills it. */
	ck_assert_int_ge(filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0), 0);
	{
		struct sockaddr_in sa;
		struct pollfd	 pfd = { filler, POLLOUT, 0 };

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((unsigned short)full_port);
		(void)connect(filler, (struct sockaddr *)&sa, sizeof(sa));
		ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	}

	memset(&t, 0, sizeof(t));
	t.user = "keystone";
	t.key_file = keyf;
	t.connect_timeout_s = CT;
	t.idle_timeout_s = 30;
	t.port = 22;
	for (int i = 0; i < 2; i++) {
		t.host = hosts[i].addr;
		t.hostkey = hosts[i].key;
		ck_assert_ptr_nonnull(k[i] = ssh_conn_new(&t));
	}
	t.host = "127.0.0.1";
	t.hostkey = hosts[0].key;
	t.port = mute_port;
	ck_assert_ptr_nonnull(k[2] = ssh_conn_new(&t));
	t.port = full_port;
	ck_assert_ptr_nonnull(k[3] = ssh_conn_new(&t));

	snprintf(script[0], sizeof(script[0]), "sleep 1; hostname; %s", conn_of);
	snprintf(script[1], sizeof(script[1]), "hostname; %s", conn_of);
	snprintf(script[2], sizeof(script[2]), "hostname; echo to-stderr >&2");
	snprintf(script[3], sizeof(script[3]), "echo on-control");
	snprintf(script[4], sizeof(script[4]), "echo never");
	snprintf(script[5], sizeof(script[5]), "echo never");
	memset(it, 0, sizeof(it));
	for (int i = 0; i < N; i++) {
		buf_init(&out[i]);
		/* Steps 0, 1: k[0]; 2: k[1]; 3: local; 4: k[2]; 5: k[3]. */
		it[i].ch = i == 3 ? chan_local() :
		    ssh_chan(k[i < 2 ? 0 : i == 2 ? 1 : i - 2]);
		ck_assert_ptr_nonnull(it[i].ch);
		it[i].rq.script = script[i];
		it[i].rq.timeout_s = 60;
		it[i].rq.output_cap = 1 << 20;
		it[i].rq.output = collect;
		it[i].rq.arg = &out[i];
	}
	t0 = step_now_ms();
	ck_assert_int_eq(supervise(it, N, NULL, NULL), 0);

	for (int i = 0; i < 4; i++) {
		ck_assert_msg(it[i].rc == 0 && it[i].res.exited &&
		    it[i].res.status == 0, "step %d: rc %d, exit %d: %s", i,
		    it[i].rc, it[i].res.status, it[i].res.error);
		if (it[i].ended_ms > last_real)
			last_real = it[i].ended_ms;
	}
	/* Each its own output; the two on hosts[0] over one connection (the
	 * same client port), at the same time (the second ended first). */
	l0 = strchr(buf_cstr(&out[0]), '\n');
	l1 = strchr(buf_cstr(&out[1]), '\n');
	ck_assert_msg(l0 != NULL && l1 != NULL && strcmp(l0, l1) == 0 &&
	    strstr(l0, hosts[0].addr) != NULL, "not one connection: %s / %s",
	    buf_cstr(&out[0]), buf_cstr(&out[1]));
	for (int i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "%s\n", hosts[0].name);
		ck_assert_int_eq(strncmp(buf_cstr(&out[i]), want, strlen(want)), 0);
	}
	ck_assert_msg(it[1].ended_ms < it[0].ended_ms, "the steps on hosts[0] "
	    "did not overlap");
	snprintf(want, sizeof(want), "%s\nto-stderr\n", hosts[1].name);
	ck_assert_str_eq(buf_cstr(&out[2]), want);
	ck_assert_str_eq(buf_cstr(&out[3]), "on-control\n");

	/* The silent ones: still connecting when the others were done. */
	ck_assert_msg(last_real - t0 < CT * 1000, "the reachable steps took "
	    "%lld ms", last_real - t0);
	for (int i = 4; i < N; i++) {
		ck_assert_msg(it[i].rc == -1 && it[i].ended_ms > last_real,
		    "silent step %d: rc %d, ended %lld ms after the start: %s", i,
		    it[i].rc, it[i].ended_ms - t0, it[i].res.error);
		ck_assert_msg(it[i].ended_ms - t0 >= CT * 1000 - 100 &&
		    it[i].ended_ms - t0 < CT * 1000 + 2000, "silent step %d "
		    "ended after %lld ms (connect timeout %d s): %s", i,
		    it[i].ended_ms - t0, CT, it[i].res.error);
		ck_assert_str_eq(buf_cstr(&out[i]), "");
	}
	snprintf(want, sizeof(want), "SSH handshake with 127.0.0.1 timed out "
	    "after %d s", CT);
	ck_assert_str_eq(it[4].res.error, want);
	snprintf(want, sizeof(want), "connection to 127.0.0.1 port %d timed out "
	    "after %d s", full_port, CT);
	ck_assert_str_eq(it[5].res.error, want);

	for (int i = 0; i < N; i++)
		buf_release(&out[i]);
	for (int i = 0; i < 4; i++)
		ssh_close(k[i]);
	close(filler);
	close(full);
	close(mute);
}
END_TEST

/* A step's timestamp column as seconds since the epoch. */
static double
step_epoch(long long id, int ordinal, const char *col)
{
	char	 expr[128], v[64];

	snprintf(expr, sizeof(expr), "extract(epoch FROM %s)", col);
	ts_step_field(id, ordinal, expr, v, sizeof(v));
	return atof(v);
}

/*
 * One operation, a step group over the two ready hosts and a server where
 * nothing answers (its address's accept queue is full: the TCP connect
 * never completes). The two reachable steps run and finish while the
 * third is still connecting; it fails on its own deadline (connect
 * timeout 3 s), recorded for it, and the operation reports it; the
 * always-run step runs after the group.
 */
START_TEST(group_over_hosts_one_unreachable)
{
	enum { CT = 3 };
	char	 st[32], err[512], want[256], *out;
	struct op_step_in s[] = {
		{ .name = "a", .target = "runtime_server",
		  .script = "sleep 1; hostname", .timeout_s = 60, .group = 1 },
		{ .name = "b", .target = "runtime_server",
		  .script = "sleep 1; hostname", .timeout_s = 60, .group = 1 },
		{ .name = "silent", .target = "runtime_server",
		  .script = "echo never", .timeout_s = 60, .group = 1 },
		{ .name = "cleanup", .target = "control_node",
		  .script = "echo cleanup", .timeout_s = 60, .always = 1 },
	};
	struct sockaddr_in sa;
	struct pollfd	 pfd;
	long long	 id, silent;
	double		 start3, end3;
	int		 full, full_port, filler;

	full = listener(0, &full_port);
	/* Backlog 0 holds one connection: this one fills it. */
	ck_assert_int_ge(filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)full_port);
	(void)connect(filler, (struct sockaddr *)&sa, sizeof(sa));
	pfd.fd = filler;
	pfd.events = POLLOUT;
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	silent = add_server("127.0.0.1", full_port, hosts[0].key);

	s[0].server_id = srv[0];
	s[1].server_id = srv[1];
	s[2].server_id = silent;
	ts_spooler_start(NULL);
	id = ts_create(s, 4, NULL, 0);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_msg(strcmp(st, "failed") == 0, "%s", ts_op_report(id));
	snprintf(want, sizeof(want), "step 3 (silent): connection to 127.0.0.1 "
	    "port %d timed out after %d s", full_port, CT);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, want);
	ts_step_field(id, 3, "status", st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_step_field(id, 3, "error", err, sizeof(err));
	ck_assert_msg(strstr(err, "timed out after 3 s") != NULL, "%s", err);
	for (int i = 0; i < 2; i++) {
		ts_step_field(id, i + 1, "status", st, sizeof(st));
		ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
		out = ts_step_output(id, i + 1);
		snprintf(want, sizeof(want), "%s\n", hosts[i].name);
		ck_assert_str_eq(out, want);
		free(out);
	}
	/* All three started together; the reachable two ended while the
	 * third was still connecting, which took its whole deadline. */
	start3 = step_epoch(id, 3, "started_at");
	end3 = step_epoch(id, 3, "finished_at");
	for (int i = 1; i <= 2; i++) {
		ck_assert_msg(step_epoch(id, i, "started_at") < end3 &&
		    start3 < step_epoch(id, i, "finished_at"), "step %d did not "
		    "overlap the silent one: %s", i, ts_op_report(id));
		ck_assert_msg(step_epoch(id, i, "finished_at") < end3, "step %d "
		    "ended after the silent one: %s", i, ts_op_report(id));
		ck_assert_msg(step_epoch(id, i, "finished_at") -
		    step_epoch(id, i, "started_at") < CT, "step %d took its time: "
		    "%s", i, ts_op_report(id));
	}
	ck_assert_msg(end3 - start3 >= CT - 0.5 && end3 - start3 < CT + 2.5,
	    "the silent step ended %.1f s after it started (deadline %d s): %s",
	    end3 - start3, CT, ts_op_report(id));
	ts_step_field(id, 4, "status", st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(id));
	ck_assert(step_epoch(id, 4, "started_at") >= end3);
	close(filler);
	close(full);
}
END_TEST

START_TEST(hang_times_out_and_remote_stops)
{
	char	 st[32], err[256], script[128], cmd[128];
	struct op_step_in s[] = { { "hangs", "specific_server", 0, script, 0, 3 } };
	long long id;
	time_t	 t0;

	snprintf(script, sizeof(script), "sleep 611%d", (int)getpid() % 1000);
	/* [s]leep: the pattern must not match the shell running pgrep. */
	snprintf(cmd, sizeof(cmd), "! pgrep -f '[s]leep 611%d'", (int)getpid() % 1000);
	s[0].server_id = srv[0];
	ts_spooler_start(NULL);
	t0 = time(NULL);
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_lt(time(NULL) - t0, 3 + 10);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "step 1 (hangs): timed out after 3 s");
	for (int i = 0; i < 30 && th_sh(&hosts[0], ts_tmp, cmd, NULL) != 0; i++)
		usleep(100000);
	ck_assert_msg(th_sh(&hosts[0], ts_tmp, cmd, NULL) == 0,
	    "the remote process still runs");
}
END_TEST

static long
worker_hwm_kb(void)
{
	char	 cmd[1024];
	FILE	*p;
	long	 kb = -1;

	/* This stack's spoolers only (their -c names its configuration):
	 * another run's on the same machine are not ours to measure. */
	snprintf(cmd, sizeof(cmd), "for d in /proc/[0-9]*; do "
	    "grep -q '^Name:.*keystone-spoole' $d/status 2>/dev/null && "
	    "tr '\\0' ' ' < $d/cmdline 2>/dev/null | grep -qF -- '%s/keystone.conf' && "
	    "awk '/VmHWM/ {print $2}' $d/status; done | sort -n | tail -1", ts_dir);
	p = popen(cmd, "r");

	if (p != NULL) {
		if (fscanf(p, "%ld", &kb) != 1)
			kb = -1;
		pclose(p);
	}
	return kb;
}

START_TEST(fifty_megabytes)
{
	char	 st[32], *out;
	struct op_step_in warm[] = { { "small", "specific_server", 0,
	    "head -c 2000000 /dev/zero | tr '\\0' w", 0, 60 } };
	struct op_step_in s[] = { { "noisy", "specific_server", 0,
	    "for i in $(seq 1 50); do head -c 524288 /dev/zero | tr '\\0' o; "
	    "head -c 524288 /dev/zero | tr '\\0' e >&2; done", 0, 300 } };
	long long id;
	long	 base, kb;

	warm[0].server_id = s[0].server_id = srv[1];
	/* One worker, and ASan's quarantine of freed memory kept small so
	 * that peak RSS measures what the spooler holds, not ASan. */
	setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:quarantine_size_mb=4", 1);
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=1");
	id = ts_create(warm, 1, NULL, 0);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	base = worker_hwm_kb();	/* after 2 MB: output cap and buffers in use */
	id = ts_create(s, 1, NULL, 0);
	ts_wait_done(id, 240, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ts_step_field(id, 1, "output_bytes", st, sizeof(st));
	ck_assert_str_eq(st, "52428800");
	ts_step_field(id, 1, "truncated", st, sizeof(st));
	ck_assert_str_eq(st, "true");
	out = ts_step_output(id, 1);
	ck_assert_uint_lt(strlen(out), 1024 * 1024 + 200);
	ck_assert_ptr_nonnull(strstr(out, "[output truncated: 52428800 bytes produced"));
	free(out);
	/* Bounded: 50 MB went through; the peak grew by far less. */
	kb = worker_hwm_kb();
	ck_assert_msg(base > 0 && kb - base < 16 * 1024, "spooler worker peak RSS "
	    "%ld kB after 2 MB, %ld kB after 50 MB", base, kb);
}
END_TEST

START_TEST(kill9_mid_remote_step)
{
	char	 st[32], err[256], script[256];
	struct op_step_in s[] = { { "slow", "specific_server", 0, script, 0, 600 } };
	long long id;
	pid_t	 sp;
	time_t	 t0;

	snprintf(script, sizeof(script), "echo started; sleep 612%d", (int)getpid() % 1000);
	s[0].server_id = srv[0];
	sp = ts_spooler_start(NULL);
	id = ts_create(s, 1, NULL, 0);
	for (int i = 0; i < 100; i++) {
		char *o = ts_step_output(id, 1);
		int go = strstr(o, "started") != NULL;
		free(o);
		if (go)
			break;
		usleep(100000);
	}
	ts_spooler_kill(sp, SIGKILL);
	t0 = time(NULL);
	ts_spooler_start(NULL);
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ck_assert_int_le(time(NULL) - t0, 6 + 8);
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_str_eq(err, "spooler stopped during step 1");
}
END_TEST

START_TEST(two_spoolers_200_remote)
{
	char	 st[32], script[256], cmd[256], *a = NULL, *b = NULL;
	struct op_step_in s[] = { { "count", "specific_server", 0, script, 0, 60 } };
	long long ids[200];
	int	 seen[200] = { 0 }, lines = 0;

	snprintf(cmd, sizeof(cmd), "rm -f /tmp/ks-count-%d", (int)getpid());
	th_sh(&hosts[0], ts_tmp, cmd, NULL);
	th_sh(&hosts[1], ts_tmp, cmd, NULL);
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	ts_spooler_start("KEYSTONE_SPOOLER_WORKERS=2");
	for (int i = 0; i < 200; i++) {
		snprintf(script, sizeof(script), "echo %d >> /tmp/ks-count-%d", i,
		    (int)getpid());
		s[0].server_id = srv[i % 2];
		ids[i] = ts_create(s, 1, NULL, 0);
	}
	for (int i = 0; i < 200; i++) {
		ts_wait_done(ids[i], 120, st, sizeof(st));
		ck_assert_str_eq(st, "succeeded");
	}
	/* Counted on the hosts themselves. */
	snprintf(cmd, sizeof(cmd), "cat /tmp/ks-count-%d", (int)getpid());
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, cmd, &a), 0);
	ck_assert_int_eq(th_sh(&hosts[1], ts_tmp, cmd, &b), 0);
	for (int h = 0; h < 2; h++) {
		char *save = NULL;
		for (char *l = strtok_r(h ? b : a, "\n", &save); l != NULL;
		    l = strtok_r(NULL, "\n", &save)) {
			int k = atoi(l);
			ck_assert(k >= 0 && k < 200 && k % 2 == h);
			seen[k]++;
			lines++;
		}
	}
	free(a);
	free(b);
	ck_assert_int_eq(lines, 200);
	for (int i = 0; i < 200; i++)
		ck_assert_msg(seen[i] == 1, "operation %d ran %d times", i, seen[i]);
}
END_TEST

START_TEST(secret_canary_both_sides)
{
	const char	*canary = "canary-remote-7Hq2Zw9";
	struct secret	 sec[] = { { "RUNTIME_PASSWORD", "canary-remote-7Hq2Zw9" } };
	struct op_step_in s[] = { { "uses it", "specific_server", 0,
	    "printf 'pw=%s\\n' \"$RUNTIME_PASSWORD\"; "
	    "printf '%s' \"$RUNTIME_PASSWORD\" > /dev/null; sleep 3; echo done", 0, 60 } };
	char	 st[32], cmd[256], *out;
	long long id;
	int	 local = 0, remote = 0;

	s[0].server_id = srv[0];
	/* The last character in brackets: grep's own argv does not match. */
	snprintf(cmd, sizeof(cmd), "cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ "
	    "2>/dev/null | grep -a -q '%.*s[%c]'", (int)strlen(canary) - 1,
	    canary, canary[strlen(canary) - 1]);
	ts_spooler_start(NULL);
	id = ts_create(s, 1, sec, 1);
	for (int i = 0; i < 25; i++) {
		local |= ts_proc_has(canary);
		remote |= th_sh(&hosts[0], ts_tmp, cmd, NULL) == 0;
		ts_op_field(id, "status", st, sizeof(st));
		if (strcmp(st, "running") && strcmp(st, "queued"))
			break;
		usleep(100000);
	}
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(!local, "the secret was in a process's argv or environment here");
	ck_assert_msg(!remote, "the secret was in a process's argv or environment "
	    "on the host");
	out = ts_step_output(id, 1);
	ck_assert_ptr_nonnull(strstr(out, "pw=[redacted]"));
	ck_assert_ptr_null(strstr(out, canary));
	free(out);
	/* No file on the host holds it. */
	snprintf(cmd, sizeof(cmd), "! grep -r -a -l '%.*s[%c]' /tmp /home /root "
	    "/var/log 2>/dev/null", (int)strlen(canary) - 1, canary,
	    canary[strlen(canary) - 1]);
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, cmd, NULL), 0);
}
END_TEST

START_TEST(cancel_stops_remote_process)
{
	char	 st[32], script[256], cmd[256], ids[24];
	struct op_step_in s[] = { { "long", "specific_server", 0, script, 0, 600 } };
	const char *p[] = { ids };
	long long id;
	time_t	 t0;

	snprintf(script, sizeof(script), "echo started; sleep 613%d", (int)getpid() % 1000);
	snprintf(cmd, sizeof(cmd), "pgrep -f '[s]leep 613%d'", (int)getpid() % 1000);
	s[0].server_id = srv[1];
	ts_spooler_start(NULL);
	id = ts_create(s, 1, NULL, 0);
	for (int i = 0; i < 100 && th_sh(&hosts[1], ts_tmp, cmd, NULL) != 0; i++)
		usleep(100000);
	ck_assert_int_eq(th_sh(&hosts[1], ts_tmp, cmd, NULL), 0);
	snprintf(ids, sizeof(ids), "%lld", id);
	t0 = time(NULL);
	PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	ts_wait_done(id, 30, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled");
	ck_assert_int_lt(time(NULL) - t0, 15);
	for (int i = 0; i < 30 && th_sh(&hosts[1], ts_tmp, cmd, NULL) == 0; i++)
		usleep(100000);
	ck_assert_msg(th_sh(&hosts[1], ts_tmp, cmd, NULL) != 0, "the remote process still runs");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("remote");
	TCase	*tc = tcase_create("remote");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	tcase_add_test(tc, across_two_hosts);
	tcase_add_test(tc, many_servers_all_closed);
	tcase_add_test(tc, host_keys_refused_before_sending);
	tcase_add_test(tc, pin_with_keystonectl);
	tcase_add_test(tc, pin_on_the_web);
	tcase_add_test(tc, unreachable_and_silent);
	tcase_add_test(tc, group_with_silent_hosts);
	tcase_add_test(tc, group_over_hosts_one_unreachable);
	tcase_add_test(tc, hang_times_out_and_remote_stops);
	tcase_add_test(tc, secret_canary_both_sides);
	tcase_add_test(tc, many_short_steps_keep_status);
	tcase_add_test(tc, cancel_stops_remote_process);
	tcase_add_test(tc, kill9_mid_remote_step);
	tcase_add_test(tc, fifty_megabytes);
	tcase_add_test(tc, two_spoolers_200_remote);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
