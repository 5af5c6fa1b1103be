/*
 * PostgreSQL access. Every query is a named prepared statement from the
 * table in db.c, prepared once per connection; values travel only as
 * parameters. The module that owns a statement runs it and reads its rows
 * into typed structs by column name (lib/db/row.h): the web pages' queries
 * through one m_* wrapper each in lib/web/model.c; plans, the registry and
 * provisioning in lib/ops/plan.c, lib/domain/reg.c and lib/domain/prov.c.
 */
#ifndef KS_DB_H
#define KS_DB_H

#include <libpq-fe.h>

enum stmt {
	ST_USER_BY_NAME,
	ST_USER_INSERT,
	ST_USER_SET_PW,
	ST_SESS_INSERT,
	ST_SESS_GET,
	ST_SESS_TOUCH,
	ST_SESS_TAKE_FLASH,
	ST_SESS_SET_FLASH,
	ST_SESS_DELETE,
	ST_SESS_PURGE,
	ST_LOGIN_FAILS,
	ST_LOGIN_RECORD,
	ST_SERVER_LIST_NAME,
	ST_SERVER_LIST_NAME_D,
	ST_SERVER_LIST_ADDR,
	ST_SERVER_LIST_ADDR_D,
	ST_SERVER_LIST_STATUS,
	ST_SERVER_LIST_STATUS_D,
	ST_SERVER_LIST_NEW,
	ST_SERVER_LIST_NEW_D,
	ST_SERVER_COUNT,
	ST_SERVER_GET,
	ST_SERVER_INSERT,
	ST_SERVER_UPDATE,
	ST_SERVER_DELETE,
	ST_SERVER_OPTIONS,
	ST_SERVER_ENVS,
	ST_APP_LIST_NAME,
	ST_APP_LIST_NAME_D,
	ST_APP_LIST_NEW,
	ST_APP_LIST_NEW_D,
	ST_APP_COUNT,
	ST_APP_GET,
	ST_APP_INSERT,
	ST_APP_UPDATE,
	ST_APP_DELETE,
	ST_ENV_LIST,
	ST_ENV_GET,
	ST_ENV_INSERT,
	ST_ENV_UPDATE,
	ST_ENV_SET_EXTERNAL,
	ST_ENV_DELETE,
	ST_ENV_SERVERS,
	ST_ENV_SERVERS_CLEAR,
	ST_ENV_SERVERS_ADD,
	ST_ARTIFACT_LIST,
	ST_ARTIFACT_COUNT,
	ST_ENV_BUILDS,
	ST_ENV_BY_NAMES,
	ST_BUILD_NODE_VIEW,
	ST_BSET_APP_ID,
	ST_BSET_ENV_ID,
	ST_BSET_DEPLOY_KEY,
	ST_BSET_TOKEN,
	ST_BSET_TOKEN_DEL,
	ST_BSET_REGISTRY,
	ST_BSET_ACCESS,
	ST_BSET_GIT_PIN,
	ST_SVC_LOCK,
	ST_SVC_LIST,
	ST_SVC_GET,
	ST_SVC_INSERT,
	ST_SVC_UPDATE,
	ST_SVC_DELETE,
	ST_SVC_PORT_TAKEN,
	ST_SVC_CONFLICTS,
	ST_SVC_VARS_CLEAR,
	ST_SVC_SECRET_DEL,
	ST_SVC_SECRET_PUT,
	ST_SVC_VAR_PUT,
	ST_SVC_VARS,
	ST_SVC_VOLUMES_CLEAR,
	ST_SVC_VOLUME_PUT,
	ST_SVC_VOLUMES,
	ST_SVC_DEPLOYMENTS,
	ST_SVC_DEGRADED,
	ST_OVERVIEW,
	ST_OP_INSERT,
	ST_OP_STEP_INSERT,
	ST_OP_SECRET_INSERT,
	ST_OP_DEP_INSERT,
	ST_OP_CLAIM,
	ST_OP_RECOVER,
	ST_OP_RENEW,
	ST_OP_RUN_STEPS,
	ST_OP_SECRET_REF_INSERT,
	ST_OP_SECRETS,
	ST_OP_STEP_START,
	ST_OP_STEP_OUTPUT,
	ST_OP_STEP_FINISH,
	ST_OP_SKIP_REST,
	ST_OP_FINISH,
	ST_OP_SECRETS_DELETE,
	ST_OP_LIST,
	ST_OP_COUNT,
	ST_OP_GET,
	ST_OP_STEPS,
	ST_OP_OUTPUT,
	ST_OP_CANCEL,
	ST_OP_RETRY,
	ST_OP_RETRY_STEPS,
	ST_SERVER_SSH,
	ST_SERVER_PIN,
	ST_HOSTKEY_SCAN,
	ST_APP_HOSTKEY_SCAN,
	ST_SERVER_BY_NAME,
	ST_OP_INFO,
	ST_OP_LOG,
	ST_OP_LOG_END,
	ST_OP_SKIP_PENDING,
	ST_OP_RUN_OP,
	ST_OP_ENDING,
	ST_OP_HANDOVER,
	ST_REG_GET,
	ST_REG_INSERT,
	ST_REG_SETTINGS,
	ST_REG_CRED_GET,
	ST_REG_CRED_INSERT,
	ST_REG_NODES,
	ST_REG_DUE,
	ST_REG_GATE,
	ST_REG_PAGE,
	ST_REG_CHECKS,
	ST_REG_ACTIVE,
	ST_PROV_LOG,
	ST_PROV_ISSUE,
	ST_PROV_SUDO_PUT,
	ST_PROV_EXCHANGE,
	ST_PROV_SUDO_TAKE,
	ST_PROV_USE,
	ST_PROV_ACTIVATE,
	ST_HOOK_ENV,
	ST_HOOK_CLAIM,
	ST_HOOK_CLAIMED,
	ST_HOOK_UNCLAIM,
	ST_HOOK_ROTATE,
	ST_BUILD_ENV,
	ST_BUILD_SERVER,
	ST_BUILD_NODE_HEALTH,
	ST_BUILD_BUILT,
	ST_BUILD_OP_SET,
	ST_BUILD_SUPERSEDE,
	ST_BUILD_APP_SECRET,
	ST_BUILD_ENV_SECRET,
	ST_BUILD_OUTPUT,
	ST_BUILD_NODE_SET,
	ST_BUILD_COMMIT_SET,
	ST_BUILD_ARTIFACT_PUT,
	ST_DEPLOY_ENV,
	ST_DEPLOY_SERVERS,
	ST_DEPLOY_SERVICES,
	ST_DEPLOY_VARS,
	ST_DEPLOY_VOLUMES,
	ST_DEPLOY_ARTIFACT,
	ST_DEPLOY_OP_SET,
	ST_DEPLOY_SUPERSEDE,
	ST_DEPLOY_OP_ARTIFACT,
	ST_DEPLOY_STEP_OUT,
	ST_DEPLOY_RECORD,
	ST_DEPLOY_VAR_SEALED,
	ST_DEPLOY_SERVER_ONE,
	ST_DEPLOY_APP_ENVS,
	ST_DEPLOY_VOLUME_COUNT,
	ST__MAX
};

struct db {
	PGconn	*conn;
	char	 conninfo[1024];
	char	 sqlstate[6];	/* of the last failed statement, "" if none */
	int	 prepared;	/* statements prepared on this connection */
	char	 constraint[64];	/* its constraint name, "" if none */
	int	 in_tx;		/* a transaction of db_tx_begin() is open */
};

/* Connects; statements are prepared on first use, so migrations can run
 * on a connection before the tables exist. */
int		 db_open(struct db *, const char *conninfo);
void		 db_close(struct db *);
/* Reconnects when the connection dropped. */
int		 db_ensure(struct db *);
/* Runs statement st with n text parameters (NULL = SQL NULL). Returns a
 * result the caller PQclear()s, or NULL on failure (sqlstate set; an
 * unexpected failure is logged once here). */
PGresult	*db_exec(struct db *, enum stmt st, int n, const char *const *params);
/* Several read statements in one round trip (a libpq pipeline), each run
 * as db_exec would run it. On 0 every q[i].res is set and the caller
 * PQclear()s each; on -1 none is (the first failure is noted and logged as
 * by db_exec). A failing statement does not stop the ones before it; those
 * after it are skipped by PostgreSQL. */
struct db_q {
	enum stmt		 st;
	int			 n;
	const char *const	*params;
	PGresult		*res;		/* out */
};
int		 db_exec_many(struct db *, struct db_q *q, size_t nq);
/* Plain SQL without parameters (migrations, LISTEN). */
int		 db_simple(struct db *, const char *sql);

/*
 * Transactions: the one way to open and end one. A second db_tx_begin()
 * while one is open fails (-1, logged) and leaves the open one as it was:
 * a function that makes its own transaction cannot be called inside
 * another one by mistake and have its COMMIT end the caller's. While one
 * is open a dropped connection is not silently replaced (the statements
 * after it would run outside the transaction): they fail instead.
 * db_tx_snapshot() opens a read-only one that sees one snapshot.
 * db_tx_commit() is -1 when the transaction did not commit (a statement in
 * it had failed); either way it is over. db_tx_rollback() keeps the
 * sqlstate and constraint of the failure that led to it.
 */
int		 db_tx_begin(struct db *);
int		 db_tx_snapshot(struct db *);
int		 db_tx_commit(struct db *);
void		 db_tx_rollback(struct db *);

/* SQLSTATE classes the handlers map to field errors. */
int		 db_unique_violation(const struct db *);
int		 db_fk_violation(const struct db *);
/* Name of the constraint that failed last, or "" (for mapping to a field). */
const char	*db_constraint(const struct db *);

#endif
