-- Operations: the unit of long work (build, deploy, prune, provision,
-- registry maintenance), run by keystone-spooler as ordered steps, each
-- with an explicit execution target.

CREATE TABLE operations (
	id		bigserial PRIMARY KEY,
	uuid		uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
	kind		text NOT NULL CHECK (kind IN ('build', 'deploy', 'prune',
			    'provision', 'verify', 'registry', 'registry_auth', 'check')),
	subject_type	text NOT NULL CHECK (subject_type IN ('environment', 'server', 'registry', 'none')),
	subject_id	bigint,
	-- Operations on one environment run one at a time.
	environment_id	bigint REFERENCES environments(id) ON DELETE CASCADE,
	-- The build node this operation occupies (NULL: the control node when
	-- uses_build_node, else none), for the per-node concurrency limit.
	build_server_id	bigint REFERENCES servers(id) ON DELETE SET NULL,
	uses_build_node	boolean NOT NULL DEFAULT false,
	depends_on	bigint REFERENCES operations(id) ON DELETE SET NULL,
	status		text NOT NULL DEFAULT 'queued'
			CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	created_by	bigint REFERENCES users(id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	started_at	timestamptz,
	finished_at	timestamptz,
	-- The lease: which spooler holds it and until when. fence grows at
	-- every claim; a worker's writes carry the fence it claimed with, so
	-- one that lost its lease cannot overwrite a newer result.
	claimed_by	text,
	lease_until	timestamptz,
	attempt		integer NOT NULL DEFAULT 0,
	max_attempts	integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 10),
	fence		bigint NOT NULL DEFAULT 0,
	cancel_requested boolean NOT NULL DEFAULT false,
	-- Secrets are deleted when an operation ends, so such an operation
	-- cannot simply be queued again.
	has_secrets	boolean NOT NULL DEFAULT false,
	error		text,
	CHECK (status <> 'running' OR (claimed_by IS NOT NULL AND lease_until IS NOT NULL))
);
CREATE INDEX operations_queue_idx ON operations(id) WHERE status = 'queued';
CREATE INDEX operations_running_idx ON operations(lease_until) WHERE status = 'running';
CREATE INDEX operations_created_idx ON operations(created_at DESC, id DESC);
-- The database itself refuses a second running operation per environment.
CREATE UNIQUE INDEX operations_one_running_per_env ON operations(environment_id)
	WHERE status = 'running' AND environment_id IS NOT NULL;

CREATE TABLE operation_steps (
	id		bigserial PRIMARY KEY,
	operation_id	bigint NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
	ordinal		integer NOT NULL CHECK (ordinal >= 1),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	target		text NOT NULL CHECK (target IN ('control_node', 'build_node',
			    'runtime_server', 'specific_server')),
	-- The server a non-control step runs on (resolved when planned).
	server_id	bigint REFERENCES servers(id) ON DELETE SET NULL,
	-- Persisted without any secret: secrets reach the step at run time.
	script		text NOT NULL,
	idempotent	boolean NOT NULL DEFAULT false,
	timeout_s	integer NOT NULL DEFAULT 3600 CHECK (timeout_s BETWEEN 1 AND 86400),
	status		text NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'running', 'succeeded', 'failed',
			    'skipped', 'cancelled')),
	exit_code	integer,
	exit_signal	text,
	error		text,
	started_at	timestamptz,
	finished_at	timestamptz,
	output_bytes	bigint NOT NULL DEFAULT 0,	-- produced, stored or not
	truncated	boolean NOT NULL DEFAULT false,
	UNIQUE (operation_id, ordinal),
	-- Runtime and specific-server steps name their server; build-node
	-- steps name one unless they run on the control node.
	CHECK (target IN ('control_node', 'build_node') OR server_id IS NOT NULL),
	CHECK (target <> 'control_node' OR server_id IS NULL)
);

-- Step output, streamed in chunks (append-only: no row is rewritten while
-- a step runs). Redacted before it is stored.
CREATE TABLE operation_output (
	step_id		bigint NOT NULL REFERENCES operation_steps(id) ON DELETE CASCADE,
	seq		integer NOT NULL,
	chunk		text NOT NULL,
	at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (step_id, seq)
);

-- Secrets an operation's steps need (registry passwords...), sealed with
-- the master key's AEAD subkey and bound to their row; deleted when the
-- operation ends.
CREATE TABLE operation_secrets (
	operation_id	bigint NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (name ~ '^[A-Z][A-Z0-9_]{0,63}$'),
	sealed		text NOT NULL,		-- base64 of sec_seal()'s output
	PRIMARY KEY (operation_id, name)
);

-- Wakes the spoolers at once (they also poll, in case a notification is
-- missed while reconnecting).
CREATE FUNCTION ks_operations_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('keystone_operations', NEW.id::text);
	RETURN NULL;
END
$$;
CREATE TRIGGER operations_notify AFTER INSERT OR UPDATE OF status ON operations
	FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION ks_operations_notify();

-- Claims the next runnable operation for a worker. One transaction-level
-- advisory lock serialises claims across spoolers (a claim is a few index
-- lookups), so the per-environment and per-build-node limits below cannot
-- be raced past; SKIP LOCKED keeps claimers off rows another transaction
-- is changing. Returns no row when nothing is runnable.
CREATE FUNCTION ks_claim_operation(worker text, lease_s integer, build_limit integer)
RETURNS TABLE (op_id bigint, op_fence bigint, op_attempt integer)
LANGUAGE plpgsql AS $$
DECLARE
	cand bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(727275);
	SELECT o.id INTO cand FROM operations o
	WHERE o.status = 'queued'
	  AND (o.depends_on IS NULL OR EXISTS (SELECT 1 FROM operations d
	       WHERE d.id = o.depends_on AND d.status = 'succeeded'))
	  AND (o.environment_id IS NULL OR NOT EXISTS (SELECT 1 FROM operations r
	       WHERE r.environment_id = o.environment_id AND r.status = 'running'))
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
	    lease_until = now() + make_interval(secs => lease_s),
	    attempt = attempt + 1, fence = fence + 1,
	    started_at = coalesce(started_at, now())
	WHERE id = cand
	RETURNING id, fence, attempt;
END
$$;

-- Ends what nobody is running any more: operations whose lease expired
-- (the spooler died or hung) and operations whose dependency failed.
-- The step that was running is failed, or, when it is idempotent and
-- attempts remain, the operation goes back to the queue from that step.
CREATE FUNCTION ks_recover_operations() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	o record;
	s record;
	n integer := 0;
BEGIN
	FOR o IN SELECT * FROM operations
	    WHERE status = 'running' AND lease_until < now()
	    FOR UPDATE SKIP LOCKED
	LOOP
		SELECT * INTO s FROM operation_steps
		    WHERE operation_id = o.id AND status = 'running'
		    ORDER BY ordinal LIMIT 1;
		IF s.id IS NOT NULL AND s.idempotent AND o.attempt < o.max_attempts
		    AND NOT o.cancel_requested THEN
			UPDATE operation_steps SET status = 'pending', started_at = NULL,
			    error = NULL WHERE id = s.id;
			UPDATE operations SET status = 'queued', claimed_by = NULL,
			    lease_until = NULL WHERE id = o.id;
		ELSE
			IF s.id IS NOT NULL THEN
				UPDATE operation_steps SET status = 'failed', finished_at = now(),
				    error = 'spooler stopped during step ' || s.ordinal
				    WHERE id = s.id;
			END IF;
			UPDATE operation_steps SET status = 'skipped'
			    WHERE operation_id = o.id AND status = 'pending';
			UPDATE operations SET status = 'failed', finished_at = now(),
			    claimed_by = NULL, lease_until = NULL,
			    error = CASE WHEN s.id IS NOT NULL
				THEN 'spooler stopped during step ' || s.ordinal
				ELSE 'spooler stopped' END
			    WHERE id = o.id;
			DELETE FROM operation_secrets WHERE operation_id = o.id;
		END IF;
		n := n + 1;
	END LOOP;
	FOR o IN SELECT q.id FROM operations q JOIN operations d ON d.id = q.depends_on
	    WHERE q.status = 'queued' AND d.status IN ('failed', 'cancelled')
	    FOR UPDATE OF q SKIP LOCKED
	LOOP
		UPDATE operation_steps SET status = 'skipped'
		    WHERE operation_id = o.id AND status = 'pending';
		UPDATE operations SET status = 'failed', finished_at = now(),
		    error = 'the operation it waited for did not succeed'
		    WHERE id = o.id;
		DELETE FROM operation_secrets WHERE operation_id = o.id;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
