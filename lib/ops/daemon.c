#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "keys.h"
#include "log.h"
#include "priv.h"
#include "step.h"

/* A worker that lived this long is replaced at once when it dies; one that
 * died younger waits BACKOFF_MIN_MS, twice that after the next young
 * death, and so on up to BACKOFF_MAX_MS. */
#define STABLE_MS	10000
#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000

volatile sig_atomic_t	 daemon_stopping;

struct slot {
	pid_t		 pid;		/* 0: not running */
	long long	 started;	/* ms, when pid was forked */
	long long	 due;		/* ms, when to fork the next one */
	long		 delay;		/* ms, the last back-off */
};

static void
on_term(int sig)
{
	(void)sig;
	daemon_stopping = 1;
}

/* Only wakes sigtimedwait(); the master reaps in its loop. */
static void
on_child(int sig)
{
	(void)sig;
}

/* Waits for one of set's signals for at most ms (-1: no limit); returns
 * the signal or 0. */
static int
wait_signal(const sigset_t *set, long long ms)
{
	struct timespec	 ts;
	int		 sig;

	if (ms < 0)
		sig = sigwaitinfo(set, NULL);
	else {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		sig = sigtimedwait(set, NULL, &ts);
	}
	return sig == -1 ? 0 : sig;
}

/* A worker: the signals it acts on, the master's signal mask (mask), its
 * account, then its work. */
static void __attribute__((noreturn))
worker(struct daemon *d, const sigset_t *mask)
{
	static char		 prog[128];
	struct sigaction	 sa;
	char			 err[256];

	snprintf(prog, sizeof(prog), "%s worker", d->name);
	log_setprog(prog);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: blocking calls return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* Before any work: a worker that cannot drop privileges does
	 * nothing. */
	if (d->user != NULL && priv_drop(d->user, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	else
		d->work(d->arg);
	if (d->release != NULL)
		d->release(d->arg);
	if (d->keys != NULL)
		keys_release(d->keys);
	exit(0);	/* not _exit: lets LeakSanitizer check the worker */
}

static void
spawn(struct daemon *d, struct slot *s, const sigset_t *mask)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_err("fork");
		s->delay = s->delay ? s->delay : BACKOFF_MIN_MS;
		s->due = step_now_ms() + s->delay;
		return;
	}
	if (pid == 0)
		worker(d, mask);
	s->pid = pid;
	s->started = step_now_ms();
}

/* Reaps every worker that exited; while running, schedules its
 * replacement. Returns how many are still running. */
static long
reap(struct daemon *d, struct slot *slots, int stopping)
{
	long long	 now;
	pid_t		 pid;
	long		 running = 0;
	int		 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (long i = 0; i < d->workers; i++) {
			struct slot *s = &slots[i];
			if (s->pid != pid)
				continue;
			s->pid = 0;
			if (stopping)
				break;
			now = step_now_ms();
			if (now - s->started >= STABLE_MS)
				s->delay = 0;
			else if ((s->delay = s->delay ? 2 * s->delay :
			    BACKOFF_MIN_MS) > BACKOFF_MAX_MS)
				s->delay = BACKOFF_MAX_MS;
			s->due = now + s->delay;
			if (WIFSIGNALED(st))
				log_warnx("worker %d killed by signal %d; "
				    "replacing it in %ld ms", (int)pid,
				    WTERMSIG(st), s->delay);
			else
				log_warnx("worker %d exited (status %d); "
				    "replacing it in %ld ms", (int)pid,
				    WEXITSTATUS(st), s->delay);
		}
	}
	for (long i = 0; i < d->workers; i++)
		running += slots[i].pid > 0;
	return running;
}

/* Stops the workers: SIGTERM, then SIGKILL for those left after
 * d->stop_s. */
static void
stop(struct daemon *d, struct slot *slots, const sigset_t *set)
{
	long long	 deadline = step_now_ms() + d->stop_s * 1000;
	long		 left;

	for (long i = 0; i < d->workers; i++)
		if (slots[i].pid > 0)
			(void)kill(slots[i].pid, SIGTERM);
	while ((left = reap(d, slots, 1)) > 0) {
		if (step_now_ms() >= deadline) {
			log_warnx("%ld worker(s) still running after %ld s: "
			    "killing them", left, d->stop_s);
			for (long i = 0; i < d->workers; i++)
				if (slots[i].pid > 0)
					(void)kill(slots[i].pid, SIGKILL);
			for (long i = 0; i < d->workers; i++)
				if (slots[i].pid > 0)
					(void)waitpid(slots[i].pid, NULL, 0);
			break;
		}
		(void)wait_signal(set, deadline - step_now_ms());
	}
}

/* Refuses an account the workers could not become, before they fork: a
 * mistyped web_user stops the program instead of looping. */
static int
user_ok(const char *user)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user %s: %s", user, errno ? strerror(errno) :
		    "no such user");
		return 0;
	}
	if (geteuid() != 0 && geteuid() != pw->pw_uid) {
		log_warnx("cannot become %s: not started as root", user);
		return 0;
	}
	return 1;
}

int
daemon_run(struct daemon *d)
{
	struct slot		 slots[DAEMON_MAX_WORKERS];
	struct sigaction	 sa;
	sigset_t		 set, old;
	char			 err[512];
	long long		 now, next;
	int			 rc = -1, sig;

	log_setprog(d->name);
	memset(slots, 0, sizeof(slots));
	if (d->workers < 1 || d->workers > DAEMON_MAX_WORKERS) {
		log_warnx("%ld workers: from 1 to %d", d->workers,
		    DAEMON_MAX_WORKERS);
		goto out;
	}
	if (d->key_file != NULL && keys_load(d->keys, d->key_file, d->key_set,
	    err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if ((d->user != NULL && !user_ok(d->user)) ||
	    (d->prepare != NULL && d->prepare(d->arg) == -1))
		goto out;

	/* The master takes its signals in sigtimedwait(); blocked before
	 * the first fork so none is lost, unblocked in each worker. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &set, &old);

	for (long i = 0; i < d->workers; i++)
		spawn(d, &slots[i], &old);
	log_info("started %ld workers", d->workers);
	for (;;) {
		(void)reap(d, slots, 0);
		now = step_now_ms();
		next = -1;
		for (long i = 0; i < d->workers; i++)
			if (slots[i].pid == 0 && slots[i].due <= now)
				spawn(d, &slots[i], &old);
		/* Wake for the next replacement due (a fork that failed just
		 * now included). */
		for (long i = 0; i < d->workers; i++)
			if (slots[i].pid == 0 && (next == -1 || slots[i].due < next))
				next = slots[i].due;
		sig = wait_signal(&set, next == -1 ? -1 :
		    (next > now ? next - now : 0));
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("stopping");
	stop(d, slots, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	rc = 0;
out:
	if (d->keys != NULL)
		keys_release(d->keys);
	return rc;
}
