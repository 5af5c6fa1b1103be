/*
 * The build tests' Git servers (tests/git/fixture.sh through tests/tu_git.c)
 * do serve the application's repository, to user keystone (the one the
 * control node clones as), each as a build would reach it: from a local
 * path; over SSH from a ready test host with the deploy key held by a
 * private ssh-agent that read it from stdin, the host's key pinned; over
 * HTTPS behind Caddy with the token given to git by a credential helper
 * reading a pipe. Each one: the branch head, and a shallow fetch of the
 * pinned older commit (main~1). A wrong key and a wrong token are refused.
 * Needs a ready host ($KS_HOSTS_STATE) and a free port pair
 * ($KS_GIT_HTTPS_PORT, +1); run as root from the repository's top.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tu_git.h"
#include "tu_hosts.h"

#define CLIENT_USER	"keystone"

static char		 dir[64];	/* holds app.git, the client's files */
static struct tg_repo	 repo;

/*
 * The client: git as CLIENT_USER with HOME=DIR/home. Secrets come on
 * stdin only: the deploy key (ssh, for `ssh-add -`), the credential lines
 * (https, given to git on fd 3 by the credential helper). Prints head=,
 * version= and depth= of what it fetched (ls: git ls-remote's output).
 *	client.sh TRANSPORT OP URL DEST [COMMIT]
 * TRANSPORT local | ssh (KH: known_hosts) | https (CA through
 * GIT_SSL_CAINFO) | https-c (CA through -c http.sslCAInfo, GIT_SSL_CAINFO
 * unset: set, it wins over the setting, and these machines' environment
 * may set it to the system's bundle); OP clone |
 * pin (init, fetch --depth 1 COMMIT, checkout) | ls | shell (ssh: a
 * command other than git's).
 */
static const char client_sh[] =
    "set -euo pipefail\n"
    "transport=$1 op=$2 url=$3 dest=$4 commit=${5:-}\n"
    "g=(git) cred=\n"
    "export GIT_TERMINAL_PROMPT=0\n"
    "case $transport in\n"
    "local) ;;\n"
    "ssh)\n"
    "	eval \"$(ssh-agent -s -a \"$HOME/agent.$$\")\" >/dev/null\n"
    "	trap 'ssh-agent -k >/dev/null' EXIT\n"
    "	ssh-add -q -\n"
    "	export GIT_SSH_COMMAND=\"ssh -F /dev/null -o UserKnownHostsFile=$KH "
    "-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10\"\n"
    "	;;\n"
    "https) cred=$(cat); export GIT_SSL_CAINFO=$CA ;;\n"
    "https-c) cred=$(cat); unset GIT_SSL_CAINFO; g+=(-c \"http.sslCAInfo=$CA\") ;;\n"
    "esac\n"
    "if [[ -n $cred ]]; then\n"
    "	g+=(-c credential.helper= -c 'credential.helper=!f() { test \"$1\" = get && cat <&3; }; f')\n"
    "fi\n"
    "run() { \"${g[@]}\" \"$@\" 3< <(printf '%s\\n' \"$cred\"); }\n"
    "case $op in\n"
    "clone) run clone -q -- \"$url\" \"$dest\" ;;\n"
    "pin) git init -q \"$dest\"; run -C \"$dest\" fetch -q --depth 1 -- \"$url\" \"$commit\";"
    " git -C \"$dest\" checkout -q FETCH_HEAD ;;\n"
    "ls) run ls-remote -- \"$url\"; exit ;;\n"
    "shell) $GIT_SSH_COMMAND \"${url%%:*}\" id; exit ;;\n"
    "esac\n"
    "printf 'head=%s\\nversion=%s\\ndepth=%s\\n' \"$(git -C \"$dest\" rev-parse HEAD)\" "
    "\"$(cat \"$dest/version\")\" \"$(git -C \"$dest\" rev-list --count HEAD)\"\n";

static void
sh_ok(const char *cmd)
{
	char	*argv[] = { "/bin/sh", "-c", (char *)cmd, NULL }, *out;
	int	 rc = tg_run(argv, NULL, &out);

	ck_assert_msg(rc == 0, "%s: exit %d:\n%s", cmd, rc, out ? out : "");
	free(out);
}

/* Once, in the parent: the directory and the repository. */
static void
setup(void)
{
	char		 p[128];
	struct passwd	*pw;
	FILE		*f;

	ck_assert_msg((pw = getpwnam(CLIENT_USER)) != NULL, "no user %s "
	    "(the test stack makes it)", CLIENT_USER);
	snprintf(dir, sizeof(dir), "/tmp/ks-check-gitfix.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	tg_repo(dir, CLIENT_USER, &repo);
	snprintf(p, sizeof(p), "%s/client.sh", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(client_sh, f);
	fclose(f);
	chmod(p, 0644);
	snprintf(p, sizeof(p), "%s/home", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(chown(p, pw->pw_uid, pw->pw_gid), 0);
}

static void
teardown(void)
{
	char	 c[128];

	if (dir[0] == '\0')
		return;
	/* A failed test ended its process before stopping what it started. */
	tg_https_stop(dir);
	snprintf(c, sizeof(c), "rm -rf -- '%s'", dir);
	if (system(c) != 0)
		fprintf(stderr, "check_gitfix: cannot remove %s\n", dir);
}

/* Runs client.sh as CLIENT_USER; env: "NAME=value" or NULL. Returns its
 * status, its output in *out. */
static int
client(const char *env, const char *transport, const char *op,
    const char *url, const char *dest, const char *commit, const char *input,
    char **out)
{
	char	 home[96], script[96], d[160];
	char	*argv[16];
	int	 n = 0;

	snprintf(home, sizeof(home), "HOME=%s/home", dir);
	snprintf(script, sizeof(script), "%s/client.sh", dir);
	snprintf(d, sizeof(d), "%s/home/%s", dir, dest);
	argv[n++] = "/usr/sbin/runuser";
	argv[n++] = "-u";
	argv[n++] = CLIENT_USER;
	argv[n++] = "--";
	argv[n++] = "/usr/bin/env";
	argv[n++] = home;
	if (env != NULL)
		argv[n++] = (char *)env;
	argv[n++] = "bash";
	argv[n++] = script;
	argv[n++] = (char *)transport;
	argv[n++] = (char *)op;
	argv[n++] = (char *)url;
	argv[n++] = d;
	argv[n++] = (char *)(commit != NULL ? commit : "");
	argv[n] = NULL;
	return tg_run(argv, input, out);
}

/* What the client fetched is commit, with that version, depth deep (0:
 * any). */
static void
fetched(const char *what, const char *out, const char *commit,
    const char *version, int depth)
{
	char	 want[128];

	snprintf(want, sizeof(want), "head=%s\nversion=%s\n", commit, version);
	ck_assert_msg(strstr(out, want) != NULL, "%s: want %s, got:\n%s", what,
	    want, out);
	if (depth > 0) {
		snprintf(want, sizeof(want), "depth=%d\n", depth);
		ck_assert_msg(strstr(out, want) != NULL, "%s: want %s, got:\n%s",
		    what, want, out);
	}
}

/* The clone's output: 0 and what it printed, or the test fails with it. */
static char *
client_ok(const char *what, const char *env, const char *transport,
    const char *op, const char *url, const char *dest, const char *commit,
    const char *input)
{
	char	*out;
	int	 rc;

	rc = client(env, transport, op, url, dest, commit, input, &out);
	ck_assert_msg(rc == 0, "%s (%s %s %s): exit %d:\n%s", what, transport, op,
	    url, rc, out ? out : "");
	return out;
}

START_TEST(local_path)
{
	char	*out, line[128];

	out = client_ok("clone", NULL, "local", "clone", repo.path, "l1", NULL, NULL);
	fetched("local clone", out, repo.main, "2", 2);
	free(out);
	out = client_ok("pin", NULL, "local", "pin", repo.path, "l2", repo.main1, NULL);
	fetched("local pinned commit", out, repo.main1, "1", 1);
	free(out);
	/* Every branch, as printed. */
	out = client_ok("ls-remote", NULL, "local", "ls", repo.path, "-", NULL, NULL);
	snprintf(line, sizeof(line), "%s\tHEAD\n", repo.main);
	ck_assert_msg(strstr(out, line) != NULL, "no %s in:\n%s", line, out);
	snprintf(line, sizeof(line), "%s\trefs/heads/broken\n", repo.broken);
	ck_assert_msg(strstr(out, line) != NULL, "no %s in:\n%s", line, out);
	snprintf(line, sizeof(line), "%s\trefs/heads/slow\n", repo.slow);
	ck_assert_msg(strstr(out, line) != NULL, "no %s in:\n%s", line, out);
	free(out);
}
END_TEST

START_TEST(ssh_deploy_key)
{
	struct th_host	 h;
	struct tg_ssh	 s;
	char		 c[512], kh[128], env[160], *pub, *key, *other, *out;
	FILE		*f;
	int		 rc;

	ck_assert_msg(th_load("ready", &h, 1) == 1, "need a ready test host");
	/* The deploy key and one the Git host does not know. */
	snprintf(c, sizeof(c), "ssh-keygen -q -t ed25519 -N '' -C deploy -f '%s/deploy' && "
	    "ssh-keygen -q -t ed25519 -N '' -C other -f '%s/other'", dir, dir);
	sh_ok(c);
	snprintf(c, sizeof(c), "%s/deploy.pub", dir);
	ck_assert_ptr_nonnull(pub = tu_slurp(c, NULL));
	pub[strcspn(pub, "\n")] = '\0';
	snprintf(c, sizeof(c), "%s/deploy", dir);
	ck_assert_ptr_nonnull(key = tu_slurp(c, NULL));
	snprintf(c, sizeof(c), "%s/other", dir);
	ck_assert_ptr_nonnull(other = tu_slurp(c, NULL));

	tg_ssh_serve(h.name, pub, dir, &s);
	snprintf(c, sizeof(c), "git@%s:app.git", h.addr);
	ck_assert_str_eq(s.url, c);
	snprintf(c, sizeof(c), "ssh://git@%s/home/git/app.git", h.addr);
	ck_assert_str_eq(s.ssh_url, c);
	ck_assert_str_eq(s.host_key, h.key);
	/* The Git host's key, pinned: known_hosts readable by the client. */
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	ck_assert_ptr_nonnull(f = fopen(kh, "w"));
	fprintf(f, "%s %s\n", h.addr, s.host_key);
	fclose(f);
	chmod(kh, 0644);
	snprintf(env, sizeof(env), "KH=%s", kh);

	out = client_ok("clone", env, "ssh", "clone", s.url, "s1", NULL, key);
	fetched("ssh clone (scp-like URL)", out, repo.main, "2", 2);
	free(out);
	out = client_ok("clone", env, "ssh", "clone", s.ssh_url, "s2", NULL, key);
	fetched("ssh clone (ssh:// URL)", out, repo.main, "2", 2);
	free(out);
	out = client_ok("pin", env, "ssh", "pin", s.url, "s3", repo.main1, key);
	fetched("ssh pinned commit", out, repo.main1, "1", 1);
	free(out);

	/* Another key: refused. */
	rc = client(env, "ssh", "clone", s.url, "s4", NULL, other, &out);
	ck_assert_msg(rc != 0 && strstr(out, "Permission denied (publickey)") != NULL,
	    "a clone with another key: exit %d:\n%s", rc, out);
	free(out);
	/* The key opens git's commands only (git-shell). */
	rc = client(env, "ssh", "shell", s.url, "-", NULL, key, &out);
	ck_assert_msg(rc != 0 && strstr(out, "uid=") == NULL,
	    "a shell command as git: exit %d:\n%s", rc, out);
	free(out);
	/* A host key other than the pinned one: refused. */
	ck_assert_ptr_nonnull(f = fopen(kh, "w"));
	fprintf(f, "%s %s\n", h.addr, "ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl");
	fclose(f);
	rc = client(env, "ssh", "clone", s.url, "s5", NULL, key, &out);
	ck_assert_msg(rc != 0 && strstr(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") != NULL,
	    "a clone with another pinned host key: exit %d:\n%s", rc, out);
	free(out);
	free(pub);
	free(key);
	free(other);
}
END_TEST

/* No process's arguments hold s (the token stays out of every argv). */
static void
not_in_argv(const char *s)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[300], *cmd;
	size_t		 len;

	ck_assert_ptr_nonnull(d = opendir("/proc"));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
		if ((cmd = tu_slurp(p, &len)) == NULL)
			continue;
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		ck_assert_msg(strstr(cmd, s) == NULL, "pid %s has the token in its "
		    "arguments", e->d_name);
		free(cmd);
	}
	closedir(d);
}

/* HTTP status of GET url with basic auth user:secret (given to curl on
 * stdin), or "000" when nothing answers. */
static char *
http_code(const char *url, const char *ca, const char *user, const char *secret)
{
	char	 in[256], *out;
	char	*argv[] = { "/usr/bin/curl", "-s", "-o", "/dev/null", "-w",
		    "%{http_code}", "--max-time", "10", "--cacert", (char *)ca,
		    "-K", "-", (char *)url, NULL };

	snprintf(in, sizeof(in), "user = \"%s:%s\"\n", user, secret);
	tg_run(argv, in, &out);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(https_token)
{
	struct tg_https	 h;
	const char	*ps = getenv("KS_GIT_HTTPS_PORT");
	char		 token[65], cred[192], bad[192], env[600], refs[256];
	char		*out, *code;
	unsigned char	 r[32];
	FILE		*f;
	int		 rc, port;

	ck_assert_msg(ps != NULL && (port = atoi(ps)) > 0,
	    "KS_GIT_HTTPS_PORT is not set (tests/run.sh: free_port)");
	ck_assert_ptr_nonnull(f = fopen("/dev/urandom", "r"));
	ck_assert_uint_eq(fread(r, 1, sizeof(r), f), sizeof(r));
	fclose(f);
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(token + 2 * i, 3, "%02x", r[i]);
	snprintf(cred, sizeof(cred), "username=builder\npassword=%s", token);
	snprintf(bad, sizeof(bad), "username=builder\npassword=x%s", token + 1);

	tg_https_serve(dir, port, "builder", token, &h);
	snprintf(refs, sizeof(refs), "https://127.0.0.1:%d/app.git", port);
	ck_assert_str_eq(h.url, refs);
	ck_assert_int_eq(access(h.ca, R_OK), 0);
	not_in_argv(token);
	snprintf(env, sizeof(env), "CA=%s", h.ca);

	/* The CA through GIT_SSL_CAINFO, then through http.sslCAInfo. */
	out = client_ok("clone", env, "https", "clone", h.url, "h1", NULL, cred);
	fetched("https clone (GIT_SSL_CAINFO)", out, repo.main, "2", 2);
	free(out);
	out = client_ok("pin", env, "https-c", "pin", h.url, "h2", repo.main1, cred);
	fetched("https pinned commit (http.sslCAInfo)", out, repo.main1, "1", 1);
	free(out);

	/* A wrong token: 401, and git gives up. */
	rc = client(env, "https", "clone", h.url, "h3", NULL, bad, &out);
	ck_assert_msg(rc != 0 && strstr(out, "Authentication failed") != NULL,
	    "a clone with a wrong token: exit %d:\n%s", rc, out);
	free(out);
	snprintf(refs, sizeof(refs), "%s/info/refs?service=git-upload-pack", h.url);
	code = http_code(refs, h.ca, "builder", "wrong");
	ck_assert_msg(strcmp(code, "401") == 0, "wrong token: HTTP %s", code);
	free(code);
	code = http_code(refs, h.ca, "builder", token);
	ck_assert_msg(strcmp(code, "200") == 0, "right token: HTTP %s", code);
	free(code);

	/* Stopped: nothing answers any more. */
	ck_assert_int_eq(tg_https_stop(dir), 0);
	code = http_code(refs, h.ca, "builder", token);
	ck_assert_msg(strcmp(code, "000") == 0, "after https-stop: HTTP %s", code);
	free(code);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("gitfix");
	TCase	*tc = tcase_create("serve");

	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, local_path);
	tcase_add_test(tc, ssh_deploy_key);
	tcase_add_test(tc, https_token);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
