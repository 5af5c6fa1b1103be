-- The callback's own secret. The token of a provisioning command is in its
-- URL, so it is in curl's arguments on the new server while the script
-- downloads: anyone there could have called back with it, first, and had
-- their own host key pinned. The callback now takes a second secret, made
-- when the script is rendered and carried only in the script's body,
-- stored like the token as a keyed hash (BLAKE2b under the master key's
-- token subkey). It is single-use and lives as long as its token row
-- (used_at, revoked_at, expires_at). A token fetched before this migration
-- has none: its callback is refused, and a new command is issued.
ALTER TABLE provision_tokens
	ADD COLUMN callback_hash text UNIQUE CHECK (callback_hash ~ '^[0-9a-f]{64}$');
