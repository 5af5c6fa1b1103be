/*
 * An environment's services (lib/domain/service.h): the checks of what a
 * user sets, the writes of a service with its variables and volumes in
 * one transaction, the address and port claims, and what the pages read.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"
#include "keys.h"
#include "row.h"
#include "service.h"
#include "utf8.h"
#include "valid.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

#define NAME_MAX_LEN	63
#define COMMAND_MAX	4096
#define HPATH_MAX	1024
#define VAR_NAME_MAX	128
#define MOUNT_MAX	1024
#define LINES_MAX	(16 * 1024)
#define ENTRIES_MAX	128

/* ---- field checks ----------------------------------------------------- */

static int
lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const char *
svc_check_name(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return "must be 1 to 63 characters";
	if (!lower_alnum((unsigned char)s[0]))
		return "must start with a lower-case letter or a digit";
	for (size_t i = 1; i < n; i++)
		if (!lower_alnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return "must be lower-case letters, digits, '_' and '-'";
	return NULL;
}

/* One line of UTF-8 text without control characters, at most max
 * bytes. */
static const char *
check_line(const char *s, size_t max)
{
	size_t	 n = strlen(s);

	if (n > max)
		return "is too long";
	if (!utf8_valid(s, n))
		return "must be valid UTF-8";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "must be one line without control characters";
	return NULL;
}

const char *
svc_check_command(const char *s)
{
	if (strlen(s) > COMMAND_MAX)
		return "must be at most 4096 bytes";
	return check_line(s, COMMAND_MAX);
}

const char *
svc_check_bind(const char *s)
{
	unsigned char	 a[16];

	/* An address only: a name would resolve differently on each
	 * server, and the claims compare addresses. */
	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return NULL;
	return "must be an IPv4 or IPv6 address (0.0.0.0: every address), "
	    "or empty for the server's own address";
}

const char *
svc_check_health_path(const char *s)
{
	if (s[0] != '/')
		return "must start with '/'";
	if (strlen(s) > HPATH_MAX)
		return "must be at most 1024 bytes";
	if (!utf8_valid(s, strlen(s)))
		return "must be valid UTF-8";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	return NULL;
}

static int
var_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

const char *
svc_check_var_name(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > VAR_NAME_MAX)
		return "must be 1 to 128 characters";
	if (!var_start((unsigned char)s[0]))
		return "must start with a letter or '_'";
	for (size_t i = 1; i < n; i++)
		if (!var_start((unsigned char)s[i]) &&
		    !(s[i] >= '0' && s[i] <= '9'))
			return "must be letters, digits and '_'";
	/* The service learns its address and port from these. */
	if (strcmp(s, "HOST") == 0 || strcmp(s, "PORT") == 0)
		return "must not be HOST or PORT (Keystone sets them)";
	return NULL;
}

const char *
svc_check_var_value(const char *s)
{
	/* A C string holds no NUL; newlines are fine (Compose gets them
	 * quoted). */
	if (!utf8_valid(s, strlen(s)))
		return "must be valid UTF-8";
	return NULL;
}

const char *
svc_check_secret_value(const char *s)
{
	/* It goes to an env file: one line per variable. */
	if (!utf8_valid(s, strlen(s)))
		return "must be valid UTF-8";
	if (strcspn(s, "\r\n") != strlen(s))
		return "must be one line";
	return NULL;
}

const char *
svc_check_volume_name(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return "must be 1 to 63 characters";
	if (!lower_alnum((unsigned char)s[0]))
		return "must start with a lower-case letter or a digit";
	for (size_t i = 1; i < n; i++)
		if (!lower_alnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return "must be lower-case letters, digits, '_', '.' "
			    "and '-'";
	return NULL;
}

const char *
svc_check_mount(const char *s)
{
	if (s[0] != '/')
		return "must be an absolute path";
	if (strlen(s) > MOUNT_MAX)
		return "must be at most 1024 bytes";
	if (!utf8_valid(s, strlen(s)))
		return "must be valid UTF-8";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	return NULL;
}

/* ---- the textareas ---------------------------------------------------- */

void
svc_kvs_free(struct svc_kvs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
kvs_add(struct svc_kvs *l, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	struct svc_kv	*v;

	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL)
		return -1;
	l->v = v;
	v = &l->v[l->n];
	if ((v->name = strndup(name, nlen)) == NULL)
		return -1;
	if ((v->value = strndup(value, vlen)) == NULL) {
		free(v->name);
		return -1;
	}
	l->n++;
	return 0;
}

static int
kvs_has(const struct svc_kvs *l, const char *name, int value)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(value ? l->v[i].value : l->v[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Lines of NAME<sep>value: each name checked by cname, each value by
 * cvalue, names (and with uniq_value the values) unique. 0, 1 refused
 * (err), -1.
 */
static int
parse_lines(const char *lines, int sep, const char *(*cname)(const char *),
    const char *(*cvalue)(const char *), int uniq_value, const char *what,
    struct svc_kvs *out, char *err, size_t errsz)
{
	const char	*l, *e, *le, *s, *msg;
	size_t		 nline = 0;
	int		 rc = 1;

	out->v = NULL;
	out->n = 0;
	if (strlen(lines) > LINES_MAX) {
		snprintf(err, errsz, "must be at most 16 KiB");
		goto out;
	}
	for (l = lines; *l != '\0'; l = *e == '\n' ? e + 1 : e) {
		e = l + strcspn(l, "\n");
		nline++;
		/* A browser's textarea sends CRLF: the CR ends no value. */
		le = e > l && e[-1] == '\r' ? e - 1 : e;
		if (le == l)
			continue;	/* blank lines are fine */
		if (out->n >= ENTRIES_MAX) {
			snprintf(err, errsz, "must be at most %d %s",
			    ENTRIES_MAX, what);
			goto out;
		}
		if ((s = memchr(l, sep, (size_t)(le - l))) == NULL) {
			snprintf(err, errsz, "line %zu: must be %s", nline,
			    sep == '=' ? "NAME=value" : "name:/mount/path");
			goto out;
		}
		if (kvs_add(out, l, (size_t)(s - l), s + 1,
		    (size_t)(le - s - 1)) == -1) {
			rc = -1;
			goto out;
		}
		if ((msg = cname(out->v[out->n - 1].name)) != NULL) {
			snprintf(err, errsz, "line %zu: the name %s", nline, msg);
			goto out;
		}
		if ((msg = cvalue(out->v[out->n - 1].value)) != NULL) {
			snprintf(err, errsz, "line %zu: the %s %s", nline,
			    sep == '=' ? "value" : "mount path", msg);
			goto out;
		}
		out->n--;
		if (kvs_has(out, out->v[out->n].name, 0) ||
		    (uniq_value && kvs_has(out, out->v[out->n].value, 1))) {
			out->n++;
			snprintf(err, errsz, "line %zu: %s is given twice",
			    nline, uniq_value ? "the volume or its mount path" :
			    "the name");
			goto out;
		}
		out->n++;
	}
	rc = 0;
out:
	if (rc != 0)
		svc_kvs_free(out);
	return rc;
}

int
svc_parse_vars(const char *lines, struct svc_kvs *out, char *err,
    size_t errsz)
{
	return parse_lines(lines, '=', svc_check_var_name, svc_check_var_value,
	    0, "variables", out, err, errsz);
}

int
svc_parse_volumes(const char *lines, struct svc_kvs *out, char *err,
    size_t errsz)
{
	return parse_lines(lines, ':', svc_check_volume_name, svc_check_mount,
	    1, "volumes", out, err, errsz);
}

/* ---- the form as a whole ---------------------------------------------- */

void
svc_err(struct svc_errs *e, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	if (e->n >= SVC_MAX_ERRS)
		return;
	e->field[e->n] = field;
	va_start(ap, fmt);
	vsnprintf(e->msg[e->n], sizeof(e->msg[e->n]), fmt, ap);
	va_end(ap);
	e->n++;
}

static int
one_of(const char *v, const char *const *choices)
{
	for (; v != NULL && *choices != NULL; choices++)
		if (strcmp(v, *choices) == 0)
			return 1;
	return 0;
}

/* A decimal in [lo, hi]. */
static int
in_range(const char *v, long lo, long hi)
{
	return v != NULL && valid_int(v, lo, hi, NULL) == NULL;
}

size_t
svc_check(const struct svc_in *in, struct svc_errs *e)
{
	static const char *const kinds[] = { "http", "command", "none", NULL };
	static const char *const restarts[] = { "no", "always",
	    "unless-stopped", "on-failure", NULL };
	const char	*msg;
	size_t		 n0 = e->n;

	if (in->name == NULL)
		svc_err(e, "name", "is required");
	else if ((msg = svc_check_name(in->name)) != NULL)
		svc_err(e, "name", "%s", msg);
	if (in->command != NULL && (msg = svc_check_command(in->command)) != NULL)
		svc_err(e, "command", "%s", msg);
	if (!in_range(in->port, 1, 65535))
		svc_err(e, "port", "must be a whole number from 1 to 65535");
	if (in->bind_address != NULL &&
	    (msg = svc_check_bind(in->bind_address)) != NULL)
		svc_err(e, "bind_address", "%s", msg);
	if (!one_of(in->health_kind, kinds))
		svc_err(e, "health_kind", "is not one of the offered choices");
	else if (strcmp(in->health_kind, "http") == 0 &&
	    in->health_path == NULL)
		svc_err(e, "health_path", "is required for an HTTP check");
	else if (strcmp(in->health_kind, "command") == 0 &&
	    in->health_command == NULL)
		svc_err(e, "health_command", "is required for a command check");
	if (in->health_path != NULL &&
	    (msg = svc_check_health_path(in->health_path)) != NULL)
		svc_err(e, "health_path", "%s", msg);
	if (in->health_command != NULL &&
	    (msg = svc_check_command(in->health_command)) != NULL)
		svc_err(e, "health_command", "%s", msg);
	if (!in_range(in->health_interval_s, 1, 300))
		svc_err(e, "health_interval_s",
		    "must be a whole number from 1 to 300");
	if (!in_range(in->health_timeout_s, 1, 3600))
		svc_err(e, "health_timeout_s",
		    "must be a whole number from 1 to 3600");
	if (!one_of(in->restart_policy, restarts))
		svc_err(e, "restart_policy", "is not one of the offered choices");
	if ((in->secret_name == NULL) != (in->secret_value == NULL))
		svc_err(e, in->secret_name == NULL ? "secret_name" :
		    "secret_value", "is required to set a secret variable");
	else if (in->secret_name != NULL) {
		if ((msg = svc_check_var_name(in->secret_name)) != NULL)
			svc_err(e, "secret_name", "%s", msg);
		if ((msg = svc_check_secret_value(in->secret_value)) != NULL)
			svc_err(e, "secret_value", "%s", msg);
	}
	/* The lists come checked from svc_parse_*; a caller that made its
	 * own is checked here too. */
	for (size_t i = 0; in->vars != NULL && i < in->vars->n; i++)
		if (svc_check_var_name(in->vars->v[i].name) != NULL ||
		    svc_check_var_value(in->vars->v[i].value) != NULL) {
			svc_err(e, "vars", "has a variable that is refused");
			break;
		}
	for (size_t i = 0; in->volumes != NULL && i < in->volumes->n; i++)
		if (svc_check_volume_name(in->volumes->v[i].name) != NULL ||
		    svc_check_mount(in->volumes->v[i].value) != NULL) {
			svc_err(e, "volumes", "has a volume that is refused");
			break;
		}
	return e->n - n0;
}

/* ---- writes ----------------------------------------------------------- */

struct svc_ref {
	long long	 id;
	char		*uuid;
};
static const struct col svc_ref_cols[] = {
	COL(svc_ref, id, C_INT), COL(svc_ref, uuid, C_STR),
};
static const struct rowtype svc_ref_t = ROWTYPE(svc_ref, svc_ref_cols);

struct svc_taken {
	long long	 id;
	char		*name;
};
static const struct col svc_taken_cols[] = {
	COL(svc_taken, id, C_INT), COL(svc_taken, name, C_STR),
};
static const struct rowtype svc_taken_t = ROWTYPE(svc_taken, svc_taken_cols);

struct svc_conflict {
	char		*service, *server, *address, *other_service;
	char		*other_address, *other_env, *other_app;
	long long	 port;
};
static const struct col svc_conflict_cols[] = {
	COL(svc_conflict, service, C_STR), COL(svc_conflict, port, C_INT),
	COL(svc_conflict, server, C_STR), COL(svc_conflict, address, C_STR),
	COL(svc_conflict, other_service, C_STR),
	COL(svc_conflict, other_address, C_STR),
	COL(svc_conflict, other_env, C_STR), COL(svc_conflict, other_app, C_STR),
};
static const struct rowtype svc_conflict_t = ROWTYPE(svc_conflict,
    svc_conflict_cols);

struct svc_name {
	char		*name;
};
static const struct col svc_name_cols[] = { COL(svc_name, name, C_STR) };
static const struct rowtype svc_name_t = ROWTYPE(svc_name, svc_name_cols);

/* A write returning the name it wrote: 1 a row, 0 none, -1 (a constraint
 * refusal too: the checks before it make one unexpected). */
static int
put_name(struct db *db, enum stmt st, int n, const char *const *p)
{
	struct svc_name	 r;
	int		 rc;

	rc = row_get(db, &svc_name_t, st, n, p, &r);
	row_unfill(&svc_name_t, &r);
	return rc;
}

/* The first claim of env_id's services (svc_id's, unless NULL) that
 * another environment claims on one of its servers, into msg. 1, 0, -1. */
static int
conflict(struct db *db, const char *env_id, const char *svc_id, char *msg,
    size_t msgsz)
{
	struct svc_conflict	 c;
	const char		*p[] = { env_id, svc_id };
	int			 rc;

	if ((rc = row_get(db, &svc_conflict_t, ST_SVC_CONFLICTS, NP(p), p,
	    &c)) == 1)
		snprintf(msg, msgsz, "on server %s, %s:%lld of service %s is "
		    "claimed by service %s of environment %s of %s (%s:%lld)",
		    c.server, c.address, c.port, c.service, c.other_service,
		    c.other_env, c.other_app, c.other_address, c.port);
	row_unfill(&svc_conflict_t, &c);
	return rc;
}

int
svc_env_conflict(struct db *db, long long env_id, char *msg, size_t msgsz)
{
	PGresult	*res;
	char		 id[24];

	snprintf(id, sizeof(id), "%lld", env_id);
	if ((res = db_exec(db, ST_SVC_LOCK, 0, NULL)) == NULL)
		return -1;
	PQclear(res);
	return conflict(db, id, NULL, msg, msgsz);
}

/* Variables and volumes of service id (text), inside the transaction. */
static int
write_settings(struct db *db, const struct keys *k, const char *id,
    const struct svc_in *in, struct svc_errs *e)
{
	char		 ad[64 + VAR_NAME_MAX], *sealed = NULL;
	int		 rc = -1, n;

	{
		const char *p[] = { id };
		PGresult *res;
		if ((res = db_exec(db, ST_SVC_VARS_CLEAR, NP(p), p)) == NULL)
			goto out;
		PQclear(res);
		if ((res = db_exec(db, ST_SVC_VOLUMES_CLEAR, NP(p), p)) == NULL)
			goto out;
		PQclear(res);
	}
	for (size_t i = 0; i < in->nremove; i++) {
		const char *p[] = { id, in->remove[i] };
		if (put_name(db, ST_SVC_SECRET_DEL, NP(p), p) == -1)
			goto out;
	}
	if (in->secret_name != NULL) {
		snprintf(ad, sizeof(ad), "service/%s/var/%s", id,
		    in->secret_name);
		if (keys_seal_b64(&sealed, k, ad, in->secret_value,
		    strlen(in->secret_value)) == -1)
			goto out;
		const char *p[] = { id, in->secret_name, sealed };
		if (put_name(db, ST_SVC_SECRET_PUT, NP(p), p) != 1)
			goto out;
	}
	for (size_t i = 0; in->vars != NULL && i < in->vars->n; i++) {
		const char *p[] = { id, in->vars->v[i].name,
		    in->vars->v[i].value };
		if ((n = put_name(db, ST_SVC_VAR_PUT, NP(p), p)) == -1)
			goto out;
		if (n == 0) {
			svc_err(e, "vars", "%s is a secret variable: remove it "
			    "there first", in->vars->v[i].name);
			rc = 1;
			goto out;
		}
	}
	for (size_t i = 0; in->volumes != NULL && i < in->volumes->n; i++) {
		const char *p[] = { id, in->volumes->v[i].name,
		    in->volumes->v[i].value };
		if (put_name(db, ST_SVC_VOLUME_PUT, NP(p), p) != 1)
			goto out;
	}
	rc = 0;
out:
	free(sealed);
	return rc;
}

int
svc_save(struct db *db, const struct keys *k, long long env_id,
    const char *svc_uuid, const struct svc_in *in, char uuid[40],
    struct svc_errs *e)
{
	struct svc_ref	 ref;
	struct svc_taken t;
	PGresult	*res;
	char		 env[24], id[24], msg[512];
	int		 rc = -1, got;

	memset(&ref, 0, sizeof(ref));
	memset(&t, 0, sizeof(t));
	if (svc_check(in, e) > 0)
		return 1;
	if (svc_uuid != NULL && valid_uuid(svc_uuid) != NULL)
		return -1;
	snprintf(env, sizeof(env), "%lld", env_id);
	if (db_tx_begin(db) == -1)
		return -1;
	if ((res = db_exec(db, ST_SVC_LOCK, 0, NULL)) == NULL)
		goto out;
	PQclear(res);
	if (svc_uuid == NULL) {
		const char *p[] = { env, in->name, in->command, in->port,
		    in->bind_address, in->health_kind, in->health_path,
		    in->health_command, in->health_interval_s,
		    in->health_timeout_s, in->restart_policy };
		got = row_get(db, &svc_ref_t, ST_SVC_INSERT, NP(p), p, &ref);
	} else {
		const char *p[] = { env, svc_uuid, in->name, in->command,
		    in->port, in->bind_address, in->health_kind,
		    in->health_path, in->health_command, in->health_interval_s,
		    in->health_timeout_s, in->restart_policy };
		got = row_get(db, &svc_ref_t, ST_SVC_UPDATE, NP(p), p, &ref);
	}
	if (got != 1) {
		if (got == -1 && strcmp(db_constraint(db),
		    "services_environment_id_name_key") == 0) {
			svc_err(e, "name", "is already used by another service "
			    "of this environment");
			rc = 1;
		}
		goto out;
	}
	snprintf(id, sizeof(id), "%lld", ref.id);
	{
		const char *p[] = { id };
		if ((got = row_get(db, &svc_taken_t, ST_SVC_PORT_TAKEN, NP(p), p,
		    &t)) == -1)
			goto out;
		if (got == 1) {
			svc_err(e, "port", "is used by service %s of this "
			    "environment", t.name);
			rc = 1;
			goto out;
		}
	}
	if ((got = conflict(db, env, id, msg, sizeof(msg))) == -1)
		goto out;
	if (got == 1) {
		svc_err(e, in->bind_address != NULL ? "bind_address" : "port",
		    "%s", msg);
		rc = 1;
		goto out;
	}
	if ((rc = write_settings(db, k, id, in, e)) != 0)
		goto out;
	rc = db_tx_commit(db) == 0 ? 0 : -1;
	if (rc == 0)
		snprintf(uuid, 40, "%s", ref.uuid);
out:
	if (rc != 0)
		db_tx_rollback(db);
	row_unfill(&svc_ref_t, &ref);
	row_unfill(&svc_taken_t, &t);
	return rc;
}

int
svc_delete(struct db *db, long long env_id, const char *svc_uuid)
{
	char		 env[24];
	int		 rc;

	if (valid_uuid(svc_uuid) != NULL)
		return 1;
	snprintf(env, sizeof(env), "%lld", env_id);
	{
		const char *p[] = { env, svc_uuid };
		struct svc_name n;
		rc = row_get(db, &svc_name_t, ST_SVC_DELETE, NP(p), p, &n);
		row_unfill(&svc_name_t, &n);
	}
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

int
svc_secret_remove(struct db *db, long long svc_id, const char *name)
{
	char		 id[24];
	const char	*p[] = { id, name };
	int		 rc;

	snprintf(id, sizeof(id), "%lld", svc_id);
	rc = put_name(db, ST_SVC_SECRET_DEL, NP(p), p);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

/* ---- reads ------------------------------------------------------------ */

static const struct col svc_cols[] = {
	COL(svc_row, id, C_INT), COL(svc_row, uuid, C_STR),
	COL(svc_row, name, C_STR), COL(svc_row, command, C_STR),
	COL(svc_row, port, C_INT), COL(svc_row, bind_address, C_STR),
	COL(svc_row, health_kind, C_STR), COL(svc_row, health_path, C_STR),
	COL(svc_row, health_command, C_STR),
	COL(svc_row, health_interval_s, C_INT),
	COL(svc_row, health_timeout_s, C_INT),
	COL(svc_row, restart_policy, C_STR), COL(svc_row, var_count, C_INT),
	COL(svc_row, secret_count, C_INT), COL(svc_row, volume_count, C_INT),
};
static const struct rowtype svc_t = ROWTYPE(svc_row, svc_cols);
ROW_FUNCS(svc_row, svc_t)
LIST_FUNCS(svc_list, svc_t)

static const struct col svc_var_cols[] = {
	COL(svc_var, name, C_STR), COL(svc_var, value, C_STR),
	COL(svc_var, secret, C_BOOL),
};
static const struct rowtype svc_var_t = ROWTYPE(svc_var, svc_var_cols);
LIST_FREE(svc_vars, svc_var_t)

static const struct col svc_kv_cols[] = {
	COL(svc_kv, name, C_STR), COL(svc_kv, value, C_STR),
};
static const struct rowtype svc_kv_t = ROWTYPE(svc_kv, svc_kv_cols);

int
svc_get(struct db *db, long long env_id, const char *svc_uuid,
    struct svc_row *r)
{
	char		 env[24];
	const char	*p[] = { env, svc_uuid };

	memset(r, 0, sizeof(*r));
	if (valid_uuid(svc_uuid) != NULL)
		return 0;
	snprintf(env, sizeof(env), "%lld", env_id);
	return row_get(db, &svc_t, ST_SVC_GET, NP(p), p, r);
}

int
svc_list(struct db *db, long long env_id, struct svc_list *l)
{
	char		 env[24];
	const char	*p[] = { env };

	snprintf(env, sizeof(env), "%lld", env_id);
	return row_all(db, &svc_t, ST_SVC_LIST, NP(p), p, (void **)&l->v,
	    &l->n);
}

int
svc_vars(struct db *db, long long svc_id, struct svc_vars *l)
{
	char		 id[24];
	const char	*p[] = { id };

	snprintf(id, sizeof(id), "%lld", svc_id);
	return row_all(db, &svc_var_t, ST_SVC_VARS, NP(p), p, (void **)&l->v,
	    &l->n);
}

int
svc_volumes(struct db *db, long long svc_id, struct svc_kvs *l)
{
	char		 id[24];
	const char	*p[] = { id };

	snprintf(id, sizeof(id), "%lld", svc_id);
	return row_all(db, &svc_kv_t, ST_SVC_VOLUMES, NP(p), p, (void **)&l->v,
	    &l->n);
}

struct svc_deploy {
	char		*server_uuid, *server_name, *address, *server_status;
	char		*digest, *state, *since_age, *since_at, *op_uuid;
	char		*op_kind, *message, *artifact_uuid, *short_sha;
};
static const struct col svc_deploy_cols[] = {
	COL(svc_deploy, server_uuid, C_STR), COL(svc_deploy, server_name, C_STR),
	COL(svc_deploy, address, C_STR), COL(svc_deploy, server_status, C_STR),
	COL(svc_deploy, digest, C_STR), COL(svc_deploy, state, C_STR),
	COL(svc_deploy, since_age, C_AGE), COL(svc_deploy, since_at, C_STR),
	COL(svc_deploy, op_uuid, C_STR), COL(svc_deploy, op_kind, C_STR),
	COL(svc_deploy, message, C_STR), COL(svc_deploy, artifact_uuid, C_STR),
	COL(svc_deploy, short_sha, C_STR),
};
static const struct rowtype svc_deploy_t = ROWTYPE(svc_deploy,
    svc_deploy_cols);

int
svc_env_status(struct db *db, long long env_id, cJSON *m)
{
	struct svc_deploy *v = NULL;
	struct buf	 failed;
	const char	*digest = NULL;
	char		 env[24];
	const char	*p[] = { env };
	size_t		 n = 0, running = 0;
	int		 mixed = 0, rc = -1;
	cJSON		*rows;

	buf_init(&failed);
	snprintf(env, sizeof(env), "%lld", env_id);
	if (row_all(db, &svc_deploy_t, ST_SVC_DEPLOYMENTS, NP(p), p,
	    (void **)&v, &n) == -1)
		return -1;
	/* The environment's digest is the one every server runs; a server
	 * never deployed to, or left with another, makes it mixed. */
	for (size_t i = 0; i < n; i++) {
		int is_running = v[i].state != NULL &&
		    strcmp(v[i].state, "running") == 0 && v[i].digest != NULL;

		if (v[i].state != NULL && strcmp(v[i].state, "failed") == 0 &&
		    buf_printf(&failed, "%s%s", failed.len > 0 ? ", " : "",
		    v[i].server_name) == -1)
			goto out;
		if (!is_running) {
			mixed = 1;
			continue;
		}
		running++;
		if (digest == NULL)
			digest = v[i].digest;
		else if (strcmp(digest, v[i].digest) != 0)
			mixed = 1;
	}
	if ((rows = row_view_all(&svc_deploy_t, v, n)) == NULL)
		goto out;
	cJSON_AddItemToObject(m, "deployments", rows);
	cJSON_AddBoolToObject(m, "deployed", running > 0 || failed.len > 0);
	if (running > 0 && !mixed)
		cJSON_AddStringToObject(m, "current_digest", digest);
	cJSON_AddBoolToObject(m, "mixed", (running > 0 || failed.len > 0) &&
	    mixed);
	cJSON_AddBoolToObject(m, "degraded", failed.len > 0);
	if (failed.len > 0)
		cJSON_AddStringToObject(m, "failed_servers", buf_cstr(&failed));
	rc = 0;
out:
	row_unfill_all(&svc_deploy_t, v, n);
	buf_release(&failed);
	return rc;
}

struct svc_degraded {
	char		*uuid, *name, *app_uuid, *app_name, *failed_servers;
};
static const struct col svc_degraded_cols[] = {
	COL(svc_degraded, uuid, C_STR), COL(svc_degraded, name, C_STR),
	COL(svc_degraded, app_uuid, C_STR), COL(svc_degraded, app_name, C_STR),
	COL(svc_degraded, failed_servers, C_STR),
};
static const struct rowtype svc_degraded_t = ROWTYPE(svc_degraded,
    svc_degraded_cols);

int
svc_degraded_view(struct db *db, cJSON **out)
{
	struct svc_degraded *v = NULL;
	size_t		 n = 0;

	*out = NULL;
	if (row_all(db, &svc_degraded_t, ST_SVC_DEGRADED, 0, NULL, (void **)&v,
	    &n) == -1)
		return -1;
	*out = row_view_all(&svc_degraded_t, v, n);
	row_unfill_all(&svc_degraded_t, v, n);
	return *out != NULL ? 0 : -1;
}
