/*
 * Connecting an existing server, on a fresh test host (Debian 12, root SSH
 * only, no Docker, no keystone user): the one-time command from the
 * server's page runs inside the host for real; the callback pins the host
 * key; the verification operation reaches the server as keystone with the
 * management key. Then the refusals (replayed, expired, wrong, truncated
 * tokens; racing callbacks), where the sudo password is not, running the
 * script again, and a host key that changes after pinning.
 *
 * The tests run in order on one host. Needs the stack ($KS_URL...,
 * $KS_DIR), whose loopback URL gives provisioning a no-bridge daemon.json,
 * and $KS_HOSTS_STATE with one fresh host (tests/run.sh).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "prov.h"
#include "reg.h"
#include "testutil.h"
#include "tu_hosts.h"
#include "tu_spool.h"
#include "tu_web.h"

static const char	*hstate;
static struct th_host	 host;	/* the fresh host */
static const char	*haddr = host.addr;
static char		 server_uuid[40];
static long long	 server_id;
/* What the page showed in the first test (kept for the later ones). */
static char		 token1[64], sudo1[64];
static char		 statefile[512];




/* State kept between the tests of this program (each runs in a fork). */
static void
state_save(void)
{
	FILE	*f = fopen(statefile, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s %lld %s %s\n", server_uuid, server_id, token1, sudo1);
	fclose(f);
}

static void
state_load(void)
{
	FILE	*f = fopen(statefile, "r");

	server_uuid[0] = token1[0] = sudo1[0] = '\0';
	server_id = 0;
	if (f == NULL)
		return;
	if (fscanf(f, "%39s %lld %63s %63s", server_uuid, &server_id, token1, sudo1) != 4)
		server_uuid[0] = '\0';
	fclose(f);
}

static void
setup(void)
{
	ts_setup();
	tw_setup(4, 4);
	hstate = getenv("KS_HOSTS_STATE");
	ck_assert_int_eq(th_load("fresh", &host, 1), 1);
	/* Not under KS_DIR: that directory is searched for the password. */
	snprintf(statefile, sizeof(statefile), "%s/provision-test.state", hstate);
	state_load();
	ts_spooler_start(NULL);
}

static void
teardown(void)
{
	tw_teardown();
	ts_teardown();
}

/* The text between after and the next '<' in the page, into out. */
static void
between(const char *page, const char *after, char *out, size_t sz)
{
	const char *p = strstr(page, after);

	ck_assert_msg(p != NULL, "no %s in page", after);
	p += strlen(after);
	snprintf(out, sz, "%.*s", (int)strcspn(p, "<"), p);
}

static void take_command(struct tw_client *, char *, size_t, char *, char *);

/* Issues a command on the server's page: fills cmd, token, sudo. */
static void
issue(struct tw_client *cl, char *cmd, size_t cmdsz, char *tok, char *sudo)
{
	char		 path[128];
	struct buf	 f;

	snprintf(path, sizeof(path), "/servers/%s", server_uuid);
	tw_form_csrf(cl, path);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/servers/%s/provision", server_uuid);
	ck_status(tw_post(cl, path, &f), cl, 200);
	buf_release(&f);
	take_command(cl, cmd, cmdsz, tok, sudo);
}

/* The command, its token and the sudo password from the page shown. */
static void
take_command(struct tw_client *cl, char *cmd, size_t cmdsz, char *tok, char *sudo)
{
	const char	*t;

	between(tw_body(cl), "<pre class=\"command\"><code>", cmd, cmdsz);
	ck_assert_ptr_nonnull(t = strstr(cmd, "/provision/"));
	snprintf(tok, 64, "%.*s", (int)strcspn(t + 11, " "), t + 11);
	ck_assert_int_eq(strlen(tok), PROV_TOKEN_LEN);
	t = strstr(tw_body(cl), "<pre class=\"command\"><code>") + 1;
	between(t, "<pre class=\"command\"><code>", sudo, 64);
	ck_assert_int_eq(strlen(sudo), PROV_SUDO_LEN);
}

/* Runs the page's command inside the host, as the user would. */
static int
run_command(const char *cmd, char **out)
{
	char	 c[1024], *ca;
	int	 rc;

	/* The local CA (tls internal), as the page says. */
	ca = tu_slurp(getenv("KS_CA"), NULL);
	ck_assert_ptr_nonnull(ca);
	snprintf(c, sizeof(c), "cd /root && cat > keystone-ca.crt <<'EOF'\n%sEOF\n%s\n", ca, cmd);
	free(ca);
	rc = th_sh(&host, ts_tmp, c, out);
	return rc;
}

static long
refusals(void)
{
	return tw_sql_long("SELECT count(*) FROM provision_log WHERE event IN "
	    "('fetch_refused', 'callback_refused')", 0);
}

/* Waits for the newest verification operation of the server to succeed. */
static void
wait_verified(void)
{
	char		 st[32], sid[24];
	PGresult	*res;
	long long	 id;

	snprintf(sid, sizeof(sid), "%lld", server_id);
	res = tw_sql("SELECT coalesce(max(id), 0) FROM operations WHERE kind = "
	    "'verify' AND subject_id = $1::bigint", 1, sid);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	ck_assert_msg(id > 0, "no verification operation was queued");
	ts_wait_done(id, 120, st, sizeof(st));
	if (strcmp(st, "succeeded") != 0) {
		char *o = ts_step_output(id, 1), err[512];
		ts_op_field(id, "error", err, sizeof(err));
		ck_abort_msg("verification %s: %s\n%s", st, err, o ? o : "");
	}
}

/* ---------------------------------------------------------------- tests */

START_TEST(provision_fresh_host)
{
	struct tw_client *cl = tw_login();
	char		 cmd[512], name[64], *out, c[1024], *o;
	PGresult	*res;

	/* The server record, as a user makes it (an earlier program's record
	 * of this address goes first: addresses are unique). */
	tw_sql_exec("DELETE FROM servers WHERE address = $1", 1, haddr);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE address = $1",
	    1, haddr), 0);
	tw_uniq(name, sizeof(name), "fresh");
	{
		struct buf f;
		tw_form_csrf(cl, "/servers/new");
		buf_init(&f);
		tw_fadd(&f, "csrf", cl->csrf);
		tw_fadd(&f, "name", name);
		tw_fadd(&f, "address", haddr);
		tw_fadd(&f, "ssh_port", "22");
		tw_fadd(&f, "ssh_user", "keystone");
		tw_fadd(&f, "role_runtime", "1");
		/* An existing server: the command and the sudo password come
		 * with the answer, once. */
		tw_fadd(&f, "connect", "1");
		ck_status(tw_post(cl, "/servers", &f), cl, 200);
		buf_release(&f);
	}
	ck_has(cl, "Shown only now");
	res = tw_sql("SELECT uuid, id FROM servers WHERE name = $1", 1, name);
	snprintf(server_uuid, sizeof(server_uuid), "%s", PQgetvalue(res, 0, 0));
	server_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	take_command(cl, cmd, sizeof(cmd), token1, sudo1);
	{
		char cc[128];
		ck_assert_ptr_nonnull(tw_header(cl, "Cache-Control", cc, sizeof(cc)));
		ck_assert_ptr_nonnull(strstr(cc, "no-store"));
	}
	state_save();
	/* No server id, address or secret in the URL; the page is no-store. */
	ck_assert_ptr_null(strstr(cmd, server_uuid));
	ck_assert_ptr_null(strstr(cmd, sudo1));
	ck_assert_ptr_null(strstr(strstr(cmd, "/provision/"), haddr));
	/* Only hashes and sealed values in the database. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM provision_tokens WHERE "
	    "token_hash = $1", 1, token1), 0);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM server_secrets WHERE "
	    "strpos(sealed, $1) > 0", 1, sudo1), 0);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM server_secrets", 0), 1);

	ck_assert_msg(run_command(cmd, &out) == 0, "the command failed:\n%s", out);
	ck_assert_msg(strstr(out, "is connected to Keystone") != NULL, "%s", out);
	free(out);

	/* Active, its real host key pinned. */
	ck_assert_int_eq(th_sh(&host, ts_tmp, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub", &out), 0);
	out[strcspn(out, "\n")] = '\0';
	{
		char sid[24];
		snprintf(sid, sizeof(sid), "%lld", server_id);
		ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE id = $1::bigint "
		    "AND status = 'active' AND host_key = $2 AND facts->>'os' = 'debian' "
		    "AND facts->>'os_version' = '12'", 2, sid, out), 1);
	}
	free(out);
	/* The sudo password is gone from the database the moment the script
	 * was fetched. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM server_secrets", 0), 0);

	/* Keystone's operation reaches it as keystone with the pinned key and
	 * the management key; Docker runs for keystone. */
	wait_verified();
	/* The same from the command line, with the management key. */
	snprintf(c, sizeof(c), "kh=$(mktemp) && echo '%s '\"$(psql '%s' -Atc "
	    "\"SELECT host_key FROM servers WHERE id = %lld\")\" > $kh && "
	    "ssh -i '%s/ssh/keystone_ed25519' -o UserKnownHostsFile=$kh "
	    "-o StrictHostKeyChecking=yes -o BatchMode=yes keystone@%s "
	    "'docker info --format {{.ServerVersion}} && id -nG'; rm -f $kh",
	    haddr, getenv("KS_PGCONN"), server_id, getenv("KS_DIR"), haddr);
	o = th_local(ts_tmp, c);
	ck_assert_msg(strstr(o, "docker") != NULL && strstr(o, "sudo") != NULL, "%s", o);
	free(o);
	/* The engine the script started on this host (which shares the
	 * machine's network) has no bridge: the stack's loopback URL gave it
	 * the no-bridge daemon.json, as `make run` does. */
	ck_assert_int_eq(th_sh(&host, ts_tmp, "cat /etc/docker/daemon.json; echo; "
	    "docker network ls --format '{{.Driver}}'; ip -o link show docker0 "
	    "2>&1 || true", &out), 0);
	ck_assert_msg(strstr(out, "\"bridge\": \"none\"") != NULL &&
	    strstr(out, "\"iptables\": false") != NULL, "daemon.json: %s", out);
	ck_assert_msg(strstr(out, "\nbridge\n") == NULL &&
	    strstr(out, "does not exist") != NULL, "the host's engine made a "
	    "bridge:\n%s", out);
	free(out);
	/* SSH is key-only now. */
	ck_assert_int_eq(th_sh(&host, ts_tmp, "sshd -T | grep -Ei '^(passwordauthentication|"
	    "kbdinteractiveauthentication) '", &out), 0);
	ck_assert_msg(strstr(out, "passwordauthentication no") &&
	    strstr(out, "kbdinteractiveauthentication no"), "%s", out);
	free(out);
	/* No script left behind (it ran from a pipe: nothing under /root or
	 * /tmp holds it). */
	snprintf(c, sizeof(c), "grep -rlF -- 'SUDO_PASSWORD=' /root /tmp /var/tmp 2>/dev/null; true");
	ck_assert_int_eq(th_sh(&host, ts_tmp, c, &out), 0);
	ck_assert_msg(out[0] == '\0', "left: %s", out);
	free(out);
}
END_TEST

/* The sudo password: works for sudo -S as keystone; in no file on the
 * host, not in the database in plain text, in no log. */
START_TEST(sudo_password_nowhere)
{
	char	 c[1024], *out;

	ck_assert_msg(sudo1[0] != '\0', "the first test did not run");
	snprintf(c, sizeof(c), "printf '%%s\\n' '%s' | runuser -u keystone -- sudo -S -p '' id -u",
	    sudo1);
	ck_assert_msg(th_sh(&host, ts_tmp, c, &out) == 0 && strcmp(out, "0\n") == 0, "%s", out);
	free(out);
	/* Every file on the host (the pattern through a here-document). */
	snprintf(c, sizeof(c), "grep -rlaF -f /dev/fd/3 / --exclude-dir=proc --exclude-dir=sys "
	    "--exclude-dir=dev 3<<'EOF' 2>/dev/null; true\n%s\nEOF\n", sudo1);
	ck_assert_int_eq(th_sh(&host, ts_tmp, c, &out), 0);
	ck_assert_msg(out[0] == '\0', "on the host: %s", out);
	free(out);
	/* The database, dumped whole, and every log and file of the stack. */
	setenv("PW", sudo1, 1);
	snprintf(c, sizeof(c), "pg_dump '%s' | grep -caF -e \"$PW\"; "
	    "grep -rlaF -e \"$PW\" '%s' --exclude-dir=pg; true", getenv("KS_PGCONN"),
	    getenv("KS_DIR"));
	out = th_local(ts_tmp, c);
	unsetenv("PW");
	ck_assert_msg(strcmp(out, "0\n") == 0, "found: %s", out);
	free(out);
	/* The token is in no log either (the path is logged as [token]). */
	setenv("PW", token1, 1);
	snprintf(c, sizeof(c), "grep -rlaF -e \"$PW\" '%s/log'; true", getenv("KS_DIR"));
	out = th_local(ts_tmp, c);
	unsetenv("PW");
	ck_assert_msg(out[0] == '\0', "token in: %s", out);
	free(out);
}
END_TEST

/* Used, expired, wrong and truncated tokens: the same 401, nothing
 * changed, each attempt logged. */
START_TEST(refusals_are_uniform)
{
	struct tw_client *cl = tw_login(), *anon = tw_cl_new();
	char		 tok[64], sudo[64], cmd[512], expired[64], wrong[64], trunc[64];
	char		 path[128], first[1024] = "", before[512], after[512];
	const char	*toks[4];
	long		 n0;

	ck_assert_msg(server_uuid[0] != '\0', "the first test did not run");
	/* An expired token: issued, then its time passed. */
	issue(cl, cmd, sizeof(cmd), tok, sudo);
	snprintf(expired, sizeof(expired), "%s", tok);
	tw_sql_exec("UPDATE provision_tokens SET expires_at = now() - interval '1 minute' "
	    "WHERE id = (SELECT max(id) FROM provision_tokens)", 0);
	snprintf(wrong, sizeof(wrong), "%s", token1);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	snprintf(trunc, sizeof(trunc), "%.20s", token1);
	toks[0] = token1;	/* used */
	toks[1] = expired;
	toks[2] = wrong;
	toks[3] = trunc;
	tw_sql_str(before, sizeof(before), "SELECT concat_ws('|', status, host_key, "
	    "updated_at) FROM servers WHERE uuid = $1::uuid", 1, server_uuid);
	n0 = refusals();
	for (int i = 0; i < 4; i++) {
		struct buf f;
		snprintf(path, sizeof(path), "/provision/%s", toks[i]);
		ck_status(tw_get(anon, path), anon, 401);
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", tw_body(anon));
		ck_assert_str_eq(tw_body(anon), first);
		/* The callback with it as its secret. */
		buf_init(&f);
		tw_fadd(&f, "host_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl");
		tw_fadd(&f, "os", "debian");
		tw_fadd(&f, "os_version", "12");
		tw_fadd(&f, "arch", "amd64");
		tw_fadd(&f, "docker_version", "20.10");
		tw_fadd(&f, "free_disk_kb", "1000");
		snprintf(anon->extra_hdr, sizeof(anon->extra_hdr), "X-Keystone-Callback: %s",
		    toks[i]);
		ck_status(tw_post(anon, "/provision/callback", &f), anon, 401);
		anon->extra_hdr[0] = '\0';
		ck_assert_str_eq(tw_body(anon), first);
		buf_release(&f);
	}
	/* No token at all. */
	{
		struct buf f;
		buf_init(&f);
		tw_fadd(&f, "host_key", "ssh-ed25519 AAAA");
		ck_status(tw_post(anon, "/provision/callback", &f), anon, 401);
		ck_assert_str_eq(tw_body(anon), first);
		buf_release(&f);
	}
	ck_assert_int_eq(refusals() - n0, 9);
	tw_sql_str(after, sizeof(after), "SELECT concat_ws('|', status, host_key, "
	    "updated_at) FROM servers WHERE uuid = $1::uuid", 1, server_uuid);
	ck_assert_str_eq(before, after);
	/* The refusal says nothing about why. */
	ck_assert_ptr_null(strstr(first, "expired\n"));
}
END_TEST

/* Two callbacks with one secret at the same moment: exactly one wins.
 * Before them, someone on the server who saw the URL (in curl's
 * arguments) calls back with its token: refused. */
START_TEST(racing_callbacks)
{
	struct tw_client *cl = tw_login(), *anon = tw_cl_new();
	char		 tok[64], sudo[64], cmd[512], path[128], c[2048], *out, *key;
	char		 secret[64];
	const char	*sp;
	int		 ok = 0, no = 0;

	/* A command issued and then issued again: the first stops working. */
	issue(cl, cmd, sizeof(cmd), tok, sudo);
	snprintf(path, sizeof(path), "/provision/%s", tok);
	issue(cl, cmd, sizeof(cmd), tok, sudo);
	ck_status(tw_get(anon, path), anon, 401);
	/* A HEAD (a link preview) does not use the link up. */
	snprintf(path, sizeof(path), "/provision/%s", tok);
	ck_status(tw_request(anon, "HEAD", path, NULL, 0), anon, 405);
	/* Fetched (the script is rendered once), then reported twice. */
	ck_status(tw_get(anon, path), anon, 200);
	ck_assert_ptr_nonnull(strstr(tw_body(anon), "chpasswd"));
	ck_assert_ptr_nonnull(sp = strstr(tw_body(anon), "\nCALLBACK_SECRET='"));
	snprintf(secret, sizeof(secret), "%.*s", (int)strcspn(sp + 18, "'"), sp + 18);
	ck_assert_int_eq(strlen(secret), PROV_TOKEN_LEN);
	ck_status(tw_get(anon, path), anon, 401);
	ck_assert_int_eq(th_sh(&host, ts_tmp, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub", &key), 0);
	key[strcspn(key, "\n")] = '\0';
	/* The URL's token, from the server, as an unprivileged user there
	 * could have read it: in either header, refused. */
	setenv("TOK", tok, 1);
	snprintf(c, sizeof(c), "for h in Token Callback; do printf 'header = \"X-Keystone-%%s: %%s\"\\n' "
	    "\"$h\" \"$TOK\" | curl -s -K - -o /dev/null -w '%%{http_code}\\n' --cacert '%s' "
	    "--data-urlencode 'host_key=%s' -d os=debian -d os_version=12 -d arch=amd64 "
	    "-d docker_version=20.10 -d free_disk_kb=1000 %s/provision/callback; done",
	    getenv("KS_CA"), key, getenv("KS_URL"));
	out = th_local(ts_tmp, c);
	unsetenv("TOK");
	ck_assert_msg(strcmp(out, "401\n401\n") == 0, "the URL's token: %s", out);
	free(out);
	setenv("TOK", secret, 1);
	snprintf(c, sizeof(c), "for i in 1 2; do printf 'header = \"X-Keystone-Callback: %%s\"\\n' "
	    "\"$TOK\" | curl -s -K - -o /dev/null -w '%%{http_code}\\n' --cacert '%s' "
	    "--data-urlencode 'host_key=%s' -d os=debian -d os_version=12 -d arch=amd64 "
	    "-d docker_version=20.10 -d free_disk_kb=1000 %s/provision/callback & done; wait",
	    getenv("KS_CA"), key, getenv("KS_URL"));
	out = th_local(ts_tmp, c);
	unsetenv("TOK");
	for (char *p = out; (p = strstr(p, "200")) != NULL; p += 3)
		ok++;
	for (char *p = out; (p = strstr(p, "401")) != NULL; p += 3)
		no++;
	ck_assert_msg(ok == 1 && no == 1, "answers: %s", out);
	free(out);
	free(key);
	wait_verified();
}
END_TEST

/* The command again on the same host (a new one, from a file this time):
 * nothing breaks, the file removes itself. */
START_TEST(run_twice)
{
	struct tw_client *cl = tw_login();
	char		 tok[64], sudo[64], cmd[512], c[1024], *out, *p;

	/* With a managed registry set up, the callback also queues the
	 * server's Docker sign-in (after the verification). */
	{
		struct config cfg;
		char path[512], err[256];
		config_init(&cfg);
		snprintf(path, sizeof(path), "%s/keystone.conf", getenv("KS_DIR"));
		ck_assert_msg(config_load(&cfg, path, err, sizeof(err)) == 0, "%s", err);
		ck_assert_msg(reg_setup(&ts_db, &cfg, ts_sealkey, "registry.example.test",
		    NULL, err, sizeof(err)) == 0, "%s", err);
		config_release(&cfg);
		/* As if provisioned (no registry runs in this program). */
		tw_sql_exec("UPDATE registry SET state = 'ready'", 0);
	}
	issue(cl, cmd, sizeof(cmd), tok, sudo);
	/* "curl ... URL | sudo bash" -> "curl ... URL -o ks.sh && sudo bash ks.sh" */
	ck_assert_ptr_nonnull(p = strstr(cmd, " | sudo bash"));
	*p = '\0';
	snprintf(c, sizeof(c), "%s -o /root/ks-provision.sh && sudo bash /root/ks-provision.sh",
	    cmd);
	ck_assert_msg(run_command(c, &out) == 0, "second run failed:\n%s", out);
	free(out);
	ck_assert_int_eq(th_sh(&host, ts_tmp, "test ! -e /root/ks-provision.sh && id -nG keystone && "
	    "grep -c ssh-ed25519 /home/keystone/.ssh/authorized_keys", &out), 0);
	ck_assert_msg(strstr(out, "docker") && strstr(out, "\n1\n"), "%s", out);
	free(out);
	wait_verified();
	{
		char sid[24];
		snprintf(sid, sizeof(sid), "%lld", server_id);
		ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations a JOIN "
		    "operations v ON v.id = a.depends_on WHERE a.kind = 'registry_auth' "
		    "AND a.subject_id = $1::bigint AND v.kind = 'verify'", 1, sid), 1);
		/* (No registry runs here: that sign-in is K4's to test.) */
		tw_sql_exec("UPDATE operations SET status = 'cancelled' WHERE kind = "
		    "'registry_auth' AND status IN ('queued', 'running')", 0);
		tw_sql_exec("DELETE FROM registry_credentials", 0);
		tw_sql_exec("DELETE FROM registry", 0);
	}
	/* The new password is the one that works now. */
	snprintf(c, sizeof(c), "printf '%%s\\n' '%s' | runuser -u keystone -- sudo -S -p '' id -u",
	    sudo);
	ck_assert_msg(th_sh(&host, ts_tmp, c, &out) == 0 && strcmp(out, "0\n") == 0, "%s", out);
	free(out);
}
END_TEST

/* A run that fails removes the script too (here: not run as root). */
START_TEST(failure_removes_script)
{
	struct tw_client *cl = tw_login();
	char		 tok[64], sudo[64], cmd[512], c[1024], *out, *p;

	issue(cl, cmd, sizeof(cmd), tok, sudo);
	ck_assert_ptr_nonnull(p = strstr(cmd, " | sudo bash"));
	*p = '\0';
	snprintf(c, sizeof(c), "cd /root && %s -o /tmp/ks-fail.sh && chown keystone /tmp/ks-fail.sh "
	    "&& runuser -u keystone -- bash /tmp/ks-fail.sh; echo \"rc=$?\"; "
	    "test -e /tmp/ks-fail.sh && echo LEFT-BEHIND; true", cmd);
	ck_assert_int_eq(th_sh(&host, ts_tmp, c, &out), 0);
	ck_assert_msg(strstr(out, "run it as root") && strstr(out, "rc=1") &&
	    !strstr(out, "LEFT-BEHIND"), "%s", out);
	free(out);
}
END_TEST

/* A host whose key changes after pinning is refused by every later
 * operation, before anything is sent. */
START_TEST(changed_host_key_refused)
{
	struct op_step_in s = { "after key change", "specific_server", 0,
	    "echo should-not-run", 0, 30 };
	char		 st[32], err[512];
	long long	 id;

	ck_assert_int_eq(th_sh(&host, ts_tmp, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && "
	    "kill -HUP $(cat /run/sshd.pid)", NULL), 0);
	sleep(1);
	s.server_id = server_id;
	id = ts_create(&s, 1, NULL, 0);
	ts_wait_done(id, 60, st, sizeof(st));
	ck_assert_str_eq(st, "failed");
	ts_op_field(id, "error", err, sizeof(err));
	ck_assert_msg(strstr(err, "host key") != NULL, "%s", err);
	{
		char *o = ts_step_output(id, 1);
		ck_assert_msg(o == NULL || strstr(o, "should-not-run") == NULL, "%s", o);
		free(o);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("provision");
	TCase	*tc = tcase_create("provision");

	if (tw_env("check_provision") == -1)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 600);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, ts_reap_all, ts_reap_all);
	tcase_add_test(tc, provision_fresh_host);
	tcase_add_test(tc, sudo_password_nowhere);
	tcase_add_test(tc, refusals_are_uniform);
	tcase_add_test(tc, racing_callbacks);
	tcase_add_test(tc, run_twice);
	tcase_add_test(tc, failure_removes_script);
	tcase_add_test(tc, changed_host_key_refused);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
