/*
 * Builds: Git to a pushed image whose registry digest is the artifact.
 *
 * build_plan() checks that a build can go on (the repository reachable
 * with what Keystone holds for it, the build node usable, the registry's
 * gate) and queues one build operation, or refuses with a reason the user
 * can act on. Its steps run on the build node (the control node, or a
 * server with the build role), each script from lib/scripts/build_*.sh
 * with every value assigned in front of it through lib/core/shq.c:
 *
 *   1. free disk (reports 'disk': the node's health)
 *   2. shallow clone of the branch head or commit into a fresh directory
 *      owned by the build user (reports 'commit'); the deploy key reaches
 *      git through a private ssh-agent fed from stdin, the HTTPS token
 *      through a credential helper reading a pipe: neither in argv, the
 *      environment nor a file
 *   3. the Keystone Dockerfile, when a preset is chosen
 *   4. free disk again, docker login --password-stdin
 *   5. docker build (labels, build arguments, --network host)
 *   6. free disk again, docker push of REGISTRY/keystone/APP/ENV:SHA
 *   7. the manifest digest from the registry's API, compared with what
 *      the push printed (reports 'artifact')
 *   8. always: the directory removed, Keystone-labelled images pruned
 *      (the newest per environment kept).
 *
 * The spooler's report hook (build_report) reads what steps 1, 2 and 7
 * printed: the node's free space, the commit (a commit already built in
 * the environment ends the build at once, unless a rebuild was asked), the
 * artifact (recorded 'building'; sql/014_builds.sql makes it available
 * when the operation succeeds, failed otherwise).
 */
#ifndef KS_BUILD_H
#define KS_BUILD_H

#include <stddef.h>

#include "keys.h"

struct buf;
struct config;
struct db;
struct op_claim;
struct plan;

/* The default base image a preset offers (a setting of the environment). */
#define BUILD_STATIC_BASE	"busybox:1.36"
#define BUILD_COMMAND_BASE	"debian:bookworm-slim"

/* Image labels a build puts on its image (and prunes by). */
#define BUILD_LABEL_APP		"dev.keystone.application"
#define BUILD_LABEL_ENV		"dev.keystone.environment"
#define BUILD_LABEL_COMMIT	"dev.keystone.commit"

struct build_req {
	const char	*env_uuid;
	const char	*commit;	/* NULL: the environment's pinned commit,
					 * else its branch head */
	int		 rebuild;	/* build a commit that was built already */
	long long	 user_id;	/* who asked (0: none) */
};

/*
 * Queues a build of req's environment (uuid of the operation into uuid).
 * A queued build of the same environment is superseded by this one (what
 * waited on it follows this one). 0; 1 refused, with the reason in err
 * (the environment unknown, no repository access, the build node or the
 * registry not usable, the commit already built); -1 on failure (err "").
 */
int	build_plan(struct db *, const struct config *, const struct keys *,
	    const struct build_req *, char uuid[40], char *err, size_t errsz);

/*
 * The same checks, with the build added to a plan being built (pl) for
 * one that does more (a deploy after it). into->reuse set: a commit asked
 * for that was built already is no refusal: into->built is its artifact's
 * id and nothing is added. Otherwise into->op is the build's index.
 * build_then() must run in the plan's transaction (plan_commit_then) for
 * the build once created: it records the commit and rebuild asked for and
 * supersedes the environment's queued builds.
 */
struct build_into {
	int		 reuse;		/* in */
	int		 op;		/* out: -1 when nothing was added */
	long long	 built;		/* out: the artifact reused, or 0 */
	long long	 env_id;	/* out */
	char		 node[420];	/* out: the build node's name */
	char		 name[820];	/* out: APP/ENV */
};
int	build_plan_into(struct plan *, struct db *, const struct config *,
	    const struct build_req *, struct build_into *, char *err,
	    size_t errsz);
int	build_then(struct db *, long long op_id, long long env_id,
	    const char *commit, int rebuild);

/*
 * Field checks for the settings forms (NULL when fine, else a message):
 * a repository URL as builds accept it (git:// and file:// only when
 * local sources are allowed); an image reference for a preset's base
 * image; build arguments ("NAME=value" lines, one per line); a preset's
 * command (one line, no NUL).
 */
const char	*build_check_url(const struct config *, const char *url);
const char	*build_check_image(const char *ref);
const char	*build_check_args(const char *lines);
const char	*build_check_command(const char *cmd);

/*
 * The Keystone Dockerfile for a preset ("static": root, a directory of
 * the repository, served by the base image's busybox httpd on $PORT;
 * "command": the repository in /app, run by cmd with sh -c). Every value
 * is written as a JSON string (the Dockerfile's exec form). -1 with a
 * message in err when a value cannot be written so.
 */
int	build_dockerfile(struct buf *out, const char *preset, const char *base,
	    const char *root, const char *cmd, char *err, size_t errsz);

/*
 * Repository access of an application (by uuid), sealed with the keys'
 * public half (a web worker can set them, never read them back):
 *   build_keygen: a new ed25519 deploy key (the old one replaced); its
 *     public line into pub (pubsz >= 128);
 *   build_set_token: the HTTPS user and token (token NULL: removed);
 *   build_set_registry: an environment's external registry override
 *     (password and CA as given; host NULL: removed).
 * 0, -1.
 */
int	build_keygen(struct db *, const struct keys *, const char *app_uuid,
	    char *pub, size_t pubsz);
int	build_set_token(struct db *, const struct keys *, const char *app_uuid,
	    const char *user, const char *secret_token);
int	build_set_registry(struct db *, const struct keys *, const char *env_uuid,
	    const char *host, const char *user, const char *secret_password,
	    const char *ca_pem);

/* The spooler's resolver for the references build_plan gives its
 * operations ("application/ID/deploy_key", "application/ID/token",
 * "environment/ID/registry"); -1 for any other. */
int	build_resolve_secret(struct db *, const struct keys *, const char *ref,
	    struct buf *out);

/* The spooler's report hook (lib/ops/spool.h): reads what step step_id
 * (reporting what) printed. SPOOL_REPORT_* */
int	build_report(struct db *, const struct op_claim *, long long step_id,
	    const char *what, int succeeded, char *err, size_t errsz);

#endif
