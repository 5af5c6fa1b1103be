#include <sys/utsname.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "op.h"
#include "plan.h"
#include "reg.h"
#include "row.h"
#include "shq.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

#define DEF_STORAGE	"/home/keystone/registry/data"
#define DEF_LISTEN	"127.0.0.1:5000"
#define DEF_CONF_DIR	"/etc/keystone/registry"
#define DEF_IMAGE	"registry:2"
#define DEF_DOCKER_CFG	"/home/keystone/.docker"
#define NODE_USER	REG_NODE_USER
#define NODE_DOCKER_CFG	REG_NODE_DOCKER_CFG
#define KEYVER		1
#define MAX_STEPS	256
/* Servers one check covers (each takes up to three cells). */
#define MAX_NODES	((MAX_STEPS - 8) / 3)
#define MT_MANIFEST	"application/vnd.docker.distribution.manifest.v2+json"

/* The step scripts (lib/scripts/), embedded by the Makefile. */
extern const char script_reg_config[], script_reg_htpasswd[],
    script_reg_start[], script_reg_caddy[], script_auth_ca[],
    script_auth_login[], script_as_user[], script_chk_service[], script_chk_https[],
    script_chk_api[], script_chk_docker[], script_chk_disk[];

static const char *
dflt(const char *v, const char *d)
{
	return v != NULL && v[0] != '\0' ? v : d;
}

void
reg_settings(const struct config *cfg, const struct reg *row,
    struct reg_settings *out)
{
	out->hostname = dflt(row ? row->hostname : NULL, cfg->registry_host);
	if (out->hostname != NULL && out->hostname[0] == '\0')
		out->hostname = NULL;
	out->storage = dflt(row ? row->storage : NULL,
	    dflt(cfg->registry_storage, DEF_STORAGE));
	out->listen = dflt(row ? row->listen : NULL,
	    dflt(cfg->registry_listen, DEF_LISTEN));
	out->conf_dir = dflt(cfg->registry_conf_dir, DEF_CONF_DIR);
	out->image = dflt(cfg->registry_image, DEF_IMAGE);
	out->container = dflt(cfg->registry_container, REG_CONTAINER);
	out->docker_config = dflt(cfg->docker_config, DEF_DOCKER_CFG);
	out->ca_file = dflt(cfg->registry_ca_file, "");
}

static int
tls_internal(const struct config *cfg)
{
	return cfg->registry_tls != NULL && strcmp(cfg->registry_tls, "internal") == 0;
}

/* ------------------------------------------------------------ validation */

/* host[:port], lower case: what image references and Caddy both accept. */
static int
hostname_ok(const char *h)
{
	size_t	 n = strcspn(h, ":");

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-' || h[n - 1] == '.' ||
	    h[n - 1] == '-' || strstr(h, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') ||
		    h[i] == '.' || h[i] == '-'))
			return 0;
	if (h[n] == ':') {
		char *end;
		long p = strtol(h + n + 1, &end, 10);
		if (h[n + 1] < '1' || h[n + 1] > '9' || *end != '\0' || p > 65535)
			return 0;
	}
	return 1;
}

/* Paths go into a Caddyfile, YAML and docker -v: a plain charset only. */
static int
path_ok(const char *p)
{
	if (p[0] != '/' || strlen(p) > 400 || strstr(p, "/../") != NULL ||
	    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
		return 0;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._/+-", *p) != NULL))
			return 0;
	return 1;
}

static int
listen_ok(const char *l)
{
	unsigned a, b, c, port;
	char	 tail;

	return sscanf(l, "127.%u.%u.%u:%u%c", &a, &b, &c, &port, &tail) == 4 &&
	    a < 256 && b < 256 && c < 256 && port > 0 && port < 65536;
}

/* ------------------------------------------------------------ the row */

static const struct col reg_cols[] = {
	COL(reg, hostname, C_STR), COL(reg, storage, C_STR),
	COL(reg, listen, C_STR), COL(reg, insecure, C_BOOL),
	COL(reg, pull_only, C_BOOL), COL(reg, state, C_STR),
	COL(reg, reason, C_STR),
};
static const struct rowtype reg_t = ROWTYPE(reg, reg_cols);

void
reg_free(struct reg *r)
{
	row_unfill(&reg_t, r);
}

int
reg_load(struct db *db, struct reg *r)
{
	int	 found;

	if ((found = row_get(db, &reg_t, ST_REG_GET, 0, NULL, r)) == 0 &&
	    (r->state = strdup("missing")) == NULL)
		return -1;
	return found;
}

static void
cred_ad(char *out, size_t sz, const char *role, const char *user, int keyver)
{
	snprintf(out, sz, "registry_credentials:%s:%s:v%d", role, user, keyver);
}

/* Makes role's credential unless it exists: 256 random bits, sealed. */
static int
cred_make(struct db *db, const struct keys *k, const char *role,
    const char *user)
{
	char		 pw[64], ad[128], kv[12], *sealed = NULL;
	PGresult	*res = NULL;
	int		 rc = -1;

	sec_random_b64(pw, sizeof(pw), 32);
	cred_ad(ad, sizeof(ad), role, user, KEYVER);
	snprintf(kv, sizeof(kv), "%d", KEYVER);
	if (keys_seal_b64(&sealed, k, ad, pw, strlen(pw)) == -1)
		goto out;
	{
		const char *p[] = { role, user, sealed, kv };
		if ((res = db_exec(db, ST_REG_CRED_INSERT, NP(p), p)) == NULL)
			goto out;
	}
	rc = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	PQclear(res);
	free(sealed);
	return rc;
}

int
reg_setup(struct db *db, const struct config *cfg,
    const struct keys *k, const char *hostname, const char *storage,
    char *err, size_t errsz)
{
	struct reg_settings s;
	const char	*host, *store;
	PGresult	*res = NULL;
	int		 rc = -1;

	err[0] = '\0';
	/* A new row takes what is given, else the configuration's. */
	reg_settings(cfg, NULL, &s);
	host = dflt(hostname, s.hostname);
	store = dflt(storage, s.storage);
	if (host == NULL) {
		snprintf(err, errsz, "Set the registry's hostname first (registry_host "
		    "in the configuration, or below).");
		return -1;
	}
	if (!hostname_ok(host)) {
		snprintf(err, errsz, "The hostname must be a lower-case DNS name, "
		    "optionally with :port.");
		return -1;
	}
	if (!path_ok(store)) {
		snprintf(err, errsz, "The storage path must be absolute and use "
		    "letters, digits and ._/+- only.");
		return -1;
	}
	if (!listen_ok(s.listen) || !path_ok(s.conf_dir)) {
		snprintf(err, errsz, "registry_listen must be 127.x.y.z:port and "
		    "registry_conf_dir a plain absolute path.");
		return -1;
	}
	if (db_tx_begin(db) == -1)
		return -1;
	{
		const char *p[] = { host, store, s.listen };
		if ((res = db_exec(db, ST_REG_INSERT, NP(p), p)) == NULL)
			goto out;
		PQclear(res);
		res = NULL;
	}
	if (hostname != NULL || storage != NULL) {
		const char *p[] = { host, store };
		if ((res = db_exec(db, ST_REG_SETTINGS, NP(p), p)) == NULL)
			goto out;
	}
	if (cred_make(db, k, "build", REG_BUILD_USER) == -1 ||
	    cred_make(db, k, "runtime", REG_RUNTIME_USER) == -1)
		goto out;
	rc = db_tx_commit(db);
out:
	PQclear(res);
	if (rc == -1)
		db_tx_rollback(db);
	return rc;
}

/* A stored credential: sealed (keys_seal_b64), opened only by
 * reg_credential(). */
struct cred_row {
	char		*username, *sealed;
	long long	 key_version;
};
static const struct col cred_cols[] = {
	COL(cred_row, username, C_STR), COL(cred_row, sealed, C_STR),
	COL(cred_row, key_version, C_INT),
};
static const struct rowtype cred_t = ROWTYPE(cred_row, cred_cols);

int
reg_credential(struct db *db, const struct keys *k, const char *role,
    char *user, size_t usersz, char *pw, size_t pwsz)
{
	const char	*p[] = { role };
	struct cred_row	 c;
	struct buf	 pt;
	char		 ad[128];
	int		 rc = -1;

	buf_init(&pt);
	if (row_get(db, &cred_t, ST_REG_CRED_GET, NP(p), p, &c) != 1)
		goto out;
	cred_ad(ad, sizeof(ad), role, c.username, (int)c.key_version);
	if (keys_open_b64(&pt, k, ad, c.sealed) == -1) {
		log_warnx("registry: the %s credential does not open%s", role,
		    k->can_open ? "" : " (this program holds no opening key)");
		goto out;
	}
	if (pt.len + 1 > pwsz || strlen(c.username) + 1 > usersz)
		goto out;
	memcpy(pw, pt.ptr, pt.len + 1);
	snprintf(user, usersz, "%s", c.username);
	rc = 0;
out:
	if (pt.ptr != NULL)
		sodium_memzero(pt.ptr, pt.cap);
	buf_release(&pt);
	row_unfill(&cred_t, &c);
	return rc;
}

int
reg_resolve_secret(struct db *db, const struct keys *k, const char *ref,
    struct buf *out)
{
	char		 user[64], pw[128];
	const char	*role;
	int		 rc = -1;

	if (strcmp(ref, "registry_credentials/build") == 0)
		role = "build";
	else if (strcmp(ref, "registry_credentials/runtime") == 0)
		role = "runtime";
	else
		return -1;
	if (reg_credential(db, k, role, user, sizeof(user), pw, sizeof(pw)) == 0)
		rc = buf_puts(out, pw);
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

/* ------------------------------------------------------------ plans */

/* Each step's script is `NAME='value'` lines (every value through shq,
 * plan_var()) followed by one fixed text from lib/scripts/. */

/* Starts a step of op; server 0 runs it on the control node. check, when
 * not NULL, makes it a cell of the health matrix (a failed cell does not
 * stop the others). secrets: the operation's secrets it gets. */
static void
add_step(struct plan *pl, int op, const char *name, long long server,
    long timeout_s, const char *secrets, const char *check)
{
	struct op_step_in s;
	char		 node[32];

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.target = server ? "specific_server" : "control_node";
	s.server_id = server;
	s.idempotent = 1;
	s.timeout_s = timeout_s;
	s.secrets = secrets;
	if (check != NULL) {
		if (server)
			snprintf(node, sizeof(node), "server:%lld", server);
		else
			snprintf(node, sizeof(node), "control");
		s.check_node = node;
		s.check_name = check;
		s.keep_going = 1;
	}
	(void)plan_step(pl, op, &s);
}

/* The credentials by reference: the spooler opens them. */
static const struct op_secret_ref both_refs[] = {
	{ "BUILD_PASSWORD", "registry_credentials/build" },
	{ "RUNTIME_PASSWORD", "registry_credentials/runtime" },
};

/* Adds an operation of kind on the registry holding both credentials (its
 * steps name the ones each of them gets). */
static int
op_with_both(struct plan *pl, const char *kind, long long user_id)
{
	struct op_in	 in;

	memset(&in, 0, sizeof(in));
	in.kind = kind;
	in.subject_type = "registry";
	in.subject_id = 1;
	in.created_by = user_id;
	in.refs = both_refs;
	in.nrefs = 2;
	return plan_op(pl, &in);
}

/* A health check comes after the registry's operations in flight, however
 * they end: its matrix shows the state they leave. */
static int
after_active(struct db *db, struct plan *pl, int op)
{
	struct row_id	*v;
	size_t		 n;

	if (row_all(db, &row_id_t, ST_REG_ACTIVE, 0, NULL, (void **)&v, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		plan_dep_id(pl, op, v[i].id, PLAN_AFTER);
	row_unfill_all(&row_id_t, v, n);
	return 0;
}

/* The registry's settings, or a message when it is not set up. On -1 r
 * is freed already. */
static int
need_registry(struct db *db, struct reg *r, char *err, size_t errsz)
{
	int	 found = reg_load(db, r);

	if (found == 1 && !r->insecure)
		return 0;
	if (found == 0)
		snprintf(err, errsz, "The managed registry is not set up yet.");
	else if (found == 1)
		snprintf(err, errsz, "Plain-HTTP registries (local development, "
		    "insecure) are not supported by this version.");
	reg_free(r);
	return -1;
}

/* The CA the nodes must trust (tls internal), read now: it is public. */
static char *
ca_pem(const struct config *cfg, char *err, size_t errsz)
{
	FILE	*f;
	char	*s;
	size_t	 n;

	if (cfg->registry_ca_file == NULL) {
		snprintf(err, errsz, "registry_tls is internal but registry_ca_file is not set.");
		return NULL;
	}
	if ((f = fopen(cfg->registry_ca_file, "r")) == NULL) {
		snprintf(err, errsz, "The registry's CA certificate (%s) cannot be read.",
		    cfg->registry_ca_file);
		return NULL;
	}
	s = calloc(1, 16384);
	n = s != NULL ? fread(s, 1, 16383, f) : 0;
	fclose(f);
	if (s == NULL || n == 0 || n == 16383 ||
	    strstr(s, "-----BEGIN CERTIFICATE-----") == NULL) {
		snprintf(err, errsz, "%s does not hold a PEM certificate.",
		    cfg->registry_ca_file);
		free(s);
		return NULL;
	}
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void
site_text(struct buf *b, const struct config *cfg, const struct reg *r)
{
	struct reg_settings s;

	reg_settings(cfg, r, &s);
	(void)buf_printf(b, "# Written by Keystone (managed registry). Edits are "
	    "overwritten.\nhttps://%s {\n", r->hostname);
	if (tls_internal(cfg))
		(void)buf_puts(b, "\ttls internal\n");
	(void)buf_printf(b,
	    "\t# Image layers can be large; uploads can take long.\n"
	    "\trequest_body {\n\t\tmax_size 20GB\n\t}\n"
	    "\troute {\n"
	    "\t\tbasicauth {\n\t\t\timport %s/caddy-users\n\t\t}\n",
	    s.conf_dir);
	if (r->pull_only)
		(void)buf_printf(b,
		    "\t\t# The runtime credential is pull-only: GET and HEAD.\n"
		    "\t\t@pull_only expression `{http.auth.user.id} == \"%s\" && "
		    "!({method} in [\"GET\", \"HEAD\"])`\n"
		    "\t\theader @pull_only Content-Type application/json\n"
		    "\t\trespond @pull_only `{\"errors\":[{\"code\":\"DENIED\","
		    "\"message\":\"the runtime credential is pull-only\"}]}` 403\n",
		    REG_RUNTIME_USER);
	(void)buf_printf(b,
	    "\t\treverse_proxy %s {\n"
	    "\t\t\tflush_interval -1\n"
	    "\t\t\ttransport http {\n"
	    "\t\t\t\tdial_timeout 10s\n"
	    "\t\t\t\tresponse_header_timeout 10m\n"
	    "\t\t\t\tread_timeout 30m\n"
	    "\t\t\t\twrite_timeout 30m\n"
	    "\t\t\t}\n\t\t}\n\t}\n}",
	    r->listen);
}

/* The Docker auth steps for one node (server 0: the control node). */
static void
plan_auth_steps(struct plan *pl, int op, const struct config *cfg,
    const struct reg *r, long long server, const char *ca, const char *user)
{
	struct reg_settings s;
	char		 cfgdir[600];

	reg_settings(cfg, r, &s);
	if (ca != NULL) {
		add_step(pl, op, "Trust the registry's certificate", server, 120, "",
		    NULL);
		plan_var(pl, "HOST", r->hostname);
		plan_var(pl, "CA_PEM", ca);
		plan_text(pl, script_auth_ca);
	}
	snprintf(cfgdir, sizeof(cfgdir), "%s", server ? NODE_DOCKER_CFG :
	    s.docker_config);
	/* The operation holds one credential (build or runtime) under this
	 * name. */
	add_step(pl, op, "Log Docker in to the registry", server, 300,
	    "REGISTRY_PASSWORD", NULL);
	plan_var(pl, "HOST", r->hostname);
	plan_var(pl, "REG_USER", user);
	plan_var(pl, "DOCKER_USER", server ? NODE_USER : "");
	plan_var(pl, "CFG", cfgdir);
	plan_text(pl, script_as_user);
	plan_text(pl, script_auth_login);
}

/* A server that takes part (pinned host key, not disabled, a role). */
struct node {
	long long	 id;
	char		*name;
	int		 role_build, role_runtime;
};
struct nodes {
	struct node	*v;
	size_t		 n;
};
static const struct col node_cols[] = {
	COL(node, id, C_INT), COL(node, name, C_STR),
	COL(node, role_build, C_BOOL), COL(node, role_runtime, C_BOOL),
};
static const struct rowtype node_t = ROWTYPE(node, node_cols);

static void
nodes_free(struct nodes *l)
{
	row_unfill_all(&node_t, l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/* The servers that take part (only that one unless only is 0), at most
 * max of them. l is set on every return: nodes_free() it. */
static int
load_nodes(struct db *db, long long only, size_t max, struct nodes *l)
{
	char		 ids[24];
	const char	*p[] = { ids };

	snprintf(ids, sizeof(ids), "%lld", only);
	if (row_all(db, &node_t, ST_REG_NODES, NP(p), p, (void **)&l->v,
	    &l->n) == -1)
		return -1;
	if (l->n > max) {
		log_warnx("registry: %zu servers, only the first %zu are covered by "
		    "one operation", l->n, max);
		while (l->n > max)
			row_unfill(&node_t, &l->v[--l->n]);
	}
	return 0;
}

/* Adds the auth operation of a node, its credential by reference. */
static int
auth_op(struct plan *pl, const struct config *cfg, const struct reg *r,
    const char *ca, long long server, int build, long long user_id)
{
	struct op_in	 in;
	struct op_secret_ref ref;
	int		 op;

	memset(&in, 0, sizeof(in));
	in.kind = "registry_auth";
	in.subject_type = server ? "server" : "registry";
	in.subject_id = server ? server : 1;
	in.created_by = user_id;
	ref.name = "REGISTRY_PASSWORD";
	ref.ref = build ? both_refs[0].ref : both_refs[1].ref;
	in.refs = &ref;
	in.nrefs = 1;
	if ((op = plan_op(pl, &in)) != -1)
		plan_auth_steps(pl, op, cfg, r, server, ca, build ? REG_BUILD_USER :
		    REG_RUNTIME_USER);
	return op;
}

int
reg_plan_auth_into(struct plan *pl, struct db *db, const struct config *cfg,
    long long server_id, long long user_id, int after, char *err,
    size_t errsz)
{
	struct reg	 r;
	struct nodes	 nd = { NULL, 0 };
	char		*ca = NULL;
	int		 op = -1, build = 1;

	err[0] = '\0';
	if (need_registry(db, &r, err, errsz) == -1)
		return -1;
	if (tls_internal(cfg) && (ca = ca_pem(cfg, err, errsz)) == NULL)
		goto out;
	if (server_id) {
		if (load_nodes(db, server_id, 1, &nd) == -1)
			goto out;
		if (nd.n == 0) {
			snprintf(err, errsz, "That server has no pinned host key or no role.");
			goto out;
		}
		build = nd.v[0].role_build;
	}
	if ((op = auth_op(pl, cfg, &r, ca, server_id, build, user_id)) != -1 &&
	    after >= 0)
		plan_dep(pl, op, after, PLAN_NEEDS);
out:
	nodes_free(&nd);
	reg_free(&r);
	free(ca);
	return op;
}

/* Commits pl and writes the uuid of its first operation. */
static int
commit(struct db *db, struct plan *pl, const struct keys *k, char uuid[40])
{
	if (plan_commit(db, pl, k) == -1)
		return -1;
	snprintf(uuid, 40, "%s", plan_uuid(pl, 0));
	return 0;
}

int
reg_plan_auth(struct db *db, const struct config *cfg,
    const struct keys *k, long long server_id,
    long long user_id, long long depends_on, char uuid[40], char *err,
    size_t errsz)
{
	struct plan	*pl;
	int		 op, rc = -1;

	err[0] = '\0';
	if ((pl = plan_new()) == NULL)
		return -1;
	if ((op = reg_plan_auth_into(pl, db, cfg, server_id, user_id, -1, err,
	    errsz)) == -1)
		goto out;
	if (depends_on > 0)
		plan_dep_id(pl, op, depends_on, PLAN_NEEDS);
	rc = commit(db, pl, k, uuid);
out:
	plan_free(pl);
	return rc;
}

/* Docker auth on every node, each its own operation, each needing op
 * when op >= 0. The control node is always a build node (the default
 * one), servers with the build role are too. */
static void
auth_all(struct plan *pl, const struct config *cfg, const struct reg *r,
    const char *ca, const struct nodes *l, long long user_id, int op)
{
	int	 a;

	if ((a = auth_op(pl, cfg, r, ca, 0, 1, user_id)) != -1 && op >= 0)
		plan_dep(pl, a, op, PLAN_NEEDS);
	for (size_t i = 0; i < l->n; i++)
		if ((a = auth_op(pl, cfg, r, ca, l->v[i].id, l->v[i].role_build,
		    user_id)) != -1 && op >= 0)
			plan_dep(pl, a, op, PLAN_NEEDS);
}

int
reg_plan_auth_all(struct db *db, const struct config *cfg,
    const struct keys *k, long long user_id, char uuid[40], char *err,
    size_t errsz)
{
	struct reg	 r;
	struct nodes	 nodes = { NULL, 0 };
	struct plan	*pl = NULL;
	char		*ca = NULL;
	int		 rc = -1;

	err[0] = '\0';
	if (need_registry(db, &r, err, errsz) == -1)
		return -1;
	if (tls_internal(cfg) && (ca = ca_pem(cfg, err, errsz)) == NULL)
		goto out;
	if (load_nodes(db, 0, MAX_NODES, &nodes) == -1 ||
	    (pl = plan_new()) == NULL)
		goto out;
	auth_all(pl, cfg, &r, ca, &nodes, user_id, -1);
	rc = commit(db, pl, k, uuid);
out:
	plan_free(pl);
	nodes_free(&nodes);
	reg_free(&r);
	free(ca);
	return rc;
}

/* ------------------------------------------------------------ the probe */

/* gzip of an empty tar archive (1,024 zero bytes), made once with a fixed
 * header (no name, no time): the probe image's only layer. */
static const unsigned char probe_layer[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60,
	0x18, 0x05, 0xa3, 0x60, 0x14, 0x8c, 0x54, 0x00, 0x00, 0x2e, 0xaf, 0xb5,
	0xef, 0x00, 0x04, 0x00, 0x00
};

struct probe {
	char	 layer_fmt[sizeof(probe_layer) * 4 + 1];	/* printf \NNN */
	char	 layer_digest[72];
	char	 config[512];
	char	 config_digest[72];
	char	 manifest[1024];
	char	 digest[72];
};

static void
digest_of(char out[72], const void *p, size_t n)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		 hex[crypto_hash_sha256_BYTES * 2 + 1];

	crypto_hash_sha256(h, p, n);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, 72, "sha256:%s", hex);
}

static void
probe_make(struct probe *pr)
{
	static const unsigned char zeros[1024];
	struct utsname	 u;
	const char	*arch = "amd64";
	char		 diff[72];

	if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
		arch = "arm64";
	for (size_t i = 0; i < sizeof(probe_layer); i++)
		snprintf(pr->layer_fmt + 4 * i, 5, "\\%03o", probe_layer[i]);
	digest_of(pr->layer_digest, probe_layer, sizeof(probe_layer));
	digest_of(diff, zeros, sizeof(zeros));
	snprintf(pr->config, sizeof(pr->config),
	    "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{},"
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", arch, diff);
	digest_of(pr->config_digest, pr->config, strlen(pr->config));
	snprintf(pr->manifest, sizeof(pr->manifest),
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
	    "\"size\":%zu,\"digest\":\"%s\"},"
	    "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
	    "\"size\":%zu,\"digest\":\"%s\"}]}",
	    strlen(pr->config), pr->config_digest, sizeof(probe_layer),
	    pr->layer_digest);
	digest_of(pr->digest, pr->manifest, strlen(pr->manifest));
}

/* ------------------------------------------------------------ check */

static void
plan_api_cell(struct plan *pl, int op, const struct config *cfg,
    const struct reg *r, const struct probe *pr, const char *mode,
    const char *title)
{
	struct reg_settings s;
	int	 push = strcmp(mode, "push") == 0;

	reg_settings(cfg, r, &s);
	add_step(pl, op, title, 0, 120, push ? "BUILD_PASSWORD" :
	    "RUNTIME_PASSWORD", push ? "push_api" : strcmp(mode, "pull") == 0 ?
	    "pull_api" : "refused");
	plan_var(pl, "MODE", mode);
	plan_var(pl, "HOST", r->hostname);
	plan_var(pl, "CA_FILE", tls_internal(cfg) ? s.ca_file : "");
	plan_var(pl, "REPO", REG_PROBE_REPO);
	plan_var(pl, "TAG", "probe");
	plan_var(pl, "USERNAME", push ? REG_BUILD_USER : REG_RUNTIME_USER);
	plan_var(pl, "LAYER_FMT", pr->layer_fmt);
	plan_var(pl, "LAYER_DIGEST", pr->layer_digest);
	plan_var(pl, "CONFIG_JSON", pr->config);
	plan_var(pl, "CONFIG_DIGEST", pr->config_digest);
	plan_var(pl, "MANIFEST", pr->manifest);
	plan_var(pl, "MANIFEST_DIGEST", pr->digest);
	plan_var(pl, "MT", MT_MANIFEST);
	plan_text(pl, script_chk_api);
}

static void
plan_docker_cell(struct plan *pl, int op, const struct config *cfg,
    const struct reg *r, const struct probe *pr, long long server,
    const char *name, int push)
{
	struct reg_settings s;
	char	 title[200];

	reg_settings(cfg, r, &s);
	snprintf(title, sizeof(title), "%s: Docker %s with its credential", name,
	    push ? "pushes" : "pulls");
	add_step(pl, op, title, server, 300, "", push ? "push" : "pull");
	plan_var(pl, "MODE", push ? "push" : "pull");
	plan_var(pl, "HOST", r->hostname);
	plan_var(pl, "REPO", REG_PROBE_REPO);
	plan_var(pl, "MANIFEST_DIGEST", pr->digest);
	plan_var(pl, "TAG", "push-check");
	plan_var(pl, "DOCKER_USER", server ? NODE_USER : "");
	plan_var(pl, "CFG", server ? NODE_DOCKER_CFG : s.docker_config);
	plan_text(pl, script_as_user);
	plan_text(pl, script_chk_docker);
}

static void
plan_https_cell(struct plan *pl, int op, const struct config *cfg,
    const struct reg *r, long long server, const char *name)
{
	struct reg_settings s;
	char	 title[200];

	reg_settings(cfg, r, &s);
	snprintf(title, sizeof(title), "%s: registry URL over HTTPS", name);
	add_step(pl, op, title, server, 60, "", "https");
	plan_var(pl, "HOST", r->hostname);
	plan_var(pl, "CA_FILE", server == 0 && tls_internal(cfg) ? s.ca_file : "");
	plan_text(pl, script_chk_https);
}

/* Adds the health check (a cell per step) of the control node and nodes;
 * its index. */
static int
check_op(struct plan *pl, const struct config *cfg, const struct reg *r,
    const struct nodes *l, long long user_id)
{
	struct reg_settings s;
	struct probe	 pr;
	size_t		 i;
	int		 op;

	if ((op = op_with_both(pl, "check", user_id)) == -1)
		return -1;
	reg_settings(cfg, r, &s);
	probe_make(&pr);

	add_step(pl, op, "control node: registry service running", 0, 60, "",
	    "service");
	plan_var(pl, "NAME", s.container);
	plan_var(pl, "LISTEN", r->listen);
	plan_text(pl, script_chk_service);
	plan_https_cell(pl, op, cfg, r, 0, "control node");
	plan_api_cell(pl, op, cfg, r, &pr, "push",
	    "control node: build credential pushes a test manifest");
	plan_api_cell(pl, op, cfg, r, &pr, "pull",
	    "control node: runtime credential pulls it");
	if (r->pull_only)
		plan_api_cell(pl, op, cfg, r, &pr, "refused",
		    "control node: runtime credential's push is refused");
	add_step(pl, op, "control node: storage disk usage", 0, 120, "", "disk");
	plan_var(pl, "STORAGE", r->storage);
	plan_text(pl, script_chk_disk);
	/* The control node is always a build node (the default one). */
	plan_docker_cell(pl, op, cfg, r, &pr, 0, "control node", 1);
	for (i = 0; i < l->n; i++) {
		const struct node *nd = &l->v[i];

		plan_https_cell(pl, op, cfg, r, nd->id, nd->name);
		if (nd->role_build)
			plan_docker_cell(pl, op, cfg, r, &pr, nd->id, nd->name, 1);
		if (nd->role_runtime)
			plan_docker_cell(pl, op, cfg, r, &pr, nd->id, nd->name, 0);
	}
	return op;
}

int
reg_plan_check(struct db *db, const struct config *cfg,
    const struct keys *k, long long user_id, char uuid[40],
    char *err, size_t errsz)
{
	struct reg	 r;
	struct plan	*pl = NULL;
	struct nodes	 nodes = { NULL, 0 };
	int		 op, rc = -1;

	err[0] = '\0';
	if (need_registry(db, &r, err, errsz) == -1)
		return -1;
	if (load_nodes(db, 0, MAX_NODES, &nodes) == -1 ||
	    (pl = plan_new()) == NULL)
		goto out;
	if ((op = check_op(pl, cfg, &r, &nodes, user_id)) == -1 ||
	    after_active(db, pl, op) == -1)
		goto out;
	rc = commit(db, pl, k, uuid);
out:
	plan_free(pl);
	nodes_free(&nodes);
	reg_free(&r);
	return rc;
}

/* ------------------------------------------------------------ provision */

/* The registry itself: configuration, htpasswd, container, Caddy site. */
static int
registry_op(struct plan *pl, const struct config *cfg, const struct reg *r,
    const struct buf *site, long long user_id)
{
	struct reg_settings s;
	const char	*conf;
	int		 op;

	if ((op = op_with_both(pl, "registry", user_id)) == -1)
		return -1;
	reg_settings(cfg, r, &s);
	conf = s.conf_dir;
	add_step(pl, op, "Write the registry's configuration", 0, 60, "", NULL);
	plan_var(pl, "CONF_DIR", conf);
	plan_var(pl, "STORAGE", r->storage);
	plan_var(pl, "LISTEN", r->listen);
	plan_text(pl, script_reg_config);
	add_step(pl, op, "Write the credentials' bcrypt hashes", 0, 120,
	    "BUILD_PASSWORD RUNTIME_PASSWORD", NULL);
	plan_var(pl, "CONF_DIR", conf);
	plan_var(pl, "BUILD_USER", REG_BUILD_USER);
	plan_var(pl, "RUNTIME_USER", REG_RUNTIME_USER);
	plan_text(pl, script_reg_htpasswd);
	add_step(pl, op, "Start the registry container", 0, 900, "", NULL);
	plan_var(pl, "NAME", s.container);
	plan_var(pl, "IMAGE", s.image);
	plan_var(pl, "CONF_DIR", conf);
	plan_var(pl, "STORAGE", r->storage);
	plan_var(pl, "LISTEN", r->listen);
	plan_text(pl, script_reg_start);
	add_step(pl, op, "Serve the registry over HTTPS through Caddy", 0, 120, "",
	    NULL);
	plan_var(pl, "SITES_DIR", cfg->caddy_sites_dir);
	plan_var(pl, "CADDYFILE", cfg->caddyfile);
	plan_var(pl, "CADDY_ADMIN", cfg->caddy_admin_socket);
	plan_var(pl, "SITE", buf_cstr(site));
	plan_var(pl, "CONF_DIR", conf);
	plan_var(pl, "HOST", r->hostname);
	plan_var(pl, "CA_FILE", tls_internal(cfg) ? s.ca_file : "");
	plan_text(pl, script_reg_caddy);
	return op;
}

int
reg_plan_provision(struct db *db, const struct config *cfg,
    const struct keys *k, long long user_id, char uuid[40],
    char *err, size_t errsz)
{
	struct reg	 r;
	struct plan	*pl = NULL;
	struct nodes	 nodes = { NULL, 0 };
	struct buf	 site;
	char		*ca = NULL;
	size_t		 first;
	int		 rc = -1, rop, chk;

	err[0] = '\0';
	memset(&r, 0, sizeof(r));
	buf_init(&site);
	/* The settings row and the credentials (their own transaction: what
	 * `registry setup` makes, and made once; they queue nothing). */
	if (reg_setup(db, cfg, k, NULL, NULL, err, errsz) == -1 ||
	    need_registry(db, &r, err, errsz) == -1)
		goto out;
	if (tls_internal(cfg) && (ca = ca_pem(cfg, err, errsz)) == NULL)
		goto out;
	if (cfg->caddy_sites_dir == NULL || cfg->caddy_admin_socket == NULL ||
	    cfg->caddyfile == NULL) {
		snprintf(err, errsz, "Set caddy_sites_dir, caddy_admin_socket and "
		    "caddyfile in the configuration: the registry is served by Caddy.");
		goto out;
	}
	if (load_nodes(db, 0, MAX_NODES, &nodes) == -1 ||
	    (pl = plan_new()) == NULL)
		goto out;
	site_text(&site, cfg, &r);
	/* One transaction: the registry, Docker auth on each node after it
	 * (each needs it), then the check after all of them, however they
	 * end (its matrix shows what they left). */
	rop = registry_op(pl, cfg, &r, &site, user_id);
	first = plan_nops(pl);
	auth_all(pl, cfg, &r, ca, &nodes, user_id, rop);
	if ((chk = check_op(pl, cfg, &r, &nodes, user_id)) == -1 ||
	    after_active(db, pl, chk) == -1)
		goto out;
	plan_dep(pl, chk, rop, PLAN_AFTER);
	for (size_t i = first; i < (size_t)chk; i++)
		plan_dep(pl, chk, (int)i, PLAN_AFTER);
	rc = commit(db, pl, k, uuid);
out:
	buf_release(&site);
	free(ca);
	plan_free(pl);
	nodes_free(&nodes);
	reg_free(&r);
	return rc;
}

/* ------------------------------------------------------------ schedule, gate */

struct due_row {
	int	 due;
};
static const struct col due_cols[] = { COL(due_row, due, C_BOOL) };
static const struct rowtype due_t = ROWTYPE(due_row, due_cols);

int
reg_check_due(struct db *db, long minutes)
{
	char		 m[24];
	const char	*p[] = { m };
	struct due_row	 d;
	int		 found;

	snprintf(m, sizeof(m), "%ld", minutes);
	if ((found = row_get(db, &due_t, ST_REG_DUE, NP(p), p, &d)) == -1)
		return -1;
	return found == 1 && d.due == 1;
}

/* The first cell the work needs that is not green, and why. */
struct gate_row {
	int	 control, unchecked;
	char	*cell, *name, *message;
};
static const struct col gate_cols[] = {
	COL(gate_row, control, C_BOOL), COL(gate_row, cell, C_STR),
	COL(gate_row, unchecked, C_BOOL), COL(gate_row, name, C_STR),
	COL(gate_row, message, C_STR),
};
static const struct rowtype gate_t = ROWTYPE(gate_row, gate_cols);

/* The registry's own cells: on the control node, whatever the work. */
static const char *const gate_own[] = { "service", "push_api", "pull_api" };

static int
gate_cell(struct buf *nodes, struct buf *checks, long long server,
    const char *check)
{
	const char *sep = nodes->len > 1 ? "," : "";

	if (server == 0)
		return buf_printf(nodes, "%scontrol", sep) == -1 ||
		    buf_printf(checks, "%s%s", sep, check) == -1 ? -1 : 0;
	return buf_printf(nodes, "%sserver:%lld", sep, server) == -1 ||
	    buf_printf(checks, "%s%s", sep, check) == -1 ? -1 : 0;
}

int
reg_gate(struct db *db, long long build, const long long *runtime,
    size_t nruntime, char *reason, size_t sz)
{
	struct reg	 r;
	struct gate_row	 g;
	struct buf	 nodes, checks;
	size_t		 i;
	int		 rc = -1;

	reason[0] = '\0';
	memset(&g, 0, sizeof(g));
	memset(&r, 0, sizeof(r));
	buf_init(&nodes);
	buf_init(&checks);
	/* Nothing built and nowhere deployed: no registry involved. */
	if (build == REG_GATE_NO_BUILD && nruntime == 0)
		return 0;
	if (reg_load(db, &r) == -1)
		goto out;
	if (strcmp(r.state, "missing") == 0) {
		snprintf(reason, sz, "The managed registry is missing: provision it "
		    "on the Registry page before building or deploying.");
		rc = 1;
		goto out;
	}
	if (strcmp(r.state, "provisioning") == 0) {
		snprintf(reason, sz, "The managed registry is being provisioned: "
		    "wait for its check to finish.");
		rc = 1;
		goto out;
	}
	/*
	 * Not the registry-wide state otherwise: one broken server makes it
	 * "unhealthy", and that must block only the work involving that
	 * server. The cells say what each node can do.
	 */
	if (buf_putc(&nodes, '{') == -1 || buf_putc(&checks, '{') == -1)
		goto out;
	for (i = 0; i < sizeof(gate_own) / sizeof(gate_own[0]); i++)
		if (gate_cell(&nodes, &checks, 0, gate_own[i]) == -1)
			goto out;
	if (r.pull_only && gate_cell(&nodes, &checks, 0, "refused") == -1)
		goto out;
	if (build != REG_GATE_NO_BUILD &&
	    (gate_cell(&nodes, &checks, build, "https") == -1 ||
	    gate_cell(&nodes, &checks, build, "push") == -1))
		goto out;
	for (i = 0; i < nruntime; i++)
		if (gate_cell(&nodes, &checks, runtime[i], "https") == -1 ||
		    gate_cell(&nodes, &checks, runtime[i], "pull") == -1)
			goto out;
	if (buf_putc(&nodes, '}') == -1 || buf_putc(&checks, '}') == -1)
		goto out;
	{
		const char *p[] = { nodes.ptr, checks.ptr };
		if ((rc = row_get(db, &gate_t, ST_REG_GATE, NP(p), p, &g)) == -1)
			goto out;
	}
	if (rc == 0)
		goto out;
	if (g.control && strcmp(g.cell, "https") != 0 &&
	    strcmp(g.cell, "push") != 0) {
		if (g.unchecked)
			snprintf(reason, sz, "The managed registry has not been "
			    "checked yet: run a check on the Registry page.");
		else
			snprintf(reason, sz, "The managed registry is not working "
			    "on the control node (%s): %s", g.cell, g.message);
	} else
		snprintf(reason, sz, "The managed registry is unreachable from "
		    "%s: %s", g.name, g.message);
out:
	row_unfill(&gate_t, &g);
	reg_free(&r);
	buf_release(&nodes);
	buf_release(&checks);
	return rc;
}
