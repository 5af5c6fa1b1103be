/*
 * The build tests' Git servers (tests/git/fixture.sh) from a C test: a
 * repository of a FROM-scratch application, served from a local path,
 * over SSH by a ready test host ($KS_HOSTS_STATE) and over HTTPS by a
 * Caddy on 127.0.0.1. Each function fails the test, with the fixture's
 * output, when the fixture fails. Run from the repository's top (as
 * tests/run.sh does), as root.
 */
#ifndef KS_TU_GIT_H
#define KS_TU_GIT_H

struct tg_repo {
	char	 path[512];	/* DIR/app.git */
	char	 main[41];	/* main's head: `version` is "2" */
	char	 main1[41];	/* main~1: `version` is "1" */
	char	 broken[41];	/* branch broken: its Dockerfile fails */
	char	 slow[41];	/* branch slow: a step of 300 s */
};

/* fixture.sh repo DIR [OWNER]: DIR/app.git, owned by owner (NULL: the
 * fixture's default, keystone when that user exists). */
void	 tg_repo(const char *dir, const char *owner, struct tg_repo *);

struct tg_ssh {
	char	 url[128];	/* git@ADDR:app.git */
	char	 ssh_url[160];	/* ssh://git@ADDR/home/git/app.git */
	char	 host_key[1024];/* the host's "ssh-ed25519 BASE64" */
};

/* fixture.sh ssh-serve HOST PUBKEY_LINE DIR: DIR/app.git served by user
 * git (git-shell) of test host HOST, pubkey_line its only key. */
void	 tg_ssh_serve(const char *host, const char *pubkey_line,
	    const char *dir, struct tg_ssh *);

struct tg_https {
	char	 url[128];	/* https://127.0.0.1:PORT/app.git */
	char	 ca[512];	/* Caddy's root CA (a world-readable copy) */
};

/* fixture.sh https-serve DIR PORT USER: DIR/app.git over HTTPS with basic
 * auth user/secret_token (the token reaches the fixture on its stdin,
 * never in an argument). Stop it with tg_https_stop(). */
void	 tg_https_serve(const char *dir, int port, const char *user,
	    const char *secret_token, struct tg_https *);
/* fixture.sh https-stop DIR: 0, or -1 (its output on stderr). */
int	 tg_https_stop(const char *dir);

/* Runs argv (argv[0] a path) with input on its stdin (NULL: none), its
 * stdout and stderr into *out (malloc'd, NUL-terminated). Returns the
 * exit status, 128 + the signal, or -1 when it cannot run. */
int	 tg_run(char *const argv[], const char *input, char **out);

#endif
