-- A claim hands its worker the operation's kind itself, and times the
-- lease from the moment it claims.
--
-- The claim used to be called as "SELECT ... FROM ks_claim_operation(...)
-- JOIN operations", but that outer SELECT's snapshot is taken before the
-- function runs, while the function's own statements (after it waited for
-- the claimers' lock) see later commits. An operation committed in between
-- was claimed (status running, fence taken) yet joined to no row: its
-- worker got nothing back, nobody ran it, and when the lease ran out
-- recovery failed it as "spooler stopped".
--
-- now() is the start of the claim's transaction, before that wait: a lease
-- counted from it was shorter by the wait, and started_at could come
-- before the end of the operation the claim waited for.
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
	    lease_until = clock_timestamp() + make_interval(secs => lease_s),
	    attempt = attempt + 1, fence = fence + 1,
	    started_at = coalesce(started_at, clock_timestamp())
	WHERE id = cand
	RETURNING id, fence, attempt, kind;
END
$$;
