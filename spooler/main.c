/*
 * keystone-spooler: runs queued operations. A master process keeps the
 * configured number of workers alive (lib/ops/daemon.c); each worker has its
 * own database connection, LISTENs for new work (polling as a fallback), recovers
 * operations whose lease expired, and claims and runs one operation at a
 * time. SIGTERM: workers stop claiming, let the running step finish for up
 * to the grace period, then cancel it; the master kills a worker still
 * running STOP_MARGIN_S after that.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "build.h"
#include "config.h"
#include "daemon.h"
#include "deploy.h"
#include "db.h"
#include "log.h"
#include "op.h"
#include "reg.h"
#include "keys.h"
#include "spool.h"

/* After SIGTERM: beyond the grace period, time to cancel the step. */
#define STOP_MARGIN_S	10

struct spooler {
	struct config	 cfg;
	struct keys	 keys;		/* KEYS_OPENER */
};

/* Secret references, to the module that stores them. */
static int
resolve(struct db *db, const struct keys *k, const char *ref, struct buf *out)
{
	if (strncmp(ref, "registry_credentials/", 21) == 0)
		return reg_resolve_secret(db, k, ref, out);
	if (strncmp(ref, "service/", 8) == 0)
		return deploy_resolve_secret(db, k, ref, out);
	return build_resolve_secret(db, k, ref, out);
}

/* Step reports, to the module whose steps make them. */
static int
report(struct db *db, const struct op_claim *c, long long step_id,
    const char *what, int succeeded, char *err, size_t errsz)
{
	if (strcmp(what, "deployed") == 0)
		return deploy_report(db, c, step_id, what, succeeded, err, errsz);
	return build_report(db, c, step_id, what, succeeded, err, errsz);
}

/* Waits for a notification on the channel or the poll interval. */
static void
wait_for_work(struct db *db, long poll_s)
{
	struct pollfd	 pfd;
	PGnotify	*n;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		sleep(1);
		return;
	}
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)poll_s * 1000) > 0)
		(void)PQconsumeInput(db->conn);
	while ((n = PQnotifies(db->conn)) != NULL)
		PQfreemem(n);
}

static int
listen_channel(struct db *db)
{
	return db_simple(db, "LISTEN keystone_operations");
}

/* Queues the registry's scheduled health check when one is due. The
 * session lock keeps two workers (or spoolers) from queueing it twice. */
static void
schedule_check(struct db *db, const struct config *cfg, const struct keys *k)
{
	char	 uuid[40], err[256];

	if (cfg->registry_check_minutes == 0 ||
	    db_simple(db, "SELECT pg_advisory_lock(727276)") == -1)
		return;
	if (reg_check_due(db, cfg->registry_check_minutes) == 1) {
		if (reg_plan_check(db, cfg, k, 0, uuid, err, sizeof(err)) == 0)
			log_info("registry: scheduled health check %s queued", uuid);
		else
			log_warnx("registry: scheduled health check not queued: %s",
			    err[0] ? err : "database error");
	}
	(void)db_simple(db, "SELECT pg_advisory_unlock(727276)");
}

static void
worker(const struct config *cfg, const struct keys *k)
{
	struct db	 db;
	struct spool	 sp;
	struct op_claim	 c;
	char		 host[64];
	int		 listening = 0, rc;
	time_t		 scheduled = 0;

	memset(&sp, 0, sizeof(sp));
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(sp.worker, sizeof(sp.worker), "%s:%d", host, (int)getpid());
	sp.db = &db;
	sp.lease_s = cfg->lease_seconds;
	sp.build_limit = cfg->build_concurrency;
	sp.output_cap = (size_t)cfg->step_output_max_kb * 1024;
	sp.grace_s = cfg->spooler_grace_seconds;
	sp.fanout = cfg->step_fanout;
	sp.stopping = &daemon_stopping;
	sp.ssh_key_file = cfg->ssh_key_file;
	sp.ssh_connect_timeout = cfg->ssh_connect_timeout;
	sp.ssh_idle_timeout = cfg->ssh_idle_timeout;
	sp.keys = k;
	sp.resolve = resolve;
	sp.report = report;
	sp.prelude = deploy_prelude;
	if (db_open(&db, cfg->database) == -1)
		log_warnx("database not reachable yet; retrying");
	while (!daemon_stopping) {
		if (db_ensure(&db) == -1) {
			listening = 0;
			sleep(1);
			continue;
		}
		if (!listening)
			listening = listen_channel(&db) == 0;
		if (op_recover(&db) > 0)
			continue;
		if (time(NULL) - scheduled >= 60) {
			scheduled = time(NULL);
			schedule_check(&db, cfg, k);
		}
		if ((rc = op_claim(&db, sp.worker, sp.lease_s, sp.build_limit, &c)) == 1) {
			(void)spool_run(&sp, &c);
			continue;
		}
		if (rc == -1) {
			sleep(1);
			continue;
		}
		/* Expired leases must be noticed soon after they expire even
		 * when nothing is notified: wake at least twice a lease. */
		wait_for_work(&db, cfg->poll_seconds < cfg->lease_seconds / 2 ?
		    cfg->poll_seconds : (cfg->lease_seconds / 2 > 0 ?
		    cfg->lease_seconds / 2 : 1));
	}
	db_close(&db);
}

static void
work(void *arg)
{
	struct spooler	*s = arg;

	worker(&s->cfg, &s->keys);
}

static void
release(void *arg)
{
	config_release(&((struct spooler *)arg)->cfg);
}

int
main(int argc, char *argv[])
{
	struct spooler	 s;
	struct daemon	 d;
	const char	*cfgpath = NULL;
	char		 err[512];
	int		 ch, rc;

	log_setprog("keystone-spooler");
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch == 'c')
			cfgpath = optarg;
		else {
			fprintf(stderr, "usage: keystone-spooler [-c config]\n");
			return 2;
		}
	}
	config_init(&s.cfg);
	if (config_load(&s.cfg, cfgpath, err, sizeof(err)) == -1) {
		log_warnx("config: %s", err);
		return 1;
	}
	memset(&d, 0, sizeof(d));
	d.name = "keystone-spooler";
	d.workers = s.cfg.spooler_workers;
	/* The one program that opens stored secrets (for the steps that use
	 * them). It stays root: its control-node steps run Docker, write
	 * /etc/docker/certs.d and the registry's files, and reload Caddy. */
	d.key_file = s.cfg.master_key_file;
	d.key_set = KEYS_OPENER;
	d.keys = &s.keys;
	d.user = NULL;
	/* The grace a running step has, then its cancel being recorded. */
	d.stop_s = s.cfg.spooler_grace_seconds + STOP_MARGIN_S;
	d.work = work;
	d.release = release;
	d.arg = &s;
	rc = daemon_run(&d);
	config_release(&s.cfg);
	if (rc == 0)
		log_info("stopped");
	return rc == 0 ? 0 : 1;
}
