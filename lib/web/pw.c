#include <sys/wait.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "utf8.h"
#include "pw.h"

#define PW_OPS	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEM	crypto_pwhash_MEMLIMIT_INTERACTIVE

/* argon2id runs (hashes and verifications) by this process, its finished
 * children's included: what tests count a login's cost in. */
static unsigned long	 nruns;
/* The hash an unknown user's password is checked against (pw_init). */
static char		 dummy[PW_HASHBYTES];

/* What a child sends back; fixed size, well under PIPE_BUF. */
struct pw_msg {
	unsigned char	 runs;		/* argon2id runs in the child */
	char		 res;		/* '1' match or done, '0' not */
	char		 hash[PW_HASHBYTES];
};

int
pw_hash(char out[PW_HASHBYTES], const char *secret_pw)
{
	if (sodium_init() < 0)
		return -1;
	nruns++;
	return crypto_pwhash_str(out, secret_pw, strlen(secret_pw), PW_OPS,
	    PW_MEM) == 0 ? 0 : -1;
}

int
pw_verify(const char *hash, const char *secret_pw)
{
	if (sodium_init() < 0 || strlen(hash) >= PW_HASHBYTES)
		return -1;
	nruns++;
	return crypto_pwhash_str_verify(hash, secret_pw, strlen(secret_pw)) == 0 ?
	    0 : -1;
}

unsigned long
pw_runs(void)
{
	return nruns;
}

int
pw_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, PW_OPS, PW_MEM) != 0;
}

/*
 * Runs fn in a short-lived child and returns its message in m: argon2's
 * 64 MiB of working memory never becomes part of the caller's footprint.
 * 0 when the child finished and sent a whole message, else -1.
 */
static int
in_child(void (*fn)(struct pw_msg *, const char *, const char *),
    const char *hash, const char *secret_pw, struct pw_msg *m)
{
	size_t		 got = 0;
	ssize_t		 n;
	unsigned long	 base;
	pid_t		 pid;
	int		 fds[2], status, rc = -1;

	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		memset(m, 0, sizeof(*m));
		base = nruns;
		fn(m, hash, secret_pw);
		m->runs = (unsigned char)(nruns - base);
		n = write(fds[1], m, sizeof(*m));
		sodium_memzero(m, sizeof(*m));
		_exit(n == (ssize_t)sizeof(*m) ? 0 : 1);
	}
	close(fds[1]);
	while (got < sizeof(*m) && ((n = read(fds[0], (char *)m + got,
	    sizeof(*m) - got)) > 0 || (n == -1 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != sizeof(*m) ||
	    m->hash[sizeof(m->hash) - 1] != '\0')
		goto out;
	nruns += m->runs;
	rc = 0;
out:
	if (rc == -1)
		sodium_memzero(m, sizeof(*m));
	return rc;
}

/* The child of pw_init: a hash of a random password nobody ever sees. */
static void
dummy_child(struct pw_msg *m, const char *hash, const char *secret_pw)
{
	char	 rnd[33];

	(void)hash;
	(void)secret_pw;
	randombytes_buf(rnd, sizeof(rnd) - 1);
	for (size_t i = 0; i + 1 < sizeof(rnd); i++)
		rnd[i] = (char)('a' + ((unsigned char)rnd[i] % 26));
	rnd[sizeof(rnd) - 1] = '\0';
	m->res = pw_hash(m->hash, rnd) == 0 ? '1' : '0';
	sodium_memzero(rnd, sizeof(rnd));
}

int
pw_init(void)
{
	struct pw_msg	 m;

	if (dummy[0] != '\0')
		return 0;
	if (sodium_init() < 0 || in_child(dummy_child, NULL, NULL, &m) == -1 ||
	    m.res != '1' || strncmp(m.hash, "$argon2id$", 10) != 0)
		return -1;
	memcpy(dummy, m.hash, sizeof(dummy));
	return 0;
}

/* The child of pw_check: verify, and rehash a match made with weaker limits. */
static void
check_child(struct pw_msg *m, const char *hash, const char *secret_pw)
{
	/* An unknown user is checked against the dummy: one argon2id run,
	 * like a known user with a wrong password. */
	if (pw_verify(hash != NULL ? hash : dummy, secret_pw) == 0 &&
	    hash != NULL) {
		m->res = '1';
		if (pw_needs_rehash(hash) && pw_hash(m->hash, secret_pw) == -1)
			m->hash[0] = '\0';
	} else
		m->res = '0';
}

int
pw_check(const char *hash, const char *secret_pw, char newhash[PW_HASHBYTES])
{
	struct pw_msg	 m;
	int		 rc;

	newhash[0] = '\0';
	/* Without pw_init an unknown user would be refused faster than a
	 * wrong password: fail rather than tell. */
	if (hash == NULL && dummy[0] == '\0')
		return -1;
	if (in_child(check_child, hash, secret_pw, &m) == -1)
		return -1;
	rc = m.res == '1';
	if (rc)
		memcpy(newhash, m.hash, PW_HASHBYTES);
	sodium_memzero(&m, sizeof(m));
	return rc;
}

const char *
pw_policy(const char *secret_pw)
{
	size_t	 len = strlen(secret_pw), cps = 0;

	if (!utf8_valid(secret_pw, len))
		return "must be valid UTF-8 text";
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)secret_pw[i] & 0xC0) != 0x80)
			cps++;
	if (cps < PW_MINLEN)
		return "must be at least 12 characters long";
	if (len > PW_MAXLEN)
		return "must be at most 1024 bytes long";
	return NULL;
}
