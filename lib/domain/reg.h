/*
 * The managed registry: registry:2 on the control node behind a Caddy
 * HTTPS site, a build and a runtime credential, Docker auth on every node,
 * and the health matrix. This module plans the operations that do the
 * work (scripts from lib/scripts/, values quoted by lib/core/shq.c, passwords
 * only as references the spooler opens: the planners may run in a web
 * worker that holds no opening key) and answers the planners' gate.
 */
#ifndef KS_REG_H
#define KS_REG_H

#include <stddef.h>

#include "keys.h"

struct buf;
struct db;
struct config;
struct plan;

#define REG_CONTAINER	"keystone-registry"	/* default registry_container */
#define REG_PROBE_REPO	"keystone/health-probe"
#define REG_BUILD_USER	"ks-build"
#define REG_RUNTIME_USER "ks-runtime"
/* On every server: the Docker user and its client configuration. */
#define REG_NODE_USER	"keystone"
#define REG_NODE_DOCKER_CFG "/home/keystone/.docker"

/* The registry's row (reg_load; its strings owned, reg_free()). */
struct reg {
	char	*hostname;
	char	*storage;
	char	*listen;
	int	 insecure;
	int	 pull_only;
	char	*state;			/* missing provisioning ready unhealthy */
	char	*reason;		/* "" when there is none */
};

/*
 * The registry's settings in effect, resolved in this one place for the
 * page and the planners: the stored row's (row may be NULL; its empty
 * fields count as unset) where it has them, else the configuration's,
 * else the defaults. The pointers are into cfg, row or constant strings;
 * hostname is NULL when it is set nowhere, ca_file "" when unset.
 */
struct reg_settings {
	const char	*hostname;
	const char	*storage;
	const char	*listen;
	const char	*conf_dir;
	const char	*image;
	const char	*container;
	const char	*docker_config;	/* the control node's */
	const char	*ca_file;
};
void	reg_settings(const struct config *, const struct reg *row,
	    struct reg_settings *out);

/* 1 and *r filled when the registry row exists, 0 when it does not (r
 * then holds state "missing" and NULL strings), -1 on failure. reg_free()
 * after any of them. */
int	reg_load(struct db *, struct reg *r);
void	reg_free(struct reg *);

/* Makes the registry row (settings from the configuration unless given)
 * and the two credentials if missing. hostname/storage may be NULL. 0, or
 * -1 with a message for the user in err (bad setting) or "" (failure). */
int	reg_setup(struct db *, const struct config *,
	    const struct keys *, const char *hostname,
	    const char *storage, char *err, size_t errsz);

/* The password of role ("build" or "runtime") into pw (pwsz >= 64); the
 * caller wipes it. Needs KEYS_OPENER (the spooler, keystonectl). 0, or
 * -1. */
int	reg_credential(struct db *, const struct keys *,
	    const char *role, char *user, size_t usersz, char *pw, size_t pwsz);

/* The spooler's resolver (op_resolve_fn) for the references the plans
 * below give their operations: "registry_credentials/build" and
 * "registry_credentials/runtime". */
int	reg_resolve_secret(struct db *, const struct keys *, const char *ref,
	    struct buf *out);

/*
 * Operations, each call's in one transaction (lib/ops/plan.h; uuid of the
 * first written to uuid, 40 bytes):
 *   reg_plan_provision: the registry itself (config, htpasswd, container,
 *     Caddy site), then Docker auth on every node (each needs the
 *     registry's operation), then a health check after all of them;
 *   reg_plan_auth: Docker auth on one node (server_id 0: the control node),
 *     needing the existing operation depends_on unless 0;
 *   reg_plan_auth_all: Docker auth on every node (the control node too
 *     when it is the build node);
 *   reg_plan_check: the health matrix, after any registry or auth
 *     operation queued or running (however they end).
 * 0, or -1 with a message for the user in err ("" for a failure).
 */
int	reg_plan_provision(struct db *, const struct config *,
	    const struct keys *, long long user_id,
	    char uuid[40], char *err, size_t errsz);
int	reg_plan_auth(struct db *, const struct config *,
	    const struct keys *, long long server_id,
	    long long user_id, long long depends_on, char uuid[40], char *err,
	    size_t errsz);
int	reg_plan_auth_all(struct db *, const struct config *,
	    const struct keys *, long long user_id, char uuid[40], char *err,
	    size_t errsz);
/* Adds reg_plan_auth's operation to a plan being built, needing its
 * operation after unless after is -1: its index, or -1 with a message in
 * err ("" for a failure) and nothing added. */
int	reg_plan_auth_into(struct plan *, struct db *, const struct config *,
	    long long server_id, long long user_id, int after, char *err,
	    size_t errsz);
int	reg_plan_check(struct db *, const struct config *,
	    const struct keys *, long long user_id,
	    char uuid[40], char *err, size_t errsz);

/* For the scheduler: 1 when a check is due (registry provisioned, no
 * check queued or running, the last one older than minutes), 0 when not,
 * -1 on failure. */
int	reg_check_due(struct db *, long minutes);

/*
 * The build and deploy planners' gate: may work that builds on build (a
 * server id; 0: the control node; REG_GATE_NO_BUILD: nothing built) and
 * deploys to the runtime servers (nruntime of them) go on? It needs the
 * registry provisioned and its own cells on the control node green, the
 * build node's HTTPS and push cells, and each runtime server's HTTPS and
 * pull cells: a broken server blocks only work that involves it. reason
 * then says why, for the user. 0 allowed, 1 blocked, -1 on failure.
 */
#define REG_GATE_NO_BUILD	(-1LL)
int	reg_gate(struct db *, long long build, const long long *runtime,
	    size_t nruntime, char *reason, size_t reasonsz);

#endif
