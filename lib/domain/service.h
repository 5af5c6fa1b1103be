/*
 * An environment's services as a user sets them (sql/016_deploys.sql,
 * sql/017_service_uuid.sql): the field checks, the writes of a service
 * with its variables and volumes, and the reads its pages and the
 * environment's page show (cgi/r_services.c, cgi/r_envs.c).
 *
 * A secret variable is sealed with the keys' public half, bound to its
 * row: the associated data is "service/ID/var/NAME" (ID the service's
 * id), so a sealed value copied to another service or name does not open.
 * Nothing here reads one back: a page shows only that it is set.
 *
 * Address and port claims: on each runtime server of its environment a
 * service listens at its bind address (empty: the server's own address)
 * and port; two environments may not claim the same address and port on
 * one server (0.0.0.0 and :: claim every address), nor may two services
 * of one environment share a port. Both are checked under one lock when a
 * service is saved and when runtime servers are set.
 */
#ifndef KS_SERVICE_H
#define KS_SERVICE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "keys.h"

struct db;

/* Field checks: NULL when fine, else a message for the field. */
const char	*svc_check_name(const char *);
const char	*svc_check_command(const char *);	/* one line, <= 4096 */
const char	*svc_check_bind(const char *);		/* an IPv4/IPv6 address */
const char	*svc_check_health_path(const char *);
const char	*svc_check_var_name(const char *);
/* A plain value: any UTF-8 (newlines too); a secret one: one line. */
const char	*svc_check_var_value(const char *);
const char	*svc_check_secret_value(const char *);
const char	*svc_check_volume_name(const char *);
const char	*svc_check_mount(const char *);

/* A variable or a volume (name, then value or mount path). */
struct svc_kv {
	char	*name, *value;
};
struct svc_kvs {
	struct svc_kv	*v;
	size_t		 n;
};
void	 svc_kvs_free(struct svc_kvs *);
/*
 * The plain variables' textarea ("NAME=value" lines) and the volumes'
 * ("name:/mount/path" lines) into a list, every entry checked, a name
 * given twice refused. 0; 1 refused with the message in err; -1 failure.
 */
int	 svc_parse_vars(const char *lines, struct svc_kvs *, char *err,
	    size_t errsz);
int	 svc_parse_volumes(const char *lines, struct svc_kvs *, char *err,
	    size_t errsz);

/* A service's settings, as its form gives them (NULL: absent). */
struct svc_in {
	const char	*name, *command, *port, *bind_address;
	const char	*health_kind, *health_path, *health_command;
	const char	*health_interval_s, *health_timeout_s, *restart_policy;
	const struct svc_kvs *vars;	/* plain ones: they replace all */
	const struct svc_kvs *volumes;	/* they replace all */
	/* A secret variable to set (both, or neither) and those to remove. */
	const char	*secret_name, *secret_value;
	const char *const *remove;
	size_t		 nremove;
};

/* Refusals, each for a form field. */
#define SVC_MAX_ERRS	8
struct svc_errs {
	const char	*field[SVC_MAX_ERRS];
	char		 msg[SVC_MAX_ERRS][256];
	size_t		 n;
};
void	 svc_err(struct svc_errs *, const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* The checks of every field and the rules between them; the count of
 * refusals added to errs. */
size_t	 svc_check(const struct svc_in *, struct svc_errs *);

/*
 * Creates (svc_uuid NULL) or updates a service of environment env_id,
 * its variables and volumes, in one transaction: nothing is written when
 * any part is refused. 0 (the service's uuid into uuid); 1 refused (errs);
 * -1 failure or no such service.
 */
int	 svc_save(struct db *, const struct keys *, long long env_id,
	    const char *svc_uuid, const struct svc_in *, char uuid[40],
	    struct svc_errs *);
/* 0 deleted, 1 no such service, -1 failure. */
int	 svc_delete(struct db *, long long env_id, const char *svc_uuid);
/* Removes secret variable name of service svc_id: 0, 1 none such, -1. */
int	 svc_secret_remove(struct db *, long long svc_id, const char *name);

/*
 * Inside the caller's transaction (the environment's runtime servers
 * written): 1 when a service of env_id claims an address and port another
 * environment claims on one of its servers (msg names them), 0 none, -1.
 */
int	 svc_env_conflict(struct db *, long long env_id, char *msg,
	    size_t msgsz);

/* ---- reads ------------------------------------------------------------ */

struct svc_row {
	long long	 id;
	char		*uuid, *name, *command, *bind_address;
	long long	 port;
	char		*health_kind, *health_path, *health_command;
	long long	 health_interval_s, health_timeout_s;
	char		*restart_policy;
	long long	 var_count, secret_count, volume_count;
};
struct svc_list {
	struct svc_row	*v;
	size_t		 n;
};
struct svc_var {
	char	*name, *value;		/* value NULL: a secret, set */
	int	 secret;
};
struct svc_vars {
	struct svc_var	*v;
	size_t		 n;
};
void	 svc_row_free(struct svc_row *);
cJSON	*svc_row_view(const struct svc_row *);
void	 svc_list_free(struct svc_list *);
cJSON	*svc_list_view(const struct svc_list *);
void	 svc_vars_free(struct svc_vars *);

/* 1 found, 0 not, -1. */
int	 svc_get(struct db *, long long env_id, const char *svc_uuid,
	    struct svc_row *);
int	 svc_list(struct db *, long long env_id, struct svc_list *);
/* A service's variables (names in order) and volumes. 0, -1. */
int	 svc_vars(struct db *, long long svc_id, struct svc_vars *);
int	 svc_volumes(struct db *, long long svc_id, struct svc_kvs *);

/*
 * What runs on the environment's runtime servers, added to m: "deployments"
 * (per server: its digest, state, since, the operation that left it,
 * message), "current_digest" when every server runs the same one,
 * "mixed" when they differ, "degraded" with "failed_servers" (their names)
 * when one failed, "deployed" when any ran. 0, -1.
 */
int	 svc_env_status(struct db *, long long env_id, cJSON *m);
/* The degraded environments (a runtime server's state failed), as a view
 * for the overview. 0, -1. */
int	 svc_degraded_view(struct db *, cJSON **);

#endif
