-- The artifacts page shows how many rows an environment has; counting
-- thousands of rows on every page view costs more than the page itself.
-- A counter kept by a trigger answers it from one row.

ALTER TABLE environments ADD COLUMN artifact_rows bigint NOT NULL DEFAULT 0;

UPDATE environments e SET artifact_rows =
	(SELECT count(*) FROM build_artifacts b WHERE b.environment_id = e.id);

CREATE FUNCTION ks_artifact_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		UPDATE environments SET artifact_rows = artifact_rows + 1
		    WHERE id = NEW.environment_id;
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE environments SET artifact_rows = artifact_rows - 1
		    WHERE id = OLD.environment_id;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER build_artifacts_rows AFTER INSERT OR DELETE ON build_artifacts
	FOR EACH ROW EXECUTE FUNCTION ks_artifact_rows();

-- Ties in list orders break on id, so each order is one index walk.
DROP INDEX build_artifacts_env_idx;
CREATE INDEX build_artifacts_env_idx ON build_artifacts(environment_id, created_at DESC, id DESC);
CREATE INDEX servers_status_idx ON servers(status, name, id);
