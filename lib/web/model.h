/*
 * One function per query, owning its statement (lib/db/db.c's table). Rows
 * come back as typed structs, filled by column name (lib/db/row.h) from a
 * column table in lib/web/model.c; strings are owned by the row (NULL for SQL
 * NULL) and each row or list type has a paired _free and a _view that
 * turns it into the cJSON view model the templates read (keyed by column
 * name, a NULL as null). The web pages read no result themselves.
 *
 * Return conventions:
 *   lookups  1 found (*out set), 0 not found, -1 failure (logged);
 *   writes   0 done, 1 refused by a constraint (db_constraint() names it),
 *            -1 failure (logged);
 *   lists    0 with the rows (and their total), -1 failure (logged).
 * A row or list is zeroed first, so its _free is safe after any return.
 */
#ifndef KS_MODEL_H
#define KS_MODEL_H

#include <cjson/cJSON.h>

#include "row.h"

struct db;

/* An integer column's value when it is NULL; a NULL boolean reads -1. */
#define M_NULL	ROW_NULL

/* Ages ("42s", "5m", "3h", "12d") are formatted text. */
struct server_row {			/* m_server_get, m_server_by_name */
	long long	 id;
	char		*uuid, *name, *address, *ssh_user, *status;
	long long	 ssh_port;
	int		 role_build, role_runtime;
	char		*host_key, *host_key_sha256;	/* NULL: not pinned */
	char		*age, *created;
};
struct server_item {			/* a row of the servers list */
	char		*uuid, *name, *address, *ssh_user, *status;
	long long	 ssh_port;
	int		 role_build, role_runtime, pinned;
	char		*age;
};
struct server_list {
	struct server_item	*v;
	size_t			 n;
	long			 total;	/* rows in all pages */
};
struct server_option {			/* a choice in a form */
	char		*uuid, *name, *address;
	int		 role_build, role_runtime;
};
struct server_options {
	struct server_option	*v;
	size_t			 n;
};
struct server_env {			/* an environment using a server */
	char		*uuid, *name, *app_uuid, *app_name;
};
struct server_envs {
	struct server_env	*v;
	size_t			 n;
};
struct app_row {
	long long	 id;
	char		*uuid, *name, *repository_url, *default_branch, *age;
	/* Repository access (secrets only as "set"). */
	char		*repo_auth, *deploy_key_public, *https_username;
	int		 auth_none, auth_key, auth_token, token_set;
	char		*git_host, *git_host_key_sha256, *git_host_pinned;
};
struct app_item {
	char		*uuid, *name, *repository_url, *default_branch, *age;
	long long	 env_count;
};
struct app_list {
	struct app_item	*v;
	size_t		 n;
	long		 total;
};
struct user_row {
	long long	 id;
	char		*username, *password_hash;
	int		 is_admin;
};
struct sess_row {
	long long	 id;		/* the user's */
	char		*username;
	int		 has_flash;
	int		 stale;		/* last seen over a minute ago */
};
struct flash_row {
	char		*flash_kind, *flash;
};
struct overview_row {
	long long	 servers, servers_active, applications, environments;
	long long	 artifacts;
};

struct env_item {			/* a row of an application's list */
	char		*uuid, *app_uuid, *name, *branch, *build_location;
	long long	 retention_count, server_count, artifact_count;
};
struct env_list {
	struct env_item	*v;
	size_t		 n;
};
struct env_row {
	long long	 id;
	char		*uuid, *name;
	char		*branch;		/* NULL: the application's */
	char		*effective_branch, *pinned_commit, *dockerfile_source;
	char		*dockerfile_path, *build_location;
	long long	 retention_count;
	char		*build_server_uuid, *build_server_name;
	char		*age;
	/* Build settings (sql/014_builds.sql); secrets only as "set". */
	char		*build_context, *preset, *preset_base_image;
	char		*preset_command, *preset_root, *build_args;
	long long	 build_timeout_s;
	char		*ext_registry_host, *ext_registry_user, *ext_registry_ca;
	int		 ext_registry_password_set;
};
struct env_server {			/* a runtime server */
	char		*uuid, *name, *address, *status;
};
struct env_servers {
	struct env_server	*v;
	size_t			 n;
};
struct artifact_item {
	char		*uuid, *tag, *manifest_digest, *commit_sha, *short_sha;
	char		*registry_host, *architecture, *size, *build, *op_uuid;
	char		*status, *age, *pruned_age;
};
struct artifact_list {
	struct artifact_item	*v;
	size_t			 n;
	long			 total;
};

/* An environment's builds: queued (queue_ahead: the builds before it on
 * its build node), running, the last that ended. */
struct env_build {
	char		*uuid, *status, *commit_sha, *short_sha, *error, *node;
	int		 rebuild, queued;
	long long	 queue_ahead;		/* M_NULL unless queued */
	char		*superseded_by_uuid, *artifact_uuid, *age, *took;
};
struct env_builds {
	struct env_build	*v;
	size_t			 n;
};

/* A build node's health (the build_nodes row of its last build), disk
 * pressure against the threshold now. */
struct build_node_row {
	char		*node;
	int		 known, pressure, engine_ok;	/* engine_ok -1: unknown */
	long long	 disk_free_mb, min_free_mb, queue_length, running;
	char		*message, *checked_at, *checked_age;
	char		*last_build_uuid, *last_build_status, *last_build_age;
};

/* Operations, as the web pages show them (the spooler's side is
 * lib/ops/op.h). Durations ("took") are formatted text, NULL before the
 * start. */
struct op_item {
	char		*uuid, *kind, *status, *subject_type, *error;
	long long	 attempt;
	char		*age, *took, *subject_name, *superseded_by_uuid;
};
struct op_list {
	struct op_item	*v;
	size_t		 n;
	long		 total;
};
struct op_row {
	long long	 id;
	char		*uuid, *kind, *status, *subject_type, *error;
	long long	 attempt;
	int		 cancel_requested, has_secrets;
	char		*claimed_by;
	int		 active, retryable;
	char		*age, *depends_on_uuid, *created_by;
};
struct op_info {			/* what the operation page adds */
	char		*subject_name, *env_uuid, *app_uuid, *app_name;
	char		*server_uuid, *subject_app_uuid;
	long long	 max_attempts;
	char		*created, *took;
	/* A build: its commit, the newer build that superseded it, the
	 * artifact it made (artifact_made) or found built already. */
	char		*commit_sha, *superseded_by_uuid;
	int		 rebuild, artifact_made;
	char		*artifact_uuid, *artifact_tag, *artifact_digest;
	char		*artifact_status;
};
struct op_step {
	long long	 id, ordinal;
	char		*name, *target, *status;
	long long	 exit_code;		/* M_NULL before the end */
	char		*exit_signal, *error;
	long long	 output_bytes;
	int		 truncated;
	char		*server_name, *took;
};
struct op_steps {
	struct op_step	*v;
	size_t		 n;
};
struct op_chunk {
	long long	 step, seq;
	char		*text;
};
struct op_chunks {
	struct op_chunk	*v;
	size_t		 n;
};
struct op_log_end {			/* where a client continues from */
	long long	 step, next;
};

/* A host key check of a server (lib/hostkey.c, cgi/r_servers.c). */
struct hostkey_scan {
	long long	 id;
	char		*uuid, *status, *error;
	int		 active;
	int		 fresh;		/* ended within the limit (-1: not ended) */
	char		*output;	/* of its step; NULL before there is any */
};

/* The managed registry as its page shows it (cgi/r_registry.c). */
struct reg_page {
	char		*hostname, *storage_path, *listen;
	int		 insecure, pull_only;
	char		*state, *state_reason, *disk_usage, *checked_at;
	char		*credentials;
};
struct reg_check {			/* a cell of the health matrix */
	char		*node, *check_name;
	int		 ok;			/* -1: skipped */
	char		*message, *at, *label;
};
struct reg_checks {			/* by node */
	struct reg_check	*v;
	size_t			 n;
};
void	 server_row_free(struct server_row *);
cJSON	*server_row_view(const struct server_row *);
void	 server_list_free(struct server_list *);
cJSON	*server_list_view(const struct server_list *);
void	 server_options_free(struct server_options *);
cJSON	*server_options_view(const struct server_options *);
void	 server_envs_free(struct server_envs *);
cJSON	*server_envs_view(const struct server_envs *);
void	 app_row_free(struct app_row *);
cJSON	*app_row_view(const struct app_row *);
void	 app_list_free(struct app_list *);
cJSON	*app_list_view(const struct app_list *);
void	 user_row_free(struct user_row *);
cJSON	*user_row_view(const struct user_row *);
void	 sess_row_free(struct sess_row *);
cJSON	*sess_row_view(const struct sess_row *);
void	 flash_row_free(struct flash_row *);
cJSON	*flash_row_view(const struct flash_row *);
cJSON	*overview_row_view(const struct overview_row *);
void	 env_list_free(struct env_list *);
cJSON	*env_list_view(const struct env_list *);
void	 env_row_free(struct env_row *);
cJSON	*env_row_view(const struct env_row *);
void	 env_servers_free(struct env_servers *);
cJSON	*env_servers_view(const struct env_servers *);
void	 artifact_list_free(struct artifact_list *);
cJSON	*artifact_list_view(const struct artifact_list *);
void	 env_builds_free(struct env_builds *);
cJSON	*env_builds_view(const struct env_builds *);
void	 build_node_row_free(struct build_node_row *);
cJSON	*build_node_row_view(const struct build_node_row *);
void	 op_list_free(struct op_list *);
cJSON	*op_list_view(const struct op_list *);
void	 op_row_free(struct op_row *);
cJSON	*op_row_view(const struct op_row *);
void	 op_info_free(struct op_info *);
cJSON	*op_info_view(const struct op_info *);
void	 op_steps_free(struct op_steps *);
cJSON	*op_steps_view(const struct op_steps *);
void	 op_chunks_free(struct op_chunks *);
cJSON	*op_chunks_view(const struct op_chunks *);

/* The list orders, NULL-terminated, the default first; each has its own
 * statement (lib/db/db.c). */
extern const char *const m_server_sorts[];
extern const char *const m_app_sorts[];

/* Form values for a server, application or environment write. */
struct server_in {
	const char	*name, *address, *ssh_port, *ssh_user;
	const char	*role_build, *role_runtime;	/* "true"/"false" */
};
struct app_in {
	const char	*name, *repository_url, *default_branch;
	const char	*git_host;	/* the URL's SSH host (update), or NULL */
};
struct env_in {
	const char	*name, *branch, *pinned_commit, *dockerfile_source;
	const char	*dockerfile_path, *build_location, *build_server;
	const char	*retention_count;
	/* Build settings; NULL: the column's default. */
	const char	*build_context, *preset, *preset_base_image;
	const char	*preset_command, *preset_root, *build_args;
	const char	*build_timeout_s;
	/* Optional: run inside the write's transaction once the row is
	 * written (id), before it commits; 0, or anything else to roll all
	 * back (1: a refusal, db_constraint() set by it). */
	int		(*after)(struct db *, long long id, const char *uuid,
			    void *arg);
	void		*after_arg;
};

int	 m_user_by_name(struct db *, const char *username, struct user_row *);
int	 m_user_insert(struct db *, const char *username, const char *pwhash,
	    int admin);
int	 m_user_set_password(struct db *, const char *username, const char *pwhash);

int	 m_sess_insert(struct db *, const char *id_hash, long long user_id,
	    const char *address);
/* The active session (within idle/absolute limits). */
int	 m_sess_get(struct db *, const char *id_hash, long idle_min,
	    long max_hours, struct sess_row *);
int	 m_sess_touch(struct db *, const char *id_hash);
/* Reads and clears the flash (its fields NULL when there was none). */
int	 m_sess_take_flash(struct db *, const char *id_hash, struct flash_row *);
int	 m_sess_set_flash(struct db *, const char *id_hash, const char *kind,
	    const char *msg);
int	 m_sess_delete(struct db *, const char *id_hash);
int	 m_sess_purge(struct db *, long idle_min, long max_hours);

/*
 * The name a login attempt is recorded, counted and logged under: a known
 * username as it is; anything else (often a password typed into the wrong
 * field) as "?" and 16 hex digits of a BLAKE2b keyed with login_key, so it
 * is never stored or logged in a readable form and repeated attempts with
 * the same name still count together. out holds M_LOGIN_NAMELEN bytes.
 */
#define M_LOGIN_NAMELEN	72
void	 m_login_name(char out[M_LOGIN_NAMELEN], const unsigned char login_key[32],
	    const char *username, int known);
/* name as made by m_login_name. */
int	 m_login_failures(struct db *, const char *name, const char *address,
	    long long *by_user, long long *by_address);
int	 m_login_record(struct db *, const char *name, const char *address,
	    int success);

/* A page of rows in the order sort (one of m_server_sorts; anything else
 * is the default). */
int	 m_server_list(struct db *, const char *sort, long limit, long offset,
	    struct server_list *);
int	 m_server_get(struct db *, const char *uuid, struct server_row *);
/* The same as views, for the generic handlers (cgi/res.c). */
int	 m_server_view(struct db *, const char *uuid, cJSON **);
int	 m_server_list_view(struct db *, const char *sort, long limit,
	    long offset, long *total, cJSON **);
int	 m_server_insert(struct db *, const struct server_in *, char uuid[40]);
int	 m_server_update(struct db *, const char *uuid, const struct server_in *);
int	 m_server_delete(struct db *, const char *uuid);
int	 m_server_options(struct db *, struct server_options *);
/* Pins key ("TYPE BASE64") with its fingerprint. 0 done, -1 failure or
 * no such server. */
int	 m_server_pin(struct db *, const char *uuid, const char *key,
	    const char *fp);
int	 m_server_by_name(struct db *, const char *name, struct server_row *);
int	 m_server_envs(struct db *, const char *uuid, struct server_envs *);
int	 m_server_envs_view(struct db *, const char *uuid, cJSON **);

int	 m_app_list(struct db *, const char *sort, long limit, long offset,
	    struct app_list *);
int	 m_app_get(struct db *, const char *uuid, struct app_row *);
int	 m_app_view(struct db *, const char *uuid, cJSON **);
int	 m_app_list_view(struct db *, const char *sort, long limit, long offset,
	    long *total, cJSON **);
int	 m_app_insert(struct db *, const struct app_in *, char uuid[40]);
int	 m_app_update(struct db *, const char *uuid, const struct app_in *);
int	 m_app_delete(struct db *, const char *uuid);

int	 m_env_list(struct db *, const char *app_uuid, struct env_list *);
int	 m_env_list_view(struct db *, const char *app_uuid, cJSON **);
int	 m_env_get(struct db *, const char *app_uuid, const char *env_uuid,
	    struct env_row *);
/* Insert/update also replace the runtime server set, all in one
 * transaction: nothing is half-written when any part is refused. */
int	 m_env_insert(struct db *, const char *app_uuid, const struct env_in *,
	    const char *const *servers, size_t nservers, char uuid[40]);
int	 m_env_update(struct db *, const char *app_uuid, const char *env_uuid,
	    const struct env_in *, const char *const *servers, size_t nservers);
int	 m_env_delete(struct db *, const char *app_uuid, const char *env_uuid);
/* Inside an after hook: the environment builds through its external
 * registry override (written already). 0, -1. */
int	 m_env_set_external(struct db *, long long env_id);
int	 m_env_servers(struct db *, long long env_id, struct env_servers *);

int	 m_artifact_list(struct db *, long long env_id, long limit, long offset,
	    struct artifact_list *);
int	 m_overview(struct db *, struct overview_row *);
/* The UUID of environment env of application app (by name). 1, 0, -1. */
int	 m_env_by_names(struct db *, const char *app, const char *env,
	    char uuid[40]);
/* The builds of environment env_id: all queued or running, and the last
 * `last` that ended, newest first. */
int	 m_env_builds(struct db *, long long env_id, long last,
	    struct env_builds *);
/* The health of build node server_id (0: the control node), disk pressure
 * below min_free_kb. 1 (a row for a node never seen too), -1. */
int	 m_build_node(struct db *, long long server_id, long long min_free_kb,
	    struct build_node_row *);

int	 m_op_list(struct db *, long limit, long offset, struct op_list *);
int	 m_op_get(struct db *, const char *uuid, struct op_row *);
int	 m_op_info(struct db *, long long op_id, struct op_info *);
int	 m_op_steps(struct db *, long long op_id, struct op_steps *);
/* A step's stored output, chunks concatenated ("" when there is none),
 * to free(); NULL on failure. */
char	*m_op_output(struct db *, long long step_id);
/* Chunks after position (step, seq - 1) (step 0: all), in the order they
 * were written, at most limit. */
int	 m_op_log(struct db *, long long op_id, long long step, long seq,
	    long limit, struct op_chunks *);
/* Where the log ends; 0 when there is no output yet. */
int	 m_op_log_end(struct db *, long long op_id, struct op_log_end *);
/* Cancels an active operation: a queued one at once (its pending steps
 * skipped, its secrets deleted, in one transaction), a running one by
 * request to its spooler; one queued to run its always-run steps after a
 * failure is not stopped (they run whatever happened). 1 with status
 * (after the cancel: "cancelled", or "running"/"queued" until its spooler
 * ends it), 0 when it is not active (or unknown), -1 failure. */
int	 m_op_cancel(struct db *, const char *uuid, char status[16]);
/* Queues a failed or cancelled operation without secrets again, with its
 * unfinished steps pending, in one transaction: 0 done, 1 refused (not
 * retryable any more), -1 failure. */
int	 m_op_retry(struct db *, const char *uuid);

void	 hostkey_scan_free(struct hostkey_scan *);
cJSON	*hostkey_scan_view(const struct hostkey_scan *);
/* The host key check op_uuid of the server server_uuid (fresh: it ended
 * within fresh_min minutes). 1 found, 0 when op_uuid is no host key check
 * of that server, -1 failure. */
int	 m_hostkey_scan(struct db *, const char *server_uuid, const char *op_uuid,
	    long fresh_min, struct hostkey_scan *);
/* The same for the Git host key check op_uuid of application app_uuid. */
int	 m_app_hostkey_scan(struct db *, const char *app_uuid,
	    const char *op_uuid, long fresh_min, struct hostkey_scan *);

void	 reg_page_free(struct reg_page *);
cJSON	*reg_page_view(const struct reg_page *);
void	 reg_checks_free(struct reg_checks *);
/* 1 with the row, 0 when the registry was never set up. */
int	 m_reg_page(struct db *, struct reg_page *);
int	 m_reg_checks(struct db *, struct reg_checks *);

#endif
