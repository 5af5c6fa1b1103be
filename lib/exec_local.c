/*
 * The local executor: bash on the control node, as the spooler's own user,
 * reading the wrapper and the secrets on stdin. Its own session, so every
 * process a step starts can be found and stopped.
 */
#define _GNU_SOURCE	/* pipe2 */
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

#include <sodium.h>

#include "exec.h"
#include "log.h"

#define GRACE_S	5	/* from cancel (stdin closed) to SIGKILL */

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

int
exec_local(const struct exec_req *rq, struct exec_res *res)
{
	struct outfilter of;
	struct buf	 input;
	struct pollfd	 pfd[2];
	char		 chunk[65536];
	size_t		 sent = 0;
	ssize_t		 n;
	long long	 start = step_now_ms(), last_tick = start, cancel_at = 0;
	pid_t		 pid, w;
	int		 inp[2] = { -1, -1 }, outp[2] = { -1, -1 };
	int		 status = 0, reaped = 0, out_open = 1, rc = -1;

	memset(res, 0, sizeof(*res));
	buf_init(&input);
	outfilter_init(&of, rq->secrets, rq->nsecrets, rq->output_cap,
	    rq->output, rq->arg);
	if (step_wrapper(&input, rq->script, rq->secrets, rq->nsecrets) == -1 ||
	    step_secret_input(&input, rq->secrets, rq->nsecrets) == -1) {
		snprintf(res->error, sizeof(res->error), "invalid secret for the step");
		goto out;
	}
	if (pipe2(inp, O_CLOEXEC) == -1 || pipe2(outp, O_CLOEXEC) == -1) {
		snprintf(res->error, sizeof(res->error), "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		snprintf(res->error, sizeof(res->error), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(inp[0], outp[1]);
	close(inp[0]);
	close(outp[1]);
	inp[0] = outp[1] = -1;
	(void)fcntl(inp[1], F_SETFL, O_NONBLOCK);

	while (out_open || !reaped) {
		long long t = step_now_ms();
		/* With the output closed only the exit is awaited, which poll
		 * cannot see: look again soon rather than in 200 ms. */
		int nfds = 0, timeout = out_open ? 200 : 5;

		if (out_open) {
			pfd[nfds].fd = outp[0];
			pfd[nfds++].events = POLLIN;
		}
		if (inp[1] != -1 && sent < input.len) {
			pfd[nfds].fd = inp[1];
			pfd[nfds++].events = POLLOUT;
		}
		if (poll(pfd, (nfds_t)nfds, timeout) == -1 && errno != EINTR) {
			snprintf(res->error, sizeof(res->error), "poll: %s",
			    strerror(errno));
			kill_session(pid);
			cancel_at = 1;
		}
		for (int i = 0; i < nfds; i++) {
			if (pfd[i].fd == outp[0] && (pfd[i].revents & (POLLIN | POLLHUP))) {
				n = read(outp[0], chunk, sizeof(chunk));
				if (n > 0) {
					if (outfilter_feed(&of, chunk, (size_t)n) == -1) {
						snprintf(res->error, sizeof(res->error),
						    "storing output failed");
						kill_session(pid);
						cancel_at = 1;
					}
				} else if (n == 0 || errno != EINTR) {
					out_open = 0;
					close(outp[0]);
					outp[0] = -1;
				}
			} else if (pfd[i].fd == inp[1] && (pfd[i].revents &
			    (POLLOUT | POLLERR | POLLHUP))) {
				n = write(inp[1], input.ptr + sent, input.len - sent);
				if (n > 0)
					sent += (size_t)n;
				else if (n == -1 && errno != EAGAIN && errno != EINTR)
					sent = input.len;	/* the step is gone */
			}
		}
		if (!reaped && (w = waitpid(pid, &status, WNOHANG)) == pid)
			reaped = 1;
		/* The wrapper is done; whatever it left holding the pipe goes. */
		if (reaped && out_open && cancel_at == 0)
			cancel_at = t;
		t = step_now_ms();
		if (cancel_at == 0 && t - last_tick >= 1000) {
			last_tick = t;
			if (rq->tick != NULL && rq->tick(rq->arg) != 0) {
				res->cancelled = 1;
				cancel_at = t;
			}
		}
		if (cancel_at == 0 && rq->timeout_s > 0 &&
		    t - start >= rq->timeout_s * 1000) {
			res->timed_out = 1;
			cancel_at = t;
		}
		if (cancel_at != 0 && inp[1] != -1) {
			/* Closing stdin is the cancel signal (step.h). */
			close(inp[1]);
			inp[1] = -1;
		}
		if (cancel_at != 0 && t - cancel_at >= GRACE_S * 1000)
			kill_session(pid);
		if (cancel_at != 0 && reaped && t - cancel_at >= GRACE_S * 1000 + 1000 &&
		    out_open) {
			/* A daemonised grandchild holds the pipe: stop waiting. */
			close(outp[0]);
			outp[0] = -1;
			out_open = 0;
		}
	}
	kill_session(pid);	/* nothing of a finished step lingers */
	if (outfilter_finish(&of) == -1 && res->error[0] == '\0')
		snprintf(res->error, sizeof(res->error), "storing output failed");
	if (WIFEXITED(status)) {
		res->exited = 1;
		res->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		if (sigabbrev_np(res->signal) != NULL)
			snprintf(res->signame, sizeof(res->signame), "%s",
			    sigabbrev_np(res->signal));
	}
	res->output_bytes = of.total;
	res->truncated = of.truncated;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (inp[i] != -1)
			close(inp[i]);
		if (outp[i] != -1)
			close(outp[i]);
	}
	if (input.ptr != NULL)
		sodium_memzero(input.ptr, input.cap);	/* holds the secrets */
	buf_release(&input);
	outfilter_release(&of);
	return rc;
}
