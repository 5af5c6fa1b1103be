-- A Git host's SSH key is checked by an operation about the application
-- whose repository it serves (lib/domain/hostkey.c), as a server's is.
ALTER TABLE operations DROP CONSTRAINT operations_subject_type_check;
ALTER TABLE operations ADD CONSTRAINT operations_subject_type_check
	CHECK (subject_type IN ('environment', 'server', 'registry', 'application',
	    'none'));
