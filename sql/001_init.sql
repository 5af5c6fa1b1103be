-- Keystone schema, first version. UUIDs come from PostgreSQL
-- (gen_random_uuid is built in since PostgreSQL 13).

CREATE TABLE users (
	id		bigserial PRIMARY KEY,
	username	text NOT NULL UNIQUE CHECK (username ~ '^[a-z_][a-z0-9_.-]{0,63}$'),
	password_hash	text NOT NULL,
	is_admin	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Only the BLAKE2b hash of the session ID is stored.
CREATE TABLE sessions (
	id_hash		text PRIMARY KEY CHECK (length(id_hash) = 64),
	user_id		bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz NOT NULL DEFAULT now(),
	address		text NOT NULL DEFAULT '',
	flash_kind	text CHECK (flash_kind IN ('ok', 'error')),
	flash		text
);
CREATE INDEX sessions_user_idx ON sessions(user_id);

-- Every login attempt, for throttling and audit. No password is ever stored.
CREATE TABLE login_attempts (
	id		bigserial PRIMARY KEY,
	username	text NOT NULL,
	address		text NOT NULL,
	success		boolean NOT NULL,
	at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_user_idx ON login_attempts(username, at) WHERE NOT success;
CREATE INDEX login_attempts_addr_idx ON login_attempts(address, at) WHERE NOT success;

CREATE TABLE servers (
	id		bigserial PRIMARY KEY,
	uuid		uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
	name		text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 400),
	address		text NOT NULL CHECK (length(address) BETWEEN 1 AND 253),
	ssh_port	integer NOT NULL DEFAULT 22 CHECK (ssh_port BETWEEN 1 AND 65535),
	ssh_user	text NOT NULL DEFAULT 'keystone',
	role_build	boolean NOT NULL DEFAULT false,
	role_runtime	boolean NOT NULL DEFAULT true,
	-- new: recorded, not yet connected; provisioning: script issued;
	-- active: host key pinned and reachable; unreachable; disabled.
	status		text NOT NULL DEFAULT 'new'
			CHECK (status IN ('new', 'provisioning', 'active', 'unreachable', 'disabled')),
	-- The pinned SSH host key ("ssh-ed25519 AAAA..."), set only by an
	-- explicit act: provisioning callback or a confirmed fingerprint.
	host_key	text,
	host_key_sha256	text,
	host_key_pinned_at timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (address, ssh_port)
);
CREATE INDEX servers_created_idx ON servers(created_at);

CREATE TABLE applications (
	id		bigserial PRIMARY KEY,
	uuid		uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
	name		text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 400),
	repository_url	text NOT NULL CHECK (length(repository_url) BETWEEN 1 AND 2048),
	default_branch	text NOT NULL DEFAULT 'main',
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- Build intent, as a user sees it: where the image is built. The planner
-- (later) maps it to a strategy; the strategy names never reach the UI.
CREATE TABLE environments (
	id		bigserial PRIMARY KEY,
	uuid		uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
	application_id	bigint NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 400),
	branch		text,			-- NULL: the application's default branch
	pinned_commit	text CHECK (pinned_commit ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
	dockerfile_source text NOT NULL DEFAULT 'repository'
			CHECK (dockerfile_source IN ('repository', 'keystone')),
	dockerfile_path	text NOT NULL DEFAULT 'Dockerfile',
	build_location	text NOT NULL DEFAULT 'default'
			CHECK (build_location IN ('default', 'specific', 'external')),
	build_server_id	bigint REFERENCES servers(id) ON DELETE RESTRICT,
	retention_count	integer NOT NULL DEFAULT 3 CHECK (retention_count BETWEEN 1 AND 100),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (application_id, name),
	CHECK ((build_location = 'specific') = (build_server_id IS NOT NULL))
);

-- The runtime servers an environment deploys to.
CREATE TABLE environment_servers (
	environment_id	bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	server_id	bigint NOT NULL REFERENCES servers(id) ON DELETE RESTRICT,
	PRIMARY KEY (environment_id, server_id)
);
CREATE INDEX environment_servers_server_idx ON environment_servers(server_id);

-- One row per build result. Deploys consume manifest_digest, never the tag.
CREATE TABLE build_artifacts (
	id		bigserial PRIMARY KEY,
	uuid		uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
	application_id	bigint NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
	environment_id	bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	registry_host	text NOT NULL,
	tag		text NOT NULL,		-- full reference: host/keystone/app/env:sha
	manifest_digest	text CHECK (manifest_digest ~ '^sha256:[0-9a-f]{64}$'),
	commit_sha	text NOT NULL CHECK (commit_sha ~ '^[0-9a-f]{40}([0-9a-f]{24})?$'),
	status		text NOT NULL DEFAULT 'building'
			CHECK (status IN ('building', 'available', 'failed', 'pruning', 'pruned')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	pruned_at	timestamptz,
	CHECK (status <> 'available' OR manifest_digest IS NOT NULL)
);
CREATE INDEX build_artifacts_env_idx ON build_artifacts(environment_id, created_at DESC);

CREATE TABLE services (
	id		bigserial PRIMARY KEY,
	environment_id	bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
	current_image_digest	text CHECK (current_image_digest ~ '^sha256:[0-9a-f]{64}$'),
	available_image_digest	text CHECK (available_image_digest ~ '^sha256:[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (environment_id, name)
);

-- Compact human age ("42s", "5m", "3h", "12d") for list pages.
CREATE FUNCTION ks_age(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN s < 60 THEN s || 's'
		WHEN s < 3600 THEN (s / 60) || 'm'
		WHEN s < 86400 THEN (s / 3600) || 'h'
		ELSE (s / 86400) || 'd'
	END
	FROM (SELECT greatest(0, extract(epoch FROM now() - t))::bigint AS s) x
$$;
