/*
 * keystone.fcgi: opens the FastCGI unix socket and runs the configured
 * number of workers (lib/ops/daemon.c: they hold the web keys only and serve
 * as web_user). Each worker owns one database connection and serves
 * requests one at a time. SIGTERM stops the workers after their current
 * request.
 */
#include <sys/stat.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "daemon.h"
#include "log.h"

/* After SIGTERM, how long a worker may take over its current request. */
#define STOP_S	10

struct fcgi {
	struct app	 a;
	int		 sock;
};

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

static const char *
fcgi_header(void *arg, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)arg)->envp);
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
	while (!daemon_stopping && FCGX_Accept_r(&fr) >= 0) {
		memset(&env, 0, sizeof(env));
		env.method = FCGX_GetParam("REQUEST_METHOD", fr.envp);
		env.uri = FCGX_GetParam("REQUEST_URI", fr.envp);
		env.query = FCGX_GetParam("QUERY_STRING", fr.envp);
		env.ctype = FCGX_GetParam("CONTENT_TYPE", fr.envp);
		env.clen = FCGX_GetParam("CONTENT_LENGTH", fr.envp);
		env.cookie = FCGX_GetParam("HTTP_COOKIE", fr.envp);
		env.addr = FCGX_GetParam("REMOTE_ADDR", fr.envp);
		env.callback = FCGX_GetParam("HTTP_X_KEYSTONE_CALLBACK", fr.envp);
		env.header = fcgi_header;
		env.harg = &fr;
		env.read = fcgi_read;
		env.rarg = &fr;
		env.write = fcgi_write;
		env.warg = &fr;
		app_handle(a, &env);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
}

/* A worker: its own database connection, then requests until SIGTERM. */
static void
work(void *arg)
{
	struct fcgi	*f = arg;

	/* Keep freed heap between requests instead of returning it to the
	 * kernel and faulting it back in on the next one. */
	(void)mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TOP_PAD, 1024 * 1024);
	if (db_open(&f->a.db, f->a.cfg.database) == -1)
		log_warnx("database not reachable yet; will retry per request");
	serve(&f->a, f->sock);
}

static void
release(void *arg)
{
	app_release(&((struct fcgi *)arg)->a);
}

/* In the master, as root, before the workers: the socket. */
static int
prepare(void *arg)
{
	struct fcgi	*f = arg;

	if (FCGX_Init() != 0) {
		log_warnx("FCGX_Init failed");
		return -1;
	}
	(void)unlink(f->a.cfg.fcgi_socket);
	if ((f->sock = FCGX_OpenSocket(f->a.cfg.fcgi_socket, 128)) < 0) {
		log_err("listen on %s", f->a.cfg.fcgi_socket);
		return -1;
	}
	/* Only the web server (same user or group) may talk to the app. */
	if (chmod(f->a.cfg.fcgi_socket, 0660) == -1)
		log_err("chmod %s", f->a.cfg.fcgi_socket);
	log_info("listening on %s", f->a.cfg.fcgi_socket);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct fcgi	 f;
	struct daemon	 d;
	const char	*cfgpath = NULL;
	int		 ch, rc;

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
	f.sock = -1;
	if (app_init(&f.a, cfgpath) == -1)
		return 1;
	memset(&d, 0, sizeof(d));
	d.name = "keystone.fcgi";
	d.workers = f.a.cfg.workers;
	/* Seals what it receives, opens no stored secret. */
	d.key_file = f.a.cfg.master_key_file;
	d.key_set = KEYS_WEB;
	d.keys = &f.a.keys;
	/* Before the first request: requests are served as web_user. */
	d.user = f.a.cfg.web_user;
	/* A request in progress is finished. */
	d.stop_s = STOP_S;
	d.prepare = prepare;
	d.work = work;
	d.release = release;
	d.arg = &f;
	rc = daemon_run(&d);
	if (f.sock >= 0)
		(void)unlink(f.a.cfg.fcgi_socket);
	app_release(&f.a);
	if (rc == 0)
		log_info("stopped");
	return rc == 0 ? 0 : 1;
}
