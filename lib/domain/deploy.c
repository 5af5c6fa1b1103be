/*
 * Deploys: the planner, the Compose rendering, the spooler's prelude (the
 * image a deploy learns when it runs), report hook (what runs where) and
 * resolver (services' secret variables). See deploy.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "buf.h"
#include "build.h"
#include "config.h"
#include "db.h"
#include "deploy.h"
#include "keys.h"
#include "log.h"
#include "op.h"
#include "plan.h"
#include "reg.h"
#include "row.h"
#include "shq.h"
#include "valid.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Where a server keeps its Compose projects (the keystone user's home). */
#define DEPLOY_DIR	"/home/keystone/keystone"
/* Stands for the image in a rendered Compose file until the step knows
 * it (the prelude's IMAGE). */
#define IMAGE_MARK	"__KS_IMAGE__"
/* Secrets a deploy can carry: the registry password and the services'
 * secret variables. */
#define MAX_SECRET_VARS	(STEP_MAX_SECRETS - 2)

extern const char script_deploy_server[], script_deploy_remove[],
    script_auth_login[], script_as_user[];

void
deploy_project(char *out, size_t sz, const char *env_uuid)
{
	snprintf(out, sz, "ks-%s", env_uuid);
}

/* ------------------------------------------------------------ rows */

struct denv {				/* ST_DEPLOY_ENV */
	long long	 id, retention_count;
	char		*uuid, *app_uuid, *name, *app_name, *build_location;
};
static const struct col denv_cols[] = {
	COL(denv, id, C_INT), COL(denv, uuid, C_STR), COL(denv, app_uuid, C_STR),
	COL(denv, name, C_STR), COL(denv, app_name, C_STR),
	COL(denv, build_location, C_STR), COL(denv, retention_count, C_INT),
};
static const struct rowtype denv_t = ROWTYPE(denv, denv_cols);

struct dserver {			/* ST_DEPLOY_SERVERS */
	long long	 id;
	char		*name, *address, *status, *arch;
	int		 role_build, pinned;
};
static const struct col dserver_cols[] = {
	COL(dserver, id, C_INT), COL(dserver, name, C_STR),
	COL(dserver, address, C_STR), COL(dserver, status, C_STR),
	COL(dserver, arch, C_STR), COL(dserver, role_build, C_BOOL),
	COL(dserver, pinned, C_BOOL),
};
static const struct rowtype dserver_t = ROWTYPE(dserver, dserver_cols);

struct dsvc {				/* ST_DEPLOY_SERVICES */
	long long	 id, port, health_interval_s, health_timeout_s;
	char		*name, *command, *bind_address, *health_kind;
	char		*health_path, *health_command, *restart_policy;
};
static const struct col dsvc_cols[] = {
	COL(dsvc, id, C_INT), COL(dsvc, name, C_STR), COL(dsvc, command, C_STR),
	COL(dsvc, port, C_INT), COL(dsvc, bind_address, C_STR),
	COL(dsvc, health_kind, C_STR), COL(dsvc, health_path, C_STR),
	COL(dsvc, health_command, C_STR), COL(dsvc, health_interval_s, C_INT),
	COL(dsvc, health_timeout_s, C_INT), COL(dsvc, restart_policy, C_STR),
};
static const struct rowtype dsvc_t = ROWTYPE(dsvc, dsvc_cols);

struct dvar {				/* ST_DEPLOY_VARS */
	long long	 service_id;
	char		*name, *value;		/* value NULL: a secret */
};
static const struct col dvar_cols[] = {
	COL(dvar, service_id, C_INT), COL(dvar, name, C_STR),
	COL(dvar, value, C_STR),
};
static const struct rowtype dvar_t = ROWTYPE(dvar, dvar_cols);

struct dvol {				/* ST_DEPLOY_VOLUMES */
	long long	 service_id;
	char		*name, *mount_path;
};
static const struct col dvol_cols[] = {
	COL(dvol, service_id, C_INT), COL(dvol, name, C_STR),
	COL(dvol, mount_path, C_STR),
};
static const struct rowtype dvol_t = ROWTYPE(dvol, dvol_cols);

struct dart {				/* ST_DEPLOY_ARTIFACT, _OP_ARTIFACT */
	long long	 id, environment_id;
	char		*uuid, *tag, *manifest_digest, *registry_host;
	char		*architecture, *status;
};
static const struct col dart_cols[] = {
	COL(dart, id, C_INT), COL(dart, environment_id, C_INT),
	COL(dart, uuid, C_STR), COL(dart, tag, C_STR),
	COL(dart, manifest_digest, C_STR), COL(dart, registry_host, C_STR),
	COL(dart, architecture, C_STR), COL(dart, status, C_STR),
};
static const struct rowtype dart_t = ROWTYPE(dart, dart_cols);

/* What one deploy is made of (loaded by load()). */
struct dctx {
	struct denv	 env;
	struct dserver	*srv;
	size_t		 nsrv;
	struct dsvc	*svc;
	size_t		 nsvc;
	struct dvar	*var;
	size_t		 nvar;
	struct dvol	*vol;
	size_t		 nvol;
};

static void
dctx_free(struct dctx *d)
{
	row_unfill(&denv_t, &d->env);
	row_unfill_all(&dserver_t, d->srv, d->nsrv);
	row_unfill_all(&dsvc_t, d->svc, d->nsvc);
	row_unfill_all(&dvar_t, d->var, d->nvar);
	row_unfill_all(&dvol_t, d->vol, d->nvol);
	memset(d, 0, sizeof(*d));
}

/* 1 loaded, 0 no such environment, -1 failure. */
static int
load(struct db *db, const char *env_uuid, struct dctx *d)
{
	char		 id[24];
	const char	*p[1];
	int		 rc;

	memset(d, 0, sizeof(*d));
	if (valid_uuid(env_uuid) != NULL)
		return 0;
	p[0] = env_uuid;
	if ((rc = row_get(db, &denv_t, ST_DEPLOY_ENV, 1, p, &d->env)) != 1)
		return rc;
	snprintf(id, sizeof(id), "%lld", d->env.id);
	p[0] = id;
	if (row_all(db, &dserver_t, ST_DEPLOY_SERVERS, 1, p, (void **)&d->srv,
	    &d->nsrv) == -1 ||
	    row_all(db, &dsvc_t, ST_DEPLOY_SERVICES, 1, p, (void **)&d->svc,
	    &d->nsvc) == -1 ||
	    row_all(db, &dvar_t, ST_DEPLOY_VARS, 1, p, (void **)&d->var,
	    &d->nvar) == -1 ||
	    row_all(db, &dvol_t, ST_DEPLOY_VOLUMES, 1, p, (void **)&d->vol,
	    &d->nvol) == -1)
		return -1;
	return 1;
}

/* ------------------------------------------------------------ Compose */

/*
 * Appends s as a YAML double-quoted scalar that Compose reads back as s
 * byte for byte: "$" doubled first (Compose interpolates "$" in every
 * value), then JSON's string escapes (a YAML double-quoted scalar reads
 * them the same way). -1 when s holds what cannot travel (NUL cannot be
 * in s; a C1 control character or a lone surrogate cannot be written).
 */
static int
yaml_str(struct buf *out, const char *s)
{
	struct buf	 d;
	cJSON		*v;
	char		*j;
	int		 rc = -1;

	buf_init(&d);
	for (const char *p = s; *p != '\0'; p++)
		if ((*p == '$' ? buf_puts(&d, "$$") : buf_putc(&d, *p)) == -1)
			goto out;
	if ((v = cJSON_CreateString(buf_cstr(&d))) == NULL)
		goto out;
	j = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	if (j == NULL)
		goto out;
	rc = buf_puts(out, j);
	cJSON_free(j);
out:
	buf_release(&d);
	return rc;
}

/* The address a service listens on, on server s. */
static const char *
svc_host(const struct dsvc *v, const struct dserver *s)
{
	return v->bind_address != NULL && v->bind_address[0] != '\0' ?
	    v->bind_address : s->address;
}

/*
 * The Compose project of environment d on server s: every service on the
 * host's network, its image IMAGE_MARK (the step puts the digest
 * reference in), HOST and PORT, its plain variables, its secret ones
 * from the env file secrets.env (when it has any), its volumes (named,
 * kept across deploys), its restart policy, Keystone's labels; a health
 * command as Compose's healthcheck.
 */
static int
render(struct buf *o, const struct dctx *d, const struct dserver *s)
{
	char	 port[16];

	if (buf_puts(o, "# Written by Keystone: do not edit (the next deploy "
	    "replaces it).\nversion: \"3.8\"\nservices:\n") == -1)
		return -1;
	for (size_t i = 0; i < d->nsvc; i++) {
		const struct dsvc *v = &d->svc[i];
		int	 secrets = 0, vols = 0;

		snprintf(port, sizeof(port), "%lld", v->port);
		if (buf_printf(o, "  %s:\n    image: \"" IMAGE_MARK "\"\n"
		    "    network_mode: host\n    restart: ", v->name) == -1 ||
		    yaml_str(o, v->restart_policy) == -1 ||
		    buf_puts(o, "\n    labels:\n      dev.keystone.environment: ") == -1 ||
		    yaml_str(o, d->env.uuid) == -1 ||
		    buf_puts(o, "\n      dev.keystone.service: ") == -1 ||
		    yaml_str(o, v->name) == -1 || buf_putc(o, '\n') == -1)
			return -1;
		if (v->command != NULL && v->command[0] != '\0' &&
		    (buf_puts(o, "    command: ") == -1 ||
		    yaml_str(o, v->command) == -1 || buf_putc(o, '\n') == -1))
			return -1;
		if (buf_puts(o, "    environment:\n      HOST: ") == -1 ||
		    yaml_str(o, svc_host(v, s)) == -1 ||
		    buf_puts(o, "\n      PORT: ") == -1 || yaml_str(o, port) == -1 ||
		    buf_putc(o, '\n') == -1)
			return -1;
		for (size_t k = 0; k < d->nvar; k++) {
			const struct dvar *x = &d->var[k];

			if (x->service_id != v->id)
				continue;
			if (x->value == NULL) {
				secrets = 1;
				continue;
			}
			if (buf_printf(o, "      %s: ", x->name) == -1 ||
			    yaml_str(o, x->value) == -1 || buf_putc(o, '\n') == -1)
				return -1;
		}
		if (secrets && buf_printf(o, "    env_file:\n      - "
		    "\"secrets-%s.env\"\n", v->name) == -1)
			return -1;
		for (size_t k = 0; k < d->nvol; k++) {
			const struct dvol *x = &d->vol[k];

			if (x->service_id != v->id)
				continue;
			if (!vols++ && buf_puts(o, "    volumes:\n") == -1)
				return -1;
			if (buf_printf(o, "      - type: volume\n        source: %s\n"
			    "        target: ", x->name) == -1 ||
			    yaml_str(o, x->mount_path) == -1 || buf_putc(o, '\n') == -1)
				return -1;
		}
		if (strcmp(v->health_kind, "command") == 0 &&
		    (buf_puts(o, "    healthcheck:\n      test: [\"CMD-SHELL\", ") == -1 ||
		    yaml_str(o, v->health_command) == -1 ||
		    buf_printf(o, "]\n      interval: %llds\n      timeout: %llds\n"
		    "      retries: 1000\n", v->health_interval_s,
		    v->health_timeout_s) == -1))
			return -1;
	}
	/* The host's network: Compose makes no network of its own. */
	if (buf_puts(o, "networks:\n  default:\n    external: true\n"
	    "    name: host\n") == -1)
		return -1;
	if (d->nvol > 0) {
		if (buf_puts(o, "volumes:\n") == -1)
			return -1;
		for (size_t k = 0; k < d->nvol; k++) {
			int	 seen = 0;

			for (size_t j = 0; j < k; j++)
				seen |= strcmp(d->vol[j].name, d->vol[k].name) == 0;
			if (!seen && buf_printf(o, "  %s: {}\n", d->vol[k].name) == -1)
				return -1;
		}
	}
	return 0;
}

/* The health gate's list for the step: one line per service,
 * "NAME KIND HOST PORT INTERVAL TIMEOUT PATH" (the path last: it has no
 * blank, checked at input). */
static int
gate_lines(struct buf *o, const struct dctx *d, const struct dserver *s)
{
	for (size_t i = 0; i < d->nsvc; i++) {
		const struct dsvc *v = &d->svc[i];
		const char *h = svc_host(v, s);

		if (strcmp(h, "0.0.0.0") == 0)
			h = "127.0.0.1";
		if (buf_printf(o, "%s %s %s %lld %lld %lld %s\n", v->name,
		    v->health_kind, h, v->port, v->health_interval_s,
		    v->health_timeout_s, v->health_path) == -1)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the plan */

struct then_deploy {
	int		 build;		/* the build's index, or -1 */
	int		 deploy;
	long long	 env, artifact;	/* artifact 0: the build's */
	const struct deploy_req *req;
};

static int
then_deploy(struct db *db, const struct plan *pl, void *arg)
{
	const struct then_deploy *t = arg;
	char		 id[24], env[24], art[24];
	struct row_id	 r;
	PGresult	*res;

	if (t->build >= 0 && build_then(db, plan_id(pl, t->build), t->env,
	    t->req->commit, t->req->rebuild) == -1)
		return -1;
	snprintf(id, sizeof(id), "%lld", plan_id(pl, t->deploy));
	snprintf(env, sizeof(env), "%lld", t->env);
	snprintf(art, sizeof(art), "%lld", t->artifact);
	{
		const char *p[] = { id, t->artifact > 0 ? art : NULL };
		if (row_get(db, &row_id_t, ST_DEPLOY_OP_SET, NP(p), p, &r) != 1)
			return -1;
	}
	{
		const char *p[] = { env, id };
		if ((res = db_exec(db, ST_DEPLOY_SUPERSEDE, NP(p), p)) == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

/* How server s signs in to the registry of d's artifact: the user (NULL:
 * the external override's, which the prelude gives), the name of the
 * operation's secret holding the password. */
static void
registry_of(const struct dserver *s, int external, const char **user,
    const char **secret)
{
	if (external) {
		*user = NULL;
		*secret = "REGISTRY_PASSWORD";
	} else if (s->role_build) {
		/* A build node keeps its build credential (it pulls too). */
		*user = REG_BUILD_USER;
		*secret = "BUILD_PASSWORD";
	} else {
		*user = REG_RUNTIME_USER;
		*secret = "REGISTRY_PASSWORD";
	}
}

/* The refusal for what d lacks (no service, no server, a server that is
 * not active), or NULL. */
static const char *
not_deployable(const struct dctx *d, const struct dart *a, char *m, size_t sz)
{
	size_t	 nsecret = 0;

	if (d->nsvc == 0)
		snprintf(m, sz, "The environment has no service: add one before "
		    "deploying.");
	else if (d->nsrv == 0)
		snprintf(m, sz, "The environment has no runtime server: choose "
		    "one before deploying.");
	else {
		for (size_t i = 0; i < d->nvar; i++)
			nsecret += d->var[i].value == NULL;
		if (nsecret > MAX_SECRET_VARS) {
			snprintf(m, sz, "The environment's services have %zu secret "
			    "variables; a deploy carries at most %d.", nsecret,
			    MAX_SECRET_VARS);
			return m;
		}
		for (size_t i = 0; i < d->nsrv; i++) {
			const struct dserver *s = &d->srv[i];

			if (strcmp(s->status, "active") != 0 || !s->pinned) {
				snprintf(m, sz, "The runtime server %s is not active "
				    "(%s): connect it first, or remove it from the "
				    "environment.", s->name, s->status);
				return m;
			}
			if (a != NULL && a->architecture != NULL && s->arch != NULL &&
			    strcmp(a->architecture, s->arch) != 0) {
				snprintf(m, sz, "The artifact is built for %s but the "
				    "runtime server %s is %s.", a->architecture,
				    s->name, s->arch);
				return m;
			}
		}
		return NULL;
	}
	return m;
}

/* The deploy operation's steps: one per runtime server, in one group. */
static int
deploy_steps(struct plan *pl, int op, const struct dctx *d, int external)
{
	struct buf	 compose, gates, names;
	char		 project[60], dir[200], keep[16], title[480];
	int		 rc = -1;

	buf_init(&compose);
	buf_init(&gates);
	buf_init(&names);
	deploy_project(project, sizeof(project), d->env.uuid);
	snprintf(dir, sizeof(dir), DEPLOY_DIR "/%s", project);
	snprintf(keep, sizeof(keep), "%lld", d->env.retention_count);
	/* The secret variables: KS_SV_n, each "service name" in SECRETS. */
	for (size_t k = 0, n = 0; k < d->nvar; k++) {
		const struct dvar *x = &d->var[k];
		const char *svc = "";

		if (x->value != NULL)
			continue;
		for (size_t i = 0; i < d->nsvc; i++)
			if (d->svc[i].id == x->service_id)
				svc = d->svc[i].name;
		if (buf_printf(&names, "KS_SV_%zu %s %s\n", ++n, svc, x->name) == -1)
			goto out;
	}
	for (size_t i = 0; i < d->nsrv; i++) {
		const struct dserver *s = &d->srv[i];
		struct op_step_in st;
		struct buf	 secrets;
		const char	*user, *pw;
		size_t		 n = 0;

		buf_reset(&compose);
		buf_reset(&gates);
		if (render(&compose, d, s) == -1 || gate_lines(&gates, d, s) == -1)
			goto out;
		registry_of(s, external, &user, &pw);
		buf_init(&secrets);
		if (buf_puts(&secrets, pw) == -1) {
			buf_release(&secrets);
			goto out;
		}
		for (size_t k = 0; k < d->nvar; k++)
			if (d->var[k].value == NULL &&
			    buf_printf(&secrets, " KS_SV_%zu", ++n) == -1) {
				buf_release(&secrets);
				goto out;
			}
		memset(&st, 0, sizeof(st));
		snprintf(title, sizeof(title), "Deploy to %s", s->name);
		st.name = title;
		st.target = "runtime_server";
		st.server_id = s->id;
		st.timeout_s = 1800;
		st.keep_going = 1;
		st.group = 1;
		/* A cancel lets a server's deploy end (its health gate, or
		 * the digest that ran before put back): stopped half-way, the
		 * old container is down and the new one unchecked. Servers
		 * not yet started are skipped. */
		st.finish = 1;
		st.reports = "deployed";
		st.secrets = plan_str(pl, buf_cstr(&secrets));
		buf_release(&secrets);
		if (plan_step(pl, op, &st) == NULL)
			goto out;
		plan_var(pl, "NODE", s->name);
		plan_var(pl, "ENV_UUID", d->env.uuid);
		plan_var(pl, "PROJECT", project);
		plan_var(pl, "DIR", dir);
		plan_var(pl, "COMPOSE", buf_cstr(&compose));
		plan_var(pl, "GATES", buf_cstr(&gates));
		plan_var(pl, "SECRETS", names.len > 0 ? buf_cstr(&names) : "");
		plan_var(pl, "KEEP", keep);
		plan_var(pl, "CFG", REG_NODE_DOCKER_CFG);
		plan_var(pl, "DOCKER_USER", "");
		/* The registry's host and user come with the image (the
		 * prelude): REG_HOST, REG_USER_EXTERNAL. */
		plan_var(pl, "REG_USER_MANAGED", user != NULL ? user : "");
		/* Docker auth through the registry auth's own script
		 * (lib/scripts/auth_login.sh): run only when missing or
		 * changed; a build node signs in with its build credential. */
		plan_text(pl, "[ -n \"${IMAGE:-}\" ] || { echo 'no artifact to deploy: "
		    "the build it waited for made none'; exit 1; }\n"
		    "HOST=$REG_HOST\nREG_USER=${REG_USER_MANAGED:-$REG_USER_EXTERNAL}\n"
		    "[ -z \"${BUILD_PASSWORD:-}\" ] || REGISTRY_PASSWORD=$BUILD_PASSWORD\n");
		plan_text(pl, script_as_user);
		plan_text(pl, script_auth_login);
		plan_text(pl, script_deploy_server);
	}
	rc = 0;
out:
	buf_release(&compose);
	buf_release(&gates);
	buf_release(&names);
	return rc;
}

int
deploy_plan(struct db *db, const struct config *cfg, const struct keys *k,
    const struct deploy_req *req, char uuid[40], char *err, size_t errsz)
{
	struct dctx	 d;
	struct dart	 a;
	struct plan	*pl = NULL;
	struct build_into into;
	struct then_deploy t;
	struct op_in	 in;
	struct op_secret_ref refs[STEP_MAX_SECRETS];
	struct build_req breq;
	char		 refbuf[STEP_MAX_SECRETS][80], names[STEP_MAX_SECRETS][24];
	char		 gate[512];
	long long	*ids = NULL;
	size_t		 nref = 0;
	int		 rc = -1, found, op, external, have_art = 0;

	err[0] = '\0';
	uuid[0] = '\0';
	memset(&a, 0, sizeof(a));
	memset(&into, 0, sizeof(into));
	if ((found = load(db, req->env_uuid, &d)) != 1) {
		if (found == 0) {
			snprintf(err, errsz, "No such environment.");
			rc = 1;
		}
		goto out;
	}
	if (req->artifact_uuid != NULL) {
		const char *p[] = { req->artifact_uuid };

		if (valid_uuid(req->artifact_uuid) != NULL ||
		    (found = row_get(db, &dart_t, ST_DEPLOY_ARTIFACT, 1, p, &a)) == 0 ||
		    (found == 1 && a.environment_id != d.env.id)) {
			snprintf(err, errsz, "No such artifact in this environment.");
			rc = 1;
			goto out;
		}
		if (found == -1)
			goto out;
		have_art = 1;
		if (strcmp(a.status, "available") != 0) {
			snprintf(err, errsz, "The artifact is %s: only an available "
			    "one can be deployed.", a.status);
			rc = 1;
			goto out;
		}
	}
	if (not_deployable(&d, have_art ? &a : NULL, err, errsz) != NULL) {
		rc = 1;
		goto out;
	}
	/* The registry the image comes from, and the gate for the servers
	 * that pull it (the build's own gate is build_plan_into's). */
	{
		struct reg r;

		memset(&r, 0, sizeof(r));
		if (reg_load(db, &r) == -1)
			goto out;
		external = have_art ? r.hostname == NULL ||
		    strcmp(a.registry_host, r.hostname) != 0 :
		    strcmp(d.env.build_location, "external") == 0;
		reg_free(&r);
	}
	if (!external) {
		if ((ids = calloc(d.nsrv, sizeof(*ids))) == NULL)
			goto out;
		for (size_t i = 0; i < d.nsrv; i++)
			ids[i] = d.srv[i].id;
		if ((found = reg_gate(db, REG_GATE_NO_BUILD, ids, d.nsrv, gate,
		    sizeof(gate))) != 0) {
			if (found == 1)
				snprintf(err, errsz, "%s", gate);
			rc = found;
			goto out;
		}
	}
	if ((pl = plan_new()) == NULL)
		goto out;
	t.build = -1;
	t.artifact = have_art ? a.id : 0;
	if (!have_art) {
		memset(&breq, 0, sizeof(breq));
		breq.env_uuid = req->env_uuid;
		breq.commit = req->commit;
		breq.rebuild = req->rebuild;
		breq.user_id = req->user_id;
		into.reuse = 1;
		if ((rc = build_plan_into(pl, db, cfg, &breq, &into, err,
		    errsz)) != 0)
			goto out;
		rc = -1;
		t.build = into.op;
		t.artifact = into.built;
	}

	/* The deploy: every secret by reference (the spooler opens them). */
	memset(&in, 0, sizeof(in));
	in.kind = "deploy";
	in.subject_type = "environment";
	in.subject_id = d.env.id;
	in.environment_id = d.env.id;
	in.created_by = req->user_id;
	/* The credentials the servers sign in with: the override's, or the
	 * managed registry's runtime one and, for servers with the build
	 * role, its build one (each step gets its own by name). */
	if (external) {
		snprintf(refbuf[nref], sizeof(refbuf[nref]),
		    "environment/%lld/registry", d.env.id);
		snprintf(names[nref++], sizeof(names[0]), "REGISTRY_PASSWORD");
	} else {
		int runtime = 0, build = 0;

		for (size_t i = 0; i < d.nsrv; i++) {
			build |= d.srv[i].role_build;
			runtime |= !d.srv[i].role_build;
		}
		if (runtime) {
			snprintf(refbuf[nref], sizeof(refbuf[nref]),
			    "registry_credentials/runtime");
			snprintf(names[nref++], sizeof(names[0]), "REGISTRY_PASSWORD");
		}
		if (build) {
			snprintf(refbuf[nref], sizeof(refbuf[nref]),
			    "registry_credentials/build");
			snprintf(names[nref++], sizeof(names[0]), "BUILD_PASSWORD");
		}
	}
	for (size_t k2 = 0, n = 0; k2 < d.nvar; k2++) {
		if (d.var[k2].value != NULL)
			continue;
		snprintf(refbuf[nref], sizeof(refbuf[nref]), "service/%lld/var/%s",
		    d.var[k2].service_id, d.var[k2].name);
		snprintf(names[nref], sizeof(names[nref]), "KS_SV_%zu", ++n);
		nref++;
	}
	for (size_t i = 0; i < nref; i++) {
		refs[i].name = names[i];
		refs[i].ref = refbuf[i];
	}
	in.refs = refs;
	in.nrefs = nref;
	if ((op = plan_op(pl, &in)) == -1)
		goto out;
	if (t.build >= 0)
		plan_dep(pl, op, t.build, PLAN_NEEDS);
	if (deploy_steps(pl, op, &d, external) == -1)
		goto out;
	t.deploy = op;
	t.env = d.env.id;
	t.req = req;
	if (plan_commit_then(db, pl, k, then_deploy, &t) == -1)
		goto out;
	snprintf(uuid, 40, "%s", plan_uuid(pl, op));
	log_info("deploy %s of %s/%s queued (%s)", uuid, d.env.app_name,
	    d.env.name, t.build >= 0 ? "after its build" : "an artifact");
	rc = 0;
out:
	if (rc == -1)
		err[0] = '\0';
	free(ids);
	plan_free(pl);
	row_unfill(&dart_t, &a);
	dctx_free(&d);
	return rc;
}

int
deploy_plan_remove(struct db *db, const struct config *cfg,
    const struct keys *k, const struct deploy_remove *rq, char uuid[40],
    char *err, size_t errsz)
{
	struct dctx	 d;
	struct plan	*pl = NULL;
	struct op_in	 in;
	char		 project[60], dir[200], title[480];
	size_t		 n = 0;
	int		 rc = -1, found, op;

	(void)cfg;
	err[0] = '\0';
	uuid[0] = '\0';
	if ((found = load(db, rq->env_uuid, &d)) != 1) {
		if (found == 0) {
			snprintf(err, errsz, "No such environment.");
			rc = 1;
		}
		goto out;
	}
	if (rq->server_uuid != NULL) {
		/* That server, whether the environment still has it or not. */
		const char *p[] = { rq->server_uuid };

		row_unfill_all(&dserver_t, d.srv, d.nsrv);
		d.srv = NULL;
		d.nsrv = 0;
		if (valid_uuid(rq->server_uuid) != NULL ||
		    row_all(db, &dserver_t, ST_DEPLOY_SERVER_ONE, 1, p,
		    (void **)&d.srv, &d.nsrv) == -1)
			goto out;
	}
	deploy_project(project, sizeof(project), d.env.uuid);
	snprintf(dir, sizeof(dir), DEPLOY_DIR "/%s", project);
	memset(&in, 0, sizeof(in));
	in.kind = "remove";
	/* An environment being deleted takes its operations with it: this
	 * one is of no environment then. */
	in.subject_type = rq->env_going ? "none" : "environment";
	in.subject_id = rq->env_going ? 0 : d.env.id;
	in.environment_id = rq->env_going ? 0 : d.env.id;
	in.created_by = rq->user_id;
	if ((pl = plan_new()) == NULL || (op = plan_op(pl, &in)) == -1)
		goto out;
	for (size_t i = 0; i < d.nsrv; i++) {
		const struct dserver *s = &d.srv[i];
		struct op_step_in st;

		memset(&st, 0, sizeof(st));
		snprintf(title, sizeof(title), "Remove from %s", s->name);
		st.name = title;
		st.target = "runtime_server";
		st.server_id = s->id;
		st.timeout_s = 600;
		st.keep_going = 1;
		st.group = 1;
		/* Stopped half-way, a server's service may be down while its
		 * directory and record still say it runs there. */
		st.finish = 1;
		st.idempotent = 1;
		st.secrets = "";
		st.reports = "deployed";
		if (plan_step(pl, op, &st) == NULL)
			goto out;
		plan_var(pl, "NODE", s->name);
		plan_var(pl, "ENV_UUID", d.env.uuid);
		plan_var(pl, "PROJECT", project);
		plan_var(pl, "DIR", dir);
		plan_var(pl, "VOLUMES", rq->volumes ? "1" : "0");
		plan_text(pl, script_deploy_remove);
		n++;
	}
	if (n == 0) {
		rc = 0;		/* nothing runs anywhere: nothing to remove */
		goto out;
	}
	if (plan_commit(db, pl, k) == -1)
		goto out;
	snprintf(uuid, 40, "%s", plan_uuid(pl, op));
	log_info("removal %s of %s/%s from %zu server(s) queued%s", uuid,
	    d.env.app_name, d.env.name, n, rq->volumes ? ", volumes too" : "");
	rc = 0;
out:
	if (rc == -1)
		err[0] = '\0';
	plan_free(pl);
	dctx_free(&d);
	return rc;
}

struct dapp_env {			/* ST_DEPLOY_APP_ENVS */
	char	*uuid;
};
static const struct col dapp_env_cols[] = { COL(dapp_env, uuid, C_STR) };
static const struct rowtype dapp_env_t = ROWTYPE(dapp_env, dapp_env_cols);

int
deploy_plan_remove_app(struct db *db, const struct config *cfg,
    const struct keys *k, const char *app_uuid, int volumes, long long user_id)
{
	struct dapp_env	*v = NULL;
	size_t		 n = 0;
	const char	*p[] = { app_uuid };
	char		 uuid[40], err[256];
	int		 rc = 0;

	if (valid_uuid(app_uuid) != NULL ||
	    row_all(db, &dapp_env_t, ST_DEPLOY_APP_ENVS, 1, p, (void **)&v, &n) == -1)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct deploy_remove rq = { v[i].uuid, NULL, volumes, 1, user_id };

		if (deploy_plan_remove(db, cfg, k, &rq, uuid, err, sizeof(err)) == -1)
			rc = -1;
	}
	row_unfill_all(&dapp_env_t, v, n);
	return rc;
}

int
deploy_has_volumes(struct db *db, const char *app_uuid, const char *env_uuid)
{
	struct row_n	 c;
	const char	*p[] = { app_uuid, env_uuid };

	if (valid_uuid(app_uuid) != NULL ||
	    (env_uuid != NULL && valid_uuid(env_uuid) != NULL) ||
	    row_get(db, &row_n_t, ST_DEPLOY_VOLUME_COUNT, NP(p), p, &c) != 1)
		return -1;
	return c.n > 0;
}

const char *
deploy_volumes_refused(int asked, const char *typed, const char *name)
{
	if (!asked)
		return NULL;
	/* A box can be ticked by accident; typing the name cannot. */
	if (typed == NULL || typed[0] == '\0')
		return "to delete the volumes, type the name to confirm";
	if (name == NULL || strcmp(typed, name) != 0)
		return "the name typed does not match, so the volumes were not "
		    "deleted";
	return NULL;
}

/* ------------------------------------------------------------ spooler */

struct dopart {				/* ST_DEPLOY_OP_ARTIFACT */
	long long	 id;
	char		*tag, *manifest_digest, *registry_host, *architecture;
	char		*status, *ext_user;
};
static const struct col dopart_cols[] = {
	COL(dopart, id, C_INT), COL(dopart, tag, C_STR),
	COL(dopart, manifest_digest, C_STR), COL(dopart, registry_host, C_STR),
	COL(dopart, architecture, C_STR), COL(dopart, status, C_STR),
	COL(dopart, ext_user, C_STR),
};
static const struct rowtype dopart_t = ROWTYPE(dopart, dopart_cols);

int
deploy_prelude(struct db *db, const struct op_claim *c, struct buf *out,
    char *err, size_t errsz)
{
	struct dopart	 a;
	char		 id[24], f[24], image[600];
	const char	*p[] = { id, f };
	const char	*colon;
	int		 rc = -1, found;

	if (strcmp(c->kind, "deploy") != 0)
		return 0;
	memset(&a, 0, sizeof(a));
	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	/* None (the build it waited for made none): its steps say so. */
	if ((found = row_get(db, &dopart_t, ST_DEPLOY_OP_ARTIFACT, 2, p, &a)) != 1) {
		rc = found == 0 ? 0 : -1;
		goto out;
	}
	if (a.manifest_digest == NULL || strcmp(a.status, "available") != 0) {
		snprintf(err, errsz, "the artifact to deploy is %s", a.status);
		goto out;
	}
	/* The repository of the tag (host/keystone/APP/ENV), at the digest. */
	colon = strrchr(a.tag, ':');
	if (colon == NULL || strchr(colon, '/') != NULL) {
		snprintf(err, errsz, "the artifact's tag %s is not HOST/PATH:TAG",
		    a.tag);
		goto out;
	}
	snprintf(image, sizeof(image), "%.*s@%s", (int)(colon - a.tag), a.tag,
	    a.manifest_digest);
	if (shq_assign(out, "IMAGE", image) == -1 ||
	    shq_assign(out, "REG_HOST", a.registry_host) == -1 ||
	    shq_assign(out, "ARCH", a.architecture ? a.architecture : "") == -1 ||
	    shq_assign(out, "REG_USER_EXTERNAL", a.ext_user ? a.ext_user : "") == -1)
		goto out;
	rc = 0;
out:
	row_unfill(&dopart_t, &a);
	return rc;
}


struct dstep {				/* ST_DEPLOY_STEP_OUT */
	char		*output, *error;
	long long	 server_id, environment_id, artifact_id;
};
static const struct col dstep_cols[] = {
	COL(dstep, output, C_STR), COL(dstep, error, C_STR),
	COL(dstep, server_id, C_INT), COL(dstep, environment_id, C_INT),
	COL(dstep, artifact_id, C_INT),
};
static const struct rowtype dstep_t = ROWTYPE(dstep, dstep_cols);

int
deploy_report(struct db *db, const struct op_claim *c, long long step_id,
    const char *what, int succeeded, char *err, size_t errsz)
{
	struct dstep	 s;
	char		 id[24], f[24], sid[24], digest[80], state[16], msg[400];
	const char	*p[3] = { id, f, sid };
	const char	*last;
	int		 rc = -1;

	(void)what;
	memset(&s, 0, sizeof(s));
	err[0] = '\0';
	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	snprintf(sid, sizeof(sid), "%lld", step_id);
	if (row_get(db, &dstep_t, ST_DEPLOY_STEP_OUT, 3, p, &s) != 1)
		goto out;
	digest[0] = '\0';
	if (op_report_value(s.output, "digest", digest, sizeof(digest)) == -1 ||
	    (digest[0] != '\0' && (strncmp(digest, "sha256:", 7) != 0 ||
	    strlen(digest) != 71)))
		digest[0] = '\0';
	if (s.environment_id == ROW_NULL) {
		rc = OP_REPORT_GO;	/* (the environment is being deleted) */
		goto out;
	}
	if (op_report_value(s.output, "state", state, sizeof(state)) == -1 ||
	    (strcmp(state, "running") != 0 && strcmp(state, "failed") != 0 &&
	    strcmp(state, "removed") != 0))
		snprintf(state, sizeof(state), succeeded ? "running" : "failed");
	if (succeeded && strcmp(state, "failed") == 0) {
		snprintf(err, errsz, "it reported state %s", state);
		goto out;
	}
	/* A failure's reason: its last line (what the script said). */
	msg[0] = '\0';
	if (!succeeded) {
		size_t	 n = strlen(s.output);

		while (n > 0 && (s.output[n - 1] == '\n' || s.output[n - 1] == ' '))
			n--;
		last = s.output + n;
		while (last > s.output && last[-1] != '\n')
			last--;
		snprintf(msg, sizeof(msg), "%.*s", (int)(s.output + n - last), last);
		if (msg[0] == '\0' && s.error != NULL)
			snprintf(msg, sizeof(msg), "%s", s.error);
	}
	{
		char env[24], srv[24], art[24];
		const char *q[] = { env, srv, digest[0] ? digest : NULL,
		    state, id, msg, s.artifact_id != ROW_NULL && succeeded ? art : NULL };
		PGresult *res;

		snprintf(env, sizeof(env), "%lld", s.environment_id);
		snprintf(srv, sizeof(srv), "%lld", s.server_id);
		snprintf(art, sizeof(art), "%lld", s.artifact_id);
		res = db_exec(db, ST_DEPLOY_RECORD, NP(q), q);
		rc = res != NULL ? OP_REPORT_GO : -1;
		PQclear(res);
	}
out:
	row_unfill(&dstep_t, &s);
	return rc;
}

/* Opens "service/ID/var/NAME" (sealed bound to that reference). */
struct dsealed {
	char	*sealed;
};
static const struct col dsealed_cols[] = { COL(dsealed, sealed, C_STR) };
static const struct rowtype dsealed_t = ROWTYPE(dsealed, dsealed_cols);

int
deploy_resolve_secret(struct db *db, const struct keys *k, const char *ref,
    struct buf *out)
{
	struct dsealed	 s;
	struct buf	 pt;
	char		 id[24], name[140], *end;
	long long	 n;
	int		 rc = -1;

	if (strncmp(ref, "service/", 8) != 0)
		return -1;
	n = strtoll(ref + 8, &end, 10);
	if (n <= 0 || strncmp(end, "/var/", 5) != 0 ||
	    strlen(end + 5) >= sizeof(name))
		return -1;
	snprintf(id, sizeof(id), "%lld", n);
	snprintf(name, sizeof(name), "%s", end + 5);
	memset(&s, 0, sizeof(s));
	buf_init(&pt);
	{
		const char *p[] = { id, name };
		if (row_get(db, &dsealed_t, ST_DEPLOY_VAR_SEALED, 2, p, &s) != 1 ||
		    s.sealed == NULL)
			goto out;
	}
	if (keys_open_b64(&pt, k, ref, s.sealed) == -1)
		goto out;
	/* One line (the env file's); the form refuses others. */
	if (memchr(pt.ptr, '\n', pt.len) == NULL && memchr(pt.ptr, '\r', pt.len) == NULL &&
	    memchr(pt.ptr, '\0', pt.len) == NULL)
		rc = buf_put(out, pt.ptr, pt.len);
out:
	if (pt.ptr != NULL)
		sodium_memzero(pt.ptr, pt.cap);
	buf_release(&pt);
	row_unfill(&dsealed_t, &s);
	return rc;
}
