-- A server's host key is checked by an operation (lib/hostkey.c): the web
-- page queues it and shows its result, and never connects to a server
-- itself.
ALTER TABLE operations DROP CONSTRAINT operations_kind_check;
ALTER TABLE operations ADD CONSTRAINT operations_kind_check
	CHECK (kind IN ('build', 'deploy', 'prune', 'provision', 'verify',
	    'registry', 'registry_auth', 'check', 'hostkey'));
