#include <sys/wait.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "form.h"
#include "pw.h"

#define PW_OPS	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEM	crypto_pwhash_MEMLIMIT_INTERACTIVE

int
pw_hash(char out[PW_HASHBYTES], const char *secret_pw)
{
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(out, secret_pw, strlen(secret_pw), PW_OPS,
	    PW_MEM) == 0 ? 0 : -1;
}

int
pw_verify(const char *hash, const char *secret_pw)
{
	if (sodium_init() < 0 || strlen(hash) >= PW_HASHBYTES)
		return -1;
	return crypto_pwhash_str_verify(hash, secret_pw, strlen(secret_pw)) == 0 ?
	    0 : -1;
}

int
pw_verify_dummy(const char *secret_pw)
{
	/* Computed once per process; its password is random and discarded. */
	static char	 dummy[PW_HASHBYTES];
	char		 rnd[33];

	if (dummy[0] == '\0') {
		randombytes_buf(rnd, sizeof(rnd) - 1);
		for (size_t i = 0; i + 1 < sizeof(rnd); i++)
			rnd[i] = (char)('a' + ((unsigned char)rnd[i] % 26));
		rnd[sizeof(rnd) - 1] = '\0';
		if (pw_hash(dummy, rnd) == -1)
			return -1;
		sodium_memzero(rnd, sizeof(rnd));
	}
	(void)pw_verify(dummy, secret_pw);
	return -1;
}

int
pw_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, PW_OPS, PW_MEM) != 0;
}

/* The child: result byte ('1' match, '0' no match), then the new hash. */
static void
check_child(int fd, const char *hash, const char *secret_pw)
{
	char	 out[1 + PW_HASHBYTES];
	size_t	 len = 1;

	memset(out, 0, sizeof(out));
	if (hash == NULL) {
		(void)pw_verify_dummy(secret_pw);
		out[0] = '0';
	} else if (pw_verify(hash, secret_pw) == 0) {
		out[0] = '1';
		if (pw_needs_rehash(hash) && pw_hash(out + 1, secret_pw) == 0)
			len += strlen(out + 1);
	} else
		out[0] = '0';
	if (write(fd, out, len) != (ssize_t)len)
		_exit(1);
	_exit(0);
}

int
pw_check(const char *hash, const char *secret_pw, char newhash[PW_HASHBYTES])
{
	char	 in[1 + PW_HASHBYTES];
	size_t	 got = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 fds[2], status, rc = -1;

	newhash[0] = '\0';
	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		check_child(fds[1], hash, secret_pw);	/* never returns */
	}
	close(fds[1]);
	while (got < sizeof(in) && ((n = read(fds[0], in + got,
	    sizeof(in) - got)) > 0 || (n == -1 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got == 0 ||
	    got >= sizeof(in))
		goto out;
	if (in[0] == '1') {
		memcpy(newhash, in + 1, got - 1);
		newhash[got - 1] = '\0';
		rc = 1;
	} else
		rc = 0;
out:
	sodium_memzero(in, sizeof(in));
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
