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
	sealed		bytea NOT NULL,
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
