/*
 * Deploys on the real stack: the managed registry, the spooler, two ready
 * test hosts as runtime servers (deploying as their keystone user, no
 * sudo), builds on the control node from a Git repository the test makes:
 * a FROM-scratch application (busybox-static) that serves its version on
 * $HOST:$PORT and writes a token into its volume once per version.
 *
 * One journey, in order (each part builds on the one before): a deploy
 * (build, then deploy) to both hosts; a rollback to an older artifact
 * with the volume's file kept; a version that fails its health check and
 * leaves the one before running; one host stopped (that server fails, the
 * other switches); hostile and secret variables.
 *
 * Needs what check_build needs (tests/run.sh's registry phase) and
 * $KS_DEPLOY_PORT (a free port on every loopback address).
 */
#define _GNU_SOURCE
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "config.h"
#include "deploy.h"
#include "hook.h"
#include "keys.h"
#include "reg.h"
#include "testutil.h"
#include "tu_build.h"
#include "tu_hook.h"
#include "tu_git.h"
#include "tu_hosts.h"
#include "tu_spool.h"

#define NHOSTS	2

static struct th_host	 hosts[NHOSTS];
static long long	 hid[NHOSTS];
static const char	*reghost, *port;
static struct config	 cfg;
static char		 repo_dir[300];
/* v1 and v2 answer their version; bad never answers. */
static char		 c_v1[41], c_v2[41], c_bad[41];

/* The application's repository: main (v1, then v2) and bad. */
static void
make_repo(void)
{
	static const char script[] =
	    "set -e\n"
	    "rm -rf \"$d\" && mkdir -p \"$d/w/www\" && cd \"$d/w\"\n"
	    "git init -q -b main .\n"
	    "cp /bin/busybox busybox\n"
	    "cat > Dockerfile <<'EOF'\n"
	    "FROM scratch\n"
	    "COPY busybox /bin/busybox\n"
	    "COPY www /www\n"
	    "CMD [\"/bin/busybox\", \"sh\", \"-c\", \"v=$(/bin/busybox cat /www/version); "
	    "if [ -d /data ] && [ ! -e /data/first-$v ]; then /bin/busybox date +%s%N > "
	    "/data/first-$v; fi; exec /bin/busybox httpd -f -p \\\"$HOST:$PORT\\\" -h /www\"]\n"
	    "EOF\n"
	    "c() { git -c user.name=t -c user.email=t@example.test commit -qm \"$1\"; }\n"
	    "echo 1 > www/version; git add -A; c v1\n"
	    "echo 2 > www/version; git add -A; c v2\n"
	    "git checkout -qb bad\n"
	    "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n"
	    "CMD [\"/bin/busybox\", \"sleep\", \"3600\"]\\n' > Dockerfile\n"
	    "echo 3 > www/version; git add -A; c bad\n"
	    "git checkout -q main\n"
	    "git clone -q --bare . ../app.git\n"
	    "chmod -R a+rX \"$d\"\n"
	    "printf '%s %s %s\\n' $(git rev-parse main~1 main bad)\n";
	char	*out, cmd[4096];

	snprintf(cmd, sizeof(cmd), "d='%s'\n%s", repo_dir, script);
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(sscanf(out, "%40s %40s %40s", c_v1, c_v2, c_bad) == 3,
	    "making the repository: %s", out);
	free(out);
}

static void
setup(void)
{
	ts_setup();
	snprintf(repo_dir, sizeof(repo_dir), "%s/deploy", getenv("KS_BUILD_REPO_DIR") ?
	    getenv("KS_BUILD_REPO_DIR") : "/var/tmp/ks-check-build");
	ck_assert_int_eq(th_load("ready", hosts, NHOSTS), NHOSTS);
	reghost = getenv("KS_REGISTRY_HOST");
	ck_assert_msg(reghost != NULL, "KS_REGISTRY_HOST is not set");
	port = getenv("KS_DEPLOY_PORT");
	ck_assert_msg(port != NULL, "KS_DEPLOY_PORT is not set");
	tb_config(&cfg);
	hid[0] = ts_add_server(&hosts[0], "dep-", 0);
	hid[1] = ts_add_server(&hosts[1], "dep-", 0);
	PQclear(ts_q("UPDATE servers SET status = 'disabled' WHERE name NOT LIKE 'dep-%' "
	    "AND status <> 'disabled'", 0, NULL));
	tb_hosts_resolve(hosts, NHOSTS, reghost);
	ts_spooler_start(NULL);
}

static void
teardown(void)
{
	config_release(&cfg);
	ts_teardown();
}

/* Seals a secret variable's value as the settings form does. */
static char *
seal_var(long long svc, const char *name, const char *value)
{
	char	 ad[200], *sealed = NULL;

	snprintf(ad, sizeof(ad), "service/%lld/var/%s", svc, name);
	ck_assert_int_eq(keys_seal_b64(&sealed, ts_sealkey, ad, value, strlen(value)), 0);
	return sealed;
}

/* An application, an environment on both hosts, its service "web" on
 * $KS_DEPLOY_PORT (health: GET /version), a volume at /data, and the
 * variables given (plain ones, and one secret). Returns the environment's
 * uuid (static); *svc its service's id. */
static const char *
make_env(const char *plain_name, const char *plain_value, const char *secret_value,
    long long *svc)
{
	static char	 uuid[40];
	char		 name[64], url[400], sid[24], envid[24], *sealed;
	PGresult	*res;

	snprintf(name, sizeof(name), "dep-%d", (int)getpid());
	snprintf(url, sizeof(url), "file://%s/app.git", repo_dir);
	{
		const char *p[] = { name, url };
		res = ts_q("WITH a AS (INSERT INTO applications (name, repository_url, "
		    "default_branch) VALUES ($1, $2, 'main') RETURNING id) "
		    "INSERT INTO environments (application_id, name, retention_count) "
		    "SELECT id, 'production', 3 FROM a RETURNING id, uuid", 2, p);
	}
	snprintf(envid, sizeof(envid), "%s", PQgetvalue(res, 0, 0));
	snprintf(uuid, sizeof(uuid), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	{
		const char *p[] = { envid, port };
		res = ts_q("INSERT INTO services (environment_id, name, port, health_kind, "
		    "health_path, health_interval_s, health_timeout_s) VALUES ($1::bigint, "
		    "'web', $2::int, 'http', '/version', 1, 20) RETURNING id", 2, p);
	}
	*svc = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(sid, sizeof(sid), "%lld", *svc);
	PQclear(res);
	for (int i = 0; i < NHOSTS; i++) {
		char h[24];
		const char *p[] = { envid, h };
		snprintf(h, sizeof(h), "%lld", hid[i]);
		PQclear(ts_q("INSERT INTO environment_servers VALUES ($1::bigint, $2::bigint)",
		    2, p));
	}
	{
		const char *p[] = { sid };
		PQclear(ts_q("INSERT INTO service_volumes VALUES ($1::bigint, 'data', '/data')",
		    1, p));
	}
	if (plain_name != NULL) {
		const char *p[] = { sid, plain_name, plain_value };
		PQclear(ts_q("INSERT INTO service_vars (service_id, name, value) VALUES "
		    "($1::bigint, $2, $3)", 3, p));
	}
	if (secret_value != NULL) {
		sealed = seal_var(*svc, "API_TOKEN", secret_value);
		const char *p[] = { sid, sealed };
		PQclear(ts_q("INSERT INTO service_vars (service_id, name, sealed) VALUES "
		    "($1::bigint, 'API_TOKEN', $2)", 2, p));
		free(sealed);
	}
	return uuid;
}

/* Plans a deploy (artifact NULL: build first); returns the deploy's id. */
static long long
deploy(const char *env, const char *artifact, const char *commit)
{
	struct deploy_req r = { env, artifact, commit, 0, 0 };
	char		 uuid[40], err[512];
	int		 rc;

	rc = deploy_plan(&ts_db, &cfg, ts_sealkey, &r, uuid, err, sizeof(err));
	ck_assert_msg(rc == 0, "deploy_plan: %d %s", rc, err);
	return tb_op_id(uuid);
}

/* The artifact a deploy deployed: its uuid and REF@DIGEST (static). */
static void
deployed(long long id, char *art, size_t artsz, char *image, size_t isz)
{
	char		 ids[24];
	const char	*p[] = { ids };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT a.uuid, substring(a.tag FROM '^(.*):[^:/]*$') || '@' || "
	    "a.manifest_digest FROM operations o JOIN build_artifacts a ON a.id = "
	    "o.artifact_id WHERE o.id = $1::bigint", 1, p);
	ck_assert_msg(PQntuples(res) == 1, "deploy %lld has no artifact\n%s", id,
	    ts_op_report(id));
	snprintf(art, artsz, "%s", PQgetvalue(res, 0, 0));
	snprintf(image, isz, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
}

/* What the application answers on host h ("" when nothing). */
static void
answer(const struct th_host *h, char *out, size_t sz)
{
	char	 cmd[256], *o;

	snprintf(cmd, sizeof(cmd), "curl -s --max-time 5 http://%s:%s/version", h->addr,
	    port);
	o = th_local(ts_tmp, cmd);
	snprintf(out, sz, "%.*s", (int)strcspn(o, "\n"), o);
	free(o);
}

/* The id of the environment's running web container on host h ("" when
 * none); what it runs into image when not NULL. */
static void
container_of(const struct th_host *h, const char *env, char *cid, size_t sz,
    char *image, size_t isz)
{
	char	 cmd[512], *o;

	snprintf(cmd, sizeof(cmd), "docker ps -q --filter label=dev.keystone.environment=%s "
	    "--filter label=dev.keystone.service=web | head -n 1", env);
	(void)th_sh(h, ts_tmp, cmd, &o);
	snprintf(cid, sz, "%.*s", (int)strcspn(o, "\n"), o);
	free(o);
	if (image != NULL) {
		image[0] = '\0';
		if (cid[0] == '\0')
			return;
		snprintf(cmd, sizeof(cmd), "docker inspect -f '{{.Config.Image}}' %s", cid);
		(void)th_sh(h, ts_tmp, cmd, &o);
		snprintf(image, isz, "%.*s", (int)strcspn(o, "\n"), o);
		free(o);
	}
}

static void
state_of(const char *env, long long server, char *state, size_t ssz, char *digest,
    size_t dsz)
{
	char		 sid[24];
	const char	*p[] = { env, sid };
	PGresult	*res;

	snprintf(sid, sizeof(sid), "%lld", server);
	res = ts_q("SELECT d.state, coalesce(d.digest, '') FROM deployments d JOIN "
	    "environments e ON e.id = d.environment_id WHERE e.uuid = $1 AND "
	    "d.server_id = $2::bigint", 2, p);
	ck_assert_msg(PQntuples(res) == 1, "no deployment recorded on server %lld", server);
	snprintf(state, ssz, "%s", PQgetvalue(res, 0, 0));
	snprintf(digest, dsz, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
}

/* A file of the environment's volume on host h (read with image). */
static char *
volume_file(const struct th_host *h, const char *env, const char *image,
    const char *name)
{
	char	 cmd[1024], *o;

	snprintf(cmd, sizeof(cmd), "docker run --rm --network host -v ks-%s_data:/data "
	    "--entrypoint /bin/busybox '%s' cat /data/%s 2>&1 || true", env, image, name);
	(void)th_sh(h, ts_tmp, cmd, &o);
	return o;
}

/* The ordinal of deploy id's step on server (0 when it has none). */
static int
step_of(long long id, long long server)
{
	char		 ids[24], sid[24];
	const char	*p[] = { ids, sid };
	PGresult	*res;
	int		 ord = 0;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(sid, sizeof(sid), "%lld", server);
	res = ts_q("SELECT ordinal FROM operation_steps WHERE operation_id = $1::bigint "
	    "AND server_id = $2::bigint", 2, p);
	if (PQntuples(res) == 1)
		ord = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return ord;
}

/* Removes the environment's project from server (with its volumes when
 * volumes), and waits for the removal to succeed. */
static void
remove_from(const char *env, long long server, int volumes)
{
	char		 sid[24], suuid[40], uuid[40], err[256];
	struct deploy_remove rq = { env, suuid, volumes, 0, 0 };
	const char	*p[] = { sid };
	PGresult	*res;

	snprintf(sid, sizeof(sid), "%lld", server);
	res = ts_q("SELECT uuid FROM servers WHERE id = $1::bigint", 1, p);
	snprintf(suuid, sizeof(suuid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	ck_assert_msg(deploy_plan_remove(&ts_db, &cfg, ts_sealkey, &rq, uuid, err,
	    sizeof(err)) == 0 && uuid[0] != '\0', "%s", err);
	tb_expect_status(tb_op_id(uuid), "succeeded", 300);
}

/* Waits for deploy id to end as want, sampling every process's arguments
 * (the hosts' too) for the canary meanwhile. (Not their environments: the
 * application's own process has its variables there.) */
static void
deploy_sampled(long long id, const char *canary, const char *want)
{
	char	 st[32];

	for (int i = 0; i < 3000; i++) {
		ts_op_field(id, "status", st, sizeof(st));
		ck_assert_msg(!ts_proc_argv_has(canary), "the secret in a process's "
		    "arguments during deploy %lld", id);
		if (strcmp(st, "queued") != 0 && strcmp(st, "running") != 0)
			break;
		usleep(100000);
	}
	tb_expect_status(id, want, 10);
}

/* ---------------------------------------------------------------- tests */

START_TEST(journey)
{
	static const char hostile[] = "a$b ${HOME} $$ 'q' \"d\" `id` ; | & # : - [x] "
	    "{y: z} \\ \\n\nsecond line --z";
	char		 canary[40], art1[40], art2[40], artbad[40], img1[600], img2[600];
	char		 imgbad[600], got[64];
	char		 cid[80], image[600], st[16], dig[80], cmd[2048], *o, *before[NHOSTS];
	char		*tok1, ids0[24];
	unsigned char	 rnd[12];
	const char	*env;
	long long	 svc, id, v1id;
	int		 n;

	/* The registry provisioned afresh for these hosts (an earlier phase
	 * of the suite may have left its row "ready" with its container gone
	 * and other hosts checked). */
	PQclear(ts_q("DELETE FROM registry", 0, NULL));
	tb_ensure_registry(&cfg, reghost);
	make_repo();
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(canary, sizeof(canary), "ks-canary-");
	sodium_bin2hex(canary + 10, sizeof(canary) - 10, rnd, sizeof(rnd));
	env = make_env("HOSTILE", hostile, canary, &svc);
	env = strdup(env);
	for (int i = 0; i < NHOSTS; i++)
		(void)th_sh(&hosts[i], ts_tmp, "docker network ls -q | sort", &before[i]);

	/* 1. v1 (a pinned older commit: build, then deploy) on both hosts. */
	id = deploy(env, NULL, c_v1);
	tb_expect_status(id, "succeeded", 600);
	deployed(id, art1, sizeof(art1), img1, sizeof(img1));
	v1id = id;
	(void)v1id;
	for (int i = 0; i < NHOSTS; i++) {
		answer(&hosts[i], got, sizeof(got));
		ck_assert_msg(strcmp(got, "1") == 0, "%s answers [%s]\n%s", hosts[i].name,
		    got, ts_op_report(id));
		container_of(&hosts[i], env, cid, sizeof(cid), image, sizeof(image));
		ck_assert_msg(strcmp(image, img1) == 0, "%s runs %s, not %s", hosts[i].name,
		    image, img1);
		snprintf(cmd, sizeof(cmd), "grep -c '    image: \"%s\"' "
		    "/home/keystone/keystone/ks-%s/docker-compose.yml", img1, env);
		ck_assert_msg(th_sh(&hosts[i], ts_tmp, cmd, NULL) == 0, "the Compose file on "
		    "%s does not reference %s", hosts[i].name, img1);
		state_of(env, hid[i], st, sizeof(st), dig, sizeof(dig));
		ck_assert_str_eq(st, "running");
		ck_assert_msg(strstr(img1, dig) != NULL, "recorded %s, runs %s", dig, img1);
		/* The variable reached the container byte for byte. */
		snprintf(cmd, sizeof(cmd), "docker exec %s /bin/busybox sh -c "
		    "'printf %%s \"$HOSTILE\"'", cid);
		(void)th_sh(&hosts[i], ts_tmp, cmd, &o);
		ck_assert_msg(strcmp(o, hostile) == 0, "HOSTILE in the container: [%s]", o);
		free(o);
		snprintf(cmd, sizeof(cmd), "docker exec %s /bin/busybox sh -c "
		    "'printf %%s \"$API_TOKEN\"'", cid);
		(void)th_sh(&hosts[i], ts_tmp, cmd, &o);
		ck_assert_msg(strcmp(o, canary) == 0, "API_TOKEN: [%s]", o);
		free(o);
		/* The secret: only in the 0600 env file and the container's own
		 * configuration. */
		snprintf(cmd, sizeof(cmd), "grep -rlF '%s' /home /tmp /var/tmp /root /etc "
		    "/var/lib/docker/containers 2>/dev/null | sed 's|^/var/lib/docker/"
		    "containers/[0-9a-f]*/|CONTAINER/|' | sort; stat -c '%%a %%U' "
		    "/home/keystone/keystone/ks-%s/secrets-web.env", canary, env);
		(void)th_sh(&hosts[i], ts_tmp, cmd, &o);
		{
			char want[512];
			snprintf(want, sizeof(want), "/home/keystone/keystone/ks-%s/secrets-web.env\n"
			    "CONTAINER/config.v2.json\n600 keystone\n", env);
			ck_assert_msg(strcmp(o, want) == 0, "the secret's files on %s:\n%s",
			    hosts[i].name, o);
		}
		free(o);
	}
	tok1 = volume_file(&hosts[0], env, img1, "first-1");
	ck_assert_msg(strlen(tok1) > 5 && strstr(tok1, "No such") == NULL, "%s", tok1);
	/* The secret is nowhere Keystone stores or shows. */
	{
		const char *p[] = { canary };
		PGresult *res = ts_q("SELECT (SELECT count(*) FROM operation_steps WHERE "
		    "strpos(script, $1) > 0) + (SELECT count(*) FROM operation_output WHERE "
		    "strpos(chunk, $1) > 0)", 1, p);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "0");
		PQclear(res);
		snprintf(cmd, sizeof(cmd), "grep -rlF '%s' '%s/log' 2>/dev/null", canary, ts_dir);
		o = th_local(ts_tmp, cmd);
		ck_assert_msg(o[0] == '\0', "the secret in logs: %s", o);
		free(o);
	}

	/* 1b. The Compose plugin's form (`docker compose`): only
	 * docker-compose 1.29 exists on these hosts, so host 0 gets a CLI
	 * plugin that is a test shim (named as such): the Docker CLI finds it,
	 * hands it its arguments as it hands them to the real plugin, and it
	 * logs them and carries them out with docker-compose. From here on
	 * host 0 deploys through `docker compose`, host 1 through
	 * docker-compose. */
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp,
	    "mkdir -p /usr/local/lib/docker/cli-plugins && "
	    "cat > /usr/local/lib/docker/cli-plugins/docker-compose <<'EOF'\n"
	    "#!/bin/sh\n"
	    "# Keystone test shim: the Compose v2 plugin's form, run by docker-compose 1.29\n"
	    "if [ \"${1:-}\" = docker-cli-plugin-metadata ]; then\n"
	    "  echo '{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"Keystone tests\","
	    "\"Version\":\"v2.99.0-shim\"}'; exit 0\n"
	    "fi\n"
	    "printf '%s\\n' \"$*\" >> /tmp/ks-compose-plugin.log\n"
	    "cfg=\n"
	    "while [ $# -gt 0 ] && [ \"$1\" != compose ]; do\n"
	    "  case $1 in --config) cfg=$2; shift 2 ;; --config=*) cfg=${1#--config=}; shift ;;"
	    " *) shift ;; esac\n"
	    "done\n"
	    "[ \"${1:-}\" != compose ] || shift\n"
	    "[ -z \"$cfg\" ] || export DOCKER_CONFIG=$cfg\n"
	    "exec docker-compose \"$@\"\n"
	    "EOF\n"
	    "chmod 0755 /usr/local/lib/docker/cli-plugins/docker-compose && "
	    "rm -f /tmp/ks-compose-plugin.log && "
	    "runuser -u keystone -- docker compose version", &o), 0);
	ck_assert_msg(strstr(o, "version") != NULL, "the plugin shim: %s", o);
	free(o);

	/* 2. v2 (the branch head), then "Deploy this version" v1 again: v1
	 * answers, the file v1 wrote first is the same. */
	id = deploy(env, NULL, NULL);
	tb_expect_status(id, "succeeded", 600);
	deployed(id, art2, sizeof(art2), img2, sizeof(img2));
	for (int i = 0; i < NHOSTS; i++) {
		answer(&hosts[i], got, sizeof(got));
		ck_assert_msg(strcmp(got, "2") == 0, "%s answers [%s] after v2", hosts[i].name,
		    got);
	}
	/* Host 0 switched through the plugin's form: the CLI's global
	 * --config, then `compose` with the project, its file and `up`. */
	snprintf(cmd, sizeof(cmd), "grep -cxF -- '--config /home/keystone/.docker compose "
	    "-p ks-%s -f /home/keystone/keystone/ks-%s/docker-compose.yml up -d "
	    "--remove-orphans' /tmp/ks-compose-plugin.log", env, env);
	(void)th_sh(&hosts[0], ts_tmp, cmd, &o);
	n = atoi(o);
	free(o);
	(void)th_sh(&hosts[0], ts_tmp, "cat /tmp/ks-compose-plugin.log", &o);
	ck_assert_msg(n == 1, "the plugin's invocations on %s:\n%s", hosts[0].name, o);
	free(o);
	ck_assert_msg(th_sh(&hosts[1], ts_tmp, "test ! -e /tmp/ks-compose-plugin.log",
	    NULL) == 0, "%s has no plugin, yet one ran", hosts[1].name);
	id = deploy(env, art1, NULL);
	tb_expect_status(id, "succeeded", 300);
	for (int i = 0; i < NHOSTS; i++) {
		answer(&hosts[i], got, sizeof(got));
		ck_assert_msg(strcmp(got, "1") == 0, "%s answers [%s] after the rollback",
		    hosts[i].name, got);
	}
	o = volume_file(&hosts[0], env, img1, "first-1");
	ck_assert_msg(strcmp(o, tok1) == 0, "the volume's file: [%s], was [%s]", o, tok1);
	free(o);
	free(tok1);

	/* 3. A version whose health check fails: every host keeps v1, the
	 * deploy fails with the reason, the environment is not on it. */
	PQclear(ts_q("UPDATE environments SET branch = 'bad' WHERE uuid = $1", 1, &env));
	id = deploy(env, NULL, NULL);
	tb_expect_status(id, "failed", 600);
	deployed(id, artbad, sizeof(artbad), imgbad, sizeof(imgbad));
	{
		char ids[24];
		const char *p[] = { ids };
		snprintf(ids, sizeof(ids), "%lld", id);
		PGresult *res = ts_q("SELECT error FROM operations WHERE id = $1::bigint", 1, p);
		ck_assert_msg(strstr(PQgetvalue(res, 0, 0), "Deploy to") != NULL,
		    "%s", ts_op_report(id));
		PQclear(res);
		o = ts_step_output(id, 1);
		ck_assert_msg(strstr(o, "did not answer") != NULL && strstr(o, "put back") != NULL,
		    "%s", o);
		free(o);
	}
	for (int i = 0; i < NHOSTS; i++) {
		answer(&hosts[i], got, sizeof(got));
		ck_assert_msg(strcmp(got, "1") == 0, "%s answers [%s] after a failed deploy",
		    hosts[i].name, got);
		state_of(env, hid[i], st, sizeof(st), dig, sizeof(dig));
		ck_assert_str_eq(st, "failed");
		ck_assert_msg(strstr(img1, dig) != NULL && dig[0] != '\0',
		    "recorded %s after the failed deploy, v1 is %s", dig, img1);
	}

	/* 4. One host stopped: it fails, the other switches to v2. */
	snprintf(cmd, sizeof(cmd), "c=$(bash tests/hosts/hostctl list | awk '$1 == \"%s\" "
	    "{ print $6 }') && docker pause \"$c\" >/dev/null && echo paused", hosts[1].name);
	o = th_local(ts_tmp, cmd);
	ck_assert_msg(strstr(o, "paused") != NULL, "%s", o);
	free(o);
	id = deploy(env, art2, NULL);
	tb_expect_status(id, "failed", 300);
	snprintf(cmd, sizeof(cmd), "c=$(bash tests/hosts/hostctl list | awk '$1 == \"%s\" "
	    "{ print $6 }') && docker unpause \"$c\"", hosts[1].name);
	free(th_local(ts_tmp, cmd));
	answer(&hosts[0], got, sizeof(got));
	ck_assert_msg(strcmp(got, "2") == 0, "%s answers [%s]", hosts[0].name, got);
	state_of(env, hid[0], st, sizeof(st), dig, sizeof(dig));
	ck_assert_str_eq(st, "running");
	state_of(env, hid[1], st, sizeof(st), dig, sizeof(dig));
	ck_assert_str_eq(st, "failed");

	/* 5. A host whose Docker sign-in was removed gets it back; a wrong
	 * runtime credential fails clearly; a server with both roles keeps
	 * its build credential and can still push. */
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, "rm -f /home/keystone/.docker/config.json",
	    NULL), 0);
	PQclear(ts_q("UPDATE servers SET role_build = true WHERE id = $1::bigint", 1,
	    (const char *[]){ (snprintf(got, sizeof(got), "%lld", hid[1]), got) }));
	id = deploy(env, art1, NULL);
	deploy_sampled(id, canary, "succeeded");
	ck_assert_int_eq(th_sh(&hosts[0], ts_tmp, "grep -q auths "
	    "/home/keystone/.docker/config.json", NULL), 0);
	/* The build server: still the build credential; it pushes. */
	snprintf(cmd, sizeof(cmd), "sed -n 's/.*\"auth\": \"\\(.*\\)\".*/\\1/p' "
	    "/home/keystone/.docker/config.json | tail -n 1 | base64 -d | cut -d: -f1; "
	    "docker tag '%s' '%.*s:push-check' && runuser -u keystone -- docker push -q "
	    "'%.*s:push-check' >/dev/null && echo pushed", img1, (int)strcspn(img1, "@"), img1,
	    (int)strcspn(img1, "@"), img1);
	(void)th_sh(&hosts[1], ts_tmp, cmd, &o);
	ck_assert_msg(strcmp(o, REG_BUILD_USER "\npushed\n") == 0, "the build server "
	    "after a deploy: %s", o);
	free(o);
	PQclear(ts_q("UPDATE servers SET role_build = false WHERE id = $1::bigint", 1,
	    (const char *[]){ (snprintf(got, sizeof(got), "%lld", hid[1]), got) }));
	{
		PGresult *res = ts_q("SELECT sealed, username, key_version FROM "
		    "registry_credentials WHERE role = 'runtime'", 0, NULL);
		char *good = strdup(PQgetvalue(res, 0, 0)), ad[160], *bad = NULL;

		snprintf(ad, sizeof(ad), "registry_credentials:runtime:%s:v%s",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		PQclear(res);
		ck_assert_int_eq(keys_seal_b64(&bad, ts_sealkey, ad, "not-the-password", 16), 0);
		PQclear(ts_q("UPDATE registry_credentials SET sealed = $1 WHERE role = "
		    "'runtime'", 1, (const char *[]){ bad }));
		id = deploy(env, art2, NULL);
		tb_expect_status(id, "failed", 300);
		PQclear(ts_q("UPDATE registry_credentials SET sealed = $1 WHERE role = "
		    "'runtime'", 1, (const char *[]){ good }));
		free(good);
		free(bad);
		o = ts_step_output(id, 1);
		ck_assert_msg(strstr(o, "docker login to") != NULL && strstr(o, "failed") != NULL,
		    "%s", o);
		free(o);
		/* It still runs v1. */
		answer(&hosts[0], got, sizeof(got));
		ck_assert_msg(strcmp(got, "1") == 0, "%s answers [%s]", hosts[0].name, got);
	}

	/* 5b. The registry stops accepting the runtime credential a server
	 * already holds (its htpasswd entry swapped for another password's,
	 * the registry restarted): Keystone sees nothing to sign in again, so
	 * the pull is where it fails, and it says the credential was refused.
	 * (v2's image removed from host 0 first: the pull must ask.) */
	{
		struct reg_settings rs;
		int ord;

		reg_settings(&cfg, NULL, &rs);
		snprintf(cmd, sizeof(cmd), "docker rmi '%s' >/dev/null && echo removed", img2);
		(void)th_sh(&hosts[0], ts_tmp, cmd, &o);
		ck_assert_msg(strstr(o, "removed") != NULL, "%s", o);
		free(o);
		snprintf(cmd, sizeof(cmd), "f='%s/htpasswd' && cp -p \"$f\" \"$f.keep\" && "
		    "b=$(sed -n 's/^%s://p' \"$f\") && [ -n \"$b\" ] && "
		    "sed -i \"s|^%s:.*|%s:$b|\" \"$f\" && docker restart '%s' >/dev/null && "
		    "echo swapped", rs.conf_dir, REG_BUILD_USER, REG_RUNTIME_USER,
		    REG_RUNTIME_USER, rs.container);
		o = th_local(ts_tmp, cmd);
		ck_assert_msg(strstr(o, "swapped") != NULL, "%s", o);
		free(o);
		ts_wait_registry(rs.listen);
		id = deploy(env, art2, NULL);
		tb_expect_status(id, "failed", 300);
		snprintf(cmd, sizeof(cmd), "f='%s/htpasswd' && mv -f \"$f.keep\" \"$f\" && "
		    "docker restart '%s' >/dev/null && echo restored", rs.conf_dir, rs.container);
		o = th_local(ts_tmp, cmd);
		ck_assert_msg(strstr(o, "restored") != NULL, "%s", o);
		free(o);
		ts_wait_registry(rs.listen);
		ord = step_of(id, hid[0]);
		ck_assert_msg(ord > 0, "%s", ts_op_report(id));
		o = ts_step_output(id, ord);
		ck_assert_msg(strstr(o, "already holds") != NULL && strstr(o, "docker pull") !=
		    NULL && strstr(o, "refused the credential") != NULL, "%s", o);
		free(o);
		answer(&hosts[0], got, sizeof(got));
		ck_assert_msg(strcmp(got, "1") == 0, "%s answers [%s]", hosts[0].name, got);
	}

	/* 6. A server removed from the environment: nothing of it runs there. */
	{
		remove_from(env, hid[1], 0);
		container_of(&hosts[1], env, cid, sizeof(cid), NULL, 0);
		ck_assert_msg(cid[0] == '\0', "a container of the environment is still on %s",
		    hosts[1].name);
		snprintf(cmd, sizeof(cmd), "docker ps -aq --filter label=dev.keystone.environment=%s; "
		    "test -e /home/keystone/keystone/ks-%s && echo dir", env, env);
		(void)th_sh(&hosts[1], ts_tmp, cmd, &o);
		ck_assert_msg(o[0] == '\0', "left on %s: %s", hosts[1].name, o);
		free(o);
		/* The volume stays (no confirmation given). */
		snprintf(cmd, sizeof(cmd), "docker volume ls -q --filter name=ks-%s_data", env);
		(void)th_sh(&hosts[1], ts_tmp, cmd, &o);
		ck_assert_msg(strstr(o, "_data") != NULL, "the volume is gone: [%s]", o);
		free(o);
		state_of(env, hid[1], st, sizeof(st), dig, sizeof(dig));
		ck_assert_str_eq(st, "removed");
	}

	/* 7. Hostile values in the service's command and health path reach
	 * the container and curl as they are; no canary file anywhere. */
	{
		static const char cmdline[] = "/bin/busybox sh -c 'printf %s \"$HOSTILE\" > "
		    "/data/x; exec /bin/busybox httpd -f -p \"$HOST:$PORT\" -h /www'";
		static const char path[] = "/version?q=$(touch%20/tmp/ks-canary-deploy)&a='b'"
		    "&c=\"d\"&e=[1]{2};|`id`";
		const char *p[] = { env, cmdline, path };

		PQclear(ts_q("UPDATE services s SET command = $2, health_path = $3 FROM "
		    "environments e WHERE e.id = s.environment_id AND e.uuid = $1", 3, p));
		/* Retention 2: host 0 has v1 (running), v2 and bad; after the
		 * switch to v2 it keeps v2 and the newest other (bad), and v1
		 * is pruned. */
		PQclear(ts_q("UPDATE environments SET retention_count = 2 WHERE uuid = $1",
		    1, p));
		id = deploy(env, art2, NULL);
		tb_expect_status(id, "succeeded", 300);
		snprintf(cmd, sizeof(cmd), "docker image ls -q --no-trunc --filter "
		    "label=dev.keystone.environment=%s | sort -u | wc -l; docker image inspect "
		    "'%s' >/dev/null 2>&1 && echo v1-kept; docker image inspect '%s' >/dev/null "
		    "2>&1 && echo v2-kept", env, img1, img2);
		(void)th_sh(&hosts[0], ts_tmp, cmd, &o);
		ck_assert_msg(strcmp(o, "2\nv2-kept\n") == 0, "the environment's images on %s "
		    "after a deploy with retention 2: %s\n%s", hosts[0].name, o,
		    ts_op_report(id));
		free(o);
		container_of(&hosts[0], env, cid, sizeof(cid), NULL, 0);
		snprintf(cmd, sizeof(cmd), "docker exec %s /bin/busybox cat /data/x", cid);
		(void)th_sh(&hosts[0], ts_tmp, cmd, &o);
		ck_assert_msg(strcmp(o, hostile) == 0, "what the command wrote: [%s]", o);
		free(o);
		for (int i = 0; i < NHOSTS; i++)
			ck_assert_msg(th_sh(&hosts[i], ts_tmp, "test ! -e /tmp/ks-canary-deploy",
			    NULL) == 0, "a canary file on %s", hosts[i].name);
		o = th_local(ts_tmp, "ls /tmp/ks-canary-deploy 2>/dev/null");
		ck_assert_msg(o[0] == '\0', "a canary file on the control node");
		free(o);
	}

	/* 8. A newer queued deploy supersedes the older one. */
	ts_reap_all();
	{
		long long a = deploy(env, art1, NULL), b = deploy(env, art2, NULL);
		char ids[2][24];
		const char *p[] = { ids[0], ids[1] };
		PGresult *res;

		snprintf(ids[0], sizeof(ids[0]), "%lld", a);
		snprintf(ids[1], sizeof(ids[1]), "%lld", b);
		res = ts_q("SELECT status, superseded_by = $2::bigint FROM operations "
		    "WHERE id = $1::bigint", 2, p);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "superseded");
		ck_assert_str_eq(PQgetvalue(res, 0, 1), "t");
		PQclear(res);
		ts_spooler_start(NULL);
		tb_expect_status(b, "succeeded", 300);
	}

	/* 9. An artifact of another architecture, when the plan cannot know
	 * the server's (its architecture not recorded: taken out of the
	 * servers' facts for this deploy, as an earlier phase of the suite
	 * may have recorded it): the step refuses it before it pulls; v2
	 * keeps answering. */
	{
		char arch[32], *o2, sarch[NHOSTS][32], sid[NHOSTS][24];
		const char *p[] = { art1, arch };
		PGresult *res = ts_q("SELECT coalesce(architecture, '') FROM build_artifacts "
		    "WHERE uuid = $1", 1, p);

		snprintf(arch, sizeof(arch), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		for (int i = 0; i < NHOSTS; i++) {
			snprintf(sid[i], sizeof(sid[i]), "%lld", hid[i]);
			res = ts_q("SELECT coalesce(facts->>'arch', '') FROM servers WHERE id = "
			    "$1::bigint", 1, (const char *[]){ sid[i] });
			snprintf(sarch[i], sizeof(sarch[i]), "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
			PQclear(ts_q("UPDATE servers SET facts = facts - 'arch' WHERE id = "
			    "$1::bigint", 1, (const char *[]){ sid[i] }));
		}
		PQclear(ts_q("UPDATE build_artifacts SET architecture = 'riscv64' WHERE "
		    "uuid = $1", 1, p));
		id = deploy(env, art1, NULL);
		tb_expect_status(id, "failed", 300);
		PQclear(ts_q("UPDATE build_artifacts SET architecture = nullif($2, '') WHERE "
		    "uuid = $1", 2, p));
		for (int i = 0; i < NHOSTS; i++)
			PQclear(ts_q("UPDATE servers SET facts = jsonb_set(facts, '{arch}', "
			    "to_jsonb($2::text)) WHERE id = $1::bigint AND $2 <> ''", 2,
			    (const char *[]){ sid[i], sarch[i] }));
		o2 = ts_step_output(id, step_of(id, hid[0]));
		ck_assert_msg(strstr(o2, "built for riscv64 but") != NULL && strstr(o2,
		    "pulled") == NULL, "%s", o2);
		free(o2);
		answer(&hosts[0], got, sizeof(got));
		ck_assert_msg(strcmp(got, "2") == 0, "%s answers [%s]", hosts[0].name, got);
	}

	/* 10. Deploy on push, the repository served over HTTPS with a token (a hook never builds a
	 * local source): a GitHub-signed push of a new commit on main builds
	 * and deploys it on both hosts; then a GitLab push of the next one.
	 * (What a hook answers otherwise: check_hook_web.) */
	{
		static const char *const ver[] = { "4", "5" };
		char		 secret[HOOK_SECRETLEN + 1], body[512], sha[41], appu[40];
		char		 opu[40], token[25], *ca;
		const char	*q, *gport = getenv("KS_GIT_HTTPS_PORT");
		struct tk_reply	 r;
		struct tg_https	 h;
		PGresult	*res;

		PQclear(ts_q("UPDATE environments SET branch = 'main' WHERE uuid = $1", 1,
		    &env));
		res = ts_q("SELECT a.uuid FROM environments e JOIN applications a ON a.id = "
		    "e.application_id WHERE e.uuid = $1", 1, &env);
		snprintf(appu, sizeof(appu), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		ck_assert_int_eq(hook_env_secret(&ts_db, ts_sealkey, appu, env, secret), 1);
		ck_assert_msg(gport != NULL, "KS_GIT_HTTPS_PORT is not set");
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(token, sizeof(token), rnd, sizeof(rnd));
		tg_https_serve(repo_dir, atoi(gport), "ks-user", token, &h);
		ck_assert_ptr_nonnull(ca = tu_slurp(h.ca, NULL));
		PQclear(ts_q("UPDATE applications SET repository_url = $2, git_ca_pem = $3 "
		    "WHERE uuid = $1", 3, (const char *[]){ appu, h.url, ca }));
		free(ca);
		ck_assert_int_eq(build_set_token(&ts_db, ts_sealkey, appu, "ks-user", token), 0);
		buf_init(&r.body);
		for (int k = 0; k < 2; k++) {
			snprintf(cmd, sizeof(cmd), "cd '%s/w' && echo %s > www/version && "
			    "git add -A && git -c user.name=t -c user.email=t@example.test "
			    "commit -qm v%s && git push -q ../app.git HEAD:main && "
			    "git rev-parse HEAD", repo_dir, ver[k], ver[k]);
			o = th_local(ts_tmp, cmd);
			ck_assert_msg(sscanf(o, "%40s", sha) == 1 && strlen(sha) == 40,
			    "a new commit: %s", o);
			free(o);
			tk_push_json(body, sizeof(body), "refs/heads/main", sha);
			if (k == 0)
				(void)tk_github(&r, env, secret, "push", "e2e-gh", body);
			else
				(void)tk_gitlab(&r, env, secret, "Push Hook", "e2e-gl", body);
			q = strstr(buf_cstr(&r.body), "\"operation\":\"");
			ck_assert_msg(r.status == 202 && q != NULL, "the push: %ld %s",
			    r.status, buf_cstr(&r.body));
			snprintf(opu, sizeof(opu), "%.36s", q + strlen("\"operation\":\""));
			id = tb_op_id(opu);
			tb_expect_status(id, "succeeded", 600);
			for (int i = 0; i < NHOSTS; i++) {
				answer(&hosts[i], got, sizeof(got));
				ck_assert_msg(strcmp(got, ver[k]) == 0, "%s answers [%s] after "
				    "the push of v%s\n%s", hosts[i].name, got, ver[k],
				    ts_op_report(id));
			}
		}
		buf_release(&r.body);
		ck_assert_int_eq(tg_https_stop(repo_dir), 0);
	}

	/* 11. A cancel, one server at a time (step_fanout 1): the server
	 * being switched finishes its step (bad fails its gate and v5 is put
	 * back), the one not yet started never starts (and still runs v5). */
	ts_reap_all();
	ts_spooler_start("KEYSTONE_STEP_FANOUT=1");
	{
		char st1[32];
		int first = 0;

		id = deploy(env, artbad, NULL);
		for (int i = 0; i < 3000 && first == 0; i++) {
			for (int k = 1; k <= 2 && first == 0; k++) {
				ts_step_field(id, k, "status", st1, sizeof(st1));
				if (strcmp(st1, "running") == 0)
					first = k;
			}
			if (first == 0)
				usleep(100000);
		}
		ck_assert_msg(first != 0, "no step of %lld started\n%s", id, ts_op_report(id));
		snprintf(ids0, sizeof(ids0), "%lld", id);
		PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = "
		    "$1::bigint", 1, (const char *[]){ ids0 }));
		tb_expect_status(id, "cancelled", 300);
		ts_step_field(id, first, "status", st1, sizeof(st1));
		o = ts_step_output(id, first);
		ck_assert_msg(strcmp(st1, "failed") == 0 && strstr(o, "did not answer") !=
		    NULL, "the started server's step ended %s:\n%s\n%s", st1, o,
		    ts_op_report(id));
		free(o);
		ts_step_field(id, 3 - first, "started_at", st1, sizeof(st1));
		ck_assert_msg(st1[0] == '\0', "the other server's step started\n%s",
		    ts_op_report(id));
		for (int i = 0; i < NHOSTS; i++) {
			answer(&hosts[i], got, sizeof(got));
			ck_assert_msg(strcmp(got, "5") == 0, "%s answers [%s] after the "
			    "cancel", hosts[i].name, got);
		}
	}

	/* 12. Host 1 removed with its volumes (the confirmed removal): its
	 * project and its volume are gone; host 0's volume is kept. */
	{
		remove_from(env, hid[1], 1);
		snprintf(cmd, sizeof(cmd), "docker ps -aq --filter label=dev.keystone.environment=%s; "
		    "docker volume ls -q --filter name=ks-%s_data", env, env);
		(void)th_sh(&hosts[1], ts_tmp, cmd, &o);
		ck_assert_msg(o[0] == '\0', "left on %s: %s", hosts[1].name, o);
		free(o);
		snprintf(cmd, sizeof(cmd), "docker volume ls -q --filter name=ks-%s_data", env);
		(void)th_sh(&hosts[0], ts_tmp, cmd, &o);
		ck_assert_msg(strstr(o, "_data") != NULL, "host 0's volume is gone: [%s]", o);
		free(o);
	}

	/* The secret shows on none of the pages about it. */
	{
		const char *p[] = { env };
		PGresult *res = ts_q("SELECT a.uuid, s.uuid FROM environments e JOIN "
		    "applications a ON a.id = e.application_id JOIN services s ON "
		    "s.environment_id = e.id WHERE e.uuid = $1", 1, p);
		char pages[3][300];

		snprintf(pages[0], sizeof(pages[0]), "/apps/%s/envs/%s", PQgetvalue(res, 0, 0),
		    env);
		snprintf(pages[1], sizeof(pages[1]), "/apps/%s/envs/%s/services/%s/edit",
		    PQgetvalue(res, 0, 0), env, PQgetvalue(res, 0, 1));
		PQclear(res);
		snprintf(ids0, sizeof(ids0), "%lld", id);
		res = ts_q("SELECT uuid FROM operations WHERE id = $1::bigint", 1,
		    (const char *[]){ ids0 });
		snprintf(pages[2], sizeof(pages[2]), "/ops/%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		for (int k = 0; k < 3; k++) {
			o = ts_web_get(pages[k], "page.html");
			ck_assert_msg(o != NULL, "%s did not load", pages[k]);
			ck_assert_msg(strstr(o, canary) == NULL, "the secret on %s", pages[k]);
			free(o);
		}
	}

	/* Docker made no network on either host. */
	for (int i = 0; i < NHOSTS; i++) {
		(void)th_sh(&hosts[i], ts_tmp, "docker network ls -q | sort", &o);
		ck_assert_msg(strcmp(o, before[i]) == 0, "networks on %s: before\n%s\nafter\n%s",
		    hosts[i].name, before[i], o);
		free(o);
		free(before[i]);
	}
	free((char *)env);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("deploy");
	TCase	*tc = tcase_create("deploy");

	tcase_set_timeout(tc, 1500);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	tcase_add_test(tc, journey);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
