-- Secrets an operation gets by reference (e.g. 'registry_credentials/build'):
-- the web app plans operations without being able to open what they use;
-- the spooler opens the referenced secret when the operation runs.
ALTER TABLE operation_secrets ALTER COLUMN sealed DROP NOT NULL;
ALTER TABLE operation_secrets ADD COLUMN ref text
	CHECK (ref ~ '^[a-z_]+/[A-Za-z0-9_./:-]{1,200}$');
ALTER TABLE operation_secrets ADD CONSTRAINT operation_secrets_one_source
	CHECK ((sealed IS NULL) <> (ref IS NULL));
