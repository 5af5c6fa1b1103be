-- Connecting an existing server: a one-time provisioning command holding a
-- single-use token, the server's generated sudo password kept sealed only
-- until the script is fetched, the callback that pins its host key.

-- Tokens are stored as keyed hashes (BLAKE2b under the master key's token
-- subkey): the database never holds one that works. A token is fetched
-- once (exchanged_at: the script, with the sudo password, was rendered)
-- and called back once (used_at). Re-issuing revokes the older ones.
CREATE TABLE provision_tokens (
	id		bigserial PRIMARY KEY,
	server_id	bigint NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
	token_hash	text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	exchanged_at	timestamptz,
	used_at		timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX provision_tokens_server_idx ON provision_tokens(server_id);

-- The sudo password of the keystone user on a server being provisioned,
-- sealed (associated data: server id and key version) and deleted when the
-- script is rendered: Keystone's automation never uses it.
CREATE TABLE server_secrets (
	server_id	bigint NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (name IN ('sudo_password')),
	sealed		text NOT NULL,
	key_version	integer NOT NULL DEFAULT 1,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (server_id, name)
);

-- What the server reported about itself in its callback.
ALTER TABLE servers
	ADD COLUMN facts jsonb,
	ADD COLUMN provisioned_at timestamptz;

-- Every fetch and callback, accepted or refused, without the token.
CREATE TABLE provision_log (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	server_id	bigint REFERENCES servers(id) ON DELETE SET NULL,
	event		text NOT NULL CHECK (event IN ('issued', 'fetched', 'fetch_refused',
			    'callback', 'callback_refused')),
	remote_addr	text,
	detail		text
);

-- A server that is deleted leaves its operations' history behind: their
-- steps keep their script and output, with no server (a step still
-- pending then fails with "names no server" when the spooler reaches it).
ALTER TABLE operation_steps DROP CONSTRAINT operation_steps_check;
