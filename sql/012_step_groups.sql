-- Step groups and always-run steps (lib/spool.c).
--
-- Consecutive steps with the same step_group run at the same time (at most
-- step_fanout of them at once); a step without one is a group of its own.
-- An always-run step (cleanup) runs even after a failure, a timeout or a
-- cancel, and after a crash of the spooler that ran the operation.
ALTER TABLE operation_steps
	ADD COLUMN step_group integer CHECK (step_group >= 1),
	ADD COLUMN always boolean NOT NULL DEFAULT false;

-- Set while an operation runs only its always-run steps: what it ends as
-- once they are done ('failed' or 'cancelled'); its error is the reason,
-- kept from the failure that started the clean-up.
ALTER TABLE operations
	ADD COLUMN ends_as text CHECK (ends_as IN ('failed', 'cancelled'));

-- The live log's order: several steps write output at once, so a step's
-- ordinal no longer orders chunks. One spooler connection writes an
-- operation's output, one chunk per transaction, so pos follows commits.
ALTER TABLE operation_output ADD COLUMN pos bigserial;
CREATE INDEX operation_output_pos_idx ON operation_output(step_id, pos);

-- Recovery: an expired lease may leave several steps running.
--  - When every one of them is idempotent, attempts remain and no cancel
--    was asked for: they go back to pending and the operation to the queue
--    (it resumes with them).
--  - Otherwise each running step fails, pending steps that are not
--    always-run are skipped, and when always-run steps are pending the
--    operation is queued to run just those (ends_as set, the reason in
--    error), then ends failed with that reason. A crash while it runs them
--    queues it again only if a step was running (so each crash uses one
--    up: the clean-up cannot loop).
-- Dependencies: as 011_operation_deps.sql has them.
CREATE OR REPLACE FUNCTION ks_recover_operations() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	o record;
	nrun integer;
	first integer;
	all_idem boolean;
	reason text;
	n integer := 0;
BEGIN
	FOR o IN SELECT * FROM operations
	    WHERE status = 'running' AND lease_until < now()
	    FOR UPDATE SKIP LOCKED
	LOOP
		SELECT count(*), min(ordinal), coalesce(bool_and(idempotent), false)
		    INTO nrun, first, all_idem
		    FROM operation_steps WHERE operation_id = o.id AND status = 'running';
		IF nrun > 0 AND all_idem AND o.attempt < o.max_attempts
		    AND NOT o.cancel_requested AND o.ends_as IS NULL THEN
			UPDATE operation_steps SET status = 'pending', started_at = NULL,
			    error = NULL WHERE operation_id = o.id AND status = 'running';
			UPDATE operations SET status = 'queued', claimed_by = NULL,
			    lease_until = NULL WHERE id = o.id;
		ELSE
			IF o.ends_as IS NOT NULL THEN
				reason := o.error;
			ELSIF nrun > 0 THEN
				reason := 'spooler stopped during step ' || first;
			ELSE
				reason := 'spooler stopped';
			END IF;
			UPDATE operation_steps SET status = 'failed', finished_at = now(),
			    error = 'spooler stopped during step ' || ordinal
			    WHERE operation_id = o.id AND status = 'running';
			UPDATE operation_steps SET status = 'skipped'
			    WHERE operation_id = o.id AND status = 'pending' AND NOT always;
			IF (o.ends_as IS NULL OR nrun > 0) AND EXISTS (SELECT 1
			    FROM operation_steps WHERE operation_id = o.id
			      AND status = 'pending') THEN
				UPDATE operations SET status = 'queued', claimed_by = NULL,
				    lease_until = NULL, ends_as = coalesce(o.ends_as, 'failed'),
				    error = reason WHERE id = o.id;
			ELSE
				UPDATE operation_steps SET status = 'skipped'
				    WHERE operation_id = o.id AND status = 'pending';
				UPDATE operations SET status = coalesce(o.ends_as, 'failed'),
				    finished_at = now(), claimed_by = NULL, lease_until = NULL,
				    ends_as = NULL, error = reason
				    WHERE id = o.id;
				DELETE FROM operation_secrets WHERE operation_id = o.id;
			END IF;
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
