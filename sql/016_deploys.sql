-- Deploys (lib/domain/deploy.c): the exact digest on every runtime
-- server of an environment, through Compose.

-- A service: what runs on each runtime server of its environment, on the
-- host's network at bind_address:port (NULL: the server's own address),
-- told as HOST and PORT.
ALTER TABLE services
	ADD COLUMN command text,
	ADD COLUMN port integer NOT NULL DEFAULT 8080 CHECK (port BETWEEN 1 AND 65535),
	ADD COLUMN bind_address text,
	ADD COLUMN health_kind text NOT NULL DEFAULT 'http'
		CHECK (health_kind IN ('http', 'command', 'none')),
	ADD COLUMN health_path text NOT NULL DEFAULT '/',
	ADD COLUMN health_command text,
	ADD COLUMN health_interval_s integer NOT NULL DEFAULT 2
		CHECK (health_interval_s BETWEEN 1 AND 300),
	ADD COLUMN health_timeout_s integer NOT NULL DEFAULT 60
		CHECK (health_timeout_s BETWEEN 1 AND 3600),
	ADD COLUMN restart_policy text NOT NULL DEFAULT 'unless-stopped'
		CHECK (restart_policy IN ('no', 'always', 'unless-stopped', 'on-failure')),
	ADD CHECK (health_kind <> 'command' OR health_command IS NOT NULL);

-- Its environment variables: plain (value) or secret (sealed, bound to
-- "service/ID/var/NAME"; never shown again, only "set").
CREATE TABLE service_vars (
	service_id	bigint NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$'),
	value		text,
	sealed		text,
	PRIMARY KEY (service_id, name),
	CHECK ((value IS NULL) <> (sealed IS NULL))
);

-- Its persistent volumes (Docker named volumes, kept across deploys).
CREATE TABLE service_volumes (
	service_id	bigint NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	mount_path	text NOT NULL CHECK (mount_path ~ '^/[^\s]*$' AND length(mount_path) <= 1024),
	PRIMARY KEY (service_id, name)
);

-- What runs on each runtime server of an environment, as its last deploy
-- (or removal) left it.
CREATE TABLE deployments (
	environment_id	bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	server_id	bigint NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
	artifact_id	bigint REFERENCES build_artifacts(id) ON DELETE SET NULL,
	digest		text CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
	state		text NOT NULL CHECK (state IN ('running', 'failed', 'removed')),
	since		timestamptz NOT NULL DEFAULT now(),
	operation_id	bigint REFERENCES operations(id) ON DELETE SET NULL,
	message		text NOT NULL DEFAULT '',
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (environment_id, server_id)
);

-- A deploy step reports what runs on its server.
ALTER TABLE operation_steps DROP CONSTRAINT operation_steps_reports_check;
ALTER TABLE operation_steps ADD CONSTRAINT operation_steps_reports_check
	CHECK (reports IN ('disk', 'commit', 'artifact', 'deployed'));

-- Deploy on push: each environment's hook secret is derived from the
-- push-hook subkey and this version (a new version, a new secret); a
-- delivery is acted on once.
ALTER TABLE environments ADD COLUMN hook_version integer NOT NULL DEFAULT 1;
CREATE TABLE hook_deliveries (
	environment_id	bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	delivery	text NOT NULL CHECK (length(delivery) BETWEEN 1 AND 200),
	received_at	timestamptz NOT NULL DEFAULT now(),
	operation_id	bigint REFERENCES operations(id) ON DELETE SET NULL,
	PRIMARY KEY (environment_id, delivery)
);

-- Builds and deploys of one environment are serialised separately: a
-- rollback never waits behind a running build.
DROP INDEX operations_one_running_per_env;
CREATE UNIQUE INDEX operations_one_running_per_env_lane
	ON operations(environment_id, (kind = 'build'))
	WHERE status = 'running' AND environment_id IS NOT NULL;

-- As 011_operation_deps.sql has it, the environment rule per lane.
CREATE OR REPLACE FUNCTION ks_claim_operation(worker text, lease_s integer, build_limit integer)
RETURNS TABLE (op_id bigint, op_fence bigint, op_attempt integer, op_kind text)
LANGUAGE plpgsql AS $$
DECLARE
	cand bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(727275);
	SELECT o.id INTO cand FROM operations o
	WHERE o.status = 'queued'
	  AND NOT EXISTS (SELECT 1 FROM operation_deps x
	       JOIN operations d ON d.id = x.depends_on
	       WHERE x.operation_id = o.id AND d.status <> 'succeeded'
	         AND (x.require_success OR d.status IN ('queued', 'running')))
	  AND (o.environment_id IS NULL OR NOT EXISTS (SELECT 1 FROM operations r
	       WHERE r.environment_id = o.environment_id AND r.status = 'running'
	         AND (r.kind = 'build') = (o.kind = 'build')))
	  AND (NOT o.uses_build_node OR (SELECT count(*) FROM operations r
	       WHERE r.status = 'running' AND r.uses_build_node
	         AND r.build_server_id IS NOT DISTINCT FROM o.build_server_id) < build_limit)
	ORDER BY o.id
	FOR UPDATE SKIP LOCKED
	LIMIT 1;
	IF cand IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY
	UPDATE operations SET status = 'running', claimed_by = worker,
	    lease_until = clock_timestamp() + make_interval(secs => lease_s),
	    attempt = attempt + 1, fence = fence + 1,
	    started_at = coalesce(started_at, clock_timestamp())
	WHERE id = cand
	RETURNING id, fence, attempt, kind;
END
$$;

-- A deploy that waits on a build deploys what that build made (or
-- found): its artifact, set when the build succeeds.
CREATE OR REPLACE FUNCTION ks_build_artifact_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE build_artifacts SET status = CASE NEW.status
	    WHEN 'succeeded' THEN 'available' ELSE 'failed' END
	    WHERE operation_id = NEW.id AND status = 'building';
	IF NEW.status = 'succeeded' AND NEW.artifact_id IS NOT NULL THEN
		UPDATE operations d SET artifact_id = NEW.artifact_id
		FROM operation_deps x
		WHERE x.depends_on = NEW.id AND d.id = x.operation_id
		  AND d.kind = 'deploy' AND d.status = 'queued';
	END IF;
	RETURN NULL;
END
$$;

-- A newer queued operation of an environment supersedes its older queued
-- ones of the same kind (builds, deploys); what waited on them waits on
-- it. Returns how many it superseded.
CREATE FUNCTION ks_supersede(env bigint, newer bigint, k text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	old bigint[];
BEGIN
	WITH s AS (
		UPDATE operations SET status = 'superseded', superseded_by = newer,
		    finished_at = now()
		WHERE kind = k AND environment_id = env AND status = 'queued'
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
DROP FUNCTION ks_supersede_builds(bigint, bigint);
