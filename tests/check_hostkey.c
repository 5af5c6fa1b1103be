/*
 * The host key check's parts that need no stack: picking the key a
 * connection would get from a scan's lines (fingerprints against
 * ssh-keygen's), reading a check's result, and the scan script itself
 * against loopback addresses where nothing listens or where a listener
 * closes every connection at once.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hostkey.h"
#include "model.h"
#include "shq.h"
#include "ssh.h"
#include "testutil.h"

extern const char script_hostkey_scan[];

/* Made with ssh-keygen; fingerprints from ssh-keygen -lf. */
#define K_ED	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMi/L/0dHhFk/uVYNO1ri4zxwBfagq1sGcEGaEOqveiB"
#define FP_ED	"SHA256:jIdY+7AYAjU/KFGzR/D0hSBqaHVOZ/D/AJtP/jAfzTc"
#define K_E256	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKzhYdD+zbeishDFG3hlOcPNschKPD/JqOTAXxZAp5vU2dm7sOvogWLTfC76uK0FGru9DfXbKFA1HiZB4wkzcp4="
#define FP_E256	"SHA256:floGs0GrT5pm4pm/vM4nK4PkgTOpoKOJM9wfIUWr5Is"
#define K_E521	"ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAHlwiDw6fM9o7Tf0SuGKvyZvHA0QpSb8TIdMsC+K/SYvlrPUKz8Bp1UtcpBcJH1vmTiqHvgctPvpIMJyzED2asE2gG2YqpKK/wL4iJa7XQ2r8MpyaONzcUhq+vw5gXR4OoH4UhuLfxYfPn29NFgTLfPocul9FFUqlXjcJhjncOukT/4+A=="
#define K_RSA	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDcegbKYh0GPwH3KdXJJLcH/gtzxjm7JjtKjAKJ1NI9vhPsb9ArSYb1UHrsdyJVkTgd5MtbmDEFQ/eDZ6joei0wtrkoj89qnGTkDv/qy/oEtsIVPq1HWfJ2MZ2Xd/WJdcAN4lOkcjD/rO2aha+quzWrWPoieNBv3ld00iHfhUjqmw=="
#define FP_RSA	"SHA256:Rs3/L15vngF0s6zQBtta3wseIRG8Y/ptvelmHaRzV6U"

static void
ck_pick(const char *scan, const char *want_key, const char *want_fp)
{
	char	 key[2048], fp[80];

	if (want_key == NULL) {
		ck_assert_msg(ssh_hostkey_pick(scan, key, sizeof(key), fp,
		    sizeof(fp)) == -1, "picked %s from:\n%s", key, scan);
		return;
	}
	ck_assert_msg(ssh_hostkey_pick(scan, key, sizeof(key), fp, sizeof(fp)) == 0,
	    "nothing picked from:\n%s", scan);
	ck_assert_str_eq(key, want_key);
	ck_assert_str_eq(fp, want_fp);
}

START_TEST(picks_the_preferred_type)
{
	/* Whatever the order, ed25519 first, then ECDSA P-256, then RSA. */
	ck_pick("target h 22\nhostkey " K_RSA "\nhostkey " K_E256 "\nhostkey "
	    K_ED "\n", K_ED, FP_ED);
	ck_pick("hostkey " K_RSA "\nhostkey " K_E256 "\n", K_E256, FP_E256);
	ck_pick("hostkey " K_RSA, K_RSA, FP_RSA);
	/* P-521 is not asked for by Keystone's client: RSA is what a
	 * connection would get. */
	ck_pick("hostkey " K_E521 "\nhostkey " K_RSA "\n", K_RSA, FP_RSA);
	ck_pick("hostkey " K_E521 "\n", NULL, NULL);
	/* The first of the best type. */
	ck_pick("hostkey " K_E256 "\nhostkey " K_ED "\nhostkey "
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
	    K_ED, FP_ED);
}
END_TEST

START_TEST(refuses_what_is_not_a_key)
{
	/* A blob of another type than it says. */
	ck_pick("hostkey ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAgQDcegbKYh0GPwH3KdXJJLcH/gtzxjm7JjtKjAKJ1NI9vhPsb9ArSYb1UHrsdyJVkTgd5MtbmDEFQ/eDZ6joei0wtrkoj89qnGTkDv/qy/oEtsIVPq1HWfJ2MZ2Xd/WJdcAN4lOkcjD/rO2aha+quzWrWPoieNBv3ld00iHfhUjqmw==\n",
	    NULL, NULL);
	/* Not base64, cut short, with more after it. */
	ck_pick("hostkey ssh-ed25519 AAAA!!!!\n", NULL, NULL);
	ck_pick("hostkey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n", NULL, NULL);
	ck_pick("hostkey " K_ED " comment\n", NULL, NULL);
	/* Only "hostkey " lines count. */
	ck_pick("target h 22\n" K_ED "\n x hostkey " K_ED "\n# hostkey " K_ED "\n",
	    NULL, NULL);
	ck_pick("", NULL, NULL);
	ck_pick("hostkey \nhostkey ssh-ed25519\nhostkey ssh-dss AAAA\n", NULL, NULL);
	/* A bad line does not hide a good one. */
	ck_pick("hostkey ssh-ed25519 AAAA!!!!\nhostkey " K_RSA "\n", K_RSA, FP_RSA);
}
END_TEST

/* A check of server 127.0.0.9:2222 as the model reads it. */
static void
mk_scan(struct hostkey_scan *h, const char *status, const char *output,
    const char *error, int fresh)
{
	memset(h, 0, sizeof(*h));
	h->uuid = (char *)"00000000-0000-0000-0000-000000000001";
	h->status = (char *)status;
	h->active = strcmp(status, "queued") == 0 || strcmp(status, "running") == 0;
	h->output = (char *)output;
	h->error = (char *)error;
	h->fresh = fresh;
}

START_TEST(reads_a_checks_result)
{
	struct server_row	 s;
	struct hostkey_scan	 h;
	struct hk_result	 r;

	memset(&s, 0, sizeof(s));
	s.address = (char *)"127.0.0.9";
	s.ssh_port = 2222;
	mk_scan(&h, "queued", NULL, NULL, -1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_WAITING);
	mk_scan(&h, "running", "target 127.0.0.9 2222\n", NULL, -1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_WAITING);
	/* A failure: the step's last line says why. */
	mk_scan(&h, "failed", "target 127.0.0.9 2222\ncannot connect to "
	    "127.0.0.9 port 2222: Connection refused\n", "step 1 failed", 1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	ck_assert_str_eq(r.reason, "cannot connect to 127.0.0.9 port 2222: "
	    "Connection refused");
	/* Without output: the operation's error. */
	mk_scan(&h, "failed", NULL, "spooler stopped during step 1", 1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	ck_assert_str_eq(r.reason, "spooler stopped during step 1");
	mk_scan(&h, "cancelled", "target 127.0.0.9 2222\n", NULL, 1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	ck_assert_str_eq(r.reason, "cancelled");
	/* Found. */
	mk_scan(&h, "succeeded", "target 127.0.0.9 2222\nhostkey " K_RSA
	    "\nhostkey " K_ED "\n", NULL, 1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FOUND);
	ck_assert_str_eq(r.key, K_ED);
	ck_assert_str_eq(r.fp, FP_ED);
	/* Stale: nothing to pin. */
	h.fresh = 0;
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	ck_assert_ptr_nonnull(strstr(r.reason, "minutes ago"));
	/* The server has another port (or address) now. */
	h.fresh = 1;
	s.ssh_port = 22;
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	ck_assert_ptr_nonnull(strstr(r.reason, "another address"));
	s.ssh_port = 2222;
	s.address = (char *)"127.0.0.99";
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	/* No key of an accepted type. */
	s.address = (char *)"127.0.0.9";
	mk_scan(&h, "succeeded", "target 127.0.0.9 2222\nhostkey " K_E521 "\n",
	    NULL, 1);
	hk_result(&h, &s, &r);
	ck_assert_int_eq(r.state, HK_FAILED);
	ck_assert_ptr_nonnull(strstr(r.reason, "no host key of a type"));
}
END_TEST

/* Runs the scan script for host:port (timeout 2 s) as the spooler would
 * (its values through shq); its output into *out, its exit status back. */
static int
run_scan(const char *host, const char *port, char **out)
{
	char		 path[] = "/tmp/ks-hkscan-XXXXXX", cmd[160];
	struct buf	 b;
	FILE		*f;
	int		 fd, st;

	buf_init(&b);
	ck_assert_int_eq(shq_assign(&b, "HOST", host), 0);
	ck_assert_int_eq(shq_assign(&b, "PORT", port), 0);
	ck_assert_int_eq(shq_assign(&b, "TIMEOUT", "2"), 0);
	ck_assert_int_eq(shq_assign(&b, "TYPES", SSH_KEYSCAN_TYPES), 0);
	ck_assert_int_eq(buf_puts(&b, script_hostkey_scan), 0);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	ck_assert_uint_eq(fwrite(b.ptr, 1, b.len, f), b.len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "bash -s < '%s' > '%s.out' 2>&1", path, path);
	st = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s.out", path);
	ck_assert_ptr_nonnull(*out = tu_slurp(cmd, NULL));
	unlink(cmd);
	unlink(path);
	buf_release(&b);
	return WEXITSTATUS(st);
}

static int	 lfd = -1;

/* Accepts and closes at once, until the test ends. */
static void *
closer(void *arg)
{
	int	 c;

	(void)arg;
	while ((c = accept(lfd, NULL, NULL)) != -1)
		close(c);
	return NULL;
}

/* A loopback port nothing listens on. */
static void
free_port(char *port, size_t sz)
{
	struct sockaddr_in sa;
	socklen_t	 len = sizeof(sa);
	int		 fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = inet_addr("127.0.0.1");
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sz, "%d", ntohs(sa.sin_port));
	close(fd);
}

START_TEST(scan_says_why_it_found_nothing)
{
	struct sockaddr_in sa;
	socklen_t	 len = sizeof(sa);
	pthread_t	 t;
	char		*out, port[16], want[128];

	/* Nothing listens there (a port just given up). */
	free_port(port, sizeof(port));
	ck_assert_int_eq(run_scan("127.0.0.1", port, &out), 1);
	snprintf(want, sizeof(want), "target 127.0.0.1 %s\ncannot connect to "
	    "127.0.0.1 port %s: Connection refused\n", port, port);
	ck_assert_str_eq(out, want);
	free(out);
	ck_assert_int_eq(run_scan("no-such-host.invalid", "22", &out), 1);
	ck_assert_msg(strstr(out, "\ncannot resolve no-such-host.invalid\n") !=
	    NULL, "%s", out);
	free(out);
	/* A listener that closes every connection at once. */
	ck_assert_int_ge(lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = inet_addr("127.0.0.1");
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
	ck_assert_int_eq(pthread_create(&t, NULL, closer, NULL), 0);
	ck_assert_int_eq(run_scan("127.0.0.1", port, &out), 1);
	snprintf(want, sizeof(want), "\n127.0.0.1 port %s accepts connections "
	    "but offered no SSH host key", port);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\nhostkey ") == NULL, "%s", out);
	free(out);
	shutdown(lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(lfd);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("hostkey");
	TCase	*tc = tcase_create("hostkey");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, picks_the_preferred_type);
	tcase_add_test(tc, refuses_what_is_not_a_key);
	tcase_add_test(tc, reads_a_checks_result);
	tcase_add_test(tc, scan_says_why_it_found_nothing);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
