#define _GNU_SOURCE
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tu_git.h"

#define FIXTURE	"tests/git/fixture.sh"

int
tg_run(char *const argv[], const char *input, char **out)
{
	int	 in[2] = { -1, -1 }, op[2] = { -1, -1 }, st;
	size_t	 len = 0, cap = 4096;
	ssize_t	 n;
	char	*buf;
	pid_t	 pid;

	*out = NULL;
	if ((buf = malloc(cap)) == NULL)
		return -1;
	/* A child that exits before reading its input must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(in) == -1 || pipe(op) == -1)
		goto fail;
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(op[1], 1);
		dup2(op[1], 2);
		close(in[0]);
		close(in[1]);
		close(op[0]);
		close(op[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(op[1]);
	in[0] = op[1] = -1;
	/* Small inputs (a token, a line): the pipe holds them whole. */
	if (input != NULL && write(in[1], input, strlen(input)) == -1)
		fprintf(stderr, "tu_git: writing to %s: %s\n", argv[0], strerror(errno));
	close(in[1]);
	in[1] = -1;
	for (;;) {
		if (len + 1 >= cap) {
			char *p = realloc(buf, cap * 2);
			if (p == NULL)
				break;
			buf = p;
			cap *= 2;
		}
		n = read(op[0], buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(op[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	*out = buf;
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (op[i] != -1)
			close(op[i]);
	}
	free(buf);
	return -1;
}

/* The value of the line "key=value" in out, into dst. */
static int
field(const char *out, const char *key, char *dst, size_t size)
{
	size_t		 k = strlen(key);
	const char	*p = out;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, k) == 0 && p[k] == '=') {
			p += k + 1;
			if ((size_t)snprintf(dst, size, "%.*s", (int)strcspn(p, "\n"), p) >= size)
				return -1;
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/* Runs the fixture; fails the test (with its output) unless it exits 0. */
static char *
fixture(char *const args[], const char *input)
{
	char	*argv[10], *out;
	int	 i, rc;

	argv[0] = "/bin/bash";
	argv[1] = FIXTURE;
	for (i = 0; args[i] != NULL && i < 7; i++)
		argv[i + 2] = args[i];
	argv[i + 2] = NULL;
	rc = tg_run(argv, input, &out);
	ck_assert_msg(rc == 0, "fixture.sh %s: exit %d:\n%s", args[0], rc,
	    out != NULL ? out : "(no output)");
	return out;
}

void
tg_repo(const char *dir, const char *owner, struct tg_repo *r)
{
	char	*args[4] = { "repo", (char *)dir, (char *)owner, NULL };
	char	*out, *p;

	memset(r, 0, sizeof(*r));
	out = fixture(args, NULL);
	ck_assert_msg((p = strstr(out, "main=")) != NULL &&
	    sscanf(p, "main=%40s main~1=%40s broken=%40s slow=%40s", r->main,
	    r->main1, r->broken, r->slow) == 4 && strlen(r->slow) == 40,
	    "fixture.sh repo printed:\n%s", out);
	snprintf(r->path, sizeof(r->path), "%s/app.git", dir);
	free(out);
}

void
tg_ssh_serve(const char *host, const char *pubkey_line, const char *dir,
    struct tg_ssh *s)
{
	char	*args[5] = { "ssh-serve", (char *)host, (char *)pubkey_line,
		    (char *)dir, NULL };
	char	*out;

	memset(s, 0, sizeof(*s));
	out = fixture(args, NULL);
	ck_assert_msg(field(out, "url", s->url, sizeof(s->url)) == 0 &&
	    field(out, "ssh_url", s->ssh_url, sizeof(s->ssh_url)) == 0 &&
	    field(out, "host_key", s->host_key, sizeof(s->host_key)) == 0 &&
	    strncmp(s->host_key, "ssh-ed25519 ", 12) == 0,
	    "fixture.sh ssh-serve printed:\n%s", out);
	free(out);
}

void
tg_https_serve(const char *dir, int port, const char *user,
    const char *secret_token, struct tg_https *h)
{
	char	 p[16], *in, *out;
	char	*args[5] = { "https-serve", (char *)dir, p, (char *)user, NULL };
	size_t	 n = strlen(secret_token) + 2;

	memset(h, 0, sizeof(*h));
	snprintf(p, sizeof(p), "%d", port);
	ck_assert_ptr_nonnull(in = malloc(n));
	snprintf(in, n, "%s\n", secret_token);
	out = fixture(args, in);
	free(in);
	ck_assert_msg(field(out, "url", h->url, sizeof(h->url)) == 0 &&
	    field(out, "ca", h->ca, sizeof(h->ca)) == 0,
	    "fixture.sh https-serve printed:\n%s", out);
	free(out);
}

int
tg_https_stop(const char *dir)
{
	char	*argv[5] = { "/bin/bash", FIXTURE, "https-stop", (char *)dir, NULL };
	char	*out;
	int	 rc;

	rc = tg_run(argv, NULL, &out);
	if (rc != 0)
		fprintf(stderr, "fixture.sh https-stop %s: exit %d:\n%s\n", dir, rc,
		    out != NULL ? out : "");
	free(out);
	return rc == 0 ? 0 : -1;
}
