/*
 * Builds on the real stack: the managed registry (registry:2 in the
 * machine's engine behind Caddy), the spooler, two ready test hosts
 * (hosts[0] a build server, hosts[1] a runtime server), and a Git
 * repository of a FROM-scratch application (busybox-static inside) made by
 * the test. Builds on the control node and on the build server; the stored
 * digest against the registry's answer; pulls by digest; labels; the
 * build directory gone; a pinned commit; a commit built already; failures
 * at their step; disk pressure; the queue and superseding; cancel.
 *
 * The tests run in order (one registry: the first provisions it). Needs
 * the stack ($KS_DIR...), $KS_HOSTS_STATE with two ready hosts, the
 * registry:2 image and $KS_REGISTRY_HOST resolving to 127.0.0.1
 * (tests/run.sh).
 */
#define _GNU_SOURCE
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "build.h"
#include "build_settings.h"
#include "config.h"
#include "reg.h"
#include "testutil.h"
#include "tu_build.h"
#include "tu_git.h"
#include "tu_hosts.h"
#include "tu_spool.h"

#define NHOSTS	2

static struct th_host	 hosts[NHOSTS];
static long long	 hid[NHOSTS];
static const char	*reghost;
static struct config	 cfg;
/* Where the test's repositories are ($KS_BUILD_REPO_DIR: tests/run.sh
 * removes it), the same path on the build server. */
static char		 repo_dir[256], priv_dir[300];
/* The repository's commits (repo_dir/app.git). */
static char		 c_main[41], c_prev[41], c_broken[41], c_slow[41];


/* The repository: main (two commits, "version" 1 then 2), broken (a
 * Dockerfile that cannot build), slow (a build step that sleeps), readable
 * by everyone; and a copy of it at the same path on the build host. */
static void
make_repo(void)
{
	static const char script[] =
	    "set -e\n"
	    "rm -rf \"$d\" && mkdir -p \"$d/w\" && cd \"$d/w\"\n"
	    "git init -q -b main .\n"
	    "cp /bin/busybox busybox\n"
	    "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nCOPY version index.html /www/\\n"
	    "CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\\n' > Dockerfile\n"
	    "echo 1 > version; echo hello > index.html\n"
	    "git add -A\n"
	    "c() { git -c user.name=t -c user.email=t@example.test commit -qm \"$1\"; }\n"
	    "c v1\n"
	    "echo 2 > version; git add -A; c v2\n"
	    "git checkout -qb broken; printf 'FROM scratch\\nCOPY missing-file /x\\n' > Dockerfile\n"
	    "git add -A; c broken\n"
	    "git checkout -q main; git checkout -qb slow\n"
	    "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n"
	    "RUN [\"/bin/busybox\", \"sleep\", \"300\"]\\n' > Dockerfile\n"
	    "git add -A; c slow\n"
	    "git checkout -q main; git checkout -qb sleepy\n"
	    "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n"
	    "RUN [\"/bin/busybox\", \"sleep\", \"5\"]\\n' > Dockerfile\n"
	    "git add -A; c sleepy\n"
	    "git checkout -q main; git checkout -qb args\n"
	    "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nARG X\\nARG Y\\n"
	    "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"printf %%s \\\\\"$X\\\\\" > /x; "
	    "printf %%s \\\\\"$Y\\\\\" > /y\"]\\n' > Dockerfile\n"
	    "git add -A; c args\n"
	    "git checkout -q main\n"
	    "git clone -q --bare . ../app.git\n"
	    "chmod -R a+rX \"$d\"\n"
	    "printf '%s %s %s %s\\n' $(git rev-parse main main~1 broken slow)\n";
	char	*out, cmd[4096];

	/* The directory is the test's own path (no quote in it). */
	snprintf(cmd, sizeof(cmd), "d='%s'\n%s", repo_dir, script);
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(sscanf(out, "%40s %40s %40s %40s", c_main, c_prev, c_broken,
	    c_slow) == 4, "making the repository: %s", out);
	free(out);
	/* The build host clones from the same path. */
	snprintf(cmd, sizeof(cmd), "tar -C %s -cf - app.git | "
	    "bash tests/hosts/hostctl exec -i %s sh -c 'rm -rf %s && "
	    "mkdir -p %s && tar -C %s -xf - && chmod -R a+rX %s' && echo copied",
	    repo_dir, hosts[0].name, repo_dir, repo_dir, repo_dir, repo_dir);
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strstr(out, "copied") != NULL, "copying the repository: %s", out);
	free(out);
}

static void
setup(void)
{
	ts_setup();
	snprintf(repo_dir, sizeof(repo_dir), "%s", getenv("KS_BUILD_REPO_DIR") ?
	    getenv("KS_BUILD_REPO_DIR") : "/var/tmp/ks-check-build");
	snprintf(priv_dir, sizeof(priv_dir), "%s/priv", repo_dir);
	ck_assert_int_eq(th_load("ready", hosts, NHOSTS), NHOSTS);
	reghost = getenv("KS_REGISTRY_HOST");
	ck_assert_msg(reghost != NULL, "KS_REGISTRY_HOST is not set");
	tb_config(&cfg);
	hid[0] = ts_add_server(&hosts[0], "bld-", 1);
	hid[1] = ts_add_server(&hosts[1], "bld-", 0);
	PQclear(ts_q("UPDATE servers SET status = 'disabled' WHERE name NOT LIKE 'bld-%' "
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


/* A new application and environment (name unique per call) building
 * repo_dir/app.git; extra: more "column = value" of the environment
 * (SQL, the test's own literals). Returns the environment's uuid
 * (static). */
static const char *
make_env(const char *extra)
{
	static char	 uuid[40];
	static int	 n;
	char		 sql[2048], name[64];
	PGresult	*res;

	snprintf(name, sizeof(name), "bld-%d-%d", (int)getpid(), ++n);
	snprintf(sql, sizeof(sql), "file://%s/app.git", repo_dir);
	{
		const char *p[] = { name, sql };
		res = ts_q("INSERT INTO applications (name, repository_url, default_branch) "
		    "VALUES ($1, $2, 'main') RETURNING id", 2, p);
	}
	snprintf(sql, sizeof(sql), "INSERT INTO environments (application_id, name) "
	    "VALUES (%s, 'production') RETURNING uuid", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = ts_q(sql, 0, NULL);
	snprintf(uuid, sizeof(uuid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (extra != NULL) {
		const char *p[] = { uuid };
		snprintf(sql, sizeof(sql), "UPDATE environments SET %s WHERE uuid = $1",
		    extra);
		PQclear(ts_q(sql, 1, p));
	}
	return uuid;
}

static void
set_url(const char *env, const char *url)
{
	const char *p[] = { env, url };

	PQclear(ts_q("UPDATE applications a SET repository_url = $2 FROM environments e "
	    "WHERE e.application_id = a.id AND e.uuid = $1", 2, p));
}


/* Plans a build; fails the test with the refusal. Returns its id. */
static long long
build(const char *env, const char *commit, int rebuild)
{
	struct build_req r = { env, commit, rebuild, 0 };
	char		 uuid[40], err[512];
	int		 rc;

	rc = build_plan(&ts_db, &cfg, ts_sealkey, &r, uuid, err, sizeof(err));
	ck_assert_msg(rc == 0, "build_plan: %d %s", rc, err);
	return tb_op_id(uuid);
}

/* The refusal build_plan gives (fails the test if it plans). */
static void
refused(const char *env, const char *commit, int rebuild, char *err, size_t sz)
{
	struct build_req r = { env, commit, rebuild, 0 };
	char		 uuid[40];
	int		 rc;

	rc = build_plan(&ts_db, &cfg, ts_sealkey, &r, uuid, err, sz);
	ck_assert_msg(rc == 1, "build_plan: %d %s (expected a refusal)", rc, err);
}


/* The build's directory (from its stored steps). */
static void
work_dir(long long id, char *out, size_t sz)
{
	char		 ids[24];
	const char	*p[] = { ids };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT substring(script FROM 'WORK=''([^'']*)''') FROM operation_steps "
	    "WHERE operation_id = $1::bigint ORDER BY ordinal LIMIT 1", 1, p);
	snprintf(out, sz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	ck_assert_msg(strncmp(out, "/var/tmp/ks-build-", 18) == 0, "WORK: %s", out);
}

struct art {
	char	 tag[512], digest[80], commit[48], status[16], arch[16];
	long long size, ms;
};

/* The artifact the build recorded (fails the test if none). */
static void
artifact_of(long long id, struct art *a)
{
	char		 ids[24];
	const char	*p[] = { ids };
	PGresult	*res;

	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT a.tag, a.manifest_digest, a.commit_sha, a.status, "
	    "coalesce(a.architecture, ''), coalesce(a.size_bytes, -1), "
	    "coalesce(a.build_ms, -1) FROM operations o JOIN build_artifacts a "
	    "ON a.id = o.artifact_id WHERE o.id = $1::bigint", 1, p);
	ck_assert_msg(PQntuples(res) == 1, "build %lld has no artifact\n%s", id,
	    ts_op_report(id));
	snprintf(a->tag, sizeof(a->tag), "%s", PQgetvalue(res, 0, 0));
	snprintf(a->digest, sizeof(a->digest), "%s", PQgetvalue(res, 0, 1));
	snprintf(a->commit, sizeof(a->commit), "%s", PQgetvalue(res, 0, 2));
	snprintf(a->status, sizeof(a->status), "%s", PQgetvalue(res, 0, 3));
	snprintf(a->arch, sizeof(a->arch), "%s", PQgetvalue(res, 0, 4));
	a->size = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	a->ms = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	PQclear(res);
}

/* What the registry answers for the tag (HEAD, build credential). */
static void
registry_digest(const char *tag, char *out, size_t sz)
{
	char	 user[64], pw[128], cmd[2048], *o, *d;
	const char *slash = strchr(tag, '/'), *colon = strrchr(tag, ':');

	ck_assert_int_eq(reg_credential(&ts_db, ts_sealkey, "build", user,
	    sizeof(user), pw, sizeof(pw)), 0);
	snprintf(cmd, sizeof(cmd), "printf 'user = \"%%s:%%s\"\\n' '%s' \"$PW\" | "
	    "curl -sS -K - -I --cacert '%s' "
	    "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
	    "-H 'Accept: application/vnd.oci.image.manifest.v1+json' "
	    "https://%.*s/v2/%.*s/manifests/%s | tr -d '\\r' | "
	    "sed -n 's/^docker-content-digest: //Ip'", user, cfg.registry_ca_file,
	    (int)(slash - tag), tag, (int)(colon - slash - 1), slash + 1, colon + 1);
	setenv("PW", pw, 1);
	o = th_local(ts_tmp, cmd);
	unsetenv("PW");
	d = o + strspn(o, " ");
	d[strcspn(d, "\n")] = '\0';
	snprintf(out, sz, "%s", d);
	free(o);
}


/* ---------------------------------------------------------------- tests */

/*
 * The registry and the repository first; then a build on the control node
 * from a local source: the artifact's digest is what the registry answers
 * for the tag, a runtime host pulls REF@DIGEST, the labels are on the
 * image, the directory is gone.
 */
START_TEST(control_node_build)
{
	char		 reason[512], dig[80], cmd[2048], work[600], *out;
	const char	*env;
	struct art	 a;
	long long	 id;
	int		 repo;

	/* Before the registry exists, a build is refused with the reason. */
	PQclear(ts_q("DELETE FROM registry", 0, NULL));
	env = make_env(NULL);
	refused(env, NULL, 0, reason, sizeof(reason));
	ck_assert_msg(strstr(reason, "missing") != NULL, "%s", reason);
	tb_ensure_registry(&cfg, reghost);
	make_repo();

	id = build(env, NULL, 0);
	tb_expect_status(id, "succeeded", 300);
	artifact_of(id, &a);
	ck_assert_str_eq(a.status, "available");
	ck_assert_str_eq(a.commit, c_main);
	ck_assert_msg(strstr(a.tag, c_main) != NULL && strstr(a.tag, env) != NULL,
	    "%s", a.tag);
	ck_assert_msg(a.arch[0] != '\0' && a.size > 0 && a.ms > 0, "arch %s size %lld "
	    "ms %lld", a.arch, a.size, a.ms);
	registry_digest(a.tag, dig, sizeof(dig));
	ck_assert_msg(strcmp(dig, a.digest) == 0, "stored %s, the registry answers %s",
	    a.digest, dig);

	/* A runtime host pulls it by digest (its runtime credential). */
	repo = (int)(strrchr(a.tag, ':') - a.tag);
	snprintf(cmd, sizeof(cmd), "runuser -u keystone -- docker pull '%.*s@%s' && "
	    "runuser -u keystone -- docker image inspect --format "
	    "'{{index .Config.Labels \"" BUILD_LABEL_APP "\"}} {{index .Config.Labels "
	    "\"" BUILD_LABEL_ENV "\"}} {{index .Config.Labels \"" BUILD_LABEL_COMMIT "\"}}' "
	    "'%.*s@%s'", repo, a.tag, a.digest, repo, a.tag, a.digest);
	ck_assert_msg(th_sh(&hosts[1], ts_tmp, cmd, &out) == 0, "%s", out);
	ck_assert_msg(strstr(out, env) != NULL && strstr(out, c_main) != NULL,
	    "labels: %s", out);
	free(out);

	work_dir(id, work, sizeof(work));
	ck_assert_msg(access(work, F_OK) != 0, "%s is still there", work);
}
END_TEST

/* The same head again: nothing built, the artifact it has is the build's;
 * a rebuild makes a new artifact with its own digest; a commit asked for
 * that was built is refused unless rebuilt. */
START_TEST(built_commit_not_rebuilt)
{
	char		 reason[512];
	const char	*env;
	struct art	 a1, a2, a3;
	long long	 id1, id2, id3;
	char		*out;
	PGresult	*res;
	char		 ids[24];
	const char	*p[] = { ids };

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	/* An image Keystone did not label: the clean-up leaves it alone. */
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "docker tag registry:2 ks-unlabelled-%d:1 && "
		    "echo tagged", (int)getpid());
		out = th_local(ts_tmp, cmd);
		ck_assert_msg(strstr(out, "tagged") != NULL, "%s", out);
		free(out);
	}
	env = make_env(NULL);
	id1 = build(env, NULL, 0);
	tb_expect_status(id1, "succeeded", 300);
	artifact_of(id1, &a1);

	id2 = build(env, NULL, 0);
	tb_expect_status(id2, "succeeded", 120);
	artifact_of(id2, &a2);
	ck_assert_str_eq(a2.digest, a1.digest);
	snprintf(ids, sizeof(ids), "%lld", id2);
	res = ts_q("SELECT string_agg(name || ':' || status, ', ' ORDER BY ordinal) "
	    "FROM operation_steps WHERE operation_id = $1::bigint", 1, p);
	ck_assert_msg(strstr(PQgetvalue(res, 0, 0), "Build the image:skipped") != NULL &&
	    strstr(PQgetvalue(res, 0, 0), "Clean up:succeeded") != NULL, "%s",
	    PQgetvalue(res, 0, 0));
	PQclear(res);

	refused(env, c_main, 0, reason, sizeof(reason));
	ck_assert_msg(strstr(reason, "built already") != NULL, "%s", reason);
	id3 = build(env, c_main, 1);
	tb_expect_status(id3, "succeeded", 300);
	artifact_of(id3, &a3);
	ck_assert_str_eq(a3.status, "available");
	ck_assert_str_ne(a3.digest, a1.digest);
	/* The build node keeps the newest image of the environment, and the
	 * image without Keystone's label. */
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "docker image ls -q --no-trunc --filter "
		    "'label=" BUILD_LABEL_ENV "=%s' | sort -u | wc -l; "
		    "docker image inspect -f ok ks-unlabelled-%d:1; "
		    "docker rmi ks-unlabelled-%d:1 >/dev/null", env, (int)getpid(),
		    (int)getpid());
		out = th_local(ts_tmp, cmd);
		ck_assert_msg(strcmp(out, "1\nok\n") == 0, "images left: %s", out);
		free(out);
	}
	/* Both stay pullable by digest. */
	res = ts_q("SELECT count(*) FROM build_artifacts a JOIN environments e ON "
	    "e.id = a.environment_id WHERE e.uuid = $1 AND a.status = 'available'", 1,
	    &env);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
}
END_TEST

/* On the build server, a pinned commit that is not the branch head. */
START_TEST(build_server_pinned_commit)
{
	char		 extra[256], cmd[1024], work[600], *out;
	const char	*env;
	struct art	 a;
	long long	 id;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	snprintf(extra, sizeof(extra), "build_location = 'specific', "
	    "build_server_id = %lld, pinned_commit = '%s'", hid[0], c_prev);
	env = make_env(extra);
	id = build(env, NULL, 0);
	tb_expect_status(id, "succeeded", 300);
	artifact_of(id, &a);
	ck_assert_str_eq(a.commit, c_prev);
	/* Built on the server: the image is there, labelled with the commit,
	 * and its "version" is 1. */
	snprintf(cmd, sizeof(cmd), "docker image inspect --format '{{index "
	    ".Config.Labels \"" BUILD_LABEL_COMMIT "\"}}' '%s'", a.tag);
	ck_assert_msg(th_sh(&hosts[0], ts_tmp, cmd, &out) == 0, "%s", out);
	ck_assert_msg(strstr(out, c_prev) != NULL, "%s", out);
	free(out);
	work_dir(id, work, sizeof(work));
	snprintf(cmd, sizeof(cmd), "test ! -e '%s'", work);
	ck_assert_msg(th_sh(&hosts[0], ts_tmp, cmd, NULL) == 0, "%s left on the build "
	    "server", work);
}
END_TEST

/* A failure at its step: no available artifact, no directory left. */
static void
fails_at(const char *env, const char *commit, const char *stepname,
    const char *msg)
{
	char		 ids[24], work[600];
	const char	*p[] = { ids };
	PGresult	*res;
	long long	 id;

	id = build(env, commit, 1);
	tb_expect_status(id, "failed", 300);
	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT coalesce(o.error, ''), (SELECT count(*) FROM build_artifacts a "
	    "WHERE a.operation_id = o.id AND a.status = 'available') FROM operations o "
	    "WHERE o.id = $1::bigint", 1, p);
	ck_assert_msg(strstr(PQgetvalue(res, 0, 0), stepname) != NULL,
	    "expected a failure at %s:\n%s", stepname, ts_op_report(id));
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "0");
	PQclear(res);
	if (msg != NULL) {
		res = ts_q("SELECT string_agg(chunk, '' ORDER BY u.pos) FROM operation_output u "
		    "JOIN operation_steps s ON s.id = u.step_id WHERE s.operation_id = $1::bigint",
		    1, p);
		ck_assert_msg(strstr(PQgetvalue(res, 0, 0), msg) != NULL, "no \"%s\" in:\n%s",
		    msg, PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	work_dir(id, work, sizeof(work));
	ck_assert_msg(access(work, F_OK) != 0, "%s is still there", work);
}

START_TEST(failures_at_their_step)
{
	char		 extra[256];
	const char	*env;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	snprintf(extra, sizeof(extra), "branch = 'broken'");
	env = make_env(extra);
	fails_at(env, NULL, "Build the image", "docker build failed");
	env = make_env("branch = 'no-such-branch'");
	fails_at(env, NULL, "Clone the repository", "cloning branch no-such-branch");
	env = make_env(NULL);
	{
		char url[400];
		snprintf(url, sizeof(url), "file://%s/nothing-here.git", repo_dir);
		set_url(env, url);
	}
	fails_at(env, NULL, "Clone the repository", NULL);
	/* A Git server that does not answer. */
	env = make_env(NULL);
	set_url(env, "https://127.0.0.1:9/nothing.git");
	fails_at(env, NULL, "Clone the repository", "cloning branch main of "
	    "https://127.0.0.1:9/nothing.git failed");
}
END_TEST

/* A threshold above the free space: the build fails before cloning, the
 * node shows disk pressure and takes no build; a lower threshold clears
 * it. */
START_TEST(disk_pressure)
{
	char		 reason[512], ids[24];
	const char	*env, *p[] = { ids };
	long long	 id;
	long		 saved = cfg.build_min_free_mb;
	PGresult	*res;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	env = make_env(NULL);
	cfg.build_min_free_mb = 1024L * 1024 * 1024;	/* a petabyte */
	/* What the node showed lately already refuses it. */
	refused(env, NULL, 0, reason, sizeof(reason));
	ck_assert_msg(strstr(reason, "Disk pressure on the control node") != NULL,
	    "%s", reason);
	/* Not seen lately: the build's first step finds it. */
	PQclear(ts_q("DELETE FROM build_nodes", 0, NULL));
	id = build(env, NULL, 0);
	tb_expect_status(id, "failed", 120);
	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT error FROM operations WHERE id = $1::bigint", 1, p);
	ck_assert_msg(strstr(PQgetvalue(res, 0, 0), "Check free disk") != NULL,
	    "%s", ts_op_report(id));
	PQclear(res);
	res = ts_q("SELECT string_agg(chunk, '' ORDER BY seq) FROM operation_output u "
	    "JOIN operation_steps s ON s.id = u.step_id WHERE s.operation_id = $1::bigint "
	    "AND s.ordinal = 1", 1, p);
	ck_assert_msg(strstr(PQgetvalue(res, 0, 0), "disk pressure on the control node") !=
	    NULL && strstr(PQgetvalue(res, 0, 0), "cloning not started") != NULL, "%s",
	    PQgetvalue(res, 0, 0));
	PQclear(res);
	res = ts_q("SELECT count(*) FROM operation_steps WHERE operation_id = $1::bigint "
	    "AND name = 'Clone the repository' AND status = 'skipped'", 1, p);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	res = ts_q("SELECT disk_free_kb < disk_min_kb FROM build_nodes WHERE node = "
	    "'control'", 0, NULL);
	ck_assert_msg(PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't',
	    "the control node shows no disk pressure");
	PQclear(res);
	refused(env, NULL, 0, reason, sizeof(reason));
	ck_assert_msg(strstr(reason, "Disk pressure") != NULL, "%s", reason);
	cfg.build_min_free_mb = saved;
	id = build(env, NULL, 0);
	tb_expect_status(id, "succeeded", 300);
}
END_TEST

/* One build node, build_concurrency 1: two environments' builds run one
 * after the other; a newer build of the first environment supersedes its
 * queued one, and what waited on that one follows the newer one. */
START_TEST(queue_and_supersede)
{
	const char	*e1, *e2;
	long long	 a1, b, a2, dep;
	char		 ids[3][24], st[32];
	const char	*p[3] = { ids[0], ids[1], ids[2] };
	struct op_in	 in = { "verify", "none", 0, 0, 0, 0, 0, 0, NULL, 0 };
	struct op_step_in s = { "after the build", "control_node", 0, "true", 1, 60 };
	PGresult	*res;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	e1 = make_env(NULL);
	e1 = strdup(e1);
	e2 = make_env(NULL);
	/* Queued while no spooler runs: the order is the test's. */
	ts_reap_all();
	ts_wait_idle(60);
	a1 = build(e1, NULL, 1);
	b = build(e2, NULL, 1);
	in.depends_on = a1;
	dep = ts_create_in(&in, &s, 1);
	a2 = build(e1, NULL, 1);
	snprintf(ids[0], sizeof(ids[0]), "%lld", a1);
	snprintf(ids[1], sizeof(ids[1]), "%lld", a2);
	snprintf(ids[2], sizeof(ids[2]), "%lld", dep);
	res = ts_q("SELECT o.status, o.superseded_by = $2::bigint, "
	    "(SELECT string_agg(depends_on::text, ',') FROM operation_deps "
	    " WHERE operation_id = $3::bigint) FROM operations o WHERE o.id = $1::bigint",
	    3, p);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "superseded");
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), ids[1]);
	PQclear(res);
	ts_spooler_start(NULL);
	tb_expect_status(b, "succeeded", 300);
	tb_expect_status(a2, "succeeded", 300);
	ts_wait_done(dep, 60, st, sizeof(st));
	ck_assert_msg(strcmp(st, "succeeded") == 0, "%s", ts_op_report(dep));
	/* One after the other on the one build node. */
	snprintf(ids[0], sizeof(ids[0]), "%lld", b);
	res = ts_q("SELECT x.finished_at <= y.started_at OR y.finished_at <= x.started_at, "
	    "x.started_at || ' - ' || x.finished_at || ', ' || y.started_at || ' - ' || "
	    "y.finished_at FROM operations x, operations y WHERE x.id = $1::bigint "
	    "AND y.id = $2::bigint", 2, p);
	ck_assert_msg(PQgetvalue(res, 0, 0)[0] == 't', "the builds overlapped: %s",
	    PQgetvalue(res, 0, 1));
	PQclear(res);
	free((char *)e1);
}
END_TEST

/* Cancel during docker build: the build's process is gone from the node,
 * the clean-up ran. */
START_TEST(cancel_during_build)
{
	const char	*env;
	long long	 id;
	char		 ids[24], work[600], *out;
	const char	*p[] = { ids };
	int		 i, running = 0;
	PGresult	*res;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	env = make_env("branch = 'slow'");
	id = build(env, NULL, 1);
	snprintf(ids, sizeof(ids), "%lld", id);
	/* The build's RUN sleeps on the node. */
	for (i = 0; i < 600 && !running; i++) {
		out = th_local(ts_tmp, "pgrep -f 'busybox [s]leep 300' >/dev/null && echo yes");
		running = strstr(out, "yes") != NULL;
		free(out);
		if (!running)
			usleep(200000);
	}
	ck_assert_msg(running, "the build's step never ran\n%s", ts_op_report(id));
	PQclear(ts_q("UPDATE operations SET cancel_requested = true WHERE id = $1::bigint",
	    1, p));
	tb_expect_status(id, "cancelled", 120);
	for (i = 0; i < 300 && running; i++) {
		out = th_local(ts_tmp, "pgrep -f 'busybox [s]leep 300' >/dev/null && echo yes");
		running = strstr(out, "yes") != NULL;
		free(out);
		if (running)
			usleep(200000);
	}
	ck_assert_msg(!running, "the build's process is still running after the cancel");
	res = ts_q("SELECT status FROM operation_steps WHERE operation_id = $1::bigint "
	    "AND name = 'Clean up'", 1, p);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "succeeded");
	PQclear(res);
	work_dir(id, work, sizeof(work));
	ck_assert_msg(access(work, F_OK) != 0, "%s is still there", work);
}
END_TEST

/* The "static site" preset, its base image first pushed to the managed
 * registry: the site is in the image. */
START_TEST(static_preset)
{
	char		 cmd[2048], extra[600], *out;
	const char	*env;
	struct art	 a;
	long long	 id;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	/* A busybox base image (FROM scratch, its applets installed). */
	snprintf(cmd, sizeof(cmd), "set -e; d=$(mktemp -d); cp /bin/busybox \"$d/\"; "
	    "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n"
	    "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\\n' > \"$d/Dockerfile\"; "
	    "docker --config '%s' build -q --network host -t %s/keystone/base/busybox:1 \"$d\" "
	    ">/dev/null; docker --config '%s' push %s/keystone/base/busybox:1 >/dev/null; "
	    "rm -rf \"$d\"; echo pushed", cfg.docker_config, reghost, cfg.docker_config,
	    reghost);
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strstr(out, "pushed") != NULL, "the base image: %s", out);
	free(out);
	snprintf(extra, sizeof(extra), "dockerfile_source = 'keystone', preset = 'static', "
	    "preset_base_image = '%s/keystone/base/busybox:1', preset_root = '.'", reghost);
	env = make_env(extra);
	id = build(env, NULL, 0);
	tb_expect_status(id, "succeeded", 300);
	artifact_of(id, &a);
	snprintf(cmd, sizeof(cmd), "docker run --rm --network host --entrypoint "
	    "/bin/busybox '%s' cat /www/version /www/index.html", a.tag);
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strcmp(out, "2\nhello\n") == 0, "the site in the image: %s", out);
	free(out);
}
END_TEST

/* The application of environment env (its uuid, static). */
static const char *
app_of(const char *env)
{
	static char	 uuid[40];
	PGresult	*res = ts_q("SELECT a.uuid FROM applications a JOIN environments e "
			    "ON e.application_id = a.id WHERE e.uuid = $1", 1, &env);

	snprintf(uuid, sizeof(uuid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return uuid;
}


/* Nonzero when s is in the stored scripts, step output or logs of the
 * stack; what was found into where. */
static int
stored_anywhere(const char *s, char *where, size_t sz)
{
	const char	*p[] = { s };
	PGresult	*res;
	char		 cmd[1024], *out;
	int		 found = 0;

	res = ts_q("SELECT (SELECT count(*) FROM operation_steps WHERE strpos(script, $1) > 0), "
	    "(SELECT count(*) FROM operation_output WHERE strpos(chunk, $1) > 0), "
	    "(SELECT count(*) FROM operations WHERE strpos(coalesce(error, ''), $1) > 0)", 1, p);
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0 || strcmp(PQgetvalue(res, 0, 1), "0") != 0 ||
	    strcmp(PQgetvalue(res, 0, 2), "0") != 0) {
		snprintf(where, sz, "the database (scripts %s, output %s, errors %s)",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		found = 1;
	}
	PQclear(res);
	setenv("KS_CANARY", s, 1);
	snprintf(cmd, sizeof(cmd), "grep -rlF -e \"$KS_CANARY\" -- '%s/log' 2>/dev/null", ts_dir);
	out = th_local(ts_tmp, cmd);
	unsetenv("KS_CANARY");
	if (!found && out[0] != '\0') {
		snprintf(where, sz, "logs: %s", out);
		found = 1;
	}
	free(out);
	return found;
}

/* Files on a node holding s (but its Docker configuration), listed. */
static int
node_files_have(const struct th_host *h, const char *s, char *where, size_t sz)
{
	char	 cmd[1024], *out = NULL;
	int	 found;

	setenv("KS_CANARY", s, 1);
	snprintf(cmd, sizeof(cmd), "grep -rlF -e \"$KS_CANARY\" -- /tmp /var/tmp /home "
	    "/root 2>/dev/null | grep -v '/.docker/config.json$'");
	if (h != NULL) {
		/* (th_sh runs it in the host: the value travels in the
		 * command, which is fine for a test's canary.) */
		char c2[2048];
		snprintf(c2, sizeof(c2), "KS_CANARY='%s'; %s", s, cmd);
		(void)th_sh(h, ts_tmp, c2, &out);
	} else
		out = th_local(ts_tmp, cmd);
	unsetenv("KS_CANARY");
	found = out != NULL && out[0] != '\0';
	snprintf(where, sz, "%s: %s", h ? h->name : "the control node", out ? out : "");
	free(out);
	return found;
}

/*
 * Runs build id to its end while sampling every process's arguments and
 * environment (the test hosts' too: they are this machine's processes)
 * for the canaries; fails the test if one shows.
 */
static void
build_sampled(long long id, const char *const *canary, size_t n, const char *want)
{
	char	 st[32];
	int	 i;

	for (i = 0; i < 3000; i++) {
		ts_op_field(id, "status", st, sizeof(st));
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(!ts_proc_has(canary[k]), "canary %zu in a process's "
			    "arguments or environment during build %lld", k, id);
		if (strcmp(st, "queued") != 0 && strcmp(st, "running") != 0)
			break;
		usleep(100000);
	}
	tb_expect_status(id, want, 10);
}

/*
 * A private repository over SSH (a test host's git user, the deploy key
 * Keystone made, the Git host's key pinned) built on the control node and
 * on the build server; over HTTPS (git-http-backend behind Caddy with
 * basic auth) with the token, and refused with a wrong one. The deploy
 * key, the token and the build credential are in no stored script,
 * output, log, process (sampled) or file on the nodes (but Docker's
 * configuration).
 */
START_TEST(private_repositories)
{
	char		 pub[256], reason[512], extra[128], where[1024], *pem, *out;
	char		 token[64], user[64], buildpw[128], key_line[80];
	const char	*env, *env2, *canary[3], *port;
	struct tg_repo	 r;
	struct tg_ssh	 s;
	struct tg_https	 h;
	struct art	 a;
	struct buf	 b;
	long long	 id;
	char		 ids[24];
	const char	*p[1] = { ids };
	size_t		 len;

	tb_ensure_registry(&cfg, reghost);
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", priv_dir,
		    priv_dir);
		free(th_local(ts_tmp, cmd));
	}
	tg_repo(priv_dir, NULL, &r);
	env = make_env(NULL);
	env = strdup(env);
	ck_assert_int_eq(build_keygen(&ts_db, ts_sealkey, app_of(env), pub,
	    sizeof(pub)), 0);
	tg_ssh_serve(hosts[1].name, pub, priv_dir, &s);
	set_url(env, s.url);
	/* Not pinned yet: refused, saying so. */
	refused(env, NULL, 0, reason, sizeof(reason));
	ck_assert_msg(strstr(reason, "not pinned") != NULL, "%s", reason);
	ck_assert_int_eq(build_pin_git_host(&ts_db, app_of(env), hosts[1].addr,
	    s.host_key, "SHA256:pinned-by-the-test"), 0);

	/* The deploy key's canary: a line from the middle of its PEM (the
	 * first one is the format's header, the same in every key). */
	buf_init(&b);
	snprintf(extra, sizeof(extra), "application/%s/deploy_key", "0");
	{
		PGresult *res = ts_q("SELECT a.id FROM applications a WHERE a.uuid = $1", 1,
		    (const char *[]){ app_of(env) });
		snprintf(extra, sizeof(extra), "application/%s/deploy_key",
		    PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	ck_assert_int_eq(build_resolve_secret(&ts_db, &ts_keys, extra, &b), 0);
	pem = calloc(1, b.len + 1);
	ck_assert_ptr_nonnull(pem);
	ck_assert_int_eq(sodium_base642bin((unsigned char *)pem, b.len, b.ptr, b.len,
	    NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	{
		char *l = strchr(pem, '\n');
		ck_assert_ptr_nonnull(l);
		l = strchr(l + 1, '\n');
		ck_assert_ptr_nonnull(l);
		l = strchr(l + 1, '\n');
		ck_assert_ptr_nonnull(l);
		snprintf(key_line, sizeof(key_line), "%.60s", l + 1);
		ck_assert_int_eq(strlen(key_line), 60);
	}
	free(pem);
	buf_release(&b);
	ck_assert_int_eq(reg_credential(&ts_db, ts_sealkey, "build", user,
	    sizeof(user), buildpw, sizeof(buildpw)), 0);
	canary[0] = key_line;
	canary[1] = buildpw;

	id = build(env, NULL, 1);
	build_sampled(id, canary, 2, "succeeded");
	artifact_of(id, &a);
	ck_assert_str_eq(a.commit, r.main);
	/* From the build server too. */
	snprintf(extra, sizeof(extra), "build_location = 'specific', build_server_id = %lld",
	    hid[0]);
	{
		const char *q[] = { env };
		char sql[256];
		snprintf(sql, sizeof(sql), "UPDATE environments SET %s WHERE uuid = $1", extra);
		PQclear(ts_q(sql, 1, q));
	}
	id = build(env, r.main1, 1);
	build_sampled(id, canary, 2, "succeeded");
	artifact_of(id, &a);
	ck_assert_str_eq(a.commit, r.main1);

	/* Over HTTPS with a token; a wrong one is refused by the server. */
	port = getenv("KS_GIT_HTTPS_PORT");
	ck_assert_msg(port != NULL, "KS_GIT_HTTPS_PORT is not set");
	randombytes_buf(pub, 12);
	sodium_bin2hex(token, sizeof(token), (unsigned char *)pub, 12);
	tg_https_serve(priv_dir, atoi(port), "ks-user", token, &h);
	env2 = make_env(NULL);
	set_url(env2, h.url);
	out = tu_slurp(h.ca, &len);
	ck_assert_ptr_nonnull(out);
	{
		const char *q[] = { app_of(env2), out };
		PQclear(ts_q("UPDATE applications SET git_ca_pem = $2 WHERE uuid = $1", 2, q));
	}
	free(out);
	ck_assert_int_eq(build_set_token(&ts_db, ts_sealkey, app_of(env2), "ks-user",
	    token), 0);
	canary[2] = token;
	id = build(env2, NULL, 1);
	build_sampled(id, canary, 3, "succeeded");
	artifact_of(id, &a);
	ck_assert_str_eq(a.commit, r.main);
	ck_assert_int_eq(build_set_token(&ts_db, ts_sealkey, app_of(env2), "ks-user",
	    "not-the-token"), 0);
	id = build(env2, NULL, 1);
	tb_expect_status(id, "failed", 300);
	snprintf(ids, sizeof(ids), "%lld", id);
	{
		PGresult *res = ts_q("SELECT error FROM operations WHERE id = $1::bigint", 1, p);
		ck_assert_msg(strstr(PQgetvalue(res, 0, 0), "Clone the repository") != NULL,
		    "%s", ts_op_report(id));
		PQclear(res);
	}
	out = ts_step_output(id, 2);
	ck_assert_msg(strstr(out, "Authentication failed") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(tg_https_stop(priv_dir), 0);

	for (int k = 0; k < 3; k++) {
		ck_assert_msg(!stored_anywhere(canary[k], where, sizeof(where)),
		    "canary %d stored in %s", k, where);
		ck_assert_msg(!node_files_have(NULL, canary[k], where, sizeof(where)),
		    "canary %d in files on %s", k, where);
		ck_assert_msg(!node_files_have(&hosts[0], canary[k], where, sizeof(where)),
		    "canary %d in files on %s", k, where);
	}
	/* The operation's page shows none of them. */
	snprintf(ids, sizeof(ids), "%lld", id);
	{
		PGresult *res = ts_q("SELECT uuid FROM operations WHERE id = $1::bigint", 1, p);
		char path[80];
		snprintf(path, sizeof(path), "/ops/%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		out = ts_web_get(path, "op.html");
		ck_assert_ptr_nonnull(out);
		for (int k = 0; k < 3; k++)
			ck_assert_msg(strstr(out, canary[k]) == NULL, "canary %d on %s", k, path);
		free(out);
	}
	sodium_memzero(buildpw, sizeof(buildpw));
	free((char *)env);
}
END_TEST

/*
 * Hostile values: shell and Dockerfile metacharacters, newlines and
 * leading dashes in the repository URL, branch, Dockerfile path, build
 * arguments and preset fields are refused with a reason or reach the build
 * literally; a canary file is never created on any node.
 */
START_TEST(hostile_values)
{
	static const char *const refused_sql[] = {
		"branch = 'main;touch /tmp/ks-canary-build'",
		"branch = '-x'",
		"branch = E'main\\ntouch /tmp/ks-canary-build'",
		"dockerfile_path = '../../etc/passwd'",
		"dockerfile_path = '-f'",
		"build_context = E'a\\nb'",
		"build_args = E'X=1\\n$(touch /tmp/ks-canary-build)=2'",
		"dockerfile_source = 'keystone', preset = 'static', "
		    "preset_base_image = 'busybox;touch /tmp/ks-canary-build'",
		"dockerfile_source = 'keystone', preset = 'command', "
		    "preset_base_image = 'busybox', preset_command = E'a\\nRUN touch /tmp/x'",
	};
	static const char *const urls[] = {
		"file:///var/tmp/x;touch /tmp/ks-canary-build",
		"-uhttps://example.invalid/x.git",
		"ext::sh -c touch% /tmp/ks-canary-build",
	};
	char		 reason[512], *out, cmd[1024];
	const char	*env;
	struct art	 a;
	long long	 id;
	const char	*literal = "$(touch /tmp/ks-canary-build) `id` 'q' \"d\" ; | & --x";

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	for (size_t i = 0; i < sizeof(refused_sql) / sizeof(refused_sql[0]); i++) {
		env = make_env(refused_sql[i]);
		refused(env, NULL, 0, reason, sizeof(reason));
	}
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		env = make_env(NULL);
		set_url(env, urls[i]);
		refused(env, NULL, 0, reason, sizeof(reason));
		ck_assert_msg(strstr(reason, "repository URL") != NULL, "%s", reason);
	}
	/* Build arguments and a Dockerfile path with metacharacters reach
	 * the build literally. */
	env = make_env("branch = 'args'");
	{
		const char *q[] = { env, literal };
		PQclear(ts_q("UPDATE environments SET build_args = 'X=' || $2 || E'\nY=--y' "
		    "WHERE uuid = $1", 2, q));
	}
	id = build(env, NULL, 0);
	tb_expect_status(id, "succeeded", 300);
	artifact_of(id, &a);
	snprintf(cmd, sizeof(cmd), "docker run --rm --network host --entrypoint "
	    "/bin/busybox '%s' cat /x /y", a.tag);
	out = th_local(ts_tmp, cmd);
	{
		char want[512];
		snprintf(want, sizeof(want), "%s--y", literal);
		ck_assert_msg(strcmp(out, want) == 0, "the build arguments in the image: "
		    "[%s], expected [%s]", out, want);
	}
	free(out);
	env = make_env("dockerfile_path = 'Docker file;touch /tmp/ks-canary-build'");
	id = build(env, NULL, 0);
	tb_expect_status(id, "failed", 300);
	out = ts_step_output(id, 4);
	ck_assert_msg(strstr(out, "Dockerfile Docker file;touch /tmp/ks-canary-build does "
	    "not exist") != NULL, "%s", out);
	free(out);
	out = th_local(ts_tmp, "ls /tmp/ks-canary-build 2>/dev/null");
	ck_assert_msg(out[0] == '\0', "the canary file was created on the control node");
	free(out);
	for (int i = 0; i < NHOSTS; i++) {
		ck_assert_msg(th_sh(&hosts[i], ts_tmp, "test ! -e /tmp/ks-canary-build", NULL) == 0,
		    "the canary file was created on %s", hosts[i].name);
	}
}
END_TEST

/* The managed registry's container, as the planners resolve it. */
static const char *
container(void)
{
	struct reg_settings rs;

	reg_settings(&cfg, NULL, &rs);
	return rs.container;
}


/* The registry stopped while the image builds (once its RUN step runs):
 * the build succeeds, the push fails with a clear message, no artifact,
 * no directory left. */
START_TEST(registry_stopped_before_push)
{
	const char	*env;
	long long	 id;
	char		 ids[24], work[600], cmd[512], *out;
	const char	*p[] = { ids };
	int		 i, running = 0;
	PGresult	*res;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	env = make_env("branch = 'sleepy'");
	id = build(env, NULL, 1);
	for (i = 0; i < 900 && !running; i++) {
		out = th_local(ts_tmp, "pgrep -f 'busybox [s]leep 5$' >/dev/null && echo yes");
		running = strstr(out, "yes") != NULL;
		free(out);
		if (!running)
			usleep(100000);
	}
	ck_assert_msg(running, "the build's RUN step never ran\n%s", ts_op_report(id));
	snprintf(cmd, sizeof(cmd), "docker stop -t 0 '%s' 2>&1 >/dev/null && echo stopped",
	    container());
	out = th_local(ts_tmp, cmd);
	ck_assert_msg(strstr(out, "stopped") != NULL, "%s", out);
	free(out);
	tb_expect_status(id, "failed", 300);
	snprintf(cmd, sizeof(cmd), "docker start '%s' >/dev/null", container());
	free(th_local(ts_tmp, cmd));
	{
		struct reg_settings rs;
		reg_settings(&cfg, NULL, &rs);
		ts_wait_registry(rs.listen);
	}
	snprintf(ids, sizeof(ids), "%lld", id);
	res = ts_q("SELECT o.error, (SELECT status FROM operation_steps WHERE operation_id "
	    "= o.id AND name = 'Build the image'), (SELECT count(*) FROM build_artifacts a "
	    "WHERE a.operation_id = o.id AND a.status = 'available') FROM operations o "
	    "WHERE o.id = $1::bigint", 1, p);
	ck_assert_msg(strstr(PQgetvalue(res, 0, 0), "Push the image") != NULL &&
	    strcmp(PQgetvalue(res, 0, 1), "succeeded") == 0, "%s", ts_op_report(id));
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "0");
	PQclear(res);
	out = ts_step_output(id, 5);
	ck_assert_msg(strstr(out, "docker push of ") != NULL && strstr(out, "failed") != NULL,
	    "%s", out);
	free(out);
	work_dir(id, work, sizeof(work));
	ck_assert_msg(access(work, F_OK) != 0, "%s is still there", work);
}
END_TEST

/*
 * An external registry override: a second registry:2 on loopback with its
 * own credentials and certificate (its own CA). The artifact records that
 * registry and the digest it answers; the trust setup is shown with curl
 * --cacert (Docker does not verify certificates on 127.0.0.0/8).
 */
START_TEST(external_registry)
{
	char		 cmd[4096], dir[600], name[200], pw[40], host[64], dig[200];
	char		 *ca, *out;
	const char	*port, *env;
	unsigned char	 rnd[12];
	struct art	 a;
	long long	 id;
	size_t		 len;

	tb_ensure_registry(&cfg, reghost);
	make_repo();
	port = getenv("KS_EXT_REGISTRY_PORT");
	ck_assert_msg(port != NULL, "KS_EXT_REGISTRY_PORT is not set");
	snprintf(host, sizeof(host), "127.0.0.1:%s", port);
	snprintf(name, sizeof(name), "%s-ext", container());
	snprintf(dir, sizeof(dir), "%s/ext", ts_tmp);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	snprintf(cmd, sizeof(cmd),
	    "set -e; d='%s'; mkdir -p \"$d\"; cd \"$d\"\n"
	    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ks-ext-ca "
	    "-keyout ca.key -out ca.crt 2>/dev/null\n"
	    "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key "
	    "-out srv.csr 2>/dev/null\n"
	    "printf 'subjectAltName=IP:127.0.0.1\\n' > ext\n"
	    "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
	    "-extfile ext -out srv.crt 2>/dev/null\n"
	    "printf '%%s\\n' \"$PW\" | htpasswd -iBn ext-user > htpasswd\n"
	    "chmod a+r srv.key htpasswd\n"
	    "docker rm -f '%s' >/dev/null 2>&1 || true\n"
	    "docker run -d --name '%s' --network host -v \"$d:/certs:ro\" "
	    "-e REGISTRY_HTTP_ADDR=%s -e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/srv.crt "
	    "-e REGISTRY_HTTP_TLS_KEY=/certs/srv.key -e REGISTRY_AUTH=htpasswd "
	    "-e REGISTRY_AUTH_HTPASSWD_REALM=ext -e REGISTRY_AUTH_HTPASSWD_PATH=/certs/htpasswd "
	    "registry:2 >/dev/null\n"
	    "i=0; until [ \"$(curl -s -o /dev/null -w '%%{http_code}' --cacert ca.crt "
	    "https://%s/v2/)\" = 401 ]; do i=$((i+1)); [ $i -lt 150 ] || "
	    "{ docker logs '%s' 2>&1 | tail -5; exit 1; }; sleep 0.2; done\n"
	    "echo up\n", dir, name, name, host, host, name);
	setenv("PW", pw, 1);
	out = th_local(ts_tmp, cmd);
	unsetenv("PW");
	ck_assert_msg(strstr(out, "up") != NULL, "the external registry: %s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s/ca.crt", dir);
	ca = tu_slurp(cmd, &len);
	ck_assert_ptr_nonnull(ca);

	env = make_env(NULL);
	ck_assert_int_eq(build_set_registry(&ts_db, ts_sealkey, env, host, "ext-user",
	    pw, ca), 0);
	PQclear(ts_q("UPDATE environments SET build_location = 'external' WHERE uuid = $1",
	    1, &env));
	free(ca);
	id = build(env, NULL, 0);
	tb_expect_status(id, "succeeded", 300);
	artifact_of(id, &a);
	ck_assert_msg(strncmp(a.tag, host, strlen(host)) == 0 && a.tag[strlen(host)] == '/',
	    "the artifact's tag %s is not in %s", a.tag, host);
	{
		PGresult *res = ts_q("SELECT a.registry_host FROM build_artifacts a JOIN "
		    "environments e ON e.id = a.environment_id WHERE e.uuid = $1", 1, &env);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), host);
		PQclear(res);
	}
	/* What that registry answers, verified against its CA. */
	snprintf(cmd, sizeof(cmd), "printf 'user = \"ext-user:%%s\"\\n' \"$PW\" | "
	    "curl -sS -K - -I --cacert '%s/ca.crt' "
	    "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
	    "-H 'Accept: application/vnd.oci.image.manifest.v1+json' "
	    "https://%s/v2/%.*s/manifests/%s | tr -d '\\r' | "
	    "sed -n 's/^docker-content-digest: //Ip'", dir, host,
	    (int)(strrchr(a.tag, ':') - a.tag - strlen(host) - 1), a.tag + strlen(host) + 1,
	    strrchr(a.tag, ':') + 1);
	setenv("PW", pw, 1);
	out = th_local(ts_tmp, cmd);
	unsetenv("PW");
	snprintf(dig, sizeof(dig), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	ck_assert_msg(strcmp(dig, a.digest) == 0, "stored %s, %s answers [%s]", a.digest,
	    host, dig);
	snprintf(cmd, sizeof(cmd), "docker rm -f '%s' >/dev/null 2>&1; "
	    "rm -rf '/etc/docker/certs.d/%s'", name, host);
	free(th_local(ts_tmp, cmd));
}
END_TEST

/* KS_ONLY=name,name...: just those tests (while working on them; they
 * provision the registry themselves when it is not ready). */
#define ADD(t) do {							\
	const char *only = getenv("KS_ONLY");				\
	if (only == NULL || strstr(only, #t) != NULL)			\
		tcase_add_test(tc, t);					\
} while (0)

int
main(void)
{
	Suite	*s = suite_create("build");
	TCase	*tc = tcase_create("build");

	tcase_set_timeout(tc, 900);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	ADD(control_node_build);
	ADD(built_commit_not_rebuilt);
	ADD(build_server_pinned_commit);
	ADD(failures_at_their_step);
	ADD(disk_pressure);
	ADD(queue_and_supersede);
	ADD(cancel_during_build);
	ADD(static_preset);
	ADD(private_repositories);
	ADD(hostile_values);
	ADD(registry_stopped_before_push);
	ADD(external_registry);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
