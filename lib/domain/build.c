/*
 * Builds: the planner, the Keystone Dockerfile, the secrets' resolver and
 * the report hook (see build.h). The step scripts are lib/scripts/build_*.sh;
 * every value reaches them as an assignment quoted by lib/core/shq.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "buf.h"
#include "build.h"
#include "build_settings.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "op.h"
#include "plan.h"
#include "reg.h"
#include "row.h"
#include "valid.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

#define DEF_BUILD_USER	"keystone"
#define DEF_BUILD_DIR	"/var/tmp"
/* A node's recorded disk pressure refuses builds for this long; after
 * that the build's own first step looks again. */
#define PRESSURE_FRESH_MIN	10

extern const char script_as_user[], script_build_common[], script_build_disk[],
    script_build_clone[], script_build_dockerfile[], script_build_image[],
    script_build_push[], script_build_digest[], script_build_cleanup[],
    script_auth_login[], script_auth_ca[];

/* ------------------------------------------------------------ checks */

const char *
build_check_image(const char *ref)
{
	size_t	 n = strlen(ref), i;
	const char *at = strchr(ref, '@'), *last;

	if (n == 0 || n > 255)
		return "must be an image reference of 1 to 255 characters";
	if (ref[0] == '-' || ref[0] == '/' || ref[0] == '.' || ref[0] == ':')
		return "must start with a letter or digit";
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)ref[i]) && strchr("._-/:@", ref[i]) == NULL)
			return "may hold only letters, digits and . _ - / : @";
	if (strstr(ref, "//") != NULL || ref[n - 1] == '/' || ref[n - 1] == ':')
		return "is not an image reference (name[:tag][@sha256:digest])";
	if (at != NULL) {
		if (strncmp(at, "@sha256:", 8) != 0 || strlen(at + 8) != 64 ||
		    strchr(at + 1, '@') != NULL)
			return "has a digest that is not @sha256: and 64 hex digits";
		for (i = 8; i < 72; i++)
			if (!isxdigit((unsigned char)at[i]) ||
			    isupper((unsigned char)at[i]))
				return "has a digest that is not @sha256: and 64 hex digits";
	}
	/* The repository's path is lower case; a tag follows the last '/'. */
	last = strrchr(ref, '/');
	for (const char *p = last != NULL ? last + 1 : ref;
	    *p != '\0' && *p != ':' && *p != '@'; p++)
		if (isupper((unsigned char)*p))
			return "must name its repository in lower case";
	return NULL;
}

const char *
build_check_command(const char *cmd)
{
	size_t	 n = strlen(cmd);

	if (n == 0 || n > 4096)
		return "must be a command of 1 to 4096 characters";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)cmd[i] < 0x20 && cmd[i] != '\t')
			return "must be one line without control characters";
	return NULL;
}

/* Appends s as a JSON string (the Dockerfile's exec form reads JSON). */
static int
json_str(struct buf *out, const char *s)
{
	cJSON	*v;
	char	*j;
	int	 rc;

	if ((v = cJSON_CreateStringReference(s)) == NULL)
		return -1;
	j = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	if (j == NULL)
		return -1;
	rc = buf_puts(out, j);
	cJSON_free(j);
	return rc;
}

int
build_dockerfile(struct buf *out, const char *preset, const char *base,
    const char *root, const char *cmd, char *err, size_t errsz)
{
	const char	*why;
	char		 dir[1100];

	err[0] = '\0';
	if (base == NULL || (why = build_check_image(base)) != NULL) {
		snprintf(err, errsz, "base image %s", base ? why : "is not set");
		return -1;
	}
	/* FROM takes no quoting: the checked reference as it is. */
	if (buf_printf(out, "# Rendered by Keystone (%s preset).\nFROM %s\n",
	    preset, base) == -1)
		return -1;
	if (strcmp(preset, "static") == 0) {
		if (root == NULL || root[0] == '\0')
			root = ".";
		if ((why = valid_repo_path(root)) != NULL) {
			snprintf(err, errsz, "site directory %s", why);
			return -1;
		}
		snprintf(dir, sizeof(dir), "%s/", root);
		if (buf_puts(out, "COPY [") == -1 || json_str(out, dir) == -1 ||
		    buf_puts(out, ", \"/www/\"]\n") == -1 ||
		    buf_puts(out, "CMD [\"sh\", \"-c\", \"exec httpd -f -h /www "
		    "-p \\\"${HOST:-0.0.0.0}:${PORT:-8080}\\\"\"]\n") == -1)
			return -1;
		return 0;
	}
	if (strcmp(preset, "command") == 0) {
		if (cmd == NULL || (why = build_check_command(cmd)) != NULL) {
			snprintf(err, errsz, "command %s", cmd ? why : "is not set");
			return -1;
		}
		if (buf_puts(out, "WORKDIR /app\nCOPY [\".\", \"/app/\"]\n"
		    "CMD [\"sh\", \"-c\", ") == -1 || json_str(out, cmd) == -1 ||
		    buf_puts(out, "]\n") == -1)
			return -1;
		return 0;
	}
	snprintf(err, errsz, "unknown preset %s", preset);
	return -1;
}

/* ------------------------------------------------------------ rows */

struct benv {				/* ST_BUILD_ENV */
	long long	 id, app_id, build_timeout_s, build_server_id;
	char		*uuid, *name, *app_uuid, *app_name;
	char		*repository_url, *default_branch, *repo_auth;
	int		 has_deploy_key, has_token, has_ext_password;
	char		*https_username, *git_host, *git_host_key, *git_ca_pem;
	char		*branch, *pinned_commit, *dockerfile_source;
	char		*dockerfile_path, *build_context, *preset;
	char		*preset_base_image, *preset_command, *preset_root;
	char		*build_args, *build_location;
	char		*ext_registry_host, *ext_registry_user, *ext_registry_ca;
};
static const struct col benv_cols[] = {
	COL(benv, id, C_INT), COL(benv, uuid, C_STR), COL(benv, name, C_STR),
	COL(benv, app_id, C_INT), COL(benv, app_uuid, C_STR),
	COL(benv, app_name, C_STR), COL(benv, repository_url, C_STR),
	COL(benv, default_branch, C_STR), COL(benv, repo_auth, C_STR),
	COL(benv, has_deploy_key, C_BOOL), COL(benv, has_token, C_BOOL),
	COL(benv, https_username, C_STR), COL(benv, git_host, C_STR),
	COL(benv, git_host_key, C_STR), COL(benv, git_ca_pem, C_STR),
	COL(benv, branch, C_STR), COL(benv, pinned_commit, C_STR),
	COL(benv, dockerfile_source, C_STR), COL(benv, dockerfile_path, C_STR),
	COL(benv, build_context, C_STR), COL(benv, preset, C_STR),
	COL(benv, preset_base_image, C_STR), COL(benv, preset_command, C_STR),
	COL(benv, preset_root, C_STR), COL(benv, build_args, C_STR),
	COL(benv, build_timeout_s, C_INT), COL(benv, build_location, C_STR),
	COL(benv, build_server_id, C_INT), COL(benv, ext_registry_host, C_STR),
	COL(benv, ext_registry_user, C_STR),
	COL(benv, has_ext_password, C_BOOL), COL(benv, ext_registry_ca, C_STR),
};
static const struct rowtype benv_t = ROWTYPE(benv, benv_cols);

struct bserver {			/* ST_BUILD_SERVER */
	long long	 id;
	char		*name, *status;
	int		 role_build, pinned;
};
static const struct col bserver_cols[] = {
	COL(bserver, id, C_INT), COL(bserver, name, C_STR),
	COL(bserver, status, C_STR), COL(bserver, role_build, C_BOOL),
	COL(bserver, pinned, C_BOOL),
};
static const struct rowtype bserver_t = ROWTYPE(bserver, bserver_cols);

struct bhealth {			/* ST_BUILD_NODE_HEALTH */
	long long	 disk_free_kb, disk_min_kb;
};
static const struct col bhealth_cols[] = {
	COL(bhealth, disk_free_kb, C_INT), COL(bhealth, disk_min_kb, C_INT),
};
static const struct rowtype bhealth_t = ROWTYPE(bhealth, bhealth_cols);

struct bart {				/* ST_BUILD_BUILT */
	long long	 id;
	char		*uuid;
};
static const struct col bart_cols[] = {
	COL(bart, id, C_INT), COL(bart, uuid, C_STR),
};
static const struct rowtype bart_t = ROWTYPE(bart, bart_cols);

/* ------------------------------------------------------------ the plan */

/* Where and how one build runs, as the planner decided it. */
struct bplan {
	const struct config	*cfg;
	const struct benv	*e;
	long long		 server;	/* build node; 0: the control node */
	char			 node[420];	/* its name, for messages */
	char			 work[600];
	const char		*build_dir, *build_user, *docker_cfg;
	char			 min_kb[24];
	const char		*reg_host, *reg_user;
	char			 repo_path[160];	/* keystone/APP/ENV */
	char			 repo_ref[420];		/* HOST/keystone/APP/ENV */
	const char		*commit;	/* NULL: the branch head */
	const char		*branch;
	int			 rebuild;
};

/* Starts a step of the build on its node, with what every build step
 * needs assigned and the common text. */
static void
step(struct plan *pl, int op, const struct bplan *b, const char *name,
    long timeout_s, const char *secrets, const char *reports, int always)
{
	struct op_step_in s;

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.target = "build_node";
	s.server_id = b->server;
	s.timeout_s = timeout_s;
	s.secrets = secrets;
	s.reports = reports;
	s.always = always;
	/* Looking and cleaning can run again; cloning, building, pushing
	 * start over in a new build instead. */
	s.idempotent = always || (reports != NULL && strcmp(reports, "commit") != 0);
	(void)plan_step(pl, op, &s);
	plan_var(pl, "WORK", b->work);
	plan_var(pl, "BUILD_DIR", b->build_dir);
	plan_var(pl, "BUILD_USER", b->build_user);
	plan_var(pl, "CFG", b->docker_cfg);
	plan_var(pl, "MIN_FREE_KB", b->min_kb);
	plan_var(pl, "NODE", b->node);
	plan_text(pl, script_as_user);
	plan_text(pl, script_build_common);
}

/* The scheme part of a URL as builds treat it. */
enum access { ACC_LOCAL, ACC_HTTPS, ACC_SSH };

static enum access
url_access(const char *url)
{
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
		return ACC_HTTPS;
	if (strncmp(url, "git://", 6) == 0 || strncmp(url, "file://", 7) == 0)
		return ACC_LOCAL;
	return ACC_SSH;		/* ssh:// or user@host:path */
}

/* The stored settings checked again (a row may have been written by
 * other means than the forms): NULL, or what is wrong. */
static const char *
settings_wrong(const struct config *cfg, const struct benv *e, char *m,
    size_t msz)
{
	const char	*why;

	if ((why = valid_git_url(e->repository_url)) != NULL ||
	    (url_access(e->repository_url) == ACC_LOCAL && !cfg->allow_local_sources &&
	    (why = "is a local source (git:// or file://), allowed only for local "
	    "development (allow_local_sources)")))
		snprintf(m, msz, "The repository URL %s.", why);
	else if (e->branch != NULL && (why = valid_git_ref(e->branch)) != NULL)
		snprintf(m, msz, "The environment's branch %s.", why);
	else if ((why = valid_git_ref(e->default_branch)) != NULL)
		snprintf(m, msz, "The application's default branch %s.", why);
	else if ((why = valid_repo_path(e->build_context)) != NULL)
		snprintf(m, msz, "The build context %s.", why);
	else if (strcmp(e->dockerfile_source, "repository") == 0 &&
	    (why = valid_repo_path(e->dockerfile_path)) != NULL)
		snprintf(m, msz, "The Dockerfile path %s.", why);
	else if (e->build_args[0] != '\0' &&
	    (why = build_check_args(e->build_args)) != NULL)
		snprintf(m, msz, "The build arguments: %s.", why);
	else
		return NULL;
	return m;
}

/* Whether Keystone can reach the repository: NULL, or why not. */
static const char *
access_wrong(const struct benv *e, char *m, size_t msz)
{
	char	 kh[320], host[300];
	int	 port;

	switch (url_access(e->repository_url)) {
	case ACC_SSH:
		if (strcmp(e->repo_auth, "deploy_key") != 0 || !e->has_deploy_key)
			snprintf(m, msz, "No repository access: %s is reached over "
			    "SSH; generate a deploy key on the application's page "
			    "and add it to the Git host.", e->repository_url);
		else if (build_ssh_host(e->repository_url, host, sizeof(host),
		    &port, kh, sizeof(kh)) != 1)
			snprintf(m, msz, "No repository access: %s names no host.",
			    e->repository_url);
		else if (e->git_host_key == NULL || e->git_host == NULL ||
		    strcmp(e->git_host, kh) != 0)
			snprintf(m, msz, "No repository access: the key of the Git "
			    "host %s is not pinned; check and pin it on the "
			    "application's page.", kh);
		else
			return NULL;
		return m;
	case ACC_HTTPS:
		if (strcmp(e->repo_auth, "token") == 0 &&
		    (!e->has_token || e->https_username == NULL)) {
			snprintf(m, msz, "No repository access: the HTTPS token "
			    "is not set; set it on the application's page.");
			return m;
		}
		return NULL;
	case ACC_LOCAL:
		return NULL;
	}
	return NULL;
}

/* The build node: its id (0: the control node) into b, or a refusal. */
static int
pick_node(struct db *db, const struct config *cfg, struct bplan *b,
    char *m, size_t msz)
{
	struct bserver	 s;
	struct bhealth	 h;
	char		 id[24], node[40], fresh[12];
	const char	*p[2];
	int		 rc;

	memset(&s, 0, sizeof(s));
	b->server = 0;
	snprintf(b->node, sizeof(b->node), "the control node");
	if (strcmp(b->e->build_location, "specific") == 0) {
		snprintf(id, sizeof(id), "%lld", b->e->build_server_id);
		p[0] = id;
		if ((rc = row_get(db, &bserver_t, ST_BUILD_SERVER, 1, p, &s)) == -1)
			return -1;
		if (rc == 0)
			snprintf(m, msz, "The build server of this environment "
			    "no longer exists: choose another build node.");
		else if (!s.role_build)
			snprintf(m, msz, "The build node %s no longer has the build "
			    "role: choose another build node.", s.name);
		else if (strcmp(s.status, "active") != 0 || !s.pinned)
			snprintf(m, msz, "The build node %s is not active (%s): "
			    "connect it first.", s.name, s.status);
		else {
			b->server = s.id;
			snprintf(b->node, sizeof(b->node), "%s", s.name);
		}
		row_unfill(&bserver_t, &s);
		if (b->server == 0)
			return 1;
	}
	/* Disk pressure it showed lately, against the threshold now: a
	 * lower threshold clears it at once. */
	if (b->server == 0)
		snprintf(node, sizeof(node), "control");
	else
		snprintf(node, sizeof(node), "server:%lld", b->server);
	snprintf(fresh, sizeof(fresh), "%d", PRESSURE_FRESH_MIN);
	p[0] = node;
	p[1] = fresh;
	memset(&h, 0, sizeof(h));
	if ((rc = row_get(db, &bhealth_t, ST_BUILD_NODE_HEALTH, 2, p, &h)) == -1)
		return -1;
	if (rc == 1 && h.disk_free_kb != ROW_NULL &&
	    h.disk_free_kb < cfg->build_min_free_mb * 1024) {
		snprintf(m, msz, "Disk pressure on %s%s: %lld MB free, below "
		    "the build threshold of %ld MB (build_min_free_mb). Free "
		    "space on it, or lower the threshold.", b->server ?
		    "build node " : "", b->node, h.disk_free_kb / 1024,
		    cfg->build_min_free_mb);
		return 1;
	}
	return 0;
}

int
build_then(struct db *db, long long op_id, long long env, const char *commit,
    int rebuild)
{
	char		 id[24], envs[24];
	struct row_id	 r;
	struct row_n	 sup;
	const char	*p1[] = { id, commit, rebuild ? "true" : "false" };
	const char	*p2[] = { envs, id };

	snprintf(id, sizeof(id), "%lld", op_id);
	snprintf(envs, sizeof(envs), "%lld", env);
	if (row_get(db, &row_id_t, ST_BUILD_OP_SET, NP(p1), p1, &r) != 1)
		return -1;
	if (row_get(db, &row_n_t, ST_BUILD_SUPERSEDE, NP(p2), p2, &sup) != 1)
		return -1;
	if (sup.n > 0)
		log_info("build %lld supersedes %lld queued build(s) of "
		    "environment %lld", op_id, sup.n, env);
	return 0;
}

/* The steps of the build (see build.h). */
static void
build_steps(struct plan *pl, int op, const struct bplan *b,
    const char *dockerfile)
{
	const struct benv *e = b->e;
	enum access	 acc = url_access(e->repository_url);
	const char	*auth = acc == ACC_SSH ? "deploy_key" :
			    acc == ACC_HTTPS && strcmp(e->repo_auth, "token") == 0 ?
			    "token" : "none";

	step(pl, op, b, "Check free disk and Docker on the build node", 120, "",
	    "disk", 0);
	plan_text(pl, script_build_disk);

	step(pl, op, b, "Clone the repository", 900,
	    strcmp(auth, "deploy_key") == 0 ? "DEPLOY_KEY" :
	    strcmp(auth, "token") == 0 ? "GIT_TOKEN" : "", "commit", 0);
	plan_var(pl, "URL", e->repository_url);
	plan_var(pl, "BRANCH", b->branch);
	plan_var(pl, "COMMIT", b->commit ? b->commit : "");
	plan_var(pl, "AUTH", auth);
	plan_var(pl, "GIT_HOST", e->git_host ? e->git_host : "");
	plan_var(pl, "GIT_HOST_KEY", e->git_host_key ? e->git_host_key : "");
	plan_var(pl, "GIT_USER", e->https_username ? e->https_username : "");
	plan_var(pl, "GIT_CA", e->git_ca_pem ? e->git_ca_pem : "");
	plan_text(pl, script_build_clone);

	if (dockerfile != NULL) {
		step(pl, op, b, "Render the Keystone Dockerfile", 60, "", NULL, 0);
		plan_var(pl, "DOCKERFILE", dockerfile);
		plan_var(pl, "PRESET", e->preset);
		plan_text(pl, script_build_dockerfile);
	}

	/* An external registry's CA, when its certificate is not public
	 * (lib/scripts/auth_ca.sh, as the registry auth does it). */
	if (strcmp(e->build_location, "external") == 0 &&
	    e->ext_registry_ca != NULL && e->ext_registry_ca[0] != '\0') {
		step(pl, op, b, "Trust the registry's certificate", 120, "", NULL, 0);
		plan_var(pl, "HOST", b->reg_host);
		plan_var(pl, "CA_PEM", e->ext_registry_ca);
		plan_text(pl, script_auth_ca);
	}
	/* Disk again, then the sign-in the registry auth uses (the same
	 * script, lib/scripts/auth_login.sh). */
	step(pl, op, b, "Sign in to the registry", 300, "REGISTRY_PASSWORD", NULL, 0);
	plan_var(pl, "HOST", b->reg_host);
	plan_var(pl, "REG_USER", b->reg_user);
	plan_var(pl, "DOCKER_USER", "");
	plan_text(pl, "check_disk \"signing in\"\n");
	plan_text(pl, script_auth_login);

	step(pl, op, b, "Build the image", e->build_timeout_s, "", NULL, 0);
	plan_var(pl, "REPO_REF", b->repo_ref);
	plan_var(pl, "APP_UUID", e->app_uuid);
	plan_var(pl, "ENV_UUID", e->uuid);
	plan_var(pl, "DOCKERFILE_PATH", dockerfile != NULL ? "" : e->dockerfile_path);
	plan_var(pl, "CONTEXT", e->build_context);
	plan_var(pl, "BUILD_ARGS", e->build_args);
	plan_var(pl, "BUILD_ID", b->work + strlen(b->build_dir) + 10);
	plan_var(pl, "REBUILD", b->rebuild ? "1" : "");
	plan_text(pl, script_build_image);

	step(pl, op, b, "Push the image", 1800, "", NULL, 0);
	plan_var(pl, "REPO_REF", b->repo_ref);
	plan_text(pl, script_build_push);

	step(pl, op, b, "Resolve the manifest digest", 120, "REGISTRY_PASSWORD",
	    "artifact", 0);
	plan_var(pl, "HOST", b->reg_host);
	plan_var(pl, "REPO_PATH", b->repo_path);
	plan_var(pl, "REPO_REF", b->repo_ref);
	plan_var(pl, "REG_USER", b->reg_user);
	plan_text(pl, script_build_digest);

	step(pl, op, b, "Clean up", 600, "", NULL, 1);
	plan_text(pl, script_build_cleanup);
}

int
build_plan_into(struct plan *pl, struct db *db, const struct config *cfg,
    const struct build_req *req, struct build_into *into, char *err,
    size_t errsz)
{
	struct benv	 e;
	struct bart	 a;
	struct reg	 r;
	struct reg_settings rs;
	struct bplan	 b;
	struct buf	 df;
	struct op_in	 in;
	struct op_secret_ref refs[2];
	char		 ref_reg[64], ref_git[64], envid[24], gate[512];
	unsigned char	 rnd[8];
	char		 hex[17];
	const char	*p[2];
	int		 rc = -1, found, op;

	err[0] = '\0';
	into->op = -1;
	into->built = 0;
	into->env_id = 0;
	memset(&e, 0, sizeof(e));
	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	memset(&b, 0, sizeof(b));
	buf_init(&df);
	if (valid_uuid(req->env_uuid) != NULL) {
		snprintf(err, errsz, "No such environment.");
		return 1;
	}
	p[0] = req->env_uuid;
	if ((found = row_get(db, &benv_t, ST_BUILD_ENV, 1, p, &e)) != 1) {
		if (found == 0) {
			snprintf(err, errsz, "No such environment.");
			rc = 1;
		}
		goto out;
	}
	b.cfg = cfg;
	b.e = &e;
	b.rebuild = req->rebuild;
	b.branch = e.branch != NULL ? e.branch : e.default_branch;
	b.commit = req->commit != NULL ? req->commit : e.pinned_commit;
	rc = 1;
	if (b.commit != NULL && valid_commit_sha(b.commit) != NULL) {
		snprintf(err, errsz, "The commit must be a full commit SHA (40 "
		    "hexadecimal digits).");
		goto out;
	}
	if (settings_wrong(cfg, &e, err, errsz) != NULL ||
	    access_wrong(&e, err, errsz) != NULL)
		goto out;
	if (strcmp(e.dockerfile_source, "keystone") == 0 &&
	    build_dockerfile(&df, e.preset ? e.preset : "", e.preset_base_image,
	    e.preset_root, e.preset_command, gate, sizeof(gate)) == -1) {
		if (gate[0] == '\0') {
			rc = -1;
			goto out;
		}
		snprintf(err, errsz, "The Keystone Dockerfile cannot be written: "
		    "%s.", gate);
		goto out;
	}
	/* A commit asked for that was built already. */
	snprintf(envid, sizeof(envid), "%lld", e.id);
	if (b.commit != NULL && !req->rebuild) {
		const char *q[] = { envid, b.commit };
		if ((found = row_get(db, &bart_t, ST_BUILD_BUILT, 2, q, &a)) == -1) {
			rc = -1;
			goto out;
		}
		if (found == 1 && into->reuse) {
			into->built = a.id;
			into->env_id = e.id;
			rc = 0;
			goto out;
		}
		if (found == 1) {
			snprintf(err, errsz, "Commit %.12s was built already "
			    "(artifact %s): ask for a rebuild to build it again.",
			    b.commit, a.uuid);
			goto out;
		}
	}
	if ((found = pick_node(db, cfg, &b, err, errsz)) != 0) {
		rc = found;
		goto out;
	}
	/* The registry it pushes to, and the gate for it. */
	if (strcmp(e.build_location, "external") == 0) {
		if (e.ext_registry_host == NULL || e.ext_registry_user == NULL ||
		    !e.has_ext_password ||
		    build_check_registry_host(e.ext_registry_host) != NULL) {
			snprintf(err, errsz, "The external registry override is "
			    "incomplete: set its host, user and password.");
			goto out;
		}
		b.reg_host = e.ext_registry_host;
		b.reg_user = e.ext_registry_user;
		snprintf(ref_reg, sizeof(ref_reg), "environment/%lld/registry", e.id);
	} else {
		if ((found = reg_gate(db, b.server, NULL, 0, gate, sizeof(gate))) != 0) {
			if (found == 1)
				snprintf(err, errsz, "%s", gate);
			rc = found;
			goto out;
		}
		if (reg_load(db, &r) != 1 || r.hostname == NULL) {
			rc = -1;
			goto out;
		}
		b.reg_host = r.hostname;
		b.reg_user = REG_BUILD_USER;
		snprintf(ref_reg, sizeof(ref_reg), "registry_credentials/build");
	}
	reg_settings(cfg, &r, &rs);
	b.docker_cfg = b.server == 0 ? rs.docker_config : REG_NODE_DOCKER_CFG;
	b.build_dir = cfg->build_dir != NULL ? cfg->build_dir : DEF_BUILD_DIR;
	/* The control node's spooler runs as root: the clone as the build
	 * user. A server's steps run as its keystone user already. */
	b.build_user = b.server != 0 ? "" :
	    cfg->build_user != NULL ? cfg->build_user : DEF_BUILD_USER;
	snprintf(b.min_kb, sizeof(b.min_kb), "%ld", cfg->build_min_free_mb * 1024);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(b.work, sizeof(b.work), "%s/ks-build-%s", b.build_dir, hex);
	snprintf(b.repo_path, sizeof(b.repo_path), "keystone/%s/%s", e.app_uuid,
	    e.uuid);
	snprintf(b.repo_ref, sizeof(b.repo_ref), "%s/%s", b.reg_host, b.repo_path);

	rc = -1;
	memset(&in, 0, sizeof(in));
	in.kind = "build";
	in.subject_type = "environment";
	in.subject_id = e.id;
	in.environment_id = e.id;
	in.build_server_id = b.server;
	in.uses_build_node = 1;
	in.created_by = req->user_id;
	refs[0].name = "REGISTRY_PASSWORD";
	refs[0].ref = ref_reg;
	in.refs = refs;
	in.nrefs = 1;
	if (url_access(e.repository_url) == ACC_SSH) {
		snprintf(ref_git, sizeof(ref_git), "application/%lld/deploy_key",
		    e.app_id);
		refs[1].name = "DEPLOY_KEY";
		refs[1].ref = ref_git;
		in.nrefs = 2;
	} else if (url_access(e.repository_url) == ACC_HTTPS &&
	    strcmp(e.repo_auth, "token") == 0) {
		snprintf(ref_git, sizeof(ref_git), "application/%lld/token", e.app_id);
		refs[1].name = "GIT_TOKEN";
		refs[1].ref = ref_git;
		in.nrefs = 2;
	}
	if ((op = plan_op(pl, &in)) == -1)
		goto out;
	build_steps(pl, op, &b, df.len > 0 ? buf_cstr(&df) : NULL);
	into->op = op;
	into->env_id = e.id;
	snprintf(into->node, sizeof(into->node), "%s", b.node);
	snprintf(into->name, sizeof(into->name), "%s/%s", e.app_name, e.name);
	rc = 0;
out:
	if (rc == -1)
		err[0] = '\0';
	buf_release(&df);
	reg_free(&r);
	row_unfill(&bart_t, &a);
	row_unfill(&benv_t, &e);
	return rc;
}

/* In the plan's transaction: build_then() for the build at index 0. */
struct then_arg {
	long long		 env;
	const struct build_req	*req;
};

static int
then_build(struct db *db, const struct plan *pl, void *arg)
{
	const struct then_arg *t = arg;

	return build_then(db, plan_id(pl, 0), t->env, t->req->commit,
	    t->req->rebuild);
}

int
build_plan(struct db *db, const struct config *cfg, const struct keys *k,
    const struct build_req *req, char uuid[40], char *err, size_t errsz)
{
	struct plan	*pl;
	struct build_into into;
	struct then_arg	 t;
	int		 rc;

	uuid[0] = '\0';
	memset(&into, 0, sizeof(into));
	if ((pl = plan_new()) == NULL) {
		err[0] = '\0';
		return -1;
	}
	if ((rc = build_plan_into(pl, db, cfg, req, &into, err, errsz)) == 0) {
		t.env = into.env_id;
		t.req = req;
		if (plan_commit_then(db, pl, k, then_build, &t) == -1) {
			err[0] = '\0';
			rc = -1;
		} else {
			snprintf(uuid, 40, "%s", plan_uuid(pl, into.op));
			log_info("build %s of %s queued on %s", uuid, into.name,
			    into.node);
		}
	}
	plan_free(pl);
	return rc;
}

/* ------------------------------------------------------------ secrets */

struct bsealed {			/* ST_BUILD_APP_SECRET, _ENV_SECRET */
	char	*deploy_key_sealed, *https_token_sealed;
	char	*ext_registry_password_sealed;
};
static const struct col bapp_cols[] = {
	COL(bsealed, deploy_key_sealed, C_STR),
	COL(bsealed, https_token_sealed, C_STR),
};
static const struct rowtype bapp_t = ROWTYPE(bsealed, bapp_cols);
static const struct col benvs_cols[] = {
	COL(bsealed, ext_registry_password_sealed, C_STR),
};
static const struct rowtype benvs_t = ROWTYPE(bsealed, benvs_cols);

int
build_resolve_secret(struct db *db, const struct keys *k, const char *ref,
    struct buf *out)
{
	struct bsealed	 s;
	const struct rowtype *t;
	long long	 id;
	char		 what[32], ids[24], *end;
	const char	*sealed, *p[1];
	struct buf	 pt;
	int		 rc = -1;

	memset(&s, 0, sizeof(s));
	buf_init(&pt);
	if (strncmp(ref, "application/", 12) == 0) {
		t = &bapp_t;
		id = strtoll(ref + 12, &end, 10);
	} else if (strncmp(ref, "environment/", 12) == 0) {
		t = &benvs_t;
		id = strtoll(ref + 12, &end, 10);
	} else
		return -1;
	if (id <= 0 || *end != '/')
		return -1;
	snprintf(what, sizeof(what), "%s", end + 1);
	if (t == &bapp_t && strcmp(what, "token") == 0)
		snprintf(what, sizeof(what), "https_token");
	else if (t == &benvs_t && strcmp(what, "registry") == 0)
		snprintf(what, sizeof(what), "registry_password");
	else if (!(t == &bapp_t && strcmp(what, "deploy_key") == 0))
		return -1;
	snprintf(ids, sizeof(ids), "%lld", id);
	p[0] = ids;
	if (row_get(db, t, t == &bapp_t ? ST_BUILD_APP_SECRET : ST_BUILD_ENV_SECRET,
	    1, p, &s) != 1)
		goto out;
	sealed = strcmp(what, "deploy_key") == 0 ? s.deploy_key_sealed :
	    strcmp(what, "https_token") == 0 ? s.https_token_sealed :
	    s.ext_registry_password_sealed;
	if (sealed == NULL)
		goto out;
	/* Sealed bound to the reference itself (lib/domain/build_settings.h). */
	if (keys_open_b64(&pt, k, ref, sealed) == -1)
		goto out;
	/* A step's secret is one line: the key (several lines) travels as
	 * base64, which the clone step decodes into ssh-add. */
	if (strcmp(what, "deploy_key") == 0) {
		size_t	 n = sodium_base64_ENCODED_LEN(pt.len,
			    sodium_base64_VARIANT_ORIGINAL);
		char	*b64 = malloc(n);

		if (b64 == NULL)
			goto out;
		sodium_bin2base64(b64, n, (const unsigned char *)pt.ptr, pt.len,
		    sodium_base64_VARIANT_ORIGINAL);
		rc = buf_puts(out, b64);
		sodium_memzero(b64, n);
		free(b64);
	} else if (memchr(pt.ptr, '\n', pt.len) == NULL &&
	    memchr(pt.ptr, '\0', pt.len) == NULL)
		rc = buf_put(out, pt.ptr, pt.len);
out:
	if (pt.ptr != NULL)
		sodium_memzero(pt.ptr, pt.cap);
	buf_release(&pt);
	row_unfill(t, &s);
	return rc;
}

/* ------------------------------------------------------------ reports */

struct bout {				/* ST_BUILD_OUTPUT */
	char		*output;
	long long	 build_server_id, environment_id;
	int		 rebuild;
};
static const struct col bout_cols[] = {
	COL(bout, output, C_STR), COL(bout, build_server_id, C_INT),
	COL(bout, environment_id, C_INT), COL(bout, rebuild, C_BOOL),
};
static const struct rowtype bout_t = ROWTYPE(bout, bout_cols);

struct bcommit {			/* ST_BUILD_COMMIT_SET */
	long long	 id, artifact_id;
};
static const struct col bcommit_cols[] = {
	COL(bcommit, id, C_INT), COL(bcommit, artifact_id, C_INT),
};
static const struct rowtype bcommit_t = ROWTYPE(bcommit, bcommit_cols);


static int
all_of(const char *s, const char *set)
{
	return s[0] != '\0' && strspn(s, set) == strlen(s);
}

int
build_report(struct db *db, const struct op_claim *c, long long step_id,
    const char *what, int succeeded, char *err, size_t errsz)
{
	struct bout	 o;
	struct bcommit	 cm;
	struct row_id	 r;
	char		 id[24], f[24], sid[24], node[40], srv[24];
	char		 v1[80], v2[80], arch[40], size[24], ref[512];
	const char	*p[3];
	int		 rc = -1;

	memset(&o, 0, sizeof(o));
	memset(&cm, 0, sizeof(cm));
	err[0] = '\0';
	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	snprintf(sid, sizeof(sid), "%lld", step_id);
	p[0] = id;
	p[1] = f;
	p[2] = sid;
	if (row_get(db, &bout_t, ST_BUILD_OUTPUT, 3, p, &o) != 1)
		goto out;
	if (strcmp(what, "disk") == 0) {
		/* Free space (and the engine), also when the step failed on
		 * them: that is the node's disk pressure. */
		if (op_report_value(o.output, "free_kb", v1, sizeof(v1)) == -1 ||
		    op_report_value(o.output, "min_kb", v2, sizeof(v2)) == -1 ||
		    op_report_value(o.output, "engine", arch, sizeof(arch)) == -1 ||
		    !all_of(v1, "0123456789") || !all_of(v2, "0123456789")) {
			rc = succeeded ? -1 : OP_REPORT_GO;
			snprintf(err, errsz, "it reported no free space");
			goto out;
		}
		if (o.build_server_id == ROW_NULL) {
			snprintf(node, sizeof(node), "control");
			srv[0] = '\0';
		} else {
			snprintf(node, sizeof(node), "server:%lld", o.build_server_id);
			snprintf(srv, sizeof(srv), "%lld", o.build_server_id);
		}
		const char *q[] = { node, srv[0] ? srv : NULL, v1, v2,
		    strcmp(arch, "ok") == 0 ? "true" : "false",
		    succeeded ? "ready for builds" : "not ready for builds" };
		PGresult *res = db_exec(db, ST_BUILD_NODE_SET, NP(q), q);
		rc = res != NULL ? OP_REPORT_GO : -1;
		PQclear(res);
		goto out;
	}
	if (!succeeded) {
		rc = OP_REPORT_GO;
		goto out;
	}
	if (strcmp(what, "commit") == 0) {
		if (op_report_value(o.output, "commit", v1, sizeof(v1)) == -1 ||
		    valid_commit_sha(v1) != NULL) {
			snprintf(err, errsz, "it reported no commit");
			goto out;
		}
		const char *q[] = { id, f, v1 };
		if (row_get(db, &bcommit_t, ST_BUILD_COMMIT_SET, NP(q), q, &cm) != 1)
			goto out;
		/* Built already (and no rebuild asked): nothing left to do. */
		rc = cm.artifact_id != ROW_NULL ? OP_REPORT_DONE : OP_REPORT_GO;
		if (rc == OP_REPORT_DONE)
			log_info("operation %lld: commit %s was built already "
			    "(artifact %lld)", c->id, v1, cm.artifact_id);
		goto out;
	}
	if (strcmp(what, "artifact") == 0) {
		if (op_report_value(o.output, "digest", v1, sizeof(v1)) == -1 ||
		    op_report_value(o.output, "pushed", v2, sizeof(v2)) == -1 ||
		    op_report_value(o.output, "arch", arch, sizeof(arch)) == -1 ||
		    op_report_value(o.output, "size", size, sizeof(size)) == -1 ||
		    op_report_value(o.output, "ref", ref, sizeof(ref)) == -1 ||
		    strncmp(v1, "sha256:", 7) != 0 || strlen(v1) != 71 ||
		    !all_of(v1 + 7, "0123456789abcdef") ||
		    !all_of(size, "0123456789") ||
		    !all_of(arch, "abcdefghijklmnopqrstuvwxyz0123456789")) {
			snprintf(err, errsz, "it reported no digest");
			goto out;
		}
		if (strcmp(v1, v2) != 0) {
			snprintf(err, errsz, "the registry answers %s but docker "
			    "push printed %s", v1, v2);
			goto out;
		}
		char host[300];
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(ref, "/"), ref);
		const char *q[] = { id, f, host, ref, v1, arch, size };
		memset(&r, 0, sizeof(r));
		if (row_get(db, &row_id_t, ST_BUILD_ARTIFACT_PUT, NP(q), q, &r) != 1)
			goto out;
		rc = OP_REPORT_GO;
		goto out;
	}
	snprintf(err, errsz, "unknown report %s", what);
out:
	row_unfill(&bout_t, &o);
	return rc;
}
