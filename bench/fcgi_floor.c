/*
 * The bench's floor: a FastCGI responder that does no work. Each request
 * gets a 200 with Keystone's own headers (lib/web/http.c) and a body of
 * QUERY_STRING's n bytes ("n=14613"; 3 without one), from memory. Through
 * the same Caddy, its req/s for a page's byte size is what any handler
 * answering that many bytes could reach through Caddy + libfcgi on this
 * machine: the ceiling of ratio_X, measured rather than argued.
 *
 * usage: fcgi_floor SOCKET WORKERS   (runs until SIGTERM; bench only)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http.h"

#define MAX_BODY	(1L << 20)
#define MAX_WORKERS	64		/* keystone.fcgi's own limit */

static int
put(void *arg, const void *p, size_t n)
{
	return FCGX_PutStr(p, (int)n, ((FCGX_Request *)arg)->out) == (int)n ?
	    0 : -1;
}

/* n from "n=DIGITS", 3 if absent; -1 if malformed or too large. */
static long
body_size(const char *qs)
{
	char	*end;
	long	 n;

	if (qs == NULL || *qs == '\0')
		return 3;
	if (strncmp(qs, "n=", 2) != 0)
		return -1;
	errno = 0;
	n = strtol(qs + 2, &end, 10);
	if (errno != 0 || *end != '\0' || end == qs + 2 || n < 0 || n > MAX_BODY)
		return -1;
	return n;
}

static void
serve(int sock, const char *body)
{
	FCGX_Request	 fr;

	if (FCGX_InitRequest(&fr, sock, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&fr) >= 0) {
		struct resp	 r = { put, &fr, 0, 0, 0 };
		long		 n = body_size(FCGX_GetParam("QUERY_STRING", fr.envp));

		if (n < 0)
			(void)http_send(&r, 400, "text/plain; charset=utf-8", NULL, 0,
			    "bad n\n", 6, 0);
		else
			(void)http_send(&r, 200, "text/html; charset=utf-8", NULL, 0,
			    body, (size_t)n, 0);
		FCGX_Finish_r(&fr);
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	pid_t		 pids[MAX_WORKERS];
	sigset_t	 set;
	char		*body;
	long		 n;
	int		 sock, sig;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) < 1 || n > MAX_WORKERS) {
		fprintf(stderr, "usage: fcgi_floor SOCKET WORKERS(1-%d)\n",
		    MAX_WORKERS);
		return 2;
	}
	if ((body = malloc(MAX_BODY)) == NULL)
		return 1;
	/* HTML-ish bytes, like the static files it is compared with. */
	for (long i = 0; i < MAX_BODY; i++)
		body[i] = "<tr><td>floor</td></tr>\n"[i % 24];
	if (FCGX_Init() != 0 || (sock = FCGX_OpenSocket(argv[1], 128)) < 0) {
		fprintf(stderr, "fcgi_floor: cannot listen on %s\n", argv[1]);
		return 1;
	}
	/* Caddy runs as root in the bench; keep the socket private anyway. */
	(void)chmod(argv[1], 0600);
	/* SIGTERM and SIGINT wait in sigwait() below; blocked before the
	 * forks so none is lost, unblocked in each worker. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (long i = 0; i < n; i++)
		if ((pids[i] = fork()) == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			serve(sock, body);
		} else if (pids[i] == -1) {
			while (i-- > 0)
				kill(pids[i], SIGTERM);
			return 1;
		}
	(void)sigwait(&set, &sig);
	for (long i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	free(body);
	return 0;
}
