-- A step that a cancel lets finish (lib/ops/spool.c): once it has started,
-- a cancel does not stop it (a deploy step stopped half-way leaves its
-- server with the old container stopped and the new one neither
-- health-gated nor put back); its own timeout still applies, and a
-- spooler shutting down past its grace still stops it. Steps not yet
-- started are skipped as for any other cancel.
ALTER TABLE operation_steps ADD COLUMN finish boolean NOT NULL DEFAULT false;
