#define _GNU_SOURCE	/* sigabbrev_np */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "exec.h"
#include "log.h"
#include "spool.h"
#include "ssh.h"

#define FLUSH_BYTES	(32 * 1024)

/* One SSH connection serves all of an operation's steps on a server. The
 * run owns every connection it made, however many servers it touches, and
 * conns_close() closes them all when it ends: no fixed cap, or a worker
 * that lives for days would leak the ones past it. */
struct conn_ent {
	long long	 server_id;
	struct ssh_conn	*conn;
};
struct conns {
	struct conn_ent	*v;
	size_t		 n, cap;
};

/* State of the step being run, shared with the executor's callbacks. */
struct run {
	struct spool		*sp;
	const struct op_claim	*c;
	long long		 step_id;
	int			 seq;
	struct buf		 out;		/* redacted, not yet stored */
	time_t			 renewed;
	time_t			 stop_seen;	/* when SIGTERM was first seen */
	int			 lost;		/* lease lost or database gone */
	int			 cancel;	/* a cancel was requested */
	struct conns		 conns;
};

/* The connection to server_id, made on first use (it connects when a
 * step's channel on it starts). NULL with err. */
static struct ssh_conn *
conn_for(struct run *r, const char *server_id, char *err, size_t errsz)
{
	struct ssh_target t;
	struct conns	*cs = &r->conns;
	const char	*p[] = { server_id };
	struct ssh_conn	*c = NULL;
	PGresult	*res;
	long long	 id = strtoll(server_id, NULL, 10);

	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].server_id == id)
			return cs->v[i].conn;
	/* Room first: a connection, once made, always has its owner. */
	if (cs->n == cs->cap) {
		size_t		 cap = cs->cap ? cs->cap * 2 : 8;
		struct conn_ent	*v;

		if ((v = reallocarray(cs->v, cap, sizeof(*v))) == NULL) {
			snprintf(err, errsz, "out of memory");
			return NULL;
		}
		cs->v = v;
		cs->cap = cap;
	}
	if (r->sp->ssh_key_file == NULL) {
		snprintf(err, errsz, "no SSH key configured (ssh_key_file)");
		return NULL;
	}
	if ((res = db_exec(r->sp->db, ST_SERVER_SSH, 1, p)) == NULL ||
	    PQntuples(res) != 1) {
		snprintf(err, errsz, "the step's server no longer exists");
		PQclear(res);
		return NULL;
	}
	memset(&t, 0, sizeof(t));
	t.host = PQgetvalue(res, 0, 0);
	t.port = atoi(PQgetvalue(res, 0, 1));
	t.user = PQgetvalue(res, 0, 2);
	t.hostkey = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	t.key_file = r->sp->ssh_key_file;
	/* The lease is renewed by the ticks while it connects. */
	t.connect_timeout_s = r->sp->ssh_connect_timeout;
	t.idle_timeout_s = r->sp->ssh_idle_timeout;
	if ((c = ssh_conn_new(&t)) == NULL)
		snprintf(err, errsz, "out of memory");
	PQclear(res);
	if (c != NULL) {
		cs->v[cs->n].server_id = id;
		cs->v[cs->n++].conn = c;
	}
	return c;
}

static void
conns_close(struct conns *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		ssh_close(cs->v[i].conn);
	free(cs->v);
	cs->v = NULL;
	cs->n = cs->cap = 0;
}

static int
flush_output(struct run *r)
{
	char		 id[24], f[24], seq[24];
	const char	*p[] = { id, f, seq, NULL };
	PGresult	*res;
	int		 ok;

	if (r->out.len == 0 || r->lost)
		return r->lost ? -1 : 0;
	snprintf(id, sizeof(id), "%lld", r->step_id);
	snprintf(f, sizeof(f), "%lld", r->c->fence);
	snprintf(seq, sizeof(seq), "%d", r->seq);
	/* The filter passes bytes as they came; PostgreSQL text holds no NUL
	 * and must be valid UTF-8: make the stored copy so. */
	for (size_t i = 0; i < r->out.len; i++)
		if (r->out.ptr[i] == '\0')
			r->out.ptr[i] = '?';
	p[3] = r->out.ptr;
	res = db_exec(r->sp->db, ST_OP_STEP_OUTPUT, 4, p);
	ok = res != NULL && PQntuples(res) == 1;
	if (res == NULL && r->sp->db->sqlstate[0] == '2' && r->sp->db->sqlstate[1] == '2') {
		/* 22021: not UTF-8. Store it with the bad bytes replaced. */
		for (size_t i = 0; i < r->out.len; i++)
			if ((unsigned char)r->out.ptr[i] >= 0x80)
				r->out.ptr[i] = '?';
		res = db_exec(r->sp->db, ST_OP_STEP_OUTPUT, 4, p);
		ok = res != NULL && PQntuples(res) == 1;
	}
	PQclear(res);
	if (!ok) {
		r->lost = 1;
		return -1;
	}
	r->seq++;
	buf_reset(&r->out);
	return 0;
}

static int
on_output(void *arg, const char *p, size_t n)
{
	struct run	*r = arg;

	if (buf_put(&r->out, p, n) == -1)
		return -1;
	/* A failed store marks the run lost; the next tick cancels it. */
	if (r->out.len >= FLUSH_BYTES)
		(void)flush_output(r);
	return 0;
}

/* Renews the lease now; marks the run lost or cancelled as the answer
 * says. */
static void
renew_now(struct run *r)
{
	int	 rc;

	if (r->lost)
		return;
	rc = op_renew(r->sp->db, r->c, r->sp->lease_s);
	if (rc <= 0)
		r->lost = 1;
	else if (rc == 2)
		r->cancel = 1;
	r->renewed = time(NULL);
}

/* About once a second while a step runs: store output, renew the lease,
 * notice cancels and shutdown. Nonzero cancels the step. */
static int
on_tick(void *arg)
{
	struct run	*r = arg;
	time_t		 now = time(NULL);

	(void)flush_output(r);
	if (!r->lost && now - r->renewed >= r->sp->lease_s / 3)
		renew_now(r);
	if (*r->sp->stopping && r->stop_seen == 0)
		r->stop_seen = now;
	if (r->stop_seen != 0 && now - r->stop_seen >= r->sp->grace_s)
		r->cancel = 1;
	return r->lost || r->cancel;
}

static int
finish_step(struct run *r, const char *status, const struct exec_res *res,
    const char *error)
{
	char		 id[24], f[24], code[16], sig[16], bytes[24];
	const char	*p[8];
	PGresult	*pr;
	int		 ok;

	snprintf(id, sizeof(id), "%lld", r->step_id);
	snprintf(f, sizeof(f), "%lld", r->c->fence);
	snprintf(code, sizeof(code), "%d", res ? res->status : 0);
	/* A step killed by a signal: from the executor, or the shell's
	 * 128+N exit status for it. */
	sig[0] = '\0';
	if (res != NULL && res->signame[0] != '\0')
		snprintf(sig, sizeof(sig), "%s", res->signame);
	else if (res != NULL && res->exited && res->status > 128 &&
	    res->status < 128 + 65 && sigabbrev_np(res->status - 128) != NULL)
		snprintf(sig, sizeof(sig), "%s", sigabbrev_np(res->status - 128));
	snprintf(bytes, sizeof(bytes), "%llu", res ? res->output_bytes : 0ULL);
	p[0] = id;
	p[1] = f;
	p[2] = status;
	p[3] = res != NULL && res->exited ? code : NULL;
	p[4] = sig[0] != '\0' ? sig : NULL;
	p[5] = error;
	p[6] = bytes;
	p[7] = res != NULL && res->truncated ? "true" : "false";
	pr = db_exec(r->sp->db, ST_OP_STEP_FINISH, 8, p);
	ok = pr != NULL && PQntuples(pr) == 1;
	PQclear(pr);
	return ok ? 0 : -1;
}

static int
finish_op(struct spool *sp, const struct op_claim *c, const char *status,
    const char *error)
{
	char		 id[24], f[24];
	const char	*p[] = { id, f, status, error };
	PGresult	*res;
	int		 ok;

	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	if (strcmp(status, "succeeded") != 0) {
		res = db_exec(sp->db, ST_OP_SKIP_REST, 2, p);
		PQclear(res);
	}
	res = db_exec(sp->db, ST_OP_FINISH, 4, p);
	ok = res != NULL && PQntuples(res) == 1;
	PQclear(res);
	res = db_exec(sp->db, ST_OP_SECRETS_DELETE, 1, p);
	PQclear(res);
	log_info("operation %lld (%s): %s%s%s", c->id, c->kind, status,
	    error ? ": " : "", error ? error : "");
	return ok ? 0 : -1;
}

/* Nonzero when w is one of the space-separated words of list. */
static int
word_in(const char *list, const char *w)
{
	size_t	 wl = strlen(w);

	for (const char *p = list; *p != '\0'; p += strcspn(p, " ")) {
		p += strspn(p, " ");
		if (strncmp(p, w, wl) == 0 && (p[wl] == ' ' || p[wl] == '\0'))
			return 1;
	}
	return 0;
}

/* The supervision item for one step: the channel for its target, only
 * the secrets it names (into mine, of STEP_MAX_SECRETS). -1 with
 * it->res.error when it cannot be made. */
static int
step_item(struct run *r, const char *target, const char *server_id,
    const char *script, long timeout_s, const struct op_secrets *sec,
    const char *names, struct secret *mine, struct sup_item *it)
{
	struct ssh_conn	*c;
	size_t		 n = 0;

	memset(it, 0, sizeof(*it));
	/* Only the secrets the step names travel to where it runs. */
	for (size_t i = 0; i < sec->n; i++)
		if (names == NULL || word_in(names, sec->v[i].name))
			mine[n++] = sec->v[i];
	it->rq.script = script;
	it->rq.secrets = mine;
	it->rq.nsecrets = n;
	it->rq.timeout_s = timeout_s;
	it->rq.output_cap = r->sp->output_cap;
	it->rq.output = on_output;
	it->rq.arg = r;
	if (strcmp(target, "control_node") == 0 ||
	    (strcmp(target, "build_node") == 0 && server_id == NULL))
		it->ch = chan_local();
	else if (server_id == NULL) {
		snprintf(it->res.error, sizeof(it->res.error), "target %s names "
		    "no server", target);
		return -1;
	} else if ((c = conn_for(r, server_id, it->res.error,
	    sizeof(it->res.error))) == NULL)
		return -1;
	else
		it->ch = ssh_chan(c);
	if (it->ch == NULL) {
		snprintf(it->res.error, sizeof(it->res.error), "out of memory");
		return -1;
	}
	return 0;
}

/* Runs one step through the executor for its target. */
static int
run_step(struct run *r, const char *target, const char *server_id,
    const char *script, long timeout_s, const struct op_secrets *sec,
    const char *names, struct exec_res *res)
{
	struct secret	 mine[STEP_MAX_SECRETS];
	struct sup_item	 it;

	if (step_item(r, target, server_id, script, timeout_s, sec, names,
	    mine, &it) == -1) {
		*res = it.res;
		return -1;
	}
	if (supervise(&it, 1, on_tick, r) == -1)
		it.rc = -1;
	*res = it.res;
	return it.rc;
}

int
spool_run(struct spool *sp, const struct op_claim *c)
{
	struct op_secrets sec;
	struct run	 r;
	struct exec_res	 res;
	PGresult	*steps = NULL, *pr;
	char		 ids[24], f[24], err[512], operr[512];
	const char	*p[2] = { ids, f };
	const char	*final = "succeeded";
	int		 rc = -1, n;

	memset(&r, 0, sizeof(r));
	memset(&sec, 0, sizeof(sec));
	buf_init(&r.out);
	r.sp = sp;
	r.c = c;
	r.renewed = time(NULL);
	err[0] = operr[0] = '\0';
	snprintf(ids, sizeof(ids), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	log_info("operation %lld (%s): claimed, attempt %d", c->id, c->kind, c->attempt);
	if (op_secrets_load(sp->db, c->id, sp->keys, sp->resolve, &sec) == -1) {
		rc = finish_op(sp, c, "failed", "its secrets could not be opened");
		goto out;
	}
	if ((steps = db_exec(sp->db, ST_OP_RUN_STEPS, 1, p)) == NULL)
		goto out;
	n = PQntuples(steps);
	for (int i = 0; i < n; i++) {
		const char *status = PQgetvalue(steps, i, 8);
		const char *name = PQgetvalue(steps, i, 2);
		const char *server = PQgetisnull(steps, i, 4) ? NULL :
		    PQgetvalue(steps, i, 4);
		int ordinal = atoi(PQgetvalue(steps, i, 1));
		int keep_going = PQgetvalue(steps, i, 9)[0] == 't';
		const char *sp2[2];
		const char *st;

		if (strcmp(status, "succeeded") == 0)
			continue;	/* a requeued operation resumes */
		/* The operation reports its first failure; each step its own. */
		if (operr[0] == '\0')
			memcpy(operr, err, sizeof(operr));
		err[0] = '\0';
		r.step_id = strtoll(PQgetvalue(steps, i, 0), NULL, 10);
		sp2[0] = PQgetvalue(steps, i, 0);
		sp2[1] = f;
		if ((pr = db_exec(sp->db, ST_OP_STEP_START, 2, sp2)) == NULL ||
		    PQntuples(pr) != 1) {
			PQclear(pr);
			goto out;	/* fence lost */
		}
		r.seq = atoi(PQgetvalue(pr, 0, 0));
		PQclear(pr);
		if (run_step(&r, PQgetvalue(steps, i, 3), server,
		    PQgetvalue(steps, i, 5), atol(PQgetvalue(steps, i, 7)), &sec,
		    PQgetisnull(steps, i, 10) ? NULL : PQgetvalue(steps, i, 10),
		    &res) == -1) {
			snprintf(err, sizeof(err), "step %d (%s): %s", ordinal, name,
			    res.error);
			(void)flush_output(&r);
			if (r.lost || finish_step(&r, "failed", NULL, res.error) == -1)
				goto out;
			final = "failed";
			if (keep_going && !r.cancel)
				continue;
			break;
		}
		(void)flush_output(&r);
		if (r.lost)
			goto out;
		if (res.cancelled || (r.cancel && !res.timed_out)) {
			st = "cancelled";
			snprintf(err, sizeof(err), "step %d (%s): cancelled%s", ordinal,
			    name, *sp->stopping ? " (spooler shutting down)" : "");
		} else if (res.timed_out) {
			st = "failed";
			snprintf(err, sizeof(err), "step %d (%s): timed out after %s s",
			    ordinal, name, PQgetvalue(steps, i, 7));
		} else if (res.error[0] != '\0') {
			st = "failed";
			snprintf(err, sizeof(err), "step %d (%s): %s", ordinal, name,
			    res.error);
		} else if (res.exited && res.status == 0) {
			st = "succeeded";
		} else if (res.exited) {
			st = "failed";
			snprintf(err, sizeof(err), "step %d (%s): exit status %d",
			    ordinal, name, res.status);
		} else {
			st = "failed";
			snprintf(err, sizeof(err), "step %d (%s): killed by signal %d",
			    ordinal, name, res.signal);
		}
		if (finish_step(&r, st, &res, err[0] ? err : NULL) == -1)
			goto out;
		if (strcmp(st, "succeeded") != 0) {
			final = st;
			/* A health-matrix cell: the other cells still run. */
			if (keep_going && strcmp(st, "failed") == 0 && !r.cancel)
				continue;
			break;
		}
	}
	if (operr[0] == '\0')
		memcpy(operr, err, sizeof(operr));
	rc = finish_op(sp, c, final, operr[0] ? operr : NULL);
out:
	if (rc == -1)
		log_warnx("operation %lld: lost its lease or the database; "
		    "recovery will end it", c->id);
	PQclear(steps);
	conns_close(&r.conns);
	op_secrets_free(&sec);
	if (r.out.ptr != NULL)
		memset(r.out.ptr, 0, r.out.cap);
	buf_release(&r.out);
	return rc;
}
