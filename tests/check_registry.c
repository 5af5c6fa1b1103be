/*
 * The managed registry on the real stack: registry:2 in the machine's
 * Docker engine, Caddy (tls internal) in front of it, three ready test
 * hosts (two runtime servers, one build server) reached over SSH.
 * Provisioning from nothing, the health matrix and its failure cells,
 * pull-only enforcement, Docker auth files on a host, idempotence, the
 * storage path override, the planners' gate and the secret canaries.
 *
 * The tests run in order and build on each other (one registry). Needs
 * the stack ($KS_DIR...), $KS_HOSTS_STATE with three ready hosts, the
 * registry:2 image, and $KS_REGISTRY_HOST resolving to 127.0.0.1 on the
 * machine (tests/run.sh).
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "reg.h"
#include "testutil.h"
#include "tu_hosts.h"
#include "tu_spool.h"

#define NHOSTS	3

/* hosts[0], hosts[1]: runtime servers; hosts[2]: the build server. */
static struct th_host	 hosts[NHOSTS];
static long long	 hid[NHOSTS];	/* servers.id of each */
static const char	*hstate, *reghost;
static struct config	 cfg;
static char		 storage[512];





/* "docker VERB ARGS <the registry's container>" (a static buffer). */
static const char *
container_cmd(const char *verb)
{
	static char	 b[2][256];
	static int	 i;

	i = !i;
	snprintf(b[i], sizeof(b[i]), "docker %s '%s'", verb, cfg.registry_container ?
	    cfg.registry_container : REG_CONTAINER);
	return b[i];
}

/* Undoes any fault an earlier test left behind when it failed half-way:
 * Caddy and the registry running, the hosts resolving and trusting the
 * registry, the build host's Docker config intact. */
static void
restore(void)
{
	char	 cmd[1024];
	int	 nl = (int)strcspn(reghost, ":");

	snprintf(cmd, sizeof(cmd), "bash -c '. deploy/stack.sh && stack_caddy_start %s %s "
	    "static' && (docker start '%s' || true)", ts_dir,
	    strrchr(getenv("KS_URL"), ':') + 1, cfg.registry_container);
	free(th_local(ts_tmp, cmd));
	for (int i = 0; i < NHOSTS; i++) {
		char *out;
		snprintf(cmd, sizeof(cmd), "grep -q ' %.*s$' /etc/hosts || "
		    "{ echo '127.0.0.1 %.*s' >> /etc/hosts; echo CHANGED; }; "
		    "if [ -f /root/resolv.good ]; then cat /root/resolv.good > /etc/resolv.conf; "
		    "rm /root/resolv.good; echo CHANGED; fi; "
		    "if [ -d /root/certs.d.off ]; then mv /root/certs.d.off /etc/docker/certs.d; fi; "
		    "if [ -f /root/cfg.good ]; then cat /root/cfg.good > "
		    "/home/keystone/.docker/config.json; rm /root/cfg.good; fi; true",
		    nl, reghost, nl, reghost);
		(void)th_sh(&hosts[i], ts_tmp, cmd, &out);
		/* Its engine must not answer from what it cached before. */
		if (strstr(out, "CHANGED") != NULL)
			th_engine_restart(&hosts[i], ts_tmp);
		free(out);
	}
}

static void
setup(void)
{
	char	 path[512], err[256], key[512];

	ts_setup();
	hstate = getenv("KS_HOSTS_STATE");
	ck_assert_int_eq(th_load("ready", hosts, NHOSTS), NHOSTS);
	reghost = getenv("KS_REGISTRY_HOST");
	ck_assert_msg(reghost != NULL, "KS_REGISTRY_HOST is not set");
	snprintf(key, sizeof(key), "%s/keys/mgmt_ed25519", hstate);
	setenv("KEYSTONE_SSH_KEY_FILE", key, 1);
	config_init(&cfg);
	snprintf(path, sizeof(path), "%s/keystone.conf", ts_dir);
	ck_assert_msg(config_load(&cfg, path, err, sizeof(err)) == 0, "%s", err);
	free(cfg.ssh_key_file);
	cfg.ssh_key_file = strdup(key);
	/* The storage path override: a "mounted volume" of our own. */
	snprintf(storage, sizeof(storage), "%s/mnt/keystone-registry", ts_dir);
	hid[0] = ts_add_server(&hosts[0], "reg-", 0);
	hid[1] = ts_add_server(&hosts[1], "reg-", 0);
	hid[2] = ts_add_server(&hosts[2], "reg-", 1);
	/* Servers earlier test programs left (their hosts are gone) take no
	 * part: the matrix is ours alone. */
	PQclear(ts_q("UPDATE servers SET status = 'disabled' WHERE name NOT LIKE 'reg-%' "
	    "AND status <> 'disabled'", 0, NULL));
	restore();
	ts_spooler_start(NULL);
}

static void
teardown(void)
{
	config_release(&cfg);
	ts_teardown();
}


static void
provision(void)
{
	char	 uuid[40], err[256];

	ck_assert_msg(reg_plan_provision(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)) == 0, "provision: %s", err);
	ts_wait_idle(240);
}

static void
check(void)
{
	char	 uuid[40], err[256];

	ck_assert_msg(reg_plan_check(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)) == 0, "check: %s", err);
	ts_wait_idle(180);
}

static const char *
node_of(const struct th_host *h)
{
	static char	 b[4][32];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(b[i], sizeof(b[i]), "server:%lld", hid[h - hosts]);
	return b[i];
}

/* "ok" / "bad" / "none" for one cell, its message into msg if given. */
static const char *
cell(const char *node, const char *checkname, char *msg, size_t msgsz)
{
	const char	*p[] = { node, checkname };
	PGresult	*res = ts_q("SELECT ok, message FROM registry_checks WHERE "
			    "node = $1 AND check_name = $2", 2, p);
	const char	*v = "none";

	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		v = PQgetvalue(res, 0, 0)[0] == 't' ? "ok" : "bad";
	if (msg != NULL)
		snprintf(msg, msgsz, "%s", PQntuples(res) == 1 ?
		    PQgetvalue(res, 0, 1) : "");
	PQclear(res);
	return v;
}

/* Every cell of the matrix: the bad ones are exactly those listed in
 * bad[] ("node/check"), the others ok. Fails with the whole matrix. */
static void
expect_matrix(const char *const *bad, size_t nbad)
{
	PGresult	*res = ts_q("SELECT node, check_name, ok, message FROM "
			    "registry_checks ORDER BY node, check_name", 0, NULL);
	char		 key[96], dump[8192];
	size_t		 off = 0;
	int		 wrong = 0;

	dump[0] = '\0';
	/* The control node's six and its Docker push (it is always a build
	 * node), the build server's two, two for each runtime server. */
	ck_assert_int_eq(PQntuples(res), 6 + 1 + 2 + 2 * 2);
	for (int i = 0; i < PQntuples(res); i++) {
		int want_bad = 0, is_ok = PQgetvalue(res, i, 2)[0] == 't';
		snprintf(key, sizeof(key), "%s/%s", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1));
		for (size_t j = 0; j < nbad; j++)
			want_bad |= strcmp(bad[j], key) == 0;
		if (want_bad == is_ok)
			wrong = 1;
		off += (size_t)snprintf(dump + off, sizeof(dump) - off, "%s%s %s: %s\n",
		    want_bad == is_ok ? "WRONG " : "", key, is_ok ? "ok" : "bad",
		    PQgetvalue(res, i, 3));
		if (off >= sizeof(dump))
			off = sizeof(dump) - 1;
	}
	PQclear(res);
	ck_assert_msg(!wrong, "matrix:\n%s", dump);
}


static void
registry_state(char *state, size_t sz)
{
	PGresult *res = ts_q("SELECT state FROM registry", 0, NULL);

	snprintf(state, sz, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "missing");
	PQclear(res);
}

/* ---------------------------------------------------------------- tests */

START_TEST(provision_from_nothing)
{
	char		 state[32], msg[512], cmd[1024], *out, reason[512];
	long long	 ids[2] = { hid[0], hid[1] };

	/* Before anything: the planners are told why they may not go on. */
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, ids, 2, reason,
	    sizeof(reason)), 1);
	ck_assert_msg(strstr(reason, "missing") != NULL, "%s", reason);
	/* A build on the control node uses the registry too. */
	ck_assert_int_eq(reg_gate(&ts_db, 0, NULL, 0, reason, sizeof(reason)), 1);
	ck_assert_msg(strstr(reason, "missing") != NULL, "%s", reason);
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, NULL, 0, reason,
	    sizeof(reason)), 0);
	/* Another registry's entry in a host's Docker config must survive. */
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, "mkdir -p /home/keystone/.docker && "
	    "printf '{\"auths\":{\"other.example:5000\":{\"auth\":\"b3RoZXI6c2VjcmV0\"}}}' "
	    "> /home/keystone/.docker/config.json && "
	    "chown -R keystone:keystone /home/keystone/.docker", NULL), 0);
	/* The names must resolve on the hosts (the DNS of a real setup). */
	for (int i = 0; i < NHOSTS; i++) {
		snprintf(cmd, sizeof(cmd), "grep -q ' %.*s$' /etc/hosts || "
		    "echo '127.0.0.1 %.*s' >> /etc/hosts", (int)strcspn(reghost, ":"),
		    reghost, (int)strcspn(reghost, ":"), reghost);
		ck_assert_int_eq(th_sh(&hosts[i], ts_tmp, cmd, NULL), 0);
	}
	{
		char err[256];
		ck_assert_msg(reg_setup(&ts_db, &cfg, ts_sealkey, reghost, storage, err,
		    sizeof(err)) == 0, "%s", err);
	}
	provision();
	registry_state(state, sizeof(state));
	expect_matrix(NULL, 0);
	ck_assert_str_eq(state, "ready");
	ck_assert_msg(reg_gate(&ts_db, hid[2], ids, 2, reason, sizeof(reason)) == 0,
	    "%s", reason);

	/* The image data is under the chosen path. */
	snprintf(cmd, sizeof(cmd), "%s/docker/registry/v2/repositories/keystone/"
	    "health-probe/_manifests", storage);
	ck_assert_msg(access(cmd, F_OK) == 0, "no registry data under %s", storage);

	/* Docker on a runtime host pulls by digest with the runtime credential
	 * (what deploys will do). */
	ck_assert_str_eq(cell(node_of(&hosts[0]), "pull", NULL, 0), "ok");
	(void)cell("control", "push_api", msg, sizeof(msg));
	ck_assert_ptr_nonnull(strstr(msg, "@sha256:"));
	snprintf(cmd, sizeof(cmd), "runuser -u keystone -- docker pull %s/%s%s && "
	    "runuser -u keystone -- docker image ls --digests | grep -q %s",
	    reghost, REG_PROBE_REPO, strstr(msg, "@sha256:"), strstr(msg, "sha256:"));
	ck_assert_msg(th_sh(&hosts[0], ts_tmp, cmd, &out) == 0, "%s", out);
	free(out);
}
END_TEST

/* Caddy answers 403 with a registry error body to the runtime credential's
 * writes; the build credential's are passed on to the registry. */
START_TEST(pull_only_enforced)
{
	char	 user[64], pw[128], cmd[1024], *out;
	const char *roles[] = { "runtime", "build" };

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(reg_credential(&ts_db, ts_sealkey, roles[i], user,
		    sizeof(user), pw, sizeof(pw)), 0);
		/* The password reaches curl on its stdin (config), not argv. */
		snprintf(cmd, sizeof(cmd), "printf 'user = \"%%s:%%s\"\\n' '%s' \"$PW\" | "
		    "curl -sS -K - -X POST -D - --cacert '%s' "
		    "https://%s/v2/keystone/health-probe/blobs/uploads/",
		    user, cfg.registry_ca_file, reghost);
		setenv("PW", pw, 1);
		out = th_local(ts_tmp, cmd);
		unsetenv("PW");
		if (i == 0) {
			ck_assert_msg(strstr(out, "HTTP/2 403") != NULL, "%s", out);
			ck_assert_msg(strstr(out, "\"code\":\"DENIED\"") != NULL, "%s", out);
			ck_assert_msg(strcasestr(out, "content-type: application/json") != NULL,
			    "%s", out);
		} else {
			ck_assert_msg(strstr(out, "HTTP/2 202") != NULL, "%s", out);
		}
		free(out);
	}
}
END_TEST

/* config.json on a runtime host: owner, mode, the other registry kept;
 * running the auth operation again changes nothing; provisioning again
 * keeps the same container and files. */
START_TEST(auth_files_and_idempotence)
{
	char	*out, *before, *after, uuid[40], err[256], *cid0, *cid1, *ht0, *ht1;
	char	 cmd[512];

	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, "stat -c '%U:%G %a' /home/keystone/.docker "
	    "/home/keystone/.docker/config.json", &out), 0);
	ck_assert_msg(strcmp(out, "keystone:keystone 700\nkeystone:keystone 600\n") == 0,
	    "%s", out);
	free(out);
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, "cat /home/keystone/.docker/config.json", &out), 0);
	ck_assert_msg(strstr(out, "other.example:5000") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "b3RoZXI6c2VjcmV0") != NULL, "%s", out);
	snprintf(cmd, sizeof(cmd), "\"%s\"", reghost);
	ck_assert_msg(strstr(out, cmd) != NULL, "%s", out);
	free(out);
	/* The build host holds the build credential, a runtime host the
	 * runtime one. */
	ck_assert_int_eq(th_sh(&hosts[2], ts_tmp, "base64 -d <<E\n$(sed -n 's/.*\"auth\": \"\\(.*\\)\".*/\\1/p' "
	    "/home/keystone/.docker/config.json | tail -n 1)\nE\n", &out), 0);
	ck_assert_msg(strncmp(out, REG_BUILD_USER ":", strlen(REG_BUILD_USER) + 1) == 0, "%s", out);
	free(out);

	const char *state = "sha256sum /home/keystone/.docker/config.json; "
	    "stat -c '%Y %U %a' /home/keystone/.docker/config.json "
	    "/etc/docker/certs.d/*/ca.crt";
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, state, &before), 0);
	ck_assert_int_eq(reg_plan_auth(&ts_db, &cfg, ts_sealkey, hid[0], 0, 0,
	    uuid, err, sizeof(err)), 0);
	ts_wait_idle(60);
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, state, &after), 0);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	{
		PGresult *res = ts_q("SELECT o.status, string_agg(c.chunk, '' ORDER BY s.ordinal, c.seq) "
		    "FROM operations o JOIN operation_steps s ON s.operation_id = o.id "
		    "JOIN operation_output c ON c.step_id = s.id WHERE o.id = "
		    "(SELECT max(id) FROM operations WHERE kind = 'registry_auth') "
		    "GROUP BY o.status", 0, NULL);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "succeeded");
		ck_assert_msg(strstr(PQgetvalue(res, 0, 1), "already holds the registry's CA") &&
		    strstr(PQgetvalue(res, 0, 1), "already holds the ks-runtime credential"),
		    "%s", PQgetvalue(res, 0, 1));
		PQclear(res);
	}

	/* Provisioning again: same container, same htpasswd, nothing rewritten. */
	cid0 = th_local(ts_tmp, container_cmd("inspect -f '{{.Id}}'"));
	snprintf(cmd, sizeof(cmd), "stat -c '%%Y %%s' '%s/registry/etc/htpasswd' "
	    "'%s/caddy-sites/keystone-registry.caddy'", ts_dir, ts_dir);
	ht0 = th_local(ts_tmp, cmd);
	provision();
	cid1 = th_local(ts_tmp, container_cmd("inspect -f '{{.Id}}'"));
	ht1 = th_local(ts_tmp, cmd);
	ck_assert_str_eq(cid0, cid1);
	ck_assert_str_eq(ht0, ht1);
	free(cid0);
	free(cid1);
	free(ht0);
	free(ht1);
	expect_matrix(NULL, 0);
}
END_TEST

START_TEST(registry_stopped)
{
	char		 state[32], msg[512], b[8][48];
	const char	*bad[8];
	int		 n = 0;

	free(th_local(ts_tmp, container_cmd("stop")));
	check();
	/* Caddy still answers over HTTPS (its own 401 and, to the runtime
	 * credential's write, its own 403): what needs the registry is red. */
	snprintf(b[n++], sizeof(b[0]), "control/service");
	snprintf(b[n++], sizeof(b[0]), "control/push_api");
	snprintf(b[n++], sizeof(b[0]), "control/pull_api");
	snprintf(b[n++], sizeof(b[0]), "control/push");
	for (int i = 0; i < NHOSTS; i++)
		snprintf(b[n++], sizeof(b[0]), "%s/%s", node_of(&hosts[i]),
		    i == 2 ? "push" : "pull");
	for (int i = 0; i < n; i++)
		bad[i] = b[i];
	expect_matrix(bad, (size_t)n);
	(void)cell("control", "service", msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "not running") != NULL, "%s", msg);
	(void)cell(node_of(&hosts[0]), "pull", msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "502") != NULL, "%s", msg);
	registry_state(state, sizeof(state));
	ck_assert_str_eq(state, "unhealthy");
	free(th_local(ts_tmp, container_cmd("start")));
	ts_wait_registry(cfg.registry_listen);
	check();
	expect_matrix(NULL, 0);
	registry_state(state, sizeof(state));
	ck_assert_str_eq(state, "ready");
}
END_TEST

START_TEST(caddy_stopped)
{
	char		 b[12][48], msg[512], cmd[1024], *out;
	const char	*bad[12];
	int		 n = 0;
	const char	*port = strrchr(getenv("KS_URL"), ':') + 1;

	snprintf(cmd, sizeof(cmd), "bash -c '. deploy/stack.sh && stack_caddy_stop %s'",
	    ts_dir);
	free(th_local(ts_tmp, cmd));
	check();
	snprintf(b[n++], sizeof(b[0]), "control/https");
	snprintf(b[n++], sizeof(b[0]), "control/push_api");
	snprintf(b[n++], sizeof(b[0]), "control/pull_api");
	snprintf(b[n++], sizeof(b[0]), "control/refused");
	snprintf(b[n++], sizeof(b[0]), "control/push");
	for (int i = 0; i < NHOSTS; i++) {
		snprintf(b[n++], sizeof(b[0]), "%s/https", node_of(&hosts[i]));
		snprintf(b[n++], sizeof(b[0]), "%s/%s", node_of(&hosts[i]),
		    i == 2 ? "push" : "pull");
	}
	for (int i = 0; i < n; i++)
		bad[i] = b[i];
	expect_matrix(bad, (size_t)n);
	(void)cell(node_of(&hosts[1]), "https", msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "unreachable") != NULL, "%s", msg);
	snprintf(cmd, sizeof(cmd), "bash -c '. deploy/stack.sh && stack_caddy_start %s %s static'",
	    ts_dir, port);
	out = th_local(ts_tmp, cmd);
	free(out);
	check();
	expect_matrix(NULL, 0);
}
END_TEST

/* Three faults at once, one per host: each turns exactly its host's cells
 * red, with a reason that says what is wrong. */
START_TEST(host_faults)
{
	char		 b[6][48], msg[512], reason[512], cmd[512];
	const char	*bad[6];
	long long	 ids[1] = { hid[0] };
	int		 name_len = (int)strcspn(reghost, ":");

	/* hosts[0] cannot resolve the name (and asks no DNS server outside
	 * loopback: nothing listens on 127.0.0.1:53). */
	snprintf(cmd, sizeof(cmd), "cp /etc/resolv.conf /root/resolv.good && "
	    "echo 'nameserver 127.0.0.1' > /etc/resolv.conf && "
	    "grep -v ' %.*s$' /etc/hosts > /tmp/h && cat /tmp/h > /etc/hosts",
	    name_len, reghost);
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, cmd, NULL), 0);
	/* Nothing the running engine cached (the name's address, a kept
	 * connection to the registry) may let its pull succeed. */
	th_engine_restart(&hosts[0], ts_tmp);
	/* hosts[1] does not trust the certificate. */
	ck_assert_int_eq(th_sh(&hosts[1], ts_tmp, "mv /etc/docker/certs.d /root/certs.d.off", NULL), 0);
	/* hosts[2]'s Docker holds a wrong password. */
	snprintf(cmd, sizeof(cmd), "cp /home/keystone/.docker/config.json /root/cfg.good && "
	    "sed -i 's/\"auth\": \"[^\"]*\"/\"auth\": \"a3MtYnVpbGQ6d3Jvbmc=\"/' "
	    "/home/keystone/.docker/config.json");
	ck_assert_int_eq(th_sh(&hosts[2], ts_tmp, cmd, NULL), 0);
	check();
	/* Docker itself skips certificate checks for registries on
	 * 127.0.0.0/8 (its built-in insecure range, which cannot be turned
	 * off), so on these loopback hosts only the HTTPS cell can see the
	 * untrusted certificate; elsewhere the pull would fail as well. */
	snprintf(b[0], sizeof(b[0]), "%s/https", node_of(&hosts[0]));
	snprintf(b[1], sizeof(b[1]), "%s/pull", node_of(&hosts[0]));
	snprintf(b[2], sizeof(b[2]), "%s/https", node_of(&hosts[1]));
	snprintf(b[3], sizeof(b[3]), "%s/push", node_of(&hosts[2]));
	for (int i = 0; i < 4; i++)
		bad[i] = b[i];
	expect_matrix(bad, 4);
	(void)cell(node_of(&hosts[0]), "https", msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "resolve") != NULL, "%s", msg);
	(void)cell(node_of(&hosts[1]), "https", msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "certificate") != NULL, "%s", msg);
	(void)cell(node_of(&hosts[2]), "push", msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "unauthorized") != NULL ||
	    strstr(msg, "authentication required") != NULL, "%s", msg);
	/* The gate says why: each server's own cell, not the registry-wide
	 * state. */
	ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, ids, 1, reason,
	    sizeof(reason)), 1);
	ck_assert_msg(strstr(reason, "unreachable from") != NULL &&
	    strstr(reason, "resolve") != NULL, "%s", reason);
	ck_assert_int_eq(reg_gate(&ts_db, hid[2], NULL, 0, reason,
	    sizeof(reason)), 1);
	ck_assert_msg(strstr(reason, "unreachable from") != NULL &&
	    (strstr(reason, "unauthorized") != NULL ||
	    strstr(reason, "authentication required") != NULL), "%s", reason);

	restore();
	check();
	expect_matrix(NULL, 0);
	ck_assert_msg(reg_gate(&ts_db, hid[2], ids, 1, reason, sizeof(reason)) == 0,
	    "%s", reason);
	/* A server no check has reached yet is not known to reach it. */
	{
		PGresult *res = ts_q("INSERT INTO servers (name, address, host_key) VALUES "
		    "('reg-unchecked', '127.0.0.99', 'ssh-ed25519 AAAA') RETURNING id", 0, NULL);
		long long id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		ck_assert_int_eq(reg_gate(&ts_db, REG_GATE_NO_BUILD, &id, 1, reason,
		    sizeof(reason)), 1);
		ck_assert_msg(strstr(reason, "unreachable from reg-unchecked") != NULL &&
		    strstr(reason, "no registry check has run") != NULL, "%s", reason);
		PQclear(ts_q("DELETE FROM servers WHERE name = 'reg-unchecked'", 0, NULL));
	}
}
END_TEST

/* Both passwords: in no stored script or step output, no page, no
 * process's arguments or environment on the control node or a host while
 * the operations run, and in no file on a host or under the stack's
 * directory but the htpasswd (hashes only: so nowhere in plain text). */
START_TEST(secret_canaries)
{
	char		 user[2][64], pw[2][128], uuid[40], err[256], cmd[1024], *out;
	const char	*roles[] = { "build", "runtime" };
	int		 seen = 0;

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(reg_credential(&ts_db, ts_sealkey, roles[i], user[i],
		    sizeof(user[i]), pw[i], sizeof(pw[i])), 0);
	/* Force the logins to run again (the auth steps would otherwise find
	 * the credential in place and skip docker login). */
	for (int i = 0; i < NHOSTS; i++)
		ck_assert_int_eq(th_sh(&hosts[i], ts_tmp, "rm -f /home/keystone/.docker/config.json",
		    NULL), 0);
	ck_assert_int_eq(reg_plan_provision(&ts_db, &cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)), 0);
	/* Sample every process while the operations run. */
	for (int t = 0; t < 2400; t++) {
		PGresult *res = ts_q("SELECT count(*) FROM operations WHERE status IN "
		    "('queued', 'running')", 0, NULL);
		int busy = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (busy == 0)
			break;
		for (int i = 0; i < 2; i++)
			seen |= ts_proc_has(pw[i]);
		if (t % 10 == 0) {
			/* The hosts' processes too (patterns on a here-document). */
			for (int h = 0; h < NHOSTS; h++) {
				snprintf(cmd, sizeof(cmd), "for f in /proc/[0-9]*/cmdline "
				    "/proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\"; echo; "
				    "done 2>/dev/null | grep -qF -f /dev/fd/3 3<<'EOF' && echo FOUND\n"
				    "%s\n%s\nEOF\n", pw[0], pw[1]);
				(void)th_sh(&hosts[h], ts_tmp, cmd, &out);
				seen |= strstr(out, "FOUND") != NULL;
				free(out);
			}
		}
		usleep(100000);
	}
	ck_assert_msg(!seen, "a password was in a process's argv or environment");
	ts_wait_idle(10);
	expect_matrix(NULL, 0);
	for (int i = 0; i < 2; i++) {
		const char *p[] = { pw[i] };
		PGresult *res = ts_q("SELECT (SELECT count(*) FROM operation_steps "
		    " WHERE strpos(script, $1) > 0) + (SELECT count(*) FROM operation_output "
		    " WHERE strpos(chunk, $1) > 0) + (SELECT count(*) FROM registry_checks "
		    " WHERE strpos(message, $1) > 0) + (SELECT count(*) FROM operations "
		    " WHERE strpos(coalesce(error, ''), $1) > 0)", 1, p);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
		PQclear(res);
		/* Not on the pages. */
		out = ts_web_get("/registry", "registry.html");
		ck_assert_ptr_nonnull(out);
		ck_assert_ptr_null(strstr(out, pw[i]));
		ck_assert_ptr_nonnull(strstr(out, "ready"));
		free(out);
		out = ts_web_get("/ops", "ops.html");
		ck_assert_ptr_null(strstr(out, pw[i]));
		free(out);
		/* No file on the control node's stack directory, registry
		 * configuration, Docker config or logs holds it in plain text.
		 * (The pattern goes to grep on stdin.) */
		setenv("PW", pw[i], 1);
		snprintf(cmd, sizeof(cmd), "printf '%%s\\n' \"$PW\" | grep -rlaF -f - '%s' "
		    "--exclude-dir=pg || true", ts_dir);
		out = th_local(ts_tmp, cmd);
		ck_assert_msg(out[0] == '\0', "found in: %s", out);
		free(out);
		/* No file on any host. */
		for (int h = 0; h < NHOSTS; h++) {
			char hc[1024];
			snprintf(hc, sizeof(hc), "printf '%%s\\n' '%s' | grep -rlaF -f - / "
			    "--exclude-dir=proc --exclude-dir=sys --exclude-dir=dev "
			    "--exclude-dir=var/lib/docker 2>/dev/null; true", pw[i]);
			ck_assert_int_eq(th_sh(&hosts[h], ts_tmp, hc, &out), 0);
			ck_assert_msg(out[0] == '\0', "on %s: %s", hosts[h].name, out);
			free(out);
		}
		unsetenv("PW");
	}
	/* Docker's own form of each credential (base64 of user:password)
	 * is in the 0600 config.json of the node that holds it, and in no
	 * other file. */
	for (int i = 0; i < 2; i++) {
		char up[256], b64[400];
		snprintf(up, sizeof(up), "%s:%s", user[i], pw[i]);
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)up, strlen(up),
		    sodium_base64_VARIANT_ORIGINAL);
		for (int h = 0; h < NHOSTS; h++) {
			char hc[1024];
			int holds = (i == 0) == (h == 2);	/* build host: build credential */
			snprintf(hc, sizeof(hc), "printf '%%s\n' '%s' | grep -rlaF -f - / "
			    "--exclude-dir=proc --exclude-dir=sys --exclude-dir=dev "
			    "--exclude-dir=var/lib/docker 2>/dev/null; true", b64);
			ck_assert_int_eq(th_sh(&hosts[h], ts_tmp, hc, &out), 0);
			ck_assert_msg(strcmp(out, holds ? "/home/keystone/.docker/config.json\n" :
			    "") == 0, "%s credential on %s: %s", roles[i], hosts[h].name, out);
			free(out);
		}
		setenv("PW", b64, 1);
		snprintf(cmd, sizeof(cmd), "printf '%%s\n' \"$PW\" | grep -rlaF -f - '%s' "
		    "--exclude-dir=pg; true", ts_dir);
		out = th_local(ts_tmp, cmd);
		unsetenv("PW");
		/* The control node is always a build node: the build
		 * credential, in its Docker configuration only. */
		{
			char want[700];
			snprintf(want, sizeof(want), "%s/docker/config.json\n", ts_dir);
			ck_assert_msg(strcmp(out, i == 0 ? want : "") == 0,
			    "%s credential on the control node: %s", roles[i], out);
		}
		free(out);
	}
}
END_TEST

/* Values from the configuration reach the scripts quoted: a Docker
 * config path full of shell metacharacters is used literally and runs
 * nothing. */
START_TEST(metacharacters_stay_literal)
{
	char	 dir[512], canary[128], uuid[40], err[256], st[32], path[700];
	PGresult *res;
	long long id;

	snprintf(canary, sizeof(canary), "/tmp/ks-meta-canary-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/meta $(touch %s) `touch %s` ' \" ;touch %s; *",
	    ts_tmp, canary, canary, canary);
	free(cfg.docker_config);
	cfg.docker_config = strdup(dir);
	ck_assert_int_eq(reg_plan_auth(&ts_db, &cfg, ts_sealkey, 0, 0, 0, uuid, err,
	    sizeof(err)), 0);
	res = ts_q("SELECT max(id) FROM operations WHERE kind = 'registry_auth'", 0, NULL);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	ts_wait_done(id, 120, st, sizeof(st));
	ck_assert_str_eq(st, "succeeded");
	ck_assert_msg(access(canary, F_OK) == -1, "a metacharacter ran: %s exists", canary);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	ck_assert_msg(access(path, F_OK) == 0, "no config.json at the literal path");
}
END_TEST

/* The spooler queues the health check on its own when the last one is
 * older than registry_check_minutes. */
START_TEST(scheduled_check)
{
	long long	 before, after;
	PGresult	*res;

	res = ts_q("SELECT coalesce(max(id), 0) FROM operations", 0, NULL);
	before = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/* The last check ran two minutes ago. */
	PQclear(ts_q("UPDATE registry SET checked_at = now() - interval '2 minutes'",
	    0, NULL));
	ts_spooler_start("KEYSTONE_REGISTRY_CHECK_MINUTES=1");
	for (int i = 0; i < 100; i++) {
		res = ts_q("SELECT coalesce(max(id), 0) FROM operations WHERE kind = "
		    "'check' AND created_by IS NULL", 0, NULL);
		after = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		if (after > before)
			break;
		usleep(100000);
	}
	ck_assert_msg(after > before, "no scheduled check was queued");
	ts_wait_idle(180);
	expect_matrix(NULL, 0);
	res = ts_q("SELECT checked_at > now() - interval '1 minute' FROM registry", 0, NULL);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	/* Not again while the last check is recent. */
	ck_assert_int_eq(reg_check_due(&ts_db, 1), 0);
	ck_assert_int_eq(reg_check_due(&ts_db, 15), 0);
}
END_TEST

/* A container that holds the configured name but belongs to another
 * data directory (a second checkout, an old install) is never taken over:
 * provisioning stops with the reason and leaves it as it was. */
START_TEST(foreign_container_refused)
{
	char		 name[128], cmd[1024], *out, state[32];
	char		*mine = cfg.registry_container;
	PGresult	*res;

	snprintf(name, sizeof(name), "%s-foreign", mine);
	snprintf(cmd, sizeof(cmd), "docker rm -f '%s' >/dev/null 2>&1; "
	    "mkdir -p '%s/other-etc' && docker create --name '%s' --network host "
	    "-v '%s/other-etc:/etc/keystone-registry:ro' '%s' serve "
	    "/etc/keystone-registry/config.yml >/dev/null && echo CREATED", name,
	    ts_tmp, name, ts_tmp, cfg.registry_image ? cfg.registry_image : "registry:2");
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strstr(out, "CREATED") != NULL, "%s", out);
	free(out);
	cfg.registry_container = name;
	provision();
	cfg.registry_container = mine;
	res = ts_q("SELECT o.status, coalesce(string_agg(c.chunk, '' ORDER BY s.ordinal, "
	    "c.seq), '') FROM operations o JOIN operation_steps s ON s.operation_id = o.id "
	    "LEFT JOIN operation_output c ON c.step_id = s.id WHERE o.id = (SELECT max(id) "
	    "FROM operations WHERE kind = 'registry') GROUP BY o.status", 0, NULL);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "failed") == 0 &&
	    strstr(PQgetvalue(res, 0, 1), "is not this Keystone's registry") != NULL,
	    "provisioning with a foreign container: %s\n%s", PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1));
	PQclear(res);
	/* Still there, still pointing at the other directory. */
	snprintf(cmd, sizeof(cmd), "docker inspect -f '{{range .Mounts}}{{.Source}}"
	    "{{end}}' '%s'", name);
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strstr(out, "/other-etc") != NULL, "foreign container: %s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "docker rm -f '%s' >/dev/null", name);
	free(th_local(ts_tmp, cmd));
	/* Our own container: provisioning goes through as before. */
	provision();
	registry_state(state, sizeof(state));
	ck_assert_str_eq(state, "ready");
}
END_TEST

/* What `make run` does at start (deploy/stack.sh's stack_registry_up):
 * the stack's own database decides, not whether a container exists. */
START_TEST(stack_decides_by_its_database)
{
	char		 cmd[1024], *out, state[32];
	PGresult	*res;

	snprintf(cmd, sizeof(cmd), "bash -c '. deploy/stack.sh && "
	    "stack_registry_up %s %s'", ts_dir, ts_build);
	/* Provisioned, and the container is ours: started and checked. */
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strcmp(out, "checked\n") == 0, "stack_registry_up: %s", out);
	free(out);
	res = ts_q("SELECT kind FROM operations ORDER BY id DESC LIMIT 1", 0, NULL);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "check");
	PQclear(res);
	ts_wait_idle(180);
	expect_matrix(NULL, 0);
	/* A reset data directory (its database knows no registry) with the
	 * old container still there: provisioned again, not just started. */
	PQclear(ts_q("DELETE FROM registry", 0, NULL));
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strcmp(out, "provisioning\n") == 0, "stack_registry_up: %s", out);
	free(out);
	res = ts_q("SELECT count(*) FROM operations WHERE kind = 'registry' AND "
	    "status IN ('queued', 'running')", 0, NULL);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	ts_wait_idle(240);
	registry_state(state, sizeof(state));
	ck_assert_str_eq(state, "ready");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("registry");
	TCase	*tc = tcase_create("registry");

	tcase_set_timeout(tc, 900);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	tcase_add_test(tc, provision_from_nothing);
	tcase_add_test(tc, pull_only_enforced);
	tcase_add_test(tc, auth_files_and_idempotence);
	tcase_add_test(tc, registry_stopped);
	tcase_add_test(tc, caddy_stopped);
	tcase_add_test(tc, host_faults);
	tcase_add_test(tc, secret_canaries);
	tcase_add_test(tc, scheduled_check);
	tcase_add_test(tc, metacharacters_stay_literal);
	tcase_add_test(tc, foreign_container_refused);
	tcase_add_test(tc, stack_decides_by_its_database);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
