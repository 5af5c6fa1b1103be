-- Dependencies between operations, many to many (lib/plan.c writes them in
-- the transaction that creates the operations). An operation is claimed
-- only once every operation it depends on has ended, and, for those it
-- needs (require_success), succeeded; when one of those failed or was
-- cancelled it fails without running. An operation it only comes after
-- (require_success false: a health check after the sign-ins it reports
-- on) may end either way.
--
-- operations.depends_on stays for the operation page: the first operation
-- this one needs. Claims and recovery read only this table.
CREATE TABLE operation_deps (
	operation_id	bigint NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
	-- A dependency that is deleted no longer holds anything back (as
	-- depends_on's ON DELETE SET NULL did).
	depends_on	bigint NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
	require_success	boolean NOT NULL DEFAULT true,
	PRIMARY KEY (operation_id, depends_on),
	CHECK (depends_on <> operation_id)
);
CREATE INDEX operation_deps_depends_on_idx ON operation_deps(depends_on);

INSERT INTO operation_deps (operation_id, depends_on)
	SELECT id, depends_on FROM operations WHERE depends_on IS NOT NULL;

-- The claim: dependencies from operation_deps. The health check's special
-- rule (wait for every registry and registry_auth operation queued before
-- it) is gone: the planners give a check real dependencies on the ones
-- they know of (lib/reg.c), and the scheduled check is only queued while
-- none is queued or running (ST_REG_DUE), so it has nothing to wait for.
--
-- Otherwise as 009_claim_kind.sql has it (the kind is returned by the
-- function itself, and the lease is timed from the claim), so that this
-- migration gives the same function whether or not 009 came first.
DROP FUNCTION ks_claim_operation(text, integer, integer);
CREATE FUNCTION ks_claim_operation(worker text, lease_s integer, build_limit integer)
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
	    lease_until = clock_timestamp() + make_interval(secs => lease_s),
	    attempt = attempt + 1, fence = fence + 1,
	    started_at = coalesce(started_at, clock_timestamp())
	WHERE id = cand
	RETURNING id, fence, attempt, kind;
END
$$;

-- Recovery: expired leases as before (003_operations.sql); operations
-- that need one that failed or was cancelled fail, from operation_deps.
-- (A chain fails one link per call: the spooler calls again while this
-- returns more than 0.)
CREATE OR REPLACE FUNCTION ks_recover_operations() RETURNS integer
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
	FOR o IN SELECT q.id FROM operations q
	    WHERE q.status = 'queued' AND EXISTS (SELECT 1 FROM operation_deps x
	        JOIN operations d ON d.id = x.depends_on
	        WHERE x.operation_id = q.id AND x.require_success
	          AND d.status IN ('failed', 'cancelled'))
	    FOR UPDATE SKIP LOCKED
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
