-- Builds (lib/domain/build.c): Git to a pushed image whose registry
-- digest is the artifact.

-- How Keystone reaches an application's repository. A private repository
-- over SSH uses a deploy key Keystone made for the application (its public
-- half shown to paste into the Git host) and the Git host's key, pinned by
-- an explicit act; over HTTPS, a token. Secrets sealed (lib/core/keys.c),
-- bound to their row.
ALTER TABLE applications
	ADD COLUMN repo_auth text NOT NULL DEFAULT 'none'
		CHECK (repo_auth IN ('none', 'deploy_key', 'token')),
	ADD COLUMN deploy_key_public text,
	ADD COLUMN deploy_key_sealed text,
	ADD COLUMN https_username text CHECK (https_username ~ '^[A-Za-z0-9._@+-]{1,128}$'),
	ADD COLUMN https_token_sealed text,
	-- The Git host the key was pinned for (host or [host]:port, as
	-- ssh's known_hosts names it) and the key ("TYPE BASE64").
	ADD COLUMN git_host text,
	ADD COLUMN git_host_key text,
	ADD COLUMN git_host_key_sha256 text,
	ADD COLUMN git_host_key_pinned_at timestamptz,
	-- The CA certificate of a Git server over HTTPS whose certificate
	-- is not public (an internal Gitea...): PEM, or NULL.
	ADD COLUMN git_ca_pem text,
	ADD CHECK ((deploy_key_public IS NULL) = (deploy_key_sealed IS NULL));

-- Build settings of an environment. A Keystone Dockerfile comes from a
-- preset ('static': a directory served by the base image's httpd;
-- 'command': the repository run by a command); build arguments are
-- "NAME=value" lines (not secret). The external registry override pushes
-- to a registry of the user's (host, user, sealed password, the CA to
-- trust if its certificate is not public).
ALTER TABLE environments
	ADD COLUMN build_context text NOT NULL DEFAULT '.',
	ADD COLUMN preset text CHECK (preset IN ('static', 'command')),
	ADD COLUMN preset_base_image text,
	ADD COLUMN preset_command text,
	ADD COLUMN preset_root text,
	ADD COLUMN build_args text NOT NULL DEFAULT '',
	ADD COLUMN build_timeout_s integer NOT NULL DEFAULT 1800
		CHECK (build_timeout_s BETWEEN 60 AND 86400),
	ADD COLUMN ext_registry_host text,
	ADD COLUMN ext_registry_user text,
	ADD COLUMN ext_registry_password_sealed text,
	ADD COLUMN ext_registry_ca text,
	ADD CHECK (dockerfile_source <> 'keystone' OR preset IS NOT NULL),
	ADD CHECK (build_location <> 'external' OR (ext_registry_host IS NOT NULL
	    AND ext_registry_user IS NOT NULL AND ext_registry_password_sealed IS NOT NULL));

-- Operations: a build records the commit it resolved and the artifact it
-- made (or found: a commit already built is not built again unless a
-- rebuild was asked). A queued build that a newer build of its
-- environment replaced ends "superseded", naming the newer one.
ALTER TABLE operations DROP CONSTRAINT operations_status_check;
ALTER TABLE operations ADD CONSTRAINT operations_status_check
	CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled',
	    'superseded'));
ALTER TABLE operations
	ADD COLUMN commit_sha text CHECK (commit_sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
	ADD COLUMN rebuild boolean NOT NULL DEFAULT false,
	ADD COLUMN superseded_by bigint REFERENCES operations(id) ON DELETE SET NULL;
-- An operation with nothing left to do (its commit was built already)
-- runs its always-run steps and then succeeds.
ALTER TABLE operations DROP CONSTRAINT operations_ends_as_check;
ALTER TABLE operations ADD CONSTRAINT operations_ends_as_check
	CHECK (ends_as IN ('failed', 'cancelled', 'succeeded'));

-- A step whose output carries values for the operation (lines
-- "KS_REPORT key=value ..."), read by the spooler's report hook when the
-- step ends: 'disk' (a build node's free space), 'commit' (the resolved
-- commit), 'artifact' (digest, architecture, size). Only steps whose
-- output Keystone's own commands print report.
ALTER TABLE operation_steps
	ADD COLUMN reports text CHECK (reports IN ('disk', 'commit', 'artifact'));

ALTER TABLE build_artifacts
	ADD COLUMN operation_id bigint REFERENCES operations(id) ON DELETE SET NULL,
	ADD COLUMN build_server_id bigint REFERENCES servers(id) ON DELETE SET NULL,
	ADD COLUMN architecture text,
	ADD COLUMN size_bytes bigint,
	ADD COLUMN build_ms bigint;
CREATE INDEX build_artifacts_op_idx ON build_artifacts(operation_id);
CREATE INDEX build_artifacts_commit_idx ON build_artifacts(environment_id, commit_sha)
	WHERE status = 'available';
ALTER TABLE operations
	ADD COLUMN artifact_id bigint REFERENCES build_artifacts(id) ON DELETE SET NULL;

-- A build node's health as its last build or check saw it ('control' or
-- 'server:<id>'): free space where builds work, and the threshold then.
CREATE TABLE build_nodes (
	node		text PRIMARY KEY CHECK (node = 'control' OR node ~ '^server:[0-9]+$'),
	server_id	bigint REFERENCES servers(id) ON DELETE CASCADE,
	disk_free_kb	bigint,
	disk_min_kb	bigint,
	engine_ok	boolean,
	message		text NOT NULL DEFAULT '',
	checked_at	timestamptz NOT NULL DEFAULT now()
);

-- An artifact a build recorded while it ran ('building') becomes available
-- only when its operation succeeds, however it ends (also by recovery).
CREATE FUNCTION ks_build_artifact_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE build_artifacts SET status = CASE NEW.status
	    WHEN 'succeeded' THEN 'available' ELSE 'failed' END
	    WHERE operation_id = NEW.id AND status = 'building';
	RETURN NULL;
END
$$;
CREATE TRIGGER operations_build_artifact AFTER UPDATE OF status ON operations
	FOR EACH ROW WHEN (NEW.kind = 'build' AND OLD.status <> NEW.status
	    AND NEW.status IN ('succeeded', 'failed', 'cancelled', 'superseded'))
	EXECUTE FUNCTION ks_build_artifact_state();

-- A new build of an environment supersedes its queued ones: they end
-- "superseded", naming it, and whatever waited on them waits on it.
-- Returns how many it superseded.
CREATE FUNCTION ks_supersede_builds(env bigint, newer bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	old bigint[];
BEGIN
	WITH s AS (
		UPDATE operations SET status = 'superseded', superseded_by = newer,
		    finished_at = now()
		WHERE kind = 'build' AND environment_id = env AND status = 'queued'
		  AND id <> newer
		RETURNING id)
	SELECT coalesce(array_agg(id), '{}') INTO old FROM s;
	IF cardinality(old) = 0 THEN
		RETURN 0;
	END IF;
	INSERT INTO operation_deps (operation_id, depends_on, require_success)
		SELECT operation_id, newer, bool_or(require_success)
		FROM operation_deps WHERE depends_on = ANY (old) AND operation_id <> newer
		GROUP BY operation_id
		ON CONFLICT (operation_id, depends_on) DO UPDATE
		    SET require_success = operation_deps.require_success OR
		        EXCLUDED.require_success;
	DELETE FROM operation_deps WHERE depends_on = ANY (old);
	UPDATE operations SET depends_on = newer WHERE depends_on = ANY (old);
	DELETE FROM operation_secrets WHERE operation_id = ANY (old);
	RETURN cardinality(old);
END
$$;
