/*
 * The local executor: bash on the control node, as the spooler's own user,
 * reading the wrapper and the secrets on stdin. Its own session, so every
 * process a step starts can be found and stopped.
 */
#define _GNU_SOURCE	/* pipe2, sigabbrev_np */
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"

struct lchan {
	struct chan	 c;
	pid_t		 pid;		/* 0 until started */
	int		 in, out;	/* the step's stdin; its stdout+stderr */
	int		 pidfd;		/* readable when it exits; -1: polled */
	int		 reaped;
	int		 status;
};

/* SIGKILLs every process of session sid (the step's, and any job it put
 * in a process group of its own). */
static void
kill_session(pid_t sid)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64], buf[512], *p;
	FILE		*f;
	long		 pid, s;

	if (sid <= 0)
		return;	/* never started: -0 would be our own group */
	(void)kill(-sid, SIGKILL);
	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((pid = strtol(de->d_name, &p, 10)) <= 0 || *p != '\0')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %ld", &s) == 1 && s == sid)
			(void)kill((pid_t)pid, SIGKILL);
		fclose(f);
	}
	closedir(d);
}

static void
child(int in, int out)
{
	static char *const argv[] = { "bash", "-s", NULL };
	static char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8", "HOME=/", NULL };
	int	 devnull;

	(void)setsid();
	if (dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(out, STDERR_FILENO) == -1)
		_exit(126);
	/* Nothing of the spooler's (database socket, other pipes) leaks in. */
	for (int fd = 3; fd < 1024; fd++)
		(void)close(fd);
	if ((devnull = open("/dev/null", O_RDONLY)) > 2)
		(void)close(devnull);
	signal(SIGPIPE, SIG_DFL);
	execve("/bin/bash", argv, envp);
	_exit(127);
}

static int
l_start(struct chan *c, char *err, size_t errsz)
{
	struct lchan	*l = (struct lchan *)c;
	int		 inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, rc = -1;

	if (pipe2(inp, O_CLOEXEC) == -1 || pipe2(outp, O_CLOEXEC) == -1) {
		snprintf(err, errsz, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((l->pid = fork()) == -1) {
		l->pid = 0;
		snprintf(err, errsz, "fork: %s", strerror(errno));
		goto out;
	}
	if (l->pid == 0)
		child(inp[0], outp[1]);
	l->in = inp[1];
	l->out = outp[0];
	inp[1] = outp[0] = -1;
	(void)fcntl(l->in, F_SETFL, O_NONBLOCK);
	(void)fcntl(l->out, F_SETFL, O_NONBLOCK);
	/* Its exit wakes the loop; without pidfd (Linux < 5.3), it is
	 * looked for every few milliseconds. */
	l->pidfd = (int)syscall(SYS_pidfd_open, l->pid, 0);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (inp[i] != -1)
			close(inp[i]);
		if (outp[i] != -1)
			close(outp[i]);
	}
	return rc;
}

static int
l_want(struct chan *c, struct pollfd *pfd, int wr, int *ms)
{
	struct lchan	*l = (struct lchan *)c;
	int		 n = 0;

	if (l->out != -1) {
		pfd[n].fd = l->out;
		pfd[n++].events = POLLIN;
	}
	if (wr && l->in != -1) {
		pfd[n].fd = l->in;
		pfd[n++].events = POLLOUT;
	}
	if (!l->reaped && l->pidfd != -1) {
		pfd[n].fd = l->pidfd;
		pfd[n++].events = POLLIN;
	} else if (!l->reaped && l->out == -1 && *ms > 5)
		*ms = 5;
	return n;
}

static ssize_t
l_write(struct chan *c, const char *p, size_t n)
{
	struct lchan	*l = (struct lchan *)c;
	ssize_t		 w;

	if (l->in == -1)
		return -1;
	if ((w = write(l->in, p, n)) >= 0)
		return w;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static ssize_t
l_read(struct chan *c, char *p, size_t n, char *err, size_t errsz)
{
	struct lchan	*l = (struct lchan *)c;
	ssize_t		 r;

	(void)err;
	(void)errsz;
	if (l->out == -1)
		return CHAN_EOF;
	if ((r = read(l->out, p, n)) > 0)
		return r;
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	close(l->out);
	l->out = -1;
	return CHAN_EOF;
}

static int
l_close_input(struct chan *c)
{
	struct lchan	*l = (struct lchan *)c;

	if (l->in != -1)
		close(l->in);
	l->in = -1;
	return 0;
}

static int
l_exited(struct chan *c)
{
	struct lchan	*l = (struct lchan *)c;

	if (!l->reaped && waitpid(l->pid, &l->status, WNOHANG) == l->pid)
		l->reaped = 1;
	return l->reaped;
}

static void
l_kill(struct chan *c)
{
	kill_session(((struct lchan *)c)->pid);
}

static void
l_result(struct chan *c, const struct outfilter *of, struct exec_res *res)
{
	struct lchan	*l = (struct lchan *)c;

	(void)of;	/* the wait status says it all */
	kill_session(l->pid);	/* nothing of a finished step lingers */
	if (WIFEXITED(l->status)) {
		res->exited = 1;
		res->status = WEXITSTATUS(l->status);
	} else if (WIFSIGNALED(l->status)) {
		res->signal = WTERMSIG(l->status);
		if (sigabbrev_np(res->signal) != NULL)
			snprintf(res->signame, sizeof(res->signame), "%s",
			    sigabbrev_np(res->signal));
	}
}

static void
l_free(struct chan *c)
{
	struct lchan	*l = (struct lchan *)c;

	if (l->pid > 0 && !l->reaped) {
		kill_session(l->pid);
		(void)waitpid(l->pid, NULL, 0);
	}
	if (l->in != -1)
		close(l->in);
	if (l->out != -1)
		close(l->out);
	if (l->pidfd != -1)
		close(l->pidfd);
	free(l);
}

static const struct chan_ops local_ops = {
	l_start, l_want, l_write, l_read, l_close_input, l_exited, l_kill,
	NULL, l_result, l_free
};

struct chan *
chan_local(void)
{
	struct lchan	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->c.ops = &local_ops;
	l->in = l->out = l->pidfd = -1;
	return &l->c;
}

int
exec_local(const struct exec_req *rq, struct exec_res *res)
{
	struct chan	*ch;

	if ((ch = chan_local()) == NULL) {
		memset(res, 0, sizeof(*res));
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -1;
	}
	return exec_run(ch, rq, res);
}
