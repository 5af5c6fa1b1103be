/*
 * Field validators. Each returns NULL when the value is acceptable, or a
 * static, user-facing message ("must be ...") when it is not. They never
 * modify the input. Values have already passed utf8_valid().
 */
#ifndef KS_VALID_H
#define KS_VALID_H

/* Display names (servers, applications, environments): 1..100 characters
 * (code points), no control characters, not only whitespace. Anything else,
 * quotes, '<', ';' included, is allowed and stored verbatim.
 * "Control" is Unicode Cc (C0, DEL, C1); "whitespace" is Unicode White_Space
 * (so a name of only U+00A0 or U+3000 is refused). Format characters such as
 * bidi overrides are not refused: escape/isolate them when displaying. */
const char	*valid_name(const char *);
/* A DNS hostname (RFC 1123 labels, at most 253 bytes), a dotted IPv4
 * address, or an IPv6 address (without brackets).
 * No trailing dot, no '_'; a name whose last label is all digits is taken
 * as an address attempt and refused ("256.1.1.1", "1.2.3"). */
const char	*valid_host(const char *);
const char	*valid_port(const char *, int *out);		/* 1..65535 */
/* A POSIX-ish login name: [a-z_][a-z0-9_-]{0,31}. */
const char	*valid_unix_user(const char *);
/* Git remote: https://, http://, ssh://, git:// or file:// URL, or
 * scp-like user@host:path. No whitespace, no control characters, never
 * starting with '-', at most 2048 bytes.
 * Implementation is stricter: lower-case scheme only; only ASCII letters,
 * digits and - . _ ~ : / @ % + = , [ ] (so no shell metacharacters, '?' or
 * '#'; percent-encode anything else); the host must pass valid_host() (or be
 * a bracketed IPv6 address), a port must be 1..65535, a user part must not
 * start with '-'; file:// only with an empty or "localhost" authority. */
const char	*valid_git_url(const char *);
/* A branch name by git check-ref-format rules (no "..", no "@{", no
 * leading '-' or '/', no ASCII control, space, ~ ^ : ? * [ \, not ending
 * in ".lock" or '/' or '.'), at most 255 bytes.
 * Also per git: no "//", no component starting with '.' or ending in
 * ".lock", not "@". Stricter than git: ASCII is limited to letters, digits
 * and . _ / - + = , @ # % (no shell metacharacters); non-ASCII is allowed. */
const char	*valid_git_ref(const char *);
/* Canonical lower-case 8-4-4-4-12 hex UUID. */
const char	*valid_uuid(const char *);
/* Decimal integer (optional leading '-', no spaces) in [lo, hi].
 * Here and in valid_port, *out (may be NULL) is written only on success. */
const char	*valid_int(const char *, long lo, long hi, long *out);
/* Full 40-hex-digit lower-case git commit SHA-1 (or 64 for SHA-256). */
const char	*valid_commit_sha(const char *);
/* Path inside a repository: relative, no "..", no NUL/control, <= 1024.
 * ".." means a whole path component ("a..b" is fine); a leading '-' is
 * refused as well so the path can never pass for a git option. */
const char	*valid_repo_path(const char *);

#endif
