/*
 * lib/ops/daemon.c, the prefork master of keystone.fcgi and keystone-spooler,
 * run here with small worker functions: workers are started, a killed one
 * is replaced, a crash loop backs off, SIGTERM stops the master and every
 * worker within the bound (also a worker that ignores it), the workers
 * drop to the account given and hold the keys loaded, and a bad key file
 * or account stops the program before any worker starts. Needs root (the
 * account switch).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "keys.h"
#include "step.h"
#include "testutil.h"

/* What each worker reports when it starts. */
struct hello {
	pid_t	 pid;
	uid_t	 uid;
	int	 can_open;
	int	 has_pk;
};

enum behaviour { COOPERATES, CRASHES, IGNORES_SIGTERM };

static int		 fds[2] = { -1, -1 };
static pid_t		 master = -1;
static struct keys	 keys;
static enum behaviour	 how;
static char		 tmp[] = "/tmp/ks-daemon-XXXXXX";
/* The masters started, for the runner to kill: a failed check ends the
 * test before its checked teardown. */
static char		 masters[64];

static void
work(void *arg)
{
	struct hello	 h;
	unsigned char	 zero[KEYS_PKBYTES];

	(void)arg;
	memset(&h, 0, sizeof(h));
	memset(zero, 0, sizeof(zero));
	h.pid = getpid();
	h.uid = getuid();
	h.can_open = keys.can_open;
	h.has_pk = memcmp(keys.seal_pk, zero, sizeof(zero)) != 0;
	if (write(fds[1], &h, sizeof(h)) != (ssize_t)sizeof(h))
		return;
	if (how == CRASHES)
		return;
	for (;;) {
		if (how == COOPERATES && daemon_stopping)
			return;
		(void)pause();
	}
}

/* Starts a master running d in its own session; its exit status is
 * daemon_run's answer (0 or 1). */
static void
start(struct daemon *d)
{
	ck_assert_int_eq(pipe(fds), 0);
	if ((master = fork()) == 0) {
		(void)setsid();
		close(fds[0]);
		exit(daemon_run(d) == 0 ? 0 : 1);
	}
	ck_assert_int_gt(master, 0);
	close(fds[1]);
	fds[1] = -1;
	{
		FILE *f = fopen(masters, "a");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)master);
			fclose(f);
		}
	}
}

/* The next worker's report within ms: 1, or 0 when none came. */
static int
next_hello(struct hello *h, int ms)
{
	struct pollfd	 pfd = { fds[0], POLLIN, 0 };

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return read(fds[0], h, sizeof(*h)) == (ssize_t)sizeof(*h);
}

/* The master's exit status within ms, or -1 if it still runs. */
static int
master_exit(int ms)
{
	int	 st;

	if (!tu_wait_exit(master, ms, &st))
		return -1;
	master = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
parent_of(pid_t pid)
{
	char	 path[64];
	FILE	*f;
	int	 ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%*d (%*[^)]) %*s %d", &ppid) != 1)
		ppid = -1;
	fclose(f);
	return ppid;
}

/* Gone, or a zombie nobody reaps yet. */
static int
alive(pid_t pid)
{
	char	 path[64], st = 0;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%*d (%*[^)]) %c", &st) != 1)
		st = 0;
	fclose(f);
	return st != 0 && st != 'Z';
}

static void
daemon_for(struct daemon *d, long workers, enum behaviour b)
{
	memset(d, 0, sizeof(*d));
	d->name = "check_daemon";
	d->workers = workers;
	d->keys = &keys;
	d->stop_s = 5;
	d->work = work;
	how = b;
}

/* Unchecked fixture (the runner): every master's session killed. */
static void
reap_all(void)
{
	FILE	*f;
	int	 pid;

	if (masters[0] == '\0')
		snprintf(masters, sizeof(masters), "/tmp/ks-daemon-masters.%d",
		    (int)getpid());
	if ((f = fopen(masters, "r")) == NULL)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			(void)kill(-pid, SIGKILL);
	fclose(f);
	unlink(masters);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	memset(&keys, 0, sizeof(keys));
}

static void
teardown(void)
{
	char	 cmd[128];

	if (master > 0) {
		(void)kill(-master, SIGKILL);
		(void)waitpid(master, NULL, 0);
		master = -1;
	}
	if (fds[0] >= 0)
		close(fds[0]);
	fds[0] = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
}

/* Three workers start; one killed with SIGKILL is replaced by a new one,
 * the others stay; SIGTERM then stops the master and every worker well
 * before the bound (they cooperate). */
START_TEST(killed_worker_replaced)
{
	struct daemon	 d;
	struct hello	 h[3], n;
	long long	 t0;

	daemon_for(&d, 3, COOPERATES);
	start(&d);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(next_hello(&h[i], 5000), "worker %d did not start", i);
		ck_assert_int_eq(parent_of(h[i].pid), master);
	}
	ck_assert_int_eq(kill(h[1].pid, SIGKILL), 0);
	ck_assert_msg(next_hello(&n, 5000), "the killed worker was not replaced");
	ck_assert_int_ne(n.pid, h[1].pid);
	ck_assert_int_eq(parent_of(n.pid), master);
	ck_assert(!alive(h[1].pid));
	ck_assert(alive(h[0].pid) && alive(h[2].pid));
	/* Only that one. */
	ck_assert(!next_hello(&n, 500));

	t0 = step_now_ms();
	ck_assert_int_eq(kill(master, SIGTERM), 0);
	ck_assert_int_eq(master_exit(4000), 0);
	ck_assert_int_lt(step_now_ms() - t0, 4000);
	ck_assert(!alive(h[0].pid) && !alive(h[2].pid) && !alive(n.pid));
}
END_TEST

/* A worker that dies young is replaced later each time: not a fork loop,
 * and not one a second either. */
START_TEST(crash_loop_backs_off)
{
	struct daemon	 d;
	struct hello	 h;
	long long	 t0 = step_now_ms();
	int		 starts = 0;

	daemon_for(&d, 1, CRASHES);
	start(&d);
	while (step_now_ms() - t0 < 7500)
		if (next_hello(&h, 200))
			starts++;
	/* Forks at 0, 1, 3 and 7 s (back-off 1, 2, 4 s); a fixed 1 s pause
	 * would make 8. */
	ck_assert_msg(starts >= 3 && starts <= 4, "%d starts in 7.5 s", starts);
	ck_assert_int_eq(kill(master, SIGTERM), 0);
	ck_assert_int_eq(master_exit(4000), 0);
}
END_TEST

/* A worker that does not stop on SIGTERM is killed at the bound, and the
 * master then exits. */
START_TEST(sigterm_bounded)
{
	struct daemon	 d;
	struct hello	 h[2];
	long long	 t0;
	int		 rc;

	daemon_for(&d, 2, IGNORES_SIGTERM);
	d.stop_s = 2;
	start(&d);
	for (int i = 0; i < 2; i++)
		ck_assert_msg(next_hello(&h[i], 5000), "worker %d did not start", i);
	t0 = step_now_ms();
	ck_assert_int_eq(kill(master, SIGTERM), 0);
	rc = master_exit(6000);
	ck_assert_msg(rc == 0, "master: %d (-1: still running 6 s after SIGTERM)",
	    rc);
	ck_assert_int_ge(step_now_ms() - t0, 1900);
	ck_assert_int_lt(step_now_ms() - t0, 4000);
	ck_assert(!alive(h[0].pid) && !alive(h[1].pid));
}
END_TEST

/* The workers run as the account given, with the key set loaded (the
 * web's: no opening key); the master stays root. */
START_TEST(user_and_keys)
{
	struct daemon	 d;
	struct hello	 h;
	struct passwd	*pw = getpwnam("nobody");
	char		 path[300];
	FILE		*f;

	ck_assert_int_eq(geteuid(), 0);
	ck_assert_ptr_nonnull(pw);
	snprintf(path, sizeof(path), "%s/master.key", tmp);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	daemon_for(&d, 2, COOPERATES);
	d.key_file = path;
	d.key_set = KEYS_WEB;
	d.user = "nobody";
	start(&d);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(next_hello(&h, 5000), "worker %d did not start", i);
		ck_assert_int_eq(h.uid, pw->pw_uid);
		ck_assert(h.has_pk);
		ck_assert_int_eq(h.can_open, 0);
	}
	ck_assert_int_eq(kill(master, SIGTERM), 0);
	ck_assert_int_eq(master_exit(4000), 0);

	/* The opener's set: the spooler's, which stays root. */
	close(fds[0]);
	daemon_for(&d, 1, COOPERATES);
	d.key_file = path;
	d.key_set = KEYS_OPENER;
	start(&d);
	ck_assert(next_hello(&h, 5000));
	ck_assert_int_eq(h.uid, 0);
	ck_assert_int_eq(h.can_open, 1);
	ck_assert_int_eq(kill(master, SIGTERM), 0);
	ck_assert_int_eq(master_exit(4000), 0);
}
END_TEST

/* A key file that does not load, or an account that does not exist: the
 * master refuses to start and no worker ever runs. */
START_TEST(refusals_before_workers)
{
	struct daemon	 d;
	struct hello	 h;
	char		 path[300];

	snprintf(path, sizeof(path), "%s/missing.key", tmp);
	daemon_for(&d, 2, COOPERATES);
	d.key_file = path;
	start(&d);
	ck_assert_int_eq(master_exit(5000), 1);
	ck_assert(!next_hello(&h, 100));

	close(fds[0]);
	daemon_for(&d, 2, COOPERATES);
	d.user = "no-such-user-ks";
	start(&d);
	ck_assert_int_eq(master_exit(5000), 1);
	ck_assert(!next_hello(&h, 100));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc = tcase_create("daemon");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, reap_all, reap_all);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, killed_worker_replaced);
	tcase_add_test(tc, crash_loop_backs_off);
	tcase_add_test(tc, sigterm_bounded);
	tcase_add_test(tc, user_and_keys);
	tcase_add_test(tc, refusals_before_workers);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
