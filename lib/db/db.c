#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

struct stmtdef {
	const char	*name;
	const char	*sql;
};

/*
 * List pages have one statement per sort order, so each can walk an index
 * (a sort key passed as a parameter would force a full sort once PostgreSQL
 * switches to a generic plan). Totals come from their own count
 * statement: a window count would make PostgreSQL materialise every row of
 * the list for each page. Ages are seconds (age_s), formatted in C.
 */
static const struct stmtdef stmts[ST__MAX] = {
[ST_USER_BY_NAME] = { "user_by_name",
 "SELECT id, username, password_hash, is_admin FROM users WHERE username = $1" },
[ST_USER_INSERT] = { "user_insert",
 "INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, $3) "
 "RETURNING id" },
[ST_USER_SET_PW] = { "user_set_pw",
 "UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1 "
 "RETURNING id" },
[ST_SESS_INSERT] = { "sess_insert",
 "INSERT INTO sessions (id_hash, user_id, address) VALUES ($1, $2, $3)" },
[ST_SESS_GET] = { "sess_get",
 "SELECT u.id, u.username, s.flash IS NOT NULL AS has_flash, "
 " now() - s.last_seen_at > interval '60 seconds' AS stale "
 "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 "
 "AND now() - s.last_seen_at <= make_interval(mins => $2::int) "
 "AND now() - s.created_at <= make_interval(hours => $3::int)" },
[ST_SESS_TOUCH] = { "sess_touch",
 "UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1" },
[ST_SESS_TAKE_FLASH] = { "sess_take_flash",
 "UPDATE sessions s SET flash = NULL, flash_kind = NULL FROM "
 "(SELECT id_hash, flash, flash_kind FROM sessions WHERE id_hash = $1 FOR UPDATE) o "
 "WHERE s.id_hash = o.id_hash RETURNING o.flash_kind, o.flash" },
[ST_SESS_SET_FLASH] = { "sess_set_flash",
 "UPDATE sessions SET flash_kind = $2, flash = $3 WHERE id_hash = $1" },
[ST_SESS_DELETE] = { "sess_delete",
 "DELETE FROM sessions WHERE id_hash = $1" },
[ST_SESS_PURGE] = { "sess_purge",
 "DELETE FROM sessions WHERE now() - last_seen_at > make_interval(mins => $1::int) "
 "OR now() - created_at > make_interval(hours => $2::int)" },
[ST_LOGIN_FAILS] = { "login_fails",
 "SELECT (SELECT count(*) FROM login_attempts WHERE username = $1 AND NOT success "
 " AND at > now() - interval '1 hour') AS by_user, "
 "(SELECT count(*) FROM login_attempts WHERE address = $2 AND NOT success "
 " AND at > now() - interval '1 hour') AS by_address" },
[ST_LOGIN_RECORD] = { "login_record",
 "INSERT INTO login_attempts (username, address, success) VALUES ($1, $2, $3)" },
#define SERVER_LIST \
 "SELECT uuid, name, address, ssh_port, ssh_user, role_build, role_runtime, status, " \
 " host_key IS NOT NULL AS pinned, " \
 " extract(epoch FROM now() - created_at)::bigint AS age_s FROM servers ORDER BY "
#define PAGE	" LIMIT $1::int OFFSET $2::int"
[ST_SERVER_LIST_NAME] = { "server_list_name", SERVER_LIST "name, id" PAGE },
[ST_SERVER_LIST_NAME_D] = { "server_list_name_d", SERVER_LIST "name DESC, id DESC" PAGE },
[ST_SERVER_LIST_ADDR] = { "server_list_addr", SERVER_LIST "address, ssh_port, id" PAGE },
[ST_SERVER_LIST_ADDR_D] = { "server_list_addr_d",
 SERVER_LIST "address DESC, ssh_port DESC, id DESC" PAGE },
[ST_SERVER_LIST_STATUS] = { "server_list_status", SERVER_LIST "status, name, id" PAGE },
[ST_SERVER_LIST_STATUS_D] = { "server_list_status_d",
 SERVER_LIST "status DESC, name DESC, id DESC" PAGE },
[ST_SERVER_LIST_NEW] = { "server_list_new", SERVER_LIST "created_at, id" PAGE },
[ST_SERVER_LIST_NEW_D] = { "server_list_new_d", SERVER_LIST "created_at DESC, id DESC" PAGE },
[ST_SERVER_COUNT] = { "server_count", "SELECT count(*) FROM servers" },
/* struct server_row (lib/web/model.h). */
#define SERVER_ROW \
 "SELECT id, uuid, name, address, ssh_port, ssh_user, role_build, role_runtime, status, " \
 " host_key, host_key_sha256, ks_age(created_at) AS age, " \
 " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"') AS created " \
 "FROM servers "
[ST_SERVER_GET] = { "server_get", SERVER_ROW "WHERE uuid = $1::uuid" },
[ST_SERVER_INSERT] = { "server_insert",
 "INSERT INTO servers (name, address, ssh_port, ssh_user, role_build, role_runtime) "
 "VALUES ($1, $2, $3::int, $4, $5::bool, $6::bool) RETURNING uuid" },
[ST_SERVER_UPDATE] = { "server_update",
 "UPDATE servers SET name = $2, address = $3, ssh_port = $4::int, ssh_user = $5, "
 " role_build = $6::bool, role_runtime = $7::bool, updated_at = now() "
 "WHERE uuid = $1::uuid RETURNING uuid" },
[ST_SERVER_DELETE] = { "server_delete",
 "DELETE FROM servers WHERE uuid = $1::uuid RETURNING name" },
[ST_SERVER_OPTIONS] = { "server_options",
 "SELECT uuid, name, address, role_build, role_runtime FROM servers ORDER BY name" },
[ST_SERVER_ENVS] = { "server_envs",
 "SELECT e.uuid, e.name, a.uuid AS app_uuid, a.name AS app_name "
 "FROM environments e JOIN applications a ON a.id = e.application_id "
 "JOIN servers s ON s.uuid = $1::uuid "
 "WHERE e.build_server_id = s.id OR EXISTS (SELECT 1 FROM environment_servers es "
 " WHERE es.environment_id = e.id AND es.server_id = s.id) ORDER BY a.name, e.name" },
#define APP_LIST \
 "SELECT a.uuid, a.name, a.repository_url, a.default_branch, " \
 " extract(epoch FROM now() - a.created_at)::bigint AS age_s, " \
 " (SELECT count(*) FROM environments e WHERE e.application_id = a.id) AS env_count " \
 "FROM applications a ORDER BY "
[ST_APP_LIST_NAME] = { "app_list_name", APP_LIST "a.name, a.id" PAGE },
[ST_APP_LIST_NAME_D] = { "app_list_name_d", APP_LIST "a.name DESC, a.id DESC" PAGE },
[ST_APP_LIST_NEW] = { "app_list_new", APP_LIST "a.created_at, a.id" PAGE },
[ST_APP_LIST_NEW_D] = { "app_list_new_d", APP_LIST "a.created_at DESC, a.id DESC" PAGE },
[ST_APP_COUNT] = { "app_count", "SELECT count(*) FROM applications" },
[ST_APP_GET] = { "app_get",
 "SELECT id, uuid, name, repository_url, default_branch, ks_age(created_at) AS age, "
 " repo_auth, repo_auth = 'none' AS auth_none, repo_auth = 'deploy_key' AS auth_key, "
 " repo_auth = 'token' AS auth_token, deploy_key_public, https_username, "
 " https_token_sealed IS NOT NULL AS token_set, git_host, git_host_key_sha256, "
 " to_char(git_host_key_pinned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"') "
 "  AS git_host_pinned "
 "FROM applications WHERE uuid = $1::uuid" },
[ST_APP_INSERT] = { "app_insert",
 "INSERT INTO applications (name, repository_url, default_branch) VALUES ($1, $2, $3) "
 "RETURNING uuid" },
/* $5: the Git host of the new URL (known_hosts' name; NULL: none): a
 * key pinned for another host is unpinned. */
[ST_APP_UPDATE] = { "app_update",
 "UPDATE applications SET name = $2, repository_url = $3, default_branch = $4, "
 " git_host_key = CASE WHEN git_host IS NOT DISTINCT FROM $5 THEN git_host_key END, "
 " git_host_key_sha256 = CASE WHEN git_host IS NOT DISTINCT FROM $5 "
 "  THEN git_host_key_sha256 END, "
 " git_host_key_pinned_at = CASE WHEN git_host IS NOT DISTINCT FROM $5 "
 "  THEN git_host_key_pinned_at END, "
 " git_host = CASE WHEN git_host IS NOT DISTINCT FROM $5 THEN git_host END, "
 " updated_at = now() WHERE uuid = $1::uuid RETURNING uuid" },
[ST_APP_DELETE] = { "app_delete",
 "DELETE FROM applications WHERE uuid = $1::uuid RETURNING name" },
[ST_ENV_LIST] = { "env_list",
 "SELECT e.uuid, a.uuid AS app_uuid, e.name, coalesce(e.branch, a.default_branch) AS branch, "
 " e.build_location, "
 " e.retention_count, (SELECT count(*) FROM environment_servers es "
 "  WHERE es.environment_id = e.id) AS server_count, "
 " (SELECT count(*) FROM build_artifacts b WHERE b.environment_id = e.id "
 "  AND b.status = 'available') AS artifact_count "
 "FROM environments e JOIN applications a ON a.id = e.application_id "
 "WHERE a.uuid = $1::uuid ORDER BY e.name" },
[ST_ENV_GET] = { "env_get",
 "SELECT e.id, e.uuid, e.name, e.branch, coalesce(e.branch, a.default_branch) AS effective_branch, "
 " e.pinned_commit, e.dockerfile_source, e.dockerfile_path, e.build_location, "
 " e.retention_count, s.uuid AS build_server_uuid, s.name AS build_server_name, "
 " ks_age(e.created_at) AS age, e.build_context, e.preset, e.preset_base_image, "
 " e.preset_command, e.preset_root, e.build_args, e.build_timeout_s, "
 " e.ext_registry_host, e.ext_registry_user, e.ext_registry_ca, "
 " e.ext_registry_password_sealed IS NOT NULL AS ext_registry_password_set "
 "FROM environments e JOIN applications a ON a.id = e.application_id "
 "LEFT JOIN servers s ON s.id = e.build_server_id "
 "WHERE a.uuid = $1::uuid AND e.uuid = $2::uuid" },
/* The build settings ($10..$16) NULL: their defaults. */
[ST_ENV_INSERT] = { "env_insert",
 "INSERT INTO environments (application_id, name, branch, pinned_commit, dockerfile_source, "
 " dockerfile_path, build_location, build_server_id, retention_count, build_context, "
 " preset, preset_base_image, preset_command, preset_root, build_args, build_timeout_s) "
 "SELECT a.id, $2, $3, $4, $5, $6, $7, (SELECT id FROM servers WHERE uuid = $8::uuid), $9::int, "
 " coalesce($10, '.'), $11, $12, $13, $14, coalesce($15, ''), coalesce($16::int, 1800) "
 "FROM applications a WHERE a.uuid = $1::uuid RETURNING id, uuid" },
[ST_ENV_UPDATE] = { "env_update",
 "UPDATE environments e SET name = $3, branch = $4, pinned_commit = $5, "
 " dockerfile_source = $6, dockerfile_path = $7, build_location = $8, "
 " build_server_id = (SELECT id FROM servers WHERE uuid = $9::uuid), "
 " retention_count = $10::int, build_context = coalesce($11, '.'), preset = $12, "
 " preset_base_image = $13, preset_command = $14, preset_root = $15, "
 " build_args = coalesce($16, ''), build_timeout_s = coalesce($17::int, 1800), "
 " updated_at = now() "
 "FROM applications a WHERE a.id = e.application_id AND a.uuid = $1::uuid "
 " AND e.uuid = $2::uuid RETURNING e.id, e.uuid" },
/* The external registry override chosen, once its fields are written
 * (sql/014_builds.sql checks they are). */
[ST_ENV_SET_EXTERNAL] = { "env_set_external",
 "UPDATE environments SET build_location = 'external', build_server_id = NULL "
 "WHERE id = $1::bigint RETURNING id" },
[ST_ENV_DELETE] = { "env_delete",
 "DELETE FROM environments e USING applications a WHERE a.id = e.application_id "
 " AND a.uuid = $1::uuid AND e.uuid = $2::uuid RETURNING e.name" },
[ST_ENV_SERVERS] = { "env_servers",
 "SELECT s.uuid, s.name, s.address, s.status FROM environment_servers es "
 "JOIN servers s ON s.id = es.server_id WHERE es.environment_id = $1::bigint ORDER BY s.name" },
[ST_ENV_SERVERS_CLEAR] = { "env_servers_clear",
 "DELETE FROM environment_servers WHERE environment_id = $1::bigint" },
[ST_ENV_SERVERS_ADD] = { "env_servers_add",
 "INSERT INTO environment_servers (environment_id, server_id) "
 "SELECT $1::bigint, id FROM servers WHERE uuid = $2::uuid RETURNING server_id" },
[ST_ARTIFACT_LIST] = { "artifact_list",
 "SELECT b.uuid, b.tag, b.manifest_digest, b.commit_sha, "
 " substr(b.commit_sha, 1, 12) AS short_sha, b.registry_host, b.architecture, "
 " pg_size_pretty(b.size_bytes) AS size, b.build_ms / 1000 AS build_s, o.uuid AS op_uuid, "
 " b.status, extract(epoch FROM now() - b.created_at)::bigint AS age_s, "
 " extract(epoch FROM now() - b.pruned_at)::bigint AS pruned_age_s "
 "FROM build_artifacts b LEFT JOIN operations o ON o.id = b.operation_id "
 "WHERE b.environment_id = $1::bigint "
 "ORDER BY b.created_at DESC, b.id DESC LIMIT $2::int OFFSET $3::int" },
[ST_ARTIFACT_COUNT] = { "artifact_count",
 "SELECT artifact_rows FROM environments WHERE id = $1::bigint" },
/* An environment's builds ($1): every one queued or running, and the last
 * $2 that ended. A queued one's place: the builds ahead of it on its build
 * node (NULL: the control node), queued or running. */
[ST_ENV_BUILDS] = { "env_builds",
 "SELECT o.uuid, o.status, o.commit_sha, substr(o.commit_sha, 1, 12) AS short_sha, "
 " o.rebuild, o.error, coalesce(s.name, 'the control node') AS node, "
 " o.status = 'queued' AS queued, "
 " CASE WHEN o.status = 'queued' THEN (SELECT count(*) FROM operations q "
 "  WHERE q.kind = 'build' AND q.status IN ('queued', 'running') "
 "  AND q.build_server_id IS NOT DISTINCT FROM o.build_server_id AND q.id < o.id) "
 " END AS queue_ahead, n.uuid AS superseded_by_uuid, b.uuid AS artifact_uuid, "
 " extract(epoch FROM now() - o.created_at)::bigint AS age_s, "
 " extract(epoch FROM coalesce(o.finished_at, now()) - o.started_at)::bigint AS took_s "
 "FROM operations o LEFT JOIN servers s ON s.id = o.build_server_id "
 "LEFT JOIN operations n ON n.id = o.superseded_by "
 "LEFT JOIN build_artifacts b ON b.id = o.artifact_id "
 "WHERE o.kind = 'build' AND o.environment_id = $1::bigint "
 " AND (o.status IN ('queued', 'running') OR o.id IN (SELECT f.id FROM operations f "
 "  WHERE f.kind = 'build' AND f.environment_id = $1::bigint "
 "  AND f.status NOT IN ('queued', 'running') ORDER BY f.id DESC LIMIT $2::int)) "
 "ORDER BY o.id DESC" },
/* An environment by its application's name and its own (keystonectl). */
[ST_ENV_BY_NAMES] = { "env_by_names",
 "SELECT e.uuid FROM environments e JOIN applications a ON a.id = e.application_id "
 "WHERE a.name = $1 AND e.name = $2" },
/* A build node's health ($1 'control' or 'server:ID', $3 the server's id,
 * NULL for the control node) as its last build or check saw it; disk
 * pressure against the threshold now ($2 kB). One row, also for a node
 * never seen. */
[ST_BUILD_NODE_VIEW] = { "build_node_view",
 "SELECT $1::text AS node, n.node IS NOT NULL AS known, "
 " n.disk_free_kb / 1024 AS disk_free_mb, $2::bigint / 1024 AS min_free_mb, "
 " coalesce(n.disk_free_kb < $2::bigint, false) AS pressure, n.engine_ok, n.message, "
 " to_char(n.checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') AS checked_at, "
 " extract(epoch FROM now() - n.checked_at)::bigint AS checked_age_s, "
 " (SELECT count(*) FROM operations q WHERE q.kind = 'build' AND q.status = 'queued' "
 "  AND q.build_server_id IS NOT DISTINCT FROM $3::bigint) AS queue_length, "
 " (SELECT count(*) FROM operations q WHERE q.kind = 'build' AND q.status = 'running' "
 "  AND q.build_server_id IS NOT DISTINCT FROM $3::bigint) AS running, "
 " l.uuid AS last_build_uuid, l.status AS last_build_status, "
 " extract(epoch FROM now() - l.started_at)::bigint AS last_build_age_s "
 "FROM (SELECT 1) x LEFT JOIN build_nodes n ON n.node = $1::text "
 "LEFT JOIN LATERAL (SELECT o.uuid, o.status, o.started_at FROM operations o "
 " WHERE o.kind = 'build' AND o.build_server_id IS NOT DISTINCT FROM $3::bigint "
 " AND o.started_at IS NOT NULL ORDER BY o.started_at DESC, o.id DESC LIMIT 1) l ON true" },
/* Builds' settings (lib/domain/build_settings.c): what a web worker may
 * write, sealed, and never read back. */
[ST_BSET_APP_ID] = { "bset_app_id",
 "SELECT id FROM applications WHERE uuid = $1::uuid" },
[ST_BSET_ENV_ID] = { "bset_env_id",
 "SELECT id FROM environments WHERE uuid = $1::uuid" },
[ST_BSET_DEPLOY_KEY] = { "bset_deploy_key",
 "UPDATE applications SET deploy_key_public = $2, deploy_key_sealed = $3, "
 " repo_auth = 'deploy_key', updated_at = now() WHERE id = $1::bigint RETURNING id" },
[ST_BSET_TOKEN] = { "bset_token",
 "UPDATE applications SET https_username = $2, https_token_sealed = $3, "
 " repo_auth = 'token', updated_at = now() WHERE id = $1::bigint RETURNING id" },
[ST_BSET_TOKEN_DEL] = { "bset_token_del",
 "UPDATE applications SET https_username = NULL, https_token_sealed = NULL, "
 " repo_auth = CASE repo_auth WHEN 'token' THEN 'none' ELSE repo_auth END, "
 " updated_at = now() WHERE id = $1::bigint RETURNING id" },
/* $2 NULL: the override removed. Without a new password ($4 NULL) the
 * stored one stays only for the same host and user: a password is never
 * sent to another registry than the one it was given for. */
[ST_BSET_REGISTRY] = { "bset_registry",
 "UPDATE environments SET ext_registry_host = $2, ext_registry_user = $3, "
 " ext_registry_password_sealed = CASE WHEN $2::text IS NULL THEN NULL "
 "  WHEN $4::text IS NOT NULL THEN $4 "
 "  WHEN ext_registry_host = $2 AND ext_registry_user = $3 "
 "  THEN ext_registry_password_sealed END, "
 " ext_registry_ca = $5, updated_at = now() WHERE id = $1::bigint RETURNING id" },
[ST_BSET_ACCESS] = { "bset_access",
 "UPDATE applications SET repo_auth = $2, updated_at = now() WHERE uuid = $1::uuid "
 " AND ($2 = 'none' OR ($2 = 'deploy_key' AND deploy_key_sealed IS NOT NULL) "
 "  OR ($2 = 'token' AND https_token_sealed IS NOT NULL)) RETURNING id" },
[ST_BSET_GIT_PIN] = { "bset_git_pin",
 "UPDATE applications SET git_host = $2, git_host_key = $3, git_host_key_sha256 = $4, "
 " git_host_key_pinned_at = now(), updated_at = now() WHERE uuid = $1::uuid RETURNING id" },
/* Services (lib/domain/service.c): their settings, variables (a secret one
 * sealed, never read back) and volumes; the address and port claims are
 * checked under one lock, so two saves cannot both take the same one. */
[ST_SVC_LOCK] = { "svc_lock", "SELECT pg_advisory_xact_lock(727276)" },
#define SVC_ROW \
 "SELECT s.id, s.uuid, s.name, s.command, s.port, s.bind_address, s.health_kind, " \
 " s.health_path, s.health_command, s.health_interval_s, s.health_timeout_s, " \
 " s.restart_policy, " \
 " (SELECT count(*) FROM service_vars v WHERE v.service_id = s.id " \
 "  AND v.sealed IS NULL) AS var_count, " \
 " (SELECT count(*) FROM service_vars v WHERE v.service_id = s.id " \
 "  AND v.sealed IS NOT NULL) AS secret_count, " \
 " (SELECT count(*) FROM service_volumes w WHERE w.service_id = s.id) AS volume_count " \
 "FROM services s "
[ST_SVC_LIST] = { "svc_list", SVC_ROW "WHERE s.environment_id = $1::bigint ORDER BY s.name" },
[ST_SVC_GET] = { "svc_get",
 SVC_ROW "WHERE s.environment_id = $1::bigint AND s.uuid = $2::uuid" },
[ST_SVC_INSERT] = { "svc_insert",
 "INSERT INTO services (environment_id, name, command, port, bind_address, health_kind, "
 " health_path, health_command, health_interval_s, health_timeout_s, restart_policy) "
 "VALUES ($1::bigint, $2, $3, $4::int, $5, $6, coalesce($7, '/'), $8, $9::int, $10::int, $11) "
 "RETURNING id, uuid" },
[ST_SVC_UPDATE] = { "svc_update",
 "UPDATE services SET name = $3, command = $4, port = $5::int, bind_address = $6, "
 " health_kind = $7, health_path = coalesce($8, '/'), health_command = $9, "
 " health_interval_s = $10::int, health_timeout_s = $11::int, restart_policy = $12, "
 " updated_at = now() WHERE environment_id = $1::bigint AND uuid = $2::uuid "
 "RETURNING id, uuid" },
[ST_SVC_DELETE] = { "svc_delete",
 "DELETE FROM services WHERE environment_id = $1::bigint AND uuid = $2::uuid RETURNING name" },
/* Another service of the same environment on service $1's port. */
[ST_SVC_PORT_TAKEN] = { "svc_port_taken",
 "SELECT o.id, o.name FROM services s JOIN services o ON o.environment_id = s.environment_id "
 " AND o.port = s.port AND o.id <> s.id WHERE s.id = $1::bigint ORDER BY o.name LIMIT 1" },
/* A service of environment $1 (only service $2, unless NULL) claiming, on
 * one of its runtime servers, an address and port a service of another
 * environment on that server claims: the address is the bind address, or
 * the server's own when there is none; 0.0.0.0 and :: claim them all. */
[ST_SVC_CONFLICTS] = { "svc_conflicts",
 "SELECT me.name AS service, me.port, h.name AS server, "
 " coalesce(me.bind_address, h.address) AS address, o.name AS other_service, "
 " coalesce(o.bind_address, h.address) AS other_address, e2.name AS other_env, "
 " a2.name AS other_app "
 "FROM services me "
 "JOIN environment_servers es ON es.environment_id = me.environment_id "
 "JOIN servers h ON h.id = es.server_id "
 "JOIN environment_servers es2 ON es2.server_id = h.id "
 " AND es2.environment_id <> me.environment_id "
 "JOIN services o ON o.environment_id = es2.environment_id AND o.port = me.port "
 "JOIN environments e2 ON e2.id = o.environment_id "
 "JOIN applications a2 ON a2.id = e2.application_id "
 "WHERE me.environment_id = $1::bigint AND ($2::bigint IS NULL OR me.id = $2::bigint) "
 " AND (coalesce(me.bind_address, h.address) = coalesce(o.bind_address, h.address) "
 "  OR me.bind_address IN ('0.0.0.0', '::') OR o.bind_address IN ('0.0.0.0', '::')) "
 "ORDER BY h.name, me.name, a2.name, e2.name LIMIT 1" },
[ST_SVC_VARS_CLEAR] = { "svc_vars_clear",
 "DELETE FROM service_vars WHERE service_id = $1::bigint AND sealed IS NULL" },
[ST_SVC_SECRET_DEL] = { "svc_secret_del",
 "DELETE FROM service_vars WHERE service_id = $1::bigint AND name = $2 "
 " AND sealed IS NOT NULL RETURNING name" },
[ST_SVC_SECRET_PUT] = { "svc_secret_put",
 "INSERT INTO service_vars (service_id, name, sealed) VALUES ($1::bigint, $2, $3) "
 "ON CONFLICT (service_id, name) DO UPDATE SET value = NULL, sealed = EXCLUDED.sealed "
 "RETURNING name" },
/* No row back: the name is a secret variable's. */
[ST_SVC_VAR_PUT] = { "svc_var_put",
 "INSERT INTO service_vars (service_id, name, value) VALUES ($1::bigint, $2, $3) "
 "ON CONFLICT (service_id, name) DO NOTHING RETURNING name" },
[ST_SVC_VARS] = { "svc_vars",
 "SELECT name, value, sealed IS NOT NULL AS secret FROM service_vars "
 "WHERE service_id = $1::bigint ORDER BY name" },
[ST_SVC_VOLUMES_CLEAR] = { "svc_volumes_clear",
 "DELETE FROM service_volumes WHERE service_id = $1::bigint" },
[ST_SVC_VOLUME_PUT] = { "svc_volume_put",
 "INSERT INTO service_volumes (service_id, name, mount_path) VALUES ($1::bigint, $2, $3) "
 "RETURNING name" },
[ST_SVC_VOLUMES] = { "svc_volumes",
 "SELECT name, mount_path AS value FROM service_volumes WHERE service_id = $1::bigint "
 "ORDER BY name" },
/* What runs on each runtime server of environment $1 (table deployments). */
[ST_SVC_DEPLOYMENTS] = { "svc_deployments",
 "SELECT h.uuid AS server_uuid, h.name AS server_name, h.address, "
 " h.status AS server_status, d.digest, d.state, "
 " extract(epoch FROM now() - d.since)::bigint AS since_age_s, "
 " to_char(d.since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') AS since_at, "
 " o.uuid AS op_uuid, o.kind AS op_kind, d.message, b.uuid AS artifact_uuid, "
 " substr(b.commit_sha, 1, 12) AS short_sha "
 "FROM environment_servers es JOIN servers h ON h.id = es.server_id "
 "LEFT JOIN deployments d ON d.environment_id = es.environment_id AND d.server_id = h.id "
 "LEFT JOIN operations o ON o.id = d.operation_id "
 "LEFT JOIN build_artifacts b ON b.id = d.artifact_id "
 "WHERE es.environment_id = $1::bigint ORDER BY h.name, h.id" },
/* Environments with a runtime server whose deploy failed (the overview). */
[ST_SVC_DEGRADED] = { "svc_degraded",
 "SELECT e.uuid, e.name, a.uuid AS app_uuid, a.name AS app_name, "
 " string_agg(h.name, ', ' ORDER BY h.name) AS failed_servers "
 "FROM deployments d "
 "JOIN environment_servers es ON es.environment_id = d.environment_id "
 " AND es.server_id = d.server_id "
 "JOIN servers h ON h.id = d.server_id "
 "JOIN environments e ON e.id = d.environment_id "
 "JOIN applications a ON a.id = e.application_id "
 "WHERE d.state = 'failed' GROUP BY e.id, e.uuid, e.name, a.uuid, a.name "
 "ORDER BY a.name, e.name" },
[ST_OVERVIEW] = { "overview",
 "SELECT (SELECT count(*) FROM servers) AS servers, "
 " (SELECT count(*) FROM servers WHERE status = 'active') AS servers_active, "
 " (SELECT count(*) FROM applications) AS applications, "
 " (SELECT count(*) FROM environments) AS environments, "
 " (SELECT count(*) FROM build_artifacts WHERE status = 'available') AS artifacts" },

/* Operations (lib/ops/op.c). Every write a worker makes carries the fence it
 * claimed with and applies only while the operation is still running. */
#define FENCED	" AND o.fence = $2::bigint AND o.status = 'running'"
[ST_OP_INSERT] = { "op_insert",
 "INSERT INTO operations (kind, subject_type, subject_id, environment_id, "
 " build_server_id, uses_build_node, depends_on, created_by, has_secrets) "
 "VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bool, $7::bigint, "
 " $8::bigint, $9::bool) RETURNING id, uuid" },
[ST_OP_STEP_INSERT] = { "op_step_insert",
 "INSERT INTO operation_steps (operation_id, ordinal, name, target, server_id, "
 " script, idempotent, timeout_s, keep_going, check_node, check_name, secret_names, "
 " step_group, always, reports, finish) "
 "VALUES ($1::bigint, $2::int, $3, $4, $5::bigint, $6, $7::bool, $8::int, $9::bool, "
 " $10, $11, $12, $13::int, $14::bool, $15, $16::bool)" },
[ST_OP_SECRET_INSERT] = { "op_secret_insert",
 "INSERT INTO operation_secrets (operation_id, name, sealed) VALUES ($1::bigint, $2, $3)" },
/* An operation waits for another (lib/ops/plan.c); needs: only if it succeeds. */
[ST_OP_DEP_INSERT] = { "op_dep_insert",
 "INSERT INTO operation_deps (operation_id, depends_on, require_success) "
 "VALUES ($1::bigint, $2::bigint, $3::bool)" },
[ST_OP_CLAIM] = { "op_claim",
 "SELECT op_id, op_fence, op_attempt, op_kind FROM ks_claim_operation($1, $2::int, $3::int)" },
[ST_OP_RECOVER] = { "op_recover", "SELECT ks_recover_operations() AS n" },
[ST_OP_RENEW] = { "op_renew",
 "UPDATE operations o SET lease_until = now() + make_interval(secs => $3::int) "
 "WHERE o.id = $1::bigint" FENCED " RETURNING o.cancel_requested" },
[ST_OP_RUN_STEPS] = { "op_run_steps",
 "SELECT s.id, s.ordinal, s.name, s.target, s.server_id, s.script, s.idempotent, "
 " s.timeout_s, s.status, s.keep_going, s.secret_names, s.step_group, s.always, "
 " s.reports, s.finish "
 "FROM operation_steps s "
 "WHERE s.operation_id = $1::bigint "
 "ORDER BY s.ordinal" },
[ST_OP_SECRETS] = { "op_secrets",
 "SELECT name, sealed, ref FROM operation_secrets WHERE operation_id = $1::bigint ORDER BY name" },
[ST_OP_SECRET_REF_INSERT] = { "op_secret_ref_insert",
 "INSERT INTO operation_secrets (operation_id, name, ref) VALUES ($1::bigint, $2, $3)" },
[ST_OP_STEP_START] = { "op_step_start",
 "UPDATE operation_steps s SET status = 'running', started_at = now() "
 "FROM operations o WHERE s.id = $1::bigint AND o.id = s.operation_id" FENCED
 " RETURNING (SELECT coalesce(max(seq) + 1, 0) FROM operation_output "
 "  WHERE step_id = s.id) AS next_seq" },
[ST_OP_STEP_OUTPUT] = { "op_step_output",
 "INSERT INTO operation_output (step_id, seq, chunk) SELECT s.id, $3::int, $4 "
 "FROM operation_steps s JOIN operations o ON o.id = s.operation_id "
 "WHERE s.id = $1::bigint" FENCED " RETURNING seq" },
[ST_OP_STEP_FINISH] = { "op_step_finish",
 "UPDATE operation_steps s SET status = $3, exit_code = $4::int, exit_signal = $5, "
 " error = $6, finished_at = now(), output_bytes = $7::bigint, truncated = $8::bool "
 "FROM operations o WHERE s.id = $1::bigint AND o.id = s.operation_id" FENCED
 " RETURNING s.id" },
/* $3 false: the always-run steps stay pending (a handover). */
[ST_OP_SKIP_REST] = { "op_skip_rest",
 "UPDATE operation_steps s SET status = 'skipped' FROM operations o "
 "WHERE s.operation_id = $1::bigint AND o.id = s.operation_id" FENCED
 " AND s.status = 'pending' AND (NOT s.always OR $3::bool)" },
[ST_OP_FINISH] = { "op_finish",
 "UPDATE operations o SET status = $3, error = $4, finished_at = now(), "
 " claimed_by = NULL, lease_until = NULL, ends_as = NULL WHERE o.id = $1::bigint" FENCED
 " RETURNING o.id" },
/* A claimed operation's own state: ends_as set, it runs only its
 * always-run steps (sql/012_step_groups.sql). */
[ST_OP_RUN_OP] = { "op_run_op",
 "SELECT o.ends_as, o.error FROM operations o WHERE o.id = $1::bigint" FENCED },
/* The run failed or was cancelled and its always-run steps start: what it
 * will end as and why, for recovery should this spooler die meanwhile. */
[ST_OP_ENDING] = { "op_ending",
 "UPDATE operations o SET ends_as = $3, error = $4 WHERE o.id = $1::bigint" FENCED
 " RETURNING o.id" },
/* A stopping spooler leaves the always-run steps to another: the
 * operation back in the queue to run just those (the rest skipped). */
[ST_OP_HANDOVER] = { "op_handover",
 "UPDATE operations o SET status = 'queued', claimed_by = NULL, lease_until = NULL, "
 " ends_as = $3, error = $4 WHERE o.id = $1::bigint" FENCED " RETURNING o.id" },
[ST_OP_SECRETS_DELETE] = { "op_secrets_delete",
 "DELETE FROM operation_secrets WHERE operation_id = $1::bigint" },
[ST_OP_LIST] = { "op_list",
 "SELECT o.uuid, o.kind, o.status, o.subject_type, o.error, o.attempt, "
 " extract(epoch FROM now() - o.created_at)::bigint AS age_s, "
 " extract(epoch FROM coalesce(o.finished_at, now()) - o.started_at)::bigint AS took_s, "
 " coalesce(e.name, s.name, ap.name, '') AS subject_name, n.uuid AS superseded_by_uuid "
 "FROM operations o LEFT JOIN environments e ON o.subject_type = 'environment' "
 " AND e.id = o.subject_id LEFT JOIN servers s ON o.subject_type = 'server' "
 " AND s.id = o.subject_id LEFT JOIN applications ap ON o.subject_type = 'application' "
 " AND ap.id = o.subject_id LEFT JOIN operations n ON n.id = o.superseded_by "
 "ORDER BY o.created_at DESC, o.id DESC LIMIT $1::int OFFSET $2::int" },
[ST_OP_COUNT] = { "op_count", "SELECT count(*) FROM operations" },
[ST_OP_GET] = { "op_get",
 "SELECT o.id, o.uuid, o.kind, o.status, o.subject_type, o.error, o.attempt, "
 " o.cancel_requested, o.has_secrets, o.claimed_by, "
 " o.status IN ('queued', 'running') AS active, "
 " o.status IN ('failed', 'cancelled') AND NOT o.has_secrets AS retryable, "
 " extract(epoch FROM now() - o.created_at)::bigint AS age_s, "
 " d.uuid AS depends_on_uuid, u.username AS created_by "
 "FROM operations o LEFT JOIN operations d ON d.id = o.depends_on "
 "LEFT JOIN users u ON u.id = o.created_by WHERE o.uuid = $1::uuid" },
[ST_OP_STEPS] = { "op_steps",
 "SELECT s.id, s.ordinal, s.name, s.target, s.status, s.exit_code, s.exit_signal, "
 " s.error, s.output_bytes, s.truncated, sv.name AS server_name, "
 " extract(epoch FROM coalesce(s.finished_at, now()) - s.started_at)::bigint AS took_s "
 "FROM operation_steps s LEFT JOIN servers sv ON sv.id = s.server_id "
 "WHERE s.operation_id = $1::bigint ORDER BY s.ordinal" },
[ST_OP_OUTPUT] = { "op_output",
 "SELECT string_agg(chunk, '' ORDER BY seq) FROM operation_output WHERE step_id = $1::bigint" },
[ST_OP_CANCEL] = { "op_cancel",
 "UPDATE operations SET "
 " cancel_requested = true, "
 " status = CASE WHEN status = 'queued' AND ends_as IS NULL THEN 'cancelled' "
 "  ELSE status END, "
 " finished_at = CASE WHEN status = 'queued' AND ends_as IS NULL THEN now() "
 "  ELSE finished_at END "
 "WHERE uuid = $1::uuid AND status IN ('queued', 'running') RETURNING id, status" },
[ST_OP_RETRY] = { "op_retry",
 "UPDATE operations SET status = 'queued', error = NULL, finished_at = NULL, "
 " cancel_requested = false, attempt = 0, ends_as = NULL "
 "WHERE uuid = $1::uuid AND status IN ('failed', 'cancelled') AND NOT has_secrets "
 "RETURNING id" },
[ST_OP_RETRY_STEPS] = { "op_retry_steps",
 "UPDATE operation_steps SET status = 'pending', exit_code = NULL, exit_signal = NULL, "
 " error = NULL, started_at = NULL, finished_at = NULL, output_bytes = 0, "
  " truncated = false WHERE operation_id = $1::bigint "
 " AND (status <> 'succeeded' OR always)" },
[ST_SERVER_PIN] = { "server_pin",
 "UPDATE servers SET host_key = $2, host_key_sha256 = $3, host_key_pinned_at = now(), "
 " updated_at = now() WHERE uuid = $1::uuid RETURNING id" },
/* A host key check of a server (lib/hostkey.c): the operation and its
 * one step's output; fresh when it ended within $3 minutes. */
[ST_HOSTKEY_SCAN] = { "hostkey_scan",
 "SELECT o.id, o.uuid, o.status, o.status IN ('queued', 'running') AS active, "
 " o.error, o.finished_at > now() - make_interval(mins => $3::int) AS fresh, "
 " (SELECT string_agg(x.chunk, '' ORDER BY x.seq) FROM operation_steps st "
 "  JOIN operation_output x ON x.step_id = st.id "
 "  WHERE st.operation_id = o.id AND st.ordinal = 1) AS output "
 "FROM operations o JOIN servers s ON o.subject_type = 'server' AND s.id = o.subject_id "
 "WHERE s.uuid = $1::uuid AND o.uuid = $2::uuid AND o.kind = 'hostkey'" },
/* The same for an application's Git host (its repository URL's). */
[ST_APP_HOSTKEY_SCAN] = { "app_hostkey_scan",
 "SELECT o.id, o.uuid, o.status, o.status IN ('queued', 'running') AS active, "
 " o.error, o.finished_at > now() - make_interval(mins => $3::int) AS fresh, "
 " (SELECT string_agg(x.chunk, '' ORDER BY x.seq) FROM operation_steps st "
 "  JOIN operation_output x ON x.step_id = st.id "
 "  WHERE st.operation_id = o.id AND st.ordinal = 1) AS output "
 "FROM operations o JOIN applications a ON o.subject_type = 'application' "
 " AND a.id = o.subject_id "
 "WHERE a.uuid = $1::uuid AND o.uuid = $2::uuid AND o.kind = 'hostkey'" },
[ST_SERVER_BY_NAME] = { "server_by_name", SERVER_ROW "WHERE name = $1" },
[ST_SERVER_SSH] = { "server_ssh",
 "SELECT address, ssh_port, ssh_user, host_key FROM servers WHERE id = $1::bigint" },
/* The operation page (cgi/r_ops.c): what ST_OP_GET leaves out. */
[ST_OP_INFO] = { "op_info",
 "SELECT coalesce(e.name, s.name, ap.name) AS subject_name, e.uuid AS env_uuid, "
 " a.uuid AS app_uuid, a.name AS app_name, s.uuid AS server_uuid, "
 " ap.uuid AS subject_app_uuid, o.max_attempts, "
 " to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') AS created, "
 " extract(epoch FROM coalesce(o.finished_at, now()) - o.started_at)::bigint AS took_s, "
 " o.commit_sha, o.rebuild, n.uuid AS superseded_by_uuid, b.uuid AS artifact_uuid, "
 " b.tag AS artifact_tag, b.manifest_digest AS artifact_digest, "
 " b.status AS artifact_status, b.operation_id = o.id AS artifact_made "
 "FROM operations o LEFT JOIN environments e ON o.subject_type = 'environment' "
 " AND e.id = o.subject_id LEFT JOIN applications a ON a.id = e.application_id "
 " LEFT JOIN servers s ON o.subject_type = 'server' AND s.id = o.subject_id "
 " LEFT JOIN applications ap ON o.subject_type = 'application' AND ap.id = o.subject_id "
 " LEFT JOIN operations n ON n.id = o.superseded_by "
 " LEFT JOIN build_artifacts b ON b.id = o.artifact_id "
 "WHERE o.id = $1::bigint" },
/* The live log: chunks in the order they were written (pos: the steps of
 * a group write at the same time), after a position (step $2, seq $3):
 * after that step's chunk $3 - 1. Without such a chunk (seq 0, or a step
 * with none yet), from that step's first chunk on; step 0: the whole log.
 * Output is only ever appended (a retried step continues its seq). */
[ST_OP_LOG] = { "op_log",
 "SELECT s.id AS step, o.seq, o.chunk AS text FROM operation_output o "
 "JOIN operation_steps s ON s.id = o.step_id WHERE s.operation_id = $1::bigint "
 " AND o.pos > coalesce((SELECT max(c.pos) FROM operation_output c "
 "  WHERE c.step_id = $2::bigint AND c.seq < $3::int), (SELECT min(c.pos) - 1 "
 "  FROM operation_output c WHERE c.step_id = $2::bigint), 0) "
 "ORDER BY o.pos LIMIT $4::int" },
/* Where the log ends now: the position a client continues from. */
[ST_OP_LOG_END] = { "op_log_end",
 "SELECT s.id AS step, o.seq + 1 AS next FROM operation_output o "
 "JOIN operation_steps s ON s.id = o.step_id WHERE s.operation_id = $1::bigint "
 "ORDER BY o.pos DESC LIMIT 1" },
/* A queued operation cancelled before it ran: its steps never will. */
[ST_OP_SKIP_PENDING] = { "op_skip_pending",
 "UPDATE operation_steps SET status = 'skipped' WHERE operation_id = $1::bigint "
 " AND status = 'pending'" },
/* The managed registry (lib/domain/reg.c, cgi/r_registry.c). */
/* struct reg (lib/domain/reg.h). */
[ST_REG_GET] = { "reg_get",
 "SELECT hostname, storage_path AS storage, listen, insecure, pull_only, state, "
 " coalesce(state_reason, '') AS reason FROM registry WHERE id = 1" },
[ST_REG_INSERT] = { "reg_insert",
 "INSERT INTO registry (hostname, storage_path, listen) VALUES ($1, $2, $3) "
 "ON CONFLICT (id) DO NOTHING" },
[ST_REG_SETTINGS] = { "reg_settings",
 "UPDATE registry SET hostname = $1, storage_path = $2, updated_at = now() WHERE id = 1" },
[ST_REG_CRED_GET] = { "reg_cred_get",
 "SELECT username, sealed, key_version FROM registry_credentials WHERE role = $1" },
[ST_REG_CRED_INSERT] = { "reg_cred_insert",
 "INSERT INTO registry_credentials (role, username, sealed, key_version) "
 "VALUES ($1, $2, $3, $4::int) ON CONFLICT (role) DO NOTHING" },
[ST_REG_NODES] = { "reg_nodes",
 "SELECT id, name, role_build, role_runtime FROM servers WHERE host_key IS NOT NULL "
 " AND status <> 'disabled' AND (role_build OR role_runtime) "
 " AND ($1::bigint = 0 OR id = $1::bigint) ORDER BY name, id" },
[ST_REG_DUE] = { "reg_due",
 "SELECT r.state IN ('ready', 'unhealthy') AND NOT EXISTS (SELECT 1 FROM operations o "
 "  WHERE o.kind IN ('check', 'registry', 'registry_auth') "
 "  AND o.status IN ('queued', 'running')) "
 " AND (r.checked_at IS NULL OR r.checked_at < now() - make_interval(mins => $1::int)) "
 " AS due FROM registry r WHERE r.id = 1" },
/* The first cell the work needs ($1 nodes, $2 check names, in order)
 * that is not green, and whether any check has written it at all. */
[ST_REG_GATE] = { "reg_gate",
 "SELECT n.node = 'control' AS control, n.check_name AS cell, c.node IS NULL AS unchecked, "
 " CASE WHEN n.node = 'control' THEN 'the control node' "
 "  ELSE coalesce(s.name, n.node) END AS name, "
 " CASE WHEN c.node IS NULL THEN 'no registry check has run on it yet' "
 "  WHEN c.ok IS NULL THEN 'its ' || n.check_name || ' check did not run' "
 "  ELSE c.message END AS message "
 "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS n(node, check_name, i) "
 "LEFT JOIN registry_checks c ON c.node = n.node AND c.check_name = n.check_name "
 "LEFT JOIN servers s ON n.node = 'server:' || s.id "
 "WHERE c.ok IS NOT TRUE ORDER BY n.i LIMIT 1" },
[ST_REG_PAGE] = { "reg_page",
 "SELECT hostname, storage_path, listen, insecure, pull_only, state, state_reason, "
 " disk_usage, to_char(checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS checked_at, "
 " (SELECT string_agg(role || ': ' || username, ', ' ORDER BY role) "
 "  FROM registry_credentials) AS credentials "
 "FROM registry WHERE id = 1" },
[ST_REG_CHECKS] = { "reg_checks",
 "SELECT c.node, c.check_name, c.ok, c.message, "
 " to_char(c.checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS at, "
 " coalesce(s.name, 'control node') AS label "
 "FROM registry_checks c LEFT JOIN servers s ON s.id = c.server_id "
 "ORDER BY c.node <> 'control', s.name, c.node, c.check_name" },
/* What a health check comes after: the registry's operations in flight. */
[ST_REG_ACTIVE] = { "reg_active",
 "SELECT id FROM operations WHERE kind IN ('registry', 'registry_auth') "
 " AND status IN ('queued', 'running') ORDER BY id" },
/* Provisioning (lib/domain/prov.c). */
[ST_PROV_LOG] = { "prov_log",
 "INSERT INTO provision_log (server_id, event, remote_addr, detail) "
 "VALUES ($1::bigint, $2, $3, $4)" },
[ST_PROV_ISSUE] = { "prov_issue",
 "WITH revoked AS (UPDATE provision_tokens SET revoked_at = now() "
 "  WHERE server_id = $1::bigint AND used_at IS NULL AND revoked_at IS NULL), "
 " marked AS (UPDATE servers SET status = 'provisioning', updated_at = now() "
 "  WHERE id = $1::bigint AND status = 'new') "
 "INSERT INTO provision_tokens (server_id, token_hash, expires_at) "
 "VALUES ($1::bigint, $2, now() + make_interval(mins => $3::int)) RETURNING id" },
[ST_PROV_SUDO_PUT] = { "prov_sudo_put",
 "INSERT INTO server_secrets (server_id, name, sealed, key_version) "
 "VALUES ($1::bigint, 'sudo_password', $2, $3::int) ON CONFLICT (server_id, name) "
 "DO UPDATE SET sealed = EXCLUDED.sealed, key_version = EXCLUDED.key_version, "
 " created_at = now()" },
[ST_PROV_EXCHANGE] = { "prov_exchange",
 "UPDATE provision_tokens t SET exchanged_at = now(), callback_hash = $2 FROM servers s "
 "WHERE t.token_hash = $1 AND s.id = t.server_id AND t.exchanged_at IS NULL "
 " AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now() "
 "RETURNING t.server_id, s.name, s.role_build" },
[ST_PROV_SUDO_TAKE] = { "prov_sudo_take",
 "DELETE FROM server_secrets WHERE server_id = $1::bigint AND name = 'sudo_password' "
 "RETURNING sealed" },
[ST_PROV_USE] = { "prov_use",
 "UPDATE provision_tokens SET used_at = now() WHERE callback_hash = $1 "
 " AND exchanged_at IS NOT NULL AND used_at IS NULL AND revoked_at IS NULL "
 " AND expires_at > now() RETURNING server_id" },
[ST_PROV_ACTIVATE] = { "prov_activate",
 "UPDATE servers SET host_key = $2, host_key_sha256 = $3, host_key_pinned_at = now(), "
 " status = 'active', facts = $4::jsonb, provisioned_at = now(), updated_at = now(), "
 " ssh_user = 'keystone' "	/* the user the script set up */
 "WHERE id = $1::bigint RETURNING id" },
/* Deploy on push (lib/domain/hook.c): the environment a hook names, with
 * the branch a push must be to (its own, else the application's). */
[ST_HOOK_ENV] = { "hook_env",
 "SELECT e.id, e.uuid, a.uuid AS app_uuid, e.hook_version, "
 " coalesce(e.branch, a.default_branch) AS branch, e.pinned_commit "
 "FROM environments e JOIN applications a ON a.id = e.application_id "
 "WHERE e.uuid = $1::uuid" },
/* A delivery claimed before its plan: a row only when it is new, or when
 * an earlier claim queued nothing and is stale (its receiver died). */
[ST_HOOK_CLAIM] = { "hook_claim",
 "INSERT INTO hook_deliveries (environment_id, delivery) VALUES ($1::bigint, $2) "
 "ON CONFLICT (environment_id, delivery) DO UPDATE SET received_at = now() "
 "WHERE hook_deliveries.operation_id IS NULL "
 " AND hook_deliveries.received_at < now() - make_interval(mins => $3::int) "
 "RETURNING environment_id AS id" },
[ST_HOOK_CLAIMED] = { "hook_claimed",
 "UPDATE hook_deliveries SET operation_id = (SELECT id FROM operations "
 " WHERE uuid = $3::uuid) WHERE environment_id = $1::bigint AND delivery = $2 "
 "RETURNING environment_id AS id" },
[ST_HOOK_UNCLAIM] = { "hook_unclaim",
 "DELETE FROM hook_deliveries WHERE environment_id = $1::bigint AND delivery = $2 "
 " AND operation_id IS NULL" },
[ST_HOOK_ROTATE] = { "hook_rotate",
 "UPDATE environments e SET hook_version = e.hook_version + 1, updated_at = now() "
 "FROM applications a WHERE a.id = e.application_id AND a.uuid = $1::uuid "
 " AND e.uuid = $2::uuid RETURNING e.id" },
/* Builds (lib/domain/build.c). */
[ST_BUILD_ENV] = { "build_env",
 "SELECT e.id, e.uuid, e.name, a.id AS app_id, a.uuid AS app_uuid, a.name AS app_name, "
 " a.repository_url, a.default_branch, a.repo_auth, "
 " a.deploy_key_sealed IS NOT NULL AS has_deploy_key, "
 " a.https_token_sealed IS NOT NULL AS has_token, a.https_username, a.git_host, "
 " a.git_host_key, a.git_ca_pem, e.branch, e.pinned_commit, e.dockerfile_source, "
 " e.dockerfile_path, e.build_context, e.preset, e.preset_base_image, e.preset_command, "
 " e.preset_root, e.build_args, e.build_timeout_s, e.build_location, e.build_server_id, "
 " e.ext_registry_host, e.ext_registry_user, "
 " e.ext_registry_password_sealed IS NOT NULL AS has_ext_password, e.ext_registry_ca "
 "FROM environments e JOIN applications a ON a.id = e.application_id "
 "WHERE e.uuid = $1::uuid" },
[ST_BUILD_SERVER] = { "build_server",
 "SELECT id, name, status, role_build, host_key IS NOT NULL AS pinned "
 "FROM servers WHERE id = $1::bigint" },
/* A node's last recorded free space, if recorded in the last $2 minutes. */
[ST_BUILD_NODE_HEALTH] = { "build_node_health",
 "SELECT disk_free_kb, disk_min_kb FROM build_nodes WHERE node = $1 "
 " AND checked_at > now() - make_interval(mins => $2::int)" },
[ST_BUILD_BUILT] = { "build_built",
 "SELECT id, uuid FROM build_artifacts WHERE environment_id = $1::bigint "
 " AND commit_sha = $2 AND status = 'available' ORDER BY created_at DESC LIMIT 1" },
[ST_BUILD_OP_SET] = { "build_op_set",
 "UPDATE operations SET commit_sha = $2, rebuild = $3::bool WHERE id = $1::bigint "
 "RETURNING id" },
[ST_BUILD_SUPERSEDE] = { "build_supersede",
 "SELECT ks_supersede($1::bigint, $2::bigint, 'build') AS n" },
[ST_BUILD_APP_SECRET] = { "build_app_secret",
 "SELECT deploy_key_sealed, https_token_sealed FROM applications WHERE id = $1::bigint" },
[ST_BUILD_ENV_SECRET] = { "build_env_secret",
 "SELECT ext_registry_password_sealed FROM environments WHERE id = $1::bigint" },
[ST_BUILD_OUTPUT] = { "build_output",
 "SELECT coalesce(string_agg(chunk, '' ORDER BY seq), '') AS output, "
 " o.build_server_id, o.environment_id, o.rebuild "
 "FROM operation_steps s JOIN operations o ON o.id = s.operation_id "
 "LEFT JOIN operation_output u ON u.step_id = s.id "
 "WHERE s.id = $3::bigint AND o.id = $1::bigint" FENCED
 " GROUP BY o.id" },
[ST_BUILD_NODE_SET] = { "build_node_set",
 "INSERT INTO build_nodes (node, server_id, disk_free_kb, disk_min_kb, engine_ok, "
 " message, checked_at) VALUES ($1, $2::bigint, $3::bigint, $4::bigint, $5::bool, $6, now()) "
 "ON CONFLICT (node) DO UPDATE SET server_id = EXCLUDED.server_id, "
 " disk_free_kb = EXCLUDED.disk_free_kb, disk_min_kb = EXCLUDED.disk_min_kb, "
 " engine_ok = EXCLUDED.engine_ok, message = EXCLUDED.message, checked_at = now()" },
/* The commit a build resolved; the artifact it has already in the
 * environment (unless a rebuild was asked), which the build then uses. */
[ST_BUILD_COMMIT_SET] = { "build_commit_set",
 "UPDATE operations o SET commit_sha = $3, artifact_id = CASE WHEN o.rebuild THEN NULL "
 " ELSE (SELECT a.id FROM build_artifacts a WHERE a.environment_id = o.environment_id "
 "  AND a.commit_sha = $3 AND a.status = 'available' ORDER BY a.created_at DESC LIMIT 1) END "
 "WHERE o.id = $1::bigint" FENCED " RETURNING o.id, o.artifact_id" },
/* The artifact a build pushed, 'building' until the operation succeeds
 * (sql/014_builds.sql). */
[ST_BUILD_ARTIFACT_PUT] = { "build_artifact_put",
 "WITH o AS (SELECT o.id, o.environment_id, o.build_server_id, o.commit_sha, "
 "  e.application_id, (extract(epoch FROM clock_timestamp() - o.started_at) * 1000)::bigint AS ms "
 "  FROM operations o JOIN environments e ON e.id = o.environment_id "
 "  WHERE o.id = $1::bigint" FENCED " AND o.commit_sha IS NOT NULL), "
 "a AS (INSERT INTO build_artifacts (application_id, environment_id, registry_host, tag, "
 "  manifest_digest, commit_sha, status, operation_id, build_server_id, architecture, "
 "  size_bytes, build_ms) SELECT o.application_id, o.environment_id, $3, $4, $5, "
 "  o.commit_sha, 'building', o.id, o.build_server_id, $6, $7::bigint, o.ms FROM o "
 "  RETURNING id) "
 "UPDATE operations SET artifact_id = a.id FROM a WHERE operations.id = $1::bigint "
 "RETURNING a.id" },
/* Deploys (lib/domain/deploy.c). */
[ST_DEPLOY_ENV] = { "deploy_env",
 "SELECT e.id, e.uuid, a.uuid AS app_uuid, e.name, a.name AS app_name, e.build_location, "
 " e.retention_count FROM environments e JOIN applications a ON a.id = e.application_id "
 "WHERE e.uuid = $1::uuid" },
[ST_DEPLOY_SERVERS] = { "deploy_servers",
 "SELECT s.id, s.name, s.address, s.status, s.facts->>'arch' AS arch, s.role_build, "
 " s.host_key IS NOT NULL AS pinned FROM environment_servers x "
 "JOIN servers s ON s.id = x.server_id WHERE x.environment_id = $1::bigint ORDER BY s.name" },
[ST_DEPLOY_SERVICES] = { "deploy_services",
 "SELECT id, name, command, port, bind_address, health_kind, health_path, health_command, "
 " health_interval_s, health_timeout_s, restart_policy FROM services "
 "WHERE environment_id = $1::bigint ORDER BY name" },
[ST_DEPLOY_VARS] = { "deploy_vars",
 "SELECT v.service_id, v.name, v.value FROM service_vars v JOIN services s ON s.id = v.service_id "
 "WHERE s.environment_id = $1::bigint ORDER BY s.name, v.name" },
[ST_DEPLOY_VOLUMES] = { "deploy_volumes",
 "SELECT v.service_id, v.name, v.mount_path FROM service_volumes v "
 "JOIN services s ON s.id = v.service_id WHERE s.environment_id = $1::bigint "
 "ORDER BY s.name, v.name" },
[ST_DEPLOY_ARTIFACT] = { "deploy_artifact",
 "SELECT id, environment_id, uuid, tag, manifest_digest, registry_host, architecture, status "
 "FROM build_artifacts WHERE uuid = $1::uuid" },
[ST_DEPLOY_OP_SET] = { "deploy_op_set",
 "UPDATE operations SET artifact_id = $2::bigint WHERE id = $1::bigint RETURNING id" },
[ST_DEPLOY_SUPERSEDE] = { "deploy_supersede",
 "SELECT ks_supersede($1::bigint, $2::bigint, 'deploy') AS n" },
/* What a running deploy deploys: its artifact (and the override's user). */
[ST_DEPLOY_OP_ARTIFACT] = { "deploy_op_artifact",
 "SELECT a.id, a.tag, a.manifest_digest, a.registry_host, a.architecture, a.status, "
 " e.ext_registry_user AS ext_user FROM operations o "
 "JOIN build_artifacts a ON a.id = o.artifact_id "
 "JOIN environments e ON e.id = o.environment_id WHERE o.id = $1::bigint" FENCED },
[ST_DEPLOY_STEP_OUT] = { "deploy_step_out",
 "SELECT coalesce(string_agg(u.chunk, '' ORDER BY u.seq), '') AS output, s.error, "
 " s.server_id, o.environment_id, o.artifact_id FROM operation_steps s "
 "JOIN operations o ON o.id = s.operation_id LEFT JOIN operation_output u ON u.step_id = s.id "
 "WHERE s.id = $3::bigint AND o.id = $1::bigint" FENCED " GROUP BY s.id, o.id" },
/* What runs on a server now; "since" moves only when that changes. */
[ST_DEPLOY_RECORD] = { "deploy_record",
 "INSERT INTO deployments AS d (environment_id, server_id, digest, state, operation_id, "
 " message, artifact_id) VALUES ($1::bigint, $2::bigint, $3, $4, $5::bigint, $6, $7::bigint) "
 "ON CONFLICT (environment_id, server_id) DO UPDATE SET digest = EXCLUDED.digest, "
 " state = EXCLUDED.state, operation_id = EXCLUDED.operation_id, message = EXCLUDED.message, "
 " artifact_id = CASE WHEN EXCLUDED.digest IS NOT DISTINCT FROM d.digest "
 "  AND EXCLUDED.artifact_id IS NULL THEN d.artifact_id ELSE EXCLUDED.artifact_id END, "
 " since = CASE WHEN EXCLUDED.digest IS DISTINCT FROM d.digest OR EXCLUDED.state <> d.state "
 "  THEN now() ELSE d.since END, updated_at = now()" },
[ST_DEPLOY_SERVER_ONE] = { "deploy_server_one",
 "SELECT s.id, s.name, s.address, s.status, s.facts->>'arch' AS arch, s.role_build, "
 " s.host_key IS NOT NULL AS pinned FROM servers s WHERE s.uuid = $1::uuid" },
[ST_DEPLOY_APP_ENVS] = { "deploy_app_envs",
 "SELECT e.uuid FROM environments e JOIN applications a ON a.id = e.application_id "
 "WHERE a.uuid = $1::uuid ORDER BY e.id" },
[ST_DEPLOY_VOLUME_COUNT] = { "deploy_volume_count",
 "SELECT count(*) AS n FROM service_volumes v JOIN services s ON s.id = v.service_id "
 "JOIN environments e ON e.id = s.environment_id JOIN applications a "
 "ON a.id = e.application_id WHERE a.uuid = $1::uuid "
 "AND ($2::uuid IS NULL OR e.uuid = $2::uuid)" },
[ST_DEPLOY_VAR_SEALED] = { "deploy_var_sealed",
 "SELECT sealed FROM service_vars WHERE service_id = $1::bigint AND name = $2" },
};

static int
prepare_all(struct db *db)
{
	PGresult	*res;
	int		 ok;

	for (int i = 0; i < ST__MAX; i++) {
		res = PQprepare(db->conn, stmts[i].name, stmts[i].sql, 0, NULL);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			log_warnx("db: prepare %s: %s", stmts[i].name,
			    PQresultErrorMessage(res));
		PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

int
db_open(struct db *db, const char *conninfo)
{
	memset(db, 0, sizeof(*db));
	snprintf(db->conninfo, sizeof(db->conninfo), "%s", conninfo);
	db->conn = PQconnectdb(conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_warnx("db: connect: %s", PQerrorMessage(db->conn));
		return -1;
	}
	return 0;
}

void
db_close(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->in_tx = 0;
}

int
db_ensure(struct db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->in_tx) {
		/* A new connection would run the rest of the transaction's
		 * statements outside it: they fail until it is rolled back. */
		log_warnx("db: connection lost inside a transaction");
		return -1;
	}
	db->prepared = 0;
	if (db->conn == NULL)
		db->conn = PQconnectdb(db->conninfo);
	else
		PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_warnx("db: reconnect: %s", PQerrorMessage(db->conn));
		return -1;
	}
	return 0;
}

static void
note_error(struct db *db, const PGresult *res, const char *what)
{
	const char	*st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char	*cn = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", st ? st : "");
	snprintf(db->constraint, sizeof(db->constraint), "%s", cn ? cn : "");
	/* Integrity violations (class 23) are expected: the caller maps them
	 * to a field error. Anything else is logged once, here. */
	if (strncmp(db->sqlstate, "23", 2) != 0)
		log_warnx("db: %s: %s", what, res ? PQresultErrorMessage(res) :
		    PQerrorMessage(db->conn));
}

PGresult *
db_exec(struct db *db, enum stmt st, int n, const char *const *params)
{
	PGresult	*res;
	ExecStatusType	 s;

	db->sqlstate[0] = db->constraint[0] = '\0';
	if (db_ensure(db) == -1)
		return NULL;
	if (!db->prepared) {
		if (prepare_all(db) == -1)
			return NULL;
		db->prepared = 1;
	}
	res = PQexecPrepared(db->conn, stmts[st].name, n, params, NULL, NULL, 0);
	s = PQresultStatus(res);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return res;
	note_error(db, res, stmts[st].name);
	PQclear(res);
	return NULL;
}

/* Drops a connection left in an unknown pipeline state; db_ensure makes a
 * new one on the next statement. */
static void
drop_conn(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
	db->prepared = 0;
}

int
db_exec_many(struct db *db, struct db_q *q, size_t nq)
{
	PGresult	*res;
	size_t		 i, got = 0;
	int		 rc = -1;

	db->sqlstate[0] = db->constraint[0] = '\0';
	for (i = 0; i < nq; i++)
		q[i].res = NULL;
	if (db_ensure(db) == -1)
		return -1;
	if (!db->prepared) {
		if (prepare_all(db) == -1)
			return -1;
		db->prepared = 1;
	}
	if (!PQenterPipelineMode(db->conn)) {
		note_error(db, NULL, "pipeline");
		return -1;
	}
	for (i = 0; i < nq; i++)
		if (!PQsendQueryPrepared(db->conn, stmts[q[i].st].name, q[i].n,
		    q[i].params, NULL, NULL, 0))
			break;
	if (i < nq || !PQpipelineSync(db->conn)) {
		note_error(db, NULL, i < nq ? stmts[q[i].st].name : "pipeline sync");
		drop_conn(db);
		return -1;
	}
	/* Each statement's result, then its NULL; then the sync's. */
	for (i = 0; i < nq; i++) {
		ExecStatusType	 s;

		if ((res = PQgetResult(db->conn)) == NULL)
			break;
		s = PQresultStatus(res);
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
			q[i].res = res;
			got++;
		} else {
			if (db->sqlstate[0] == '\0' && s != PGRES_PIPELINE_ABORTED)
				note_error(db, res, stmts[q[i].st].name);
			PQclear(res);
		}
		while ((res = PQgetResult(db->conn)) != NULL)
			PQclear(res);	/* nothing expected: one result each */
	}
	res = PQgetResult(db->conn);
	if (i == nq && res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC &&
	    PQexitPipelineMode(db->conn))
		rc = got == nq ? 0 : -1;
	else {
		if (db->sqlstate[0] == '\0')
			note_error(db, NULL, "pipeline");
		drop_conn(db);
		rc = -1;
	}
	PQclear(res);
	if (rc == -1)
		for (i = 0; i < nq; i++) {
			PQclear(q[i].res);
			q[i].res = NULL;
		}
	return rc;
}

int
db_simple(struct db *db, const char *sql)
{
	PGresult	*res;
	ExecStatusType	 s;

	db->sqlstate[0] = db->constraint[0] = '\0';
	if (db_ensure(db) == -1)
		return -1;
	res = PQexec(db->conn, sql);
	s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		note_error(db, res, "simple query");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int
tx_open(struct db *db, const char *sql)
{
	if (db->in_tx || (db->conn != NULL &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE &&
	    PQstatus(db->conn) == CONNECTION_OK)) {
		log_warnx("db: a transaction is already open; nested ones are "
		    "refused");
		return -1;
	}
	if (db_simple(db, sql) == -1)
		return -1;
	db->in_tx = 1;
	return 0;
}

int
db_tx_begin(struct db *db)
{
	return tx_open(db, "BEGIN");
}

int
db_tx_snapshot(struct db *db)
{
	return tx_open(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

int
db_tx_commit(struct db *db)
{
	PGresult	*res;
	int		 ok;

	if (!db->in_tx) {
		log_warnx("db: commit without a transaction");
		return -1;
	}
	db->in_tx = 0;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		log_warnx("db: commit: the connection is gone");
		return -1;
	}
	res = PQexec(db->conn, "COMMIT");
	/* PostgreSQL answers COMMIT of a transaction a failed statement
	 * aborted with success and the tag ROLLBACK. */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok && PQresultStatus(res) != PGRES_COMMAND_OK)
		note_error(db, res, "commit");
	else if (!ok)
		log_warnx("db: commit: the transaction had failed; rolled back");
	PQclear(res);
	return ok ? 0 : -1;
}

void
db_tx_rollback(struct db *db)
{
	char		 st[sizeof(db->sqlstate)], cn[sizeof(db->constraint)];
	PGresult	*res;

	if (!db->in_tx)
		return;
	db->in_tx = 0;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return;	/* gone with the connection */
	memcpy(st, db->sqlstate, sizeof(st));
	memcpy(cn, db->constraint, sizeof(cn));
	res = PQexec(db->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		log_warnx("db: rollback: %s", PQresultErrorMessage(res));
	PQclear(res);
	memcpy(db->sqlstate, st, sizeof(st));
	memcpy(db->constraint, cn, sizeof(cn));
}

int
db_unique_violation(const struct db *db)
{
	return strcmp(db->sqlstate, "23505") == 0;
}

int
db_fk_violation(const struct db *db)
{
	return strcmp(db->sqlstate, "23503") == 0;
}

const char *
db_constraint(const struct db *db)
{
	return db->constraint;
}
