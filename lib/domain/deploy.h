/*
 * Deploys: the exact digest of an artifact on every runtime server of an
 * environment, through Compose (sql/016_deploys.sql).
 *
 * deploy_plan() queues, in one transaction, either a build and a deploy
 * that needs it (the deploy consumes the artifact that build makes or
 * finds: sql/016 sets it on the deploy when the build succeeds), or, for
 * "Deploy this version", a deploy of an available artifact alone. Builds
 * and deploys of one environment are serialised separately, and a newer
 * queued deploy supersedes an older queued one.
 *
 * A deploy has one step per runtime server, all in one step group (at
 * most step_fanout at once; a failed server does not stop the others),
 * each on its server as the keystone user (lib/scripts/deploy_server.sh):
 * Docker auth for the artifact's registry when missing or changed (a
 * server with the build role keeps its build credential), `docker pull
 * REF@DIGEST`, the Compose project under ~keystone/keystone/PROJECT
 * (rendered by deploy_compose(); secret variables in a 0600 env file
 * written from stdin), `docker compose up -d` or `docker-compose up -d`,
 * the health gate (the running container is REF@DIGEST and the service is
 * healthy within its timeout; else the digest that ran before is put back
 * and the step fails with the reason and the container's last log lines),
 * and the prune of Keystone-labelled images beyond what rollback needs.
 * The step reports ('deployed') what runs there now (table deployments).
 */
#ifndef KS_DEPLOY_H
#define KS_DEPLOY_H

#include <stddef.h>

#include "keys.h"

struct buf;
struct config;
struct db;
struct op_claim;

struct deploy_req {
	const char	*env_uuid;
	const char	*artifact_uuid;	/* NULL: build first, then deploy */
	const char	*commit;	/* with a build: as build_req's */
	int		 rebuild;
	long long	 user_id;
};

/* Queues the deploy (uuid of the deploy operation into uuid). 0; 1
 * refused with the reason in err; -1 failure (err ""). */
int	deploy_plan(struct db *, const struct config *, const struct keys *,
	    const struct deploy_req *, char uuid[40], char *err, size_t errsz);

/*
 * Removes the environment's Compose project from its runtime servers, or
 * from the one server server_uuid names (one it has, or had: a server
 * just taken out of the environment), its volumes only when volumes is
 * set (an explicit confirmation). env_going: the environment is about to
 * be deleted (the operation then belongs to none; call it before the rows
 * go). uuid "" when there is no server. 0; 1 refused; -1 failure.
 * deploy_plan_remove_app: the same for every environment of an
 * application about to be deleted (volumes likewise).
 */
struct deploy_remove {
	const char	*env_uuid;
	const char	*server_uuid;	/* NULL: every runtime server */
	int		 volumes;
	int		 env_going;
	long long	 user_id;
};
int	deploy_plan_remove(struct db *, const struct config *, const struct keys *,
	    const struct deploy_remove *, char uuid[40], char *err, size_t errsz);
int	deploy_plan_remove_app(struct db *, const struct config *,
	    const struct keys *, const char *app_uuid, int volumes,
	    long long user_id);

/* Whether the services of environment env_uuid of application app_uuid
 * (env_uuid NULL: of any of its environments) have volumes: 1, 0, -1. */
int	deploy_has_volumes(struct db *, const char *app_uuid,
	    const char *env_uuid);

/*
 * The explicit confirmation a removal of volumes needs: asked (the
 * "also delete the volumes" box) with typed, what the user typed, equal
 * to name, the environment's or application's. NULL when volumes may go
 * (or none were asked for), else why not, a phrase for the page.
 */
const char *deploy_volumes_refused(int asked, const char *typed,
	    const char *name);

/* The spooler's hooks (lib/ops/op.h): the image a deploy learns when it
 * runs (IMAGE REG_HOST ARCH REG_USER_EXTERNAL, from its artifact), what
 * a deploy step reports ('deployed': what runs on its server), and the
 * services' secret variables ("service/ID/var/NAME"). */
int	deploy_prelude(struct db *, const struct op_claim *, struct buf *out,
	    char *err, size_t errsz);
int	deploy_report(struct db *, const struct op_claim *, long long step_id,
	    const char *what, int succeeded, char *err, size_t errsz);
int	deploy_resolve_secret(struct db *, const struct keys *, const char *ref,
	    struct buf *out);

/* The Compose project's name for an environment (stable: from its uuid). */
void	deploy_project(char *out, size_t sz, const char *env_uuid);

#endif
