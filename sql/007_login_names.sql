-- A sign-in attempt under a name that matches no account (often a password
-- typed into the username field) was recorded as typed. Keystone now records
-- such names only keyed-hashed: "?" and 16 hex digits (lib/model.c,
-- m_login_name). The key is not in the database, so the rows written before
-- are redacted to a bare "?" instead. They still count against their address;
-- no name maps to "?" alone, so they no longer count against any name.
UPDATE login_attempts SET username = '?'
WHERE username NOT IN (SELECT username FROM users)
	AND username !~ '^\?[0-9a-f]{16}$';
