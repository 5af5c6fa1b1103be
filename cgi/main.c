/*
 * keystone.fcgi: opens the FastCGI unix socket, forks the configured number
 * of workers and keeps them running. Each worker owns one database
 * connection and serves requests one at a time; a crashed worker is
 * replaced. SIGTERM stops the workers after their current request.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "log.h"
#include "priv.h"

#define MAX_WORKERS	64

static volatile sig_atomic_t	 quit;

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static int
fcgi_read(void *arg, char *p, int n)
{
	return FCGX_GetStr(p, n, ((FCGX_Request *)arg)->in);
}

static int
fcgi_write(void *arg, const void *p, size_t n)
{
	FCGX_Request	*r = arg;

	if (n > (size_t)1 << 30)
		return -1;
	return FCGX_PutStr(p, (int)n, r->out) == (int)n ? 0 : -1;
}

static void
serve(struct app *a, int sock)
{
	FCGX_Request	 fr;
	struct reqenv	 env;

	if (FCGX_InitRequest(&fr, sock, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_warnx("FCGX_InitRequest failed");
		return;
	}
	while (!quit && FCGX_Accept_r(&fr) >= 0) {
		memset(&env, 0, sizeof(env));
		env.method = FCGX_GetParam("REQUEST_METHOD", fr.envp);
		env.uri = FCGX_GetParam("REQUEST_URI", fr.envp);
		env.query = FCGX_GetParam("QUERY_STRING", fr.envp);
		env.ctype = FCGX_GetParam("CONTENT_TYPE", fr.envp);
		env.clen = FCGX_GetParam("CONTENT_LENGTH", fr.envp);
		env.cookie = FCGX_GetParam("HTTP_COOKIE", fr.envp);
		env.addr = FCGX_GetParam("REMOTE_ADDR", fr.envp);
		env.callback = FCGX_GetParam("HTTP_X_KEYSTONE_CALLBACK", fr.envp);
		env.read = fcgi_read;
		env.rarg = &fr;
		env.write = fcgi_write;
		env.warg = &fr;
		app_handle(a, &env);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
}

static pid_t
spawn(struct app *a, int sock)
{
	char	 err[256];
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_err("fork");
		return -1;
	}
	if (pid == 0) {
		log_setprog("keystone.fcgi worker");
		/* Keep freed heap between requests instead of returning it to
		 * the kernel and faulting it back in on the next one. */
		(void)mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
		(void)mallopt(M_TOP_PAD, 1024 * 1024);
		/* Before the first request: a worker that cannot drop
		 * privileges serves nothing. */
		if (a->cfg.web_user != NULL &&
		    priv_drop(a->cfg.web_user, err, sizeof(err)) == -1) {
			log_warnx("worker: %s", err);
			app_release(a);
			exit(1);
		}
		if (db_open(&a->db, a->cfg.database) == -1)
			log_warnx("database not reachable yet; will retry per request");
		serve(a, sock);
		app_release(a);
		exit(0);	/* not _exit: lets LeakSanitizer check the worker */
	}
	return pid;
}

int
main(int argc, char *argv[])
{
	struct app		 a;
	struct sigaction	 sa;
	const char		*cfgpath = NULL;
	pid_t			 pids[MAX_WORKERS], pid;
	long			 n;
	int			 ch, sock, status;

	log_setprog("keystone.fcgi");
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		default:
			fprintf(stderr, "usage: keystone.fcgi [-c config]\n");
			return 2;
		}
	}
	if (app_init(&a, cfgpath) == -1)
		return 1;
	if (FCGX_Init() != 0) {
		log_warnx("FCGX_Init failed");
		return 1;
	}
	(void)unlink(a.cfg.fcgi_socket);
	if ((sock = FCGX_OpenSocket(a.cfg.fcgi_socket, 128)) < 0) {
		log_err("listen on %s", a.cfg.fcgi_socket);
		return 1;
	}
	/* Only the web server (same user or group) may talk to the app. */
	if (chmod(a.cfg.fcgi_socket, 0660) == -1)
		log_err("chmod %s", a.cfg.fcgi_socket);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: accept() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	n = a.cfg.workers;
	for (long i = 0; i < n; i++)
		pids[i] = spawn(&a, sock);
	log_info("listening on %s with %ld workers", a.cfg.fcgi_socket, n);
	while (!quit) {
		if ((pid = wait(&status)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (long i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			if (!quit) {
				log_warnx("worker %d exited (status %d); restarting",
				    (int)pid, status);
				sleep(1);
				pids[i] = spawn(&a, sock);
			}
		}
	}
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(&status) > 0 || errno == EINTR)
		;
	(void)unlink(a.cfg.fcgi_socket);
	app_release(&a);
	log_info("stopped");
	return 0;
}
