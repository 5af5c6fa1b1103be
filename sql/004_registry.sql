-- The managed registry (registry:2 on the control node behind Caddy), its
-- two generated credentials, and the health matrix the check operation
-- fills in.

-- One row: the managed registry of this installation. Settings come from
-- the configuration when the row is made and can be changed on the
-- Registry page; state is kept by the operations.
CREATE TABLE registry (
	id		integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	-- host[:port] as image references name it (registry.example.com).
	hostname	text NOT NULL CHECK (hostname ~ '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$'),
	-- Plain HTTP host:5000: local development only, never the default.
	insecure	boolean NOT NULL DEFAULT false,
	storage_path	text NOT NULL DEFAULT '/home/keystone/registry/data'
			CHECK (storage_path ~ '^/[A-Za-z0-9._/+-]*$' AND storage_path !~ '(^|/)\.\.(/|$)'),
	-- registry:2's own address: loopback only, Caddy proxies to it.
	listen		text NOT NULL DEFAULT '127.0.0.1:5000'
			CHECK (listen ~ '^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}:[0-9]{1,5}$'),
	-- Caddy refuses writes by the runtime credential (GET/HEAD only).
	pull_only	boolean NOT NULL DEFAULT true,
	state		text NOT NULL DEFAULT 'missing'
			CHECK (state IN ('missing', 'provisioning', 'ready', 'unhealthy')),
	state_reason	text,
	disk_usage	text,
	checked_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- The build and runtime credentials, sealed (XChaCha20-Poly1305 under the
-- master key's sealing subkey; the associated data binds the row's role,
-- user name and key_version, so a sealed value cannot be moved to another
-- row). Only bcrypt hashes leave the database (htpasswd, Caddy).
CREATE TABLE registry_credentials (
	role		text PRIMARY KEY CHECK (role IN ('build', 'runtime')),
	username	text NOT NULL UNIQUE CHECK (username ~ '^[a-z][a-z0-9-]{0,31}$'),
	sealed		text NOT NULL,
	key_version	integer NOT NULL DEFAULT 1,
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- Steps of a check operation are the cells of the health matrix: a failed
-- cell does not stop the others (keep_going), and each finished step
-- updates its cell (trigger below).
ALTER TABLE operation_steps
	ADD COLUMN keep_going boolean NOT NULL DEFAULT false,
	ADD COLUMN check_node text,
	ADD COLUMN check_name text,
	-- The operation's secrets this step receives, space-separated (NULL:
	-- all of them). A step on a runtime server gets no build credential.
	ADD COLUMN secret_names text CHECK (secret_names ~ '^([A-Z][A-Z0-9_]* ?)*$'),
	ADD CHECK ((check_node IS NULL) = (check_name IS NULL));

-- The matrix: rows are nodes ('control' or 'server:<id>'), columns checks.
CREATE TABLE registry_checks (
	node		text NOT NULL,
	check_name	text NOT NULL,
	server_id	bigint REFERENCES servers(id) ON DELETE CASCADE,
	ok		boolean,		-- NULL: not run (skipped)
	message		text NOT NULL DEFAULT '',
	checked_at	timestamptz NOT NULL DEFAULT now(),
	operation_id	bigint REFERENCES operations(id) ON DELETE SET NULL,
	ordinal		integer NOT NULL DEFAULT 0,	-- of its step: the order checks ran
	PRIMARY KEY (node, check_name)
);

-- The reason a failed step gives: the last line it printed (the scripts
-- end a failure with one readable line), else the executor's error.
CREATE FUNCTION ks_step_reason(sid bigint, err text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT coalesce(
	    (SELECT nullif(btrim(l), '') FROM regexp_split_to_table(
	        (SELECT string_agg(chunk, '' ORDER BY seq) FROM operation_output
	         WHERE step_id = sid), E'\n') WITH ORDINALITY AS t(l, n)
	     WHERE btrim(l) <> '' AND l NOT LIKE '__KS_STATUS__=%'
	     ORDER BY n DESC LIMIT 1),
	    err, '')
$$;

CREATE FUNCTION ks_check_cell() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	sid bigint;
BEGIN
	IF NEW.status = 'succeeded' THEN
		msg := ks_step_reason(NEW.id, NULL);
	ELSIF NEW.status IN ('failed', 'cancelled') THEN
		-- An executor error (unreachable host, refused host key) says
		-- more than the script's last line.
		msg := CASE WHEN NEW.error IS NOT NULL AND NEW.exit_code IS NULL
		    THEN NEW.error ELSE ks_step_reason(NEW.id, NEW.error) END;
	ELSE
		msg := 'not run: an earlier step did not finish';
	END IF;
	sid := CASE WHEN NEW.check_node LIKE 'server:%'
	    THEN substr(NEW.check_node, 8)::bigint END;
	INSERT INTO registry_checks (node, check_name, server_id, ok, message,
	    checked_at, operation_id, ordinal)
	VALUES (NEW.check_node, NEW.check_name, sid,
	    CASE NEW.status WHEN 'succeeded' THEN true WHEN 'skipped' THEN NULL
	    ELSE false END, left(msg, 500), now(), NEW.operation_id, NEW.ordinal)
	ON CONFLICT (node, check_name) DO UPDATE SET server_id = EXCLUDED.server_id,
	    ok = EXCLUDED.ok, message = EXCLUDED.message,
	    checked_at = EXCLUDED.checked_at, operation_id = EXCLUDED.operation_id,
	    ordinal = EXCLUDED.ordinal;
	IF NEW.check_name = 'disk' AND NEW.status = 'succeeded' THEN
		UPDATE registry SET disk_usage = left(msg, 200);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER operation_steps_check_cell AFTER UPDATE OF status ON operation_steps
	FOR EACH ROW WHEN (NEW.check_node IS NOT NULL AND NEW.status IN
	    ('succeeded', 'failed', 'cancelled', 'skipped') AND OLD.status <> NEW.status)
	EXECUTE FUNCTION ks_check_cell();

-- The registry's state follows its operations: provisioning while one
-- runs (and until the check queued after it ends), and after a check,
-- ready only when every cell of that check passed. A failed provisioning
-- leaves it unhealthy.
CREATE FUNCTION ks_registry_state() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	bad record;
BEGIN
	IF NEW.kind = 'registry' THEN
		IF NEW.status IN ('queued', 'running') THEN
			UPDATE registry SET state = 'provisioning', state_reason = NULL,
			    updated_at = now();
		ELSIF NEW.status = 'failed' OR NEW.status = 'cancelled' THEN
			UPDATE registry SET state = 'unhealthy', updated_at = now(),
			    state_reason = 'provisioning ' || NEW.status ||
			    coalesce(': ' || NEW.error, '');
		END IF;
	ELSIF NEW.kind = 'check' AND NEW.status IN ('succeeded', 'failed', 'cancelled') THEN
		SELECT c.node, c.check_name, c.message,
		    coalesce((SELECT name FROM servers WHERE id = c.server_id),
		        'the control node') AS label INTO bad FROM registry_checks c
		    WHERE c.operation_id = NEW.id AND c.ok IS NOT TRUE
		    ORDER BY c.ordinal LIMIT 1;
		UPDATE registry SET checked_at = now(), updated_at = now(),
		    state = CASE WHEN NEW.status = 'succeeded' AND bad.node IS NULL
		        THEN 'ready' ELSE 'unhealthy' END,
		    state_reason = CASE WHEN bad.node IS NOT NULL
		        THEN bad.check_name || ' on ' || bad.label || ': ' || bad.message
		        WHEN NEW.status <> 'succeeded' THEN 'check ' || NEW.status
		        ELSE NULL END;
		-- Rows of nodes this check no longer covers (a server removed,
		-- disabled or without a role now) are stale.
		DELETE FROM registry_checks c WHERE NOT EXISTS (SELECT 1
		    FROM operation_steps s WHERE s.operation_id = NEW.id
		      AND s.check_node = c.node AND s.check_name = c.check_name);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER operations_registry_state AFTER INSERT OR UPDATE OF status ON operations
	FOR EACH ROW WHEN (NEW.kind IN ('registry', 'check'))
	EXECUTE FUNCTION ks_registry_state();

-- A health check waits for every registry or registry-auth operation
-- queued before it (whatever their outcome), so its matrix shows the
-- result of the provisioning it follows; otherwise claims are unchanged.
CREATE OR REPLACE FUNCTION ks_claim_operation(worker text, lease_s integer, build_limit integer)
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
	  AND (o.kind <> 'check' OR NOT EXISTS (SELECT 1 FROM operations e
	       WHERE e.kind IN ('registry', 'registry_auth') AND e.id < o.id
	         AND e.status IN ('queued', 'running')))
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
