/*
 * One wrapper per query. Results come back as cJSON view models (objects
 * keyed by column name) that the caller owns and frees with cJSON_Delete().
 *
 * Return conventions:
 *   lookups  1 found (*out set), 0 not found, -1 failure (logged);
 *   writes   0 done, 1 refused by a constraint (db_constraint() names it),
 *            -1 failure (logged);
 *   lists    the array, or NULL on failure (logged).
 */
#ifndef KS_MODEL_H
#define KS_MODEL_H

#include <cjson/cJSON.h>

struct db;

/* Form values for a server, application or environment write. */
struct server_in {
	const char	*name, *address, *ssh_port, *ssh_user;
	const char	*role_build, *role_runtime;	/* "true"/"false" */
};
struct app_in {
	const char	*name, *repository_url, *default_branch;
};
struct env_in {
	const char	*name, *branch, *pinned_commit, *dockerfile_source;
	const char	*dockerfile_path, *build_location, *build_server;
	const char	*retention_count;
};

int	 m_user_by_name(struct db *, const char *username, cJSON **out);
int	 m_user_insert(struct db *, const char *username, const char *pwhash,
	    int admin);
int	 m_user_set_password(struct db *, const char *username, const char *pwhash);

int	 m_sess_insert(struct db *, const char *id_hash, long long user_id,
	    const char *address);
/* Active session (within idle/absolute limits) with user id, username,
 * has_flash and stale (last seen over a minute ago). */
int	 m_sess_get(struct db *, const char *id_hash, long idle_min,
	    long max_hours, cJSON **out);
int	 m_sess_touch(struct db *, const char *id_hash);
/* Reads and clears the flash; *out is {flash_kind, flash} or NULL. */
int	 m_sess_take_flash(struct db *, const char *id_hash, cJSON **out);
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

/* A page of rows, *total set to the number of rows in all. */
cJSON	*m_server_list(struct db *, const char *sort, long limit, long offset,
	    long *total);
int	 m_server_get(struct db *, const char *uuid, cJSON **out);
int	 m_server_insert(struct db *, const struct server_in *, char uuid[40]);
int	 m_server_update(struct db *, const char *uuid, const struct server_in *);
int	 m_server_delete(struct db *, const char *uuid);
cJSON	*m_server_options(struct db *);
/* Pins key ("TYPE BASE64") with its fingerprint. 0 done, -1 failure or
 * no such server. */
int	 m_server_pin(struct db *, const char *uuid, const char *key,
	    const char *fp);
int	 m_server_by_name(struct db *, const char *name, cJSON **out);
cJSON	*m_server_envs(struct db *, const char *uuid);

cJSON	*m_app_list(struct db *, const char *sort, long limit, long offset,
	    long *total);
int	 m_app_get(struct db *, const char *uuid, cJSON **out);
int	 m_app_insert(struct db *, const struct app_in *, char uuid[40]);
int	 m_app_update(struct db *, const char *uuid, const struct app_in *);
int	 m_app_delete(struct db *, const char *uuid);

cJSON	*m_env_list(struct db *, const char *app_uuid);
int	 m_env_get(struct db *, const char *app_uuid, const char *env_uuid,
	    cJSON **out);
/* Insert/update also replace the runtime server set, all in one
 * transaction: nothing is half-written when any part is refused. */
int	 m_env_insert(struct db *, const char *app_uuid, const struct env_in *,
	    const char *const *servers, size_t nservers, char uuid[40]);
int	 m_env_update(struct db *, const char *app_uuid, const char *env_uuid,
	    const struct env_in *, const char *const *servers, size_t nservers);
int	 m_env_delete(struct db *, const char *app_uuid, const char *env_uuid);
cJSON	*m_env_servers(struct db *, long long env_id);

cJSON	*m_artifact_list(struct db *, long long env_id, long limit, long offset,
	    long *total);
int	 m_overview(struct db *, cJSON **out);

/* Operations, as the web pages show them (the spooler's side is lib/op.h).
 * Durations come back as seconds (took_s, null before the start). */
cJSON	*m_op_list(struct db *, long limit, long offset, long *total);
int	 m_op_get(struct db *, const char *uuid, cJSON **out);
/* Subject name and links, creation time, duration, max_attempts. */
int	 m_op_info(struct db *, long long op_id, cJSON **out);
cJSON	*m_op_steps(struct db *, long long op_id);
/* A step's stored output, chunks concatenated, as a cJSON string ("" when
 * there is none), or NULL on failure. */
cJSON	*m_op_output(struct db *, long long step_id);
/* Chunks {step, seq, text} from position (ordinal, seq) on, in log order,
 * at most limit of them. */
cJSON	*m_op_log(struct db *, long long op_id, long ordinal, long seq,
	    long limit);
/* Where the log ends: {step, next}; 0 when there is no output yet. */
int	 m_op_log_end(struct db *, long long op_id, cJSON **out);
/* Cancels an active operation: a queued one at once (its pending steps
 * skipped, its secrets deleted, in one transaction), a running one by
 * request to its spooler. 1 with *out {id, status} (the status after the
 * cancel), 0 when it is not active (or unknown), -1 failure. */
int	 m_op_cancel(struct db *, const char *uuid, cJSON **out);
/* Queues a failed or cancelled operation without secrets again, with its
 * unfinished steps pending, in one transaction: 0 done, 1 refused (not
 * retryable any more), -1 failure. */
int	 m_op_retry(struct db *, const char *uuid);

#endif
