#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "valid.h"

enum ctype { C_STR, C_PATH, C_URL, C_LONG };

struct ckey {
	const char	*name;
	enum ctype	 type;
	size_t		 off;		/* offsetof the field in struct config */
	long		 lo, hi;	/* C_LONG bounds */
	int		 required;
};

#define S(f)	offsetof(struct config, f)
static const struct ckey keys[] = {
	{ "database",		C_STR,	S(database),	0, 0, 1 },
	{ "master_key_file",	C_PATH,	S(master_key_file), 0, 0, 1 },
	{ "fcgi_socket",	C_PATH,	S(fcgi_socket),	0, 0, 1 },
	{ "base_url",		C_URL,	S(base_url),	0, 0, 1 },
	{ "templates_dir",	C_PATH,	S(templates_dir), 0, 0, 0 },
	{ "sql_dir",		C_PATH,	S(sql_dir),	0, 0, 0 },
	{ "workers",		C_LONG,	S(workers),	1, 64, 0 },
	{ "web_user",		C_STR,	S(web_user),	0, 0, 0 },
	{ "session_idle_minutes", C_LONG, S(session_idle_min), 1, 60 * 24 * 7, 0 },
	{ "session_absolute_hours", C_LONG, S(session_max_hours), 1, 24 * 30, 0 },
	{ "login_max_failures",	C_LONG,	S(login_max_failures), 1, 100, 0 },
	{ "login_max_address_failures", C_LONG, S(login_max_addr_failures), 1, 100000, 0 },
	{ "spooler_workers",	C_LONG,	S(spooler_workers), 1, 64, 0 },
	{ "build_concurrency",	C_LONG,	S(build_concurrency), 1, 64, 0 },
	{ "lease_seconds",	C_LONG,	S(lease_seconds), 3, 3600, 0 },
	{ "poll_seconds",	C_LONG,	S(poll_seconds), 1, 600, 0 },
	{ "step_output_max_kb",	C_LONG,	S(step_output_max_kb), 16, 1024 * 1024, 0 },
	{ "spooler_grace_seconds", C_LONG, S(spooler_grace_seconds), 0, 3600, 0 },
	{ "step_fanout",	C_LONG,	S(step_fanout), 1, 256, 0 },
	{ "ssh_key_file",	C_PATH,	S(ssh_key_file), 0, 0, 0 },
	{ "ssh_connect_timeout", C_LONG, S(ssh_connect_timeout), 1, 600, 0 },
	{ "ssh_idle_timeout",	C_LONG,	S(ssh_idle_timeout), 1, 3600, 0 },
	{ "registry_host",	C_STR,	S(registry_host), 0, 0, 0 },
	{ "registry_storage",	C_PATH,	S(registry_storage), 0, 0, 0 },
	{ "registry_listen",	C_STR,	S(registry_listen), 0, 0, 0 },
	{ "registry_conf_dir",	C_PATH,	S(registry_conf_dir), 0, 0, 0 },
	{ "registry_tls",	C_STR,	S(registry_tls), 0, 0, 0 },
	{ "registry_ca_file",	C_PATH,	S(registry_ca_file), 0, 0, 0 },
	{ "registry_image",	C_STR,	S(registry_image), 0, 0, 0 },
	{ "registry_container",	C_STR,	S(registry_container), 0, 0, 0 },
	{ "registry_check_minutes", C_LONG, S(registry_check_minutes), 0, 1440, 0 },
	{ "caddy_sites_dir",	C_PATH,	S(caddy_sites_dir), 0, 0, 0 },
	{ "caddy_admin_socket",	C_PATH,	S(caddy_admin_socket), 0, 0, 0 },
	{ "caddyfile",		C_PATH,	S(caddyfile), 0, 0, 0 },
	{ "docker_config",	C_PATH,	S(docker_config), 0, 0, 0 },
	{ "build_user",		C_STR,	S(build_user), 0, 0, 0 },
	{ "build_dir",		C_PATH,	S(build_dir), 0, 0, 0 },
	{ "build_min_free_mb",	C_LONG,	S(build_min_free_mb), 0, 1024 * 1024 * 1024, 0 },
	{ "allow_local_sources", C_LONG, S(allow_local_sources), 0, 1, 0 },
	{ "provision_ca_file",	C_PATH,	S(provision_ca_file), 0, 0, 0 },
	{ "provision_daemon_json", C_STR, S(provision_daemon_json), 0, 0, 0 },
};
#undef S
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

void
config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->workers = 2;
	c->session_idle_min = 60;
	c->session_max_hours = 12;
	c->login_max_failures = 100;
	c->login_max_addr_failures = 1000;
	c->spooler_workers = 2;
	c->build_concurrency = 1;
	c->lease_seconds = 30;
	c->poll_seconds = 5;
	c->step_output_max_kb = 1024;
	c->spooler_grace_seconds = 30;
	c->step_fanout = 5;
	c->ssh_connect_timeout = 10;
	c->ssh_idle_timeout = 60;
	c->registry_check_minutes = 15;
	c->build_min_free_mb = 2048;
}

void
config_release(struct config *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type != C_LONG)
			free(*(char **)((char *)c + keys[i].off));
	config_init(c);
}

static const struct ckey *
findkey(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
setkey(struct config *c, const struct ckey *k, const char *val,
    const char *where, char *err, size_t errsz)
{
	char	**sp;
	long	  n;
	size_t	  len = strlen(val);

	if (k->type == C_LONG) {
		if (valid_int(val, k->lo, k->hi, &n) != NULL) {
			snprintf(err, errsz, "%s: %s must be an integer from %ld to %ld",
			    where, k->name, k->lo, k->hi);
			return -1;
		}
		*(long *)((char *)c + k->off) = n;
		return 0;
	}
	if (len == 0 || len > 4096) {
		snprintf(err, errsz, "%s: %s must not be empty", where, k->name);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)val[i] < 0x20) {
			snprintf(err, errsz, "%s: %s holds a control character",
			    where, k->name);
			return -1;
		}
	if (k->type == C_PATH && val[0] != '/') {
		snprintf(err, errsz, "%s: %s must be an absolute path", where, k->name);
		return -1;
	}
	if (k->type == C_URL && (strncmp(val, "https://", 8) != 0 ||
	    val[len - 1] == '/' || strchr(val + 8, '/') != NULL)) {
		snprintf(err, errsz, "%s: %s must look like https://host[:port] "
		    "with no path", where, k->name);
		return -1;
	}
	sp = (char **)((char *)c + k->off);
	free(*sp);
	if ((*sp = strdup(val)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
parse_text(struct config *c, const char *text, const char *src,
    char *err, size_t errsz)
{
	char		*copy, *line, *next, *eq, *key, *val;
	char		 where[512];
	const struct ckey *k;
	int		 lineno = 0, rc = -1;

	if ((copy = strdup(text)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	for (line = copy; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '#')) != NULL)
			*eq = '\0';
		key = trim(line);
		if (*key == '\0')
			continue;
		snprintf(where, sizeof(where), "%s:%d", src, lineno);
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errsz, "%s: expected `key = value`", where);
			goto out;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if ((k = findkey(key)) == NULL) {
			snprintf(err, errsz, "%s: unknown key `%.64s`", where, key);
			goto out;
		}
		if (setkey(c, k, val, where, err, errsz) == -1)
			goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static int
check_required(const struct config *c, const char *src, char *err, size_t errsz)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (!keys[i].required)
			continue;
		if (*(char *const *)((const char *)c + keys[i].off) == NULL) {
			snprintf(err, errsz, "%s: required key `%s` is missing",
			    src, keys[i].name);
			return -1;
		}
	}
	/* Keys whose value is one of a few words. */
	if (c->registry_tls != NULL && strcmp(c->registry_tls, "acme") != 0 &&
	    strcmp(c->registry_tls, "internal") != 0) {
		snprintf(err, errsz, "%s: registry_tls must be acme or internal", src);
		return -1;
	}
	return 0;
}

/* Nonzero when url (https://host[:port]) names this machine's loopback. */
static int
url_is_loopback(const char *url)
{
	const char	*h = url + strlen("https://");
	size_t		 n;

	if (strncmp(h, "[::1]", 5) == 0)
		return h[5] == '\0' || h[5] == ':';
	n = strcspn(h, ":");
	if ((n == 9 && strncmp(h, "localhost", 9) == 0) ||
	    (n > 10 && strncmp(h + n - 10, ".localhost", 10) == 0))
		return 1;
	if (strncmp(h, "127.", 4) != 0)
		return 0;
	for (size_t i = 4; i < n; i++)
		if (!isdigit((unsigned char)h[i]) && h[i] != '.')
			return 0;
	return 1;
}

/*
 * Defaults that depend on other keys. A base URL on loopback means the
 * servers Keystone provisions share this machine's network (local test
 * hosts): an engine that their script starts with Docker's defaults would
 * put a bridge, iptables rules and ip_forward=1 on the machine itself.
 */
static int
derive_defaults(struct config *c, char *err, size_t errsz)
{
	if (c->provision_daemon_json == NULL && c->base_url != NULL &&
	    url_is_loopback(c->base_url) &&
	    (c->provision_daemon_json = strdup(CONFIG_NO_BRIDGE_JSON)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

int
config_parse(struct config *c, const char *text, char *err, size_t errsz)
{
	if (parse_text(c, text, "config", err, errsz) == -1 ||
	    check_required(c, "config", err, errsz) == -1)
		return -1;
	return derive_defaults(c, err, errsz);
}

int
config_load(struct config *c, const char *path, char *err, size_t errsz)
{
	FILE		*f;
	struct buf	 b;
	char		 chunk[4096], env[128], where[160];
	const char	*v;
	size_t		 n;
	int		 rc = -1;

	buf_init(&b);
	if (path == NULL && (path = getenv("KEYSTONE_CONFIG")) == NULL)
		path = CONFIG_DEFAULT_PATH;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_put(&b, chunk, n) == -1 || b.len > 1024 * 1024) {
			snprintf(err, errsz, "%s: file too large", path);
			fclose(f);
			goto out;
		}
	fclose(f);
	if (parse_text(c, buf_cstr(&b), path, err, errsz) == -1)
		goto out;
	for (size_t i = 0; i < NKEYS; i++) {
		snprintf(env, sizeof(env), "KEYSTONE_");
		for (size_t j = 0; keys[i].name[j] != '\0' && j + 10 < sizeof(env); j++) {
			env[9 + j] = (char)toupper((unsigned char)keys[i].name[j]);
			env[10 + j] = '\0';
		}
		if ((v = getenv(env)) == NULL)
			continue;
		snprintf(where, sizeof(where), "environment %s", env);
		if (setkey(c, &keys[i], v, where, err, errsz) == -1)
			goto out;
	}
	if (check_required(c, path, err, errsz) == 0 &&
	    derive_defaults(c, err, errsz) == 0)
		rc = 0;
out:
	buf_release(&b);
	return rc;
}
