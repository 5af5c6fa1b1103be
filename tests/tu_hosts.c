#define _GNU_SOURCE
#include <sys/wait.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tu_hosts.h"

int
th_load(const char *kind, struct th_host *out, int max)
{
	const char	*hstate = getenv("KS_HOSTS_STATE");
	char		 path[512], *list, *kh, *line, *save = NULL;
	int		 n = 0;

	ck_assert_msg(hstate != NULL, "KS_HOSTS_STATE is not set (hostctl up)");
	snprintf(path, sizeof(path), "%s/hosts", hstate);
	ck_assert_ptr_nonnull(list = tu_slurp(path, NULL));
	snprintf(path, sizeof(path), "%s/ssh/known_hosts", hstate);
	ck_assert_ptr_nonnull(kh = tu_slurp(path, NULL));
	for (line = strtok_r(list, "\n", &save); line && n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		char name[32], addr[32], port[8], user[32], k[16], pat[64], *p;
		if (sscanf(line, "%31s %31s %7s %31s %15s", name, addr, port, user,
		    k) != 5 || strcmp(k, kind) != 0)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", name);
		snprintf(out[n].addr, sizeof(out[n].addr), "%s", addr);
		snprintf(pat, sizeof(pat), ",%s ssh-ed25519 ", addr);
		ck_assert_ptr_nonnull(p = strstr(kh, pat));
		p += strlen(pat) - strlen("ssh-ed25519 ");
		snprintf(out[n].key, sizeof(out[n].key), "%.*s", (int)strcspn(p, "\n"), p);
		n++;
	}
	free(list);
	free(kh);
	return n;
}

int
th_sh(const struct th_host *h, const char *dir, const char *cmd, char **out)
{
	char	 line[1024], in[300], path[300];
	FILE	*f;
	int	 st;

	snprintf(in, sizeof(in), "%s/host-cmd", dir);
	snprintf(path, sizeof(path), "%s/host-out", dir);
	ck_assert_ptr_nonnull(f = fopen(in, "w"));
	fputs(cmd, f);
	fclose(f);
	snprintf(line, sizeof(line), "KS_HOSTS_STATE='%s' bash tests/hosts/hostctl exec -i "
	    "%s bash -s < '%s' > '%s' 2>&1", getenv("KS_HOSTS_STATE"), h->name, in, path);
	st = system(line);
	/* It may hold a canary: not left behind. */
	unlink(in);
	if (out != NULL)
		*out = tu_slurp(path, NULL);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

char *
th_local(const char *dir, const char *cmd)
{
	char	*line, path[300];
	size_t	 n = strlen(cmd) + 400;
	char	*out;

	snprintf(path, sizeof(path), "%s/sh-out", dir);
	ck_assert_ptr_nonnull(line = malloc(n));
	snprintf(line, n, "( %s ) > '%s' 2>&1", cmd, path);
	if (system(line) == -1)
		out = strdup("(could not run the shell)");
	else
		out = tu_slurp(path, NULL);
	free(line);
	return out;
}

/*
 * Restarts the host's Docker engine (the nested dockerd host-init.sh
 * started, with the same and only flags) and waits until it answers. After
 * a change to the host's /etc/hosts or resolv.conf this is what makes the
 * next pull resolve the name afresh: a running dockerd keeps both files
 * cached for a few seconds and may reuse a kept connection to the
 * registry, which would hide the change from a check made at once.
 */
void
th_engine_restart(const struct th_host *h, const char *dir)
{
	static const char cmd[] =
	    "pid=$(cat /var/run/docker.pid 2>/dev/null)\n"
	    "alive() { [ -n \"$pid\" ] && [ -e \"/proc/$pid\" ] && "
	    "! grep -q '^State:[[:space:]]*Z' \"/proc/$pid/status\" 2>/dev/null; }\n"
	    "if alive; then kill -TERM \"$pid\"; fi\n"
	    "i=0; while alive && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done\n"
	    "if alive; then echo \"dockerd $pid did not stop within 30 s\"; exit 1; fi\n"
	    "setsid dockerd --bridge=none --iptables=false --ip-forward=false "
	    "</dev/null >>/var/log/dockerd.log 2>&1 &\n"
	    "i=0; until docker info >/dev/null 2>&1; do\n"
	    "\ti=$((i + 1))\n"
	    "\tif [ $i -ge 600 ]; then\n"
	    "\t\techo 'dockerd did not come back within 60 s:'; tail -n 20 /var/log/dockerd.log\n"
	    "\t\texit 1\n"
	    "\tfi\n"
	    "\tsleep 0.1\n"
	    "done\n";
	char	*out;
	int	 rc;

	rc = th_sh(h, dir, cmd, &out);
	ck_assert_msg(rc == 0, "restarting the engine on %s: %s", h->name, out);
	free(out);
}
