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
#include "model.h"	/* M_NULL */
#include "row.h"
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

/* The rows of this module's statements (lib/row.h). */
struct run_step {			/* ST_OP_RUN_STEPS */
	long long	 id, ordinal;
	char		*name, *target;
	long long	 server_id;	/* M_NULL: none */
	char		*script;
	int		 idempotent;
	long long	 timeout_s;
	char		*status;
	int		 keep_going;
	char		*secret_names;	/* NULL: all of them */
	long long	 step_group;	/* M_NULL: a group of its own */
	int		 always;
	char		*reports;	/* NULL: the step reports nothing */
	int		 finish;	/* a cancel lets it run to its end */
};
static const struct col run_step_cols[] = {
	COL(run_step, id, C_INT), COL(run_step, ordinal, C_INT),
	COL(run_step, name, C_STR), COL(run_step, target, C_STR),
	COL(run_step, server_id, C_INT), COL(run_step, script, C_STR),
	COL(run_step, idempotent, C_BOOL), COL(run_step, timeout_s, C_INT),
	COL(run_step, status, C_STR), COL(run_step, keep_going, C_BOOL),
	COL(run_step, secret_names, C_STR), COL(run_step, step_group, C_INT),
	COL(run_step, always, C_BOOL), COL(run_step, reports, C_STR),
	COL(run_step, finish, C_BOOL),
};
static const struct rowtype run_step_t = ROWTYPE(run_step, run_step_cols);

struct run_op {				/* ST_OP_RUN_OP */
	char		*ends_as;	/* NULL: an ordinary run */
	char		*error;
};
static const struct col run_op_cols[] = {
	COL(run_op, ends_as, C_STR), COL(run_op, error, C_STR),
};
static const struct rowtype run_op_t = ROWTYPE(run_op, run_op_cols);

struct server_ssh {			/* ST_SERVER_SSH */
	char		*address;
	long long	 ssh_port;
	char		*ssh_user;
	char		*host_key;	/* NULL: not pinned */
};
static const struct col server_ssh_cols[] = {
	COL(server_ssh, address, C_STR), COL(server_ssh, ssh_port, C_INT),
	COL(server_ssh, ssh_user, C_STR), COL(server_ssh, host_key, C_STR),
};
static const struct rowtype server_ssh_t = ROWTYPE(server_ssh, server_ssh_cols);

struct step_started {			/* ST_OP_STEP_START */
	long long	 next_seq;
};
static const struct col step_started_cols[] = {
	COL(step_started, next_seq, C_INT),
};
static const struct rowtype step_started_t = ROWTYPE(step_started,
    step_started_cols);

struct seq_row {			/* ST_OP_STEP_OUTPUT */
	long long	 seq;
};
static const struct col seq_cols[] = { COL(seq_row, seq, C_INT) };
static const struct rowtype seq_t = ROWTYPE(seq_row, seq_cols);

struct run;

/* A step of the wave being run, shared with the executor's callbacks. */
struct member {
	struct run		*r;
	const struct run_step	*s;
	struct sup_item		*it;	/* NULL: it could not start */
	int			 seq;
	struct buf		 out;	/* redacted, not yet stored */
	struct buf		 script;	/* the prelude and the stored script */
	int			 ended;	/* its end is stored */
	const char		*st;	/* how it ended */
	char			 err[512];	/* and why, "" when it succeeded */
	struct secret		 mine[STEP_MAX_SECRETS];
};

/* One claimed operation's run. */
struct run {
	struct spool		*sp;
	const struct op_claim	*c;
	const struct op_secrets	*sec;
	time_t			 renewed;
	time_t			 stop_seen;	/* when SIGTERM was first seen */
	int			 lost;		/* lease lost or database gone */
	int			 cancel;	/* a cancel was requested */
	int			 done;		/* a report hook: nothing left to do */
	const char		*prelude;	/* NULL: none */
	struct member		*m;		/* the wave running now */
	struct sup_item		*it;		/* its items */
	size_t			 n;
	struct conns		 conns;
};

/* A fenced write of the operation: 0, or -1 (and the run lost). */
static int
op_write(struct run *r, enum stmt st, const char *a3, const char *a4)
{
	char		 id[24], f[24];
	const char	*p[] = { id, f, a3, a4 };
	struct row_id	 row;

	snprintf(id, sizeof(id), "%lld", r->c->id);
	snprintf(f, sizeof(f), "%lld", r->c->fence);
	if (row_get(r->sp->db, &row_id_t, st, 4, p, &row) != 1) {
		r->lost = 1;
		return -1;
	}
	return 0;
}

/* The connection to server_id, made on first use (it connects when a
 * step's channel on it starts). NULL with err. */
static struct ssh_conn *
conn_for(struct run *r, long long id, char *err, size_t errsz)
{
	struct ssh_target t;
	struct server_ssh row;
	struct conns	*cs = &r->conns;
	char		 ids[24];
	const char	*p[] = { ids };
	struct ssh_conn	*c = NULL;

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
	snprintf(ids, sizeof(ids), "%lld", id);
	if (row_get(r->sp->db, &server_ssh_t, ST_SERVER_SSH, 1, p, &row) != 1 ||
	    row.address == NULL || row.ssh_user == NULL) {
		snprintf(err, errsz, "the step's server no longer exists");
		row_unfill(&server_ssh_t, &row);
		return NULL;
	}
	memset(&t, 0, sizeof(t));
	t.host = row.address;
	t.port = (int)row.ssh_port;
	t.user = row.ssh_user;
	t.hostkey = row.host_key;
	t.key_file = r->sp->ssh_key_file;
	/* The lease is renewed by the ticks while it connects. */
	t.connect_timeout_s = r->sp->ssh_connect_timeout;
	t.idle_timeout_s = r->sp->ssh_idle_timeout;
	if ((c = ssh_conn_new(&t)) == NULL)
		snprintf(err, errsz, "out of memory");
	row_unfill(&server_ssh_t, &row);
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
flush_output(struct member *m)
{
	struct run	*r = m->r;
	char		 id[24], f[24], seq[24];
	const char	*p[] = { id, f, seq, NULL };
	struct seq_row	 row;
	int		 rc;

	if (m->out.len == 0 || r->lost)
		return r->lost ? -1 : 0;
	snprintf(id, sizeof(id), "%lld", m->s->id);
	snprintf(f, sizeof(f), "%lld", r->c->fence);
	snprintf(seq, sizeof(seq), "%d", m->seq);
	/* The filter passes bytes as they came; PostgreSQL text holds no NUL
	 * and must be valid UTF-8: make the stored copy so. */
	for (size_t i = 0; i < m->out.len; i++)
		if (m->out.ptr[i] == '\0')
			m->out.ptr[i] = '?';
	p[3] = m->out.ptr;
	rc = row_get(r->sp->db, &seq_t, ST_OP_STEP_OUTPUT, 4, p, &row);
	if (rc == -1 && r->sp->db->sqlstate[0] == '2' &&
	    r->sp->db->sqlstate[1] == '2') {
		/* 22021: not UTF-8. Store it with the bad bytes replaced. */
		for (size_t i = 0; i < m->out.len; i++)
			if ((unsigned char)m->out.ptr[i] >= 0x80)
				m->out.ptr[i] = '?';
		rc = row_get(r->sp->db, &seq_t, ST_OP_STEP_OUTPUT, 4, p, &row);
	}
	if (rc != 1) {
		r->lost = 1;
		return -1;
	}
	m->seq++;
	buf_reset(&m->out);
	return 0;
}

static int
on_output(void *arg, const char *p, size_t n)
{
	struct member	*m = arg;

	if (buf_put(&m->out, p, n) == -1)
		return -1;
	/* A failed store marks the run lost; the next tick cancels it. */
	if (m->out.len >= FLUSH_BYTES)
		(void)flush_output(m);
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
	else if (rc == 2) {
		if (!r->cancel)
			log_info("operation %lld: cancel requested", r->c->id);
		r->cancel = 1;
	}
	r->renewed = time(NULL);
}

static int
finish_step(struct member *m, const char *status, const struct exec_res *res,
    const char *error)
{
	char		 id[24], f[24], code[16], sig[16], bytes[24];
	const char	*p[8];
	struct row_id	 row;

	snprintf(id, sizeof(id), "%lld", m->s->id);
	snprintf(f, sizeof(f), "%lld", m->r->c->fence);
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
	return row_get(m->r->sp->db, &row_id_t, ST_OP_STEP_FINISH, 8, p, &row) == 1 ?
	    0 : -1;
}

/* A step that reports: the hook reads what it printed (stored already)
 * before its end is stored; the hook's -1 fails a step that succeeded. */
static void
report(struct member *m)
{
	struct run	*r = m->r;
	char		 err[256];
	int		 ok = strcmp(m->st, "succeeded") == 0, v;

	if (m->s->reports == NULL || r->sp->report == NULL)
		return;
	err[0] = '\0';
	v = r->sp->report(r->sp->db, r->c, m->s->id, m->s->reports, ok, err,
	    sizeof(err));
	if (v == -1 && ok) {
		m->st = "failed";
		snprintf(m->err, sizeof(m->err), "step %d (%s): %s",
		    (int)m->s->ordinal, m->s->name, err[0] != '\0' ? err :
		    "what it reported could not be recorded");
	} else if (v == OP_REPORT_DONE && ok)
		r->done = 1;
}

/* Stores how m ended, as its item says (rc -1: it could not start). */
static void
end_member(struct member *m, const struct sup_item *it)
{
	struct run		*r = m->r;
	const struct exec_res	*res = &it->res;
	const struct run_step	*s = m->s;
	int			 ord = (int)s->ordinal;

	m->ended = 1;
	(void)flush_output(m);
	if (r->lost)
		return;
	m->err[0] = '\0';
	if (it->rc == -1) {
		m->st = "failed";
		snprintf(m->err, sizeof(m->err), "step %d (%s): %s", ord, s->name,
		    res->error);
		/* Nothing ran: no exit, no output, the step's error bare. */
		if (finish_step(m, m->st, NULL, res->error) == -1)
			r->lost = 1;
		return;
	}
	if (res->cancelled || (it->cancel && !res->timed_out)) {
		m->st = "cancelled";
		snprintf(m->err, sizeof(m->err), "step %d (%s): cancelled%s", ord,
		    s->name, *r->sp->stopping ? " (spooler shutting down)" : "");
	} else if (res->timed_out) {
		m->st = "failed";
		snprintf(m->err, sizeof(m->err), "step %d (%s): timed out after "
		    "%lld s", ord, s->name, s->timeout_s);
	} else if (res->error[0] != '\0') {
		m->st = "failed";
		snprintf(m->err, sizeof(m->err), "step %d (%s): %s", ord, s->name,
		    res->error);
	} else if (res->exited && res->status == 0) {
		m->st = "succeeded";
	} else if (res->exited) {
		m->st = "failed";
		snprintf(m->err, sizeof(m->err), "step %d (%s): exit status %d",
		    ord, s->name, res->status);
	} else {
		m->st = "failed";
		snprintf(m->err, sizeof(m->err), "step %d (%s): killed by signal %d",
		    ord, s->name, res->signal);
	}
	report(m);
	if (finish_step(m, m->st, res, m->err[0] ? m->err : NULL) == -1)
		r->lost = 1;
}

/* Asks the wave's members to stop when a cancel was requested: all but
 * the always-run ones, which run whatever happened, and the "finish" ones,
 * which run to their end (a server left half-way through a deploy is
 * worse than one that got it). Their timeouts and a shutdown past its
 * grace still stop them. */
static void
cancel_members(struct run *r)
{
	for (size_t i = 0; r->cancel && i < r->n; i++)
		if (r->m[i].it != NULL && r->m[i].s->always != 1 &&
		    r->m[i].s->finish != 1)
			r->m[i].it->cancel = 1;
}

/* About once a second while a wave runs: store output and the ends of
 * the members that ended, renew the lease, notice cancels and shutdown.
 * Nonzero cancels every member still running. */
static int
on_tick(void *arg)
{
	struct run	*r = arg;
	time_t		 now = time(NULL);

	for (size_t i = 0; i < r->n; i++) {
		struct member *m = &r->m[i];

		if (m->it == NULL || m->ended)
			continue;
		if (m->it->done)
			end_member(m, m->it);
		else
			(void)flush_output(m);
	}
	if (!r->lost && now - r->renewed >= r->sp->lease_s / 3)
		renew_now(r);
	cancel_members(r);
	if (*r->sp->stopping && r->stop_seen == 0)
		r->stop_seen = now;
	return r->lost || (r->stop_seen != 0 &&
	    now - r->stop_seen >= r->sp->grace_s);
}

static int
finish_op(struct spool *sp, const struct op_claim *c, const char *status,
    const char *error)
{
	char		 id[24], f[24];
	const char	*p[] = { id, f, status, error };
	const char	*sp3[] = { id, f, "true" };
	struct row_id	 row;
	PGresult	*res;
	int		 ok;

	snprintf(id, sizeof(id), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	/* (A run that succeeded early, its report hook saying there was
	 * nothing left to do, has steps left too.) */
	res = db_exec(sp->db, ST_OP_SKIP_REST, 3, sp3);
	PQclear(res);
	ok = row_get(sp->db, &row_id_t, ST_OP_FINISH, 4, p, &row) == 1;
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

/* The supervision item for member m: the channel for its target, only
 * the secrets it names. -1 with it->res.error when it cannot be made. */
static int
step_item(struct member *m, struct sup_item *it)
{
	struct run		*r = m->r;
	const struct run_step	*s = m->s;
	const struct op_secrets	*sec = r->sec;
	struct ssh_conn		*c;
	size_t			 n = 0;

	memset(it, 0, sizeof(*it));
	/* Only the secrets the step names travel to where it runs. */
	for (size_t i = 0; i < sec->n; i++)
		if (s->secret_names == NULL ||
		    word_in(s->secret_names, sec->v[i].name))
			m->mine[n++] = sec->v[i];
	it->rq.script = s->script;
	if (r->prelude != NULL) {
		if (buf_puts(&m->script, r->prelude) == -1 ||
		    buf_puts(&m->script, s->script) == -1) {
			snprintf(it->res.error, sizeof(it->res.error), "out of memory");
			return -1;
		}
		it->rq.script = buf_cstr(&m->script);
	}
	it->rq.secrets = m->mine;
	it->rq.nsecrets = n;
	it->rq.timeout_s = (long)s->timeout_s;
	it->rq.output_cap = r->sp->output_cap;
	it->rq.output = on_output;
	it->rq.arg = m;
	if (strcmp(s->target, "control_node") == 0 ||
	    (strcmp(s->target, "build_node") == 0 && s->server_id == M_NULL))
		it->ch = chan_local();
	else if (s->server_id == M_NULL) {
		snprintf(it->res.error, sizeof(it->res.error), "target %s names "
		    "no server", s->target);
		return -1;
	} else if ((c = conn_for(r, s->server_id, it->res.error,
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

/*
 * Runs the steps v[0..n) at once (n at most the fan-out: r->m and r->it
 * have room for that many) and stores how each ended, each as soon as a
 * tick sees it end. r->m[i].st and .err then say how. 0, or -1 when the
 * run is lost.
 */
static int
run_wave(struct run *r, struct run_step *const *v, size_t n)
{
	struct member	*m = r->m;
	struct sup_item	 one;
	char		 ids[24], f[24];
	const char	*p[] = { ids, f };
	struct step_started row;
	size_t		 ns = 0;

	memset(m, 0, n * sizeof(*m));
	r->n = n;
	snprintf(f, sizeof(f), "%lld", r->c->fence);
	for (size_t i = 0; i < n; i++) {
		m[i].r = r;
		m[i].s = v[i];
		buf_init(&m[i].out);
		buf_init(&m[i].script);
	}
	for (size_t i = 0; i < n && !r->lost; i++) {
		snprintf(ids, sizeof(ids), "%lld", v[i]->id);
		if (row_get(r->sp->db, &step_started_t, ST_OP_STEP_START, 2, p,
		    &row) != 1) {
			r->lost = 1;	/* fence lost */
			break;
		}
		m[i].seq = (int)row.next_seq;
		if (step_item(&m[i], &one) == -1) {
			one.rc = -1;
			end_member(&m[i], &one);
			continue;
		}
		r->it[ns] = one;
		m[i].it = &r->it[ns++];
	}
	if (!r->lost) {
		/* A cancel seen before the wave: its members never start. */
		cancel_members(r);
		if (ns > 0)
			(void)supervise(r->it, ns, on_tick, r);
	} else
		for (size_t i = 0; i < ns; i++)
			r->it[i].ch->ops->free(r->it[i].ch);
	for (size_t i = 0; i < n; i++) {
		if (m[i].it != NULL && !m[i].ended && !r->lost)
			end_member(&m[i], m[i].it);
		m[i].it = NULL;
		if (m[i].out.ptr != NULL)
			memset(m[i].out.ptr, 0, m[i].out.cap);
		buf_release(&m[i].out);
		buf_release(&m[i].script);
	}
	return r->lost ? -1 : 0;
}

/* The index past the group that starts at v[i]: consecutive steps with
 * the same step_group, or v[i] alone. */
static size_t
group_end(struct run_step *v, size_t n, size_t i)
{
	size_t	 j = i + 1;

	if (v[i].step_group == M_NULL)
		return j;
	while (j < n && v[j].step_group == v[i].step_group)
		j++;
	return j;
}

/*
 * A cancel seen before step v[k] started: the steps from there on that
 * would have run (all but the always-run ones) are skipped. If there are
 * any, the operation ends cancelled, its error the first failure or the
 * first step the cancel kept from starting. (A cancel that came when
 * nothing was left to skip, its running steps let finish, changes
 * nothing.)
 */
static void
cancel_rest(struct run *r, const struct run_step *v, size_t k, size_t n,
    const char **final, char *operr, size_t errsz)
{
	for (; k < n; k++) {
		if (v[k].always == 1 || strcmp(v[k].status, "succeeded") == 0)
			continue;
		*final = "cancelled";
		if (operr[0] == '\0')
			snprintf(operr, errsz, "step %d (%s): cancelled before "
			    "it started", (int)v[k].ordinal, v[k].name);
		log_info("operation %lld: cancelled; the steps from %d on that "
		    "did not start are skipped", r->c->id, (int)v[k].ordinal);
		return;
	}
}

/*
 * Runs c to its end: its steps group by group (a group's members at once,
 * at most sp->fanout of them, the rest in waves), each through the
 * executor for its target.
 *
 * A member that fails with keep_going changes nothing for the others. One
 * that fails without it stops the run: the members of its wave still
 * running finish (they may be half-way through a change on their servers;
 * stopping them would leave more to clean up). A cancel stops the members
 * running but the always-run and "finish" ones, and no later wave starts.
 * From then on only always-run steps run (a cancel does not stop those),
 * after which the operation ends failed (or cancelled) with the first
 * failure.
 * Before the always-run steps start, that outcome is stored (ends_as), so
 * that should this spooler die, recovery has another run them and end the
 * operation the same way; a spooler shutting down hands them over so.
 */
int
spool_run(struct spool *sp, const struct op_claim *c)
{
	struct op_secrets sec;
	struct buf	 prelude;
	struct run	 r;
	struct run_op	 op;
	struct run_step	*v = NULL, **wave = NULL;
	char		 ids[24], f[24], operr[512];
	const char	*p[2] = { ids, f };
	const char	*final = "succeeded";
	size_t		 n = 0, fan = sp->fanout > 0 ? (size_t)sp->fanout : 1;
	int		 rc = -1, stopped = 0, cleanup = 0, ending = 0;

	memset(&r, 0, sizeof(r));
	memset(&sec, 0, sizeof(sec));
	memset(&op, 0, sizeof(op));
	buf_init(&prelude);
	r.sp = sp;
	r.c = c;
	r.sec = &sec;
	r.renewed = time(NULL);
	operr[0] = '\0';
	snprintf(ids, sizeof(ids), "%lld", c->id);
	snprintf(f, sizeof(f), "%lld", c->fence);
	log_info("operation %lld (%s): claimed, attempt %d", c->id, c->kind, c->attempt);
	if (row_get(sp->db, &run_op_t, ST_OP_RUN_OP, 2, p, &op) != 1)
		goto out;	/* fence lost */
	if (op.ends_as != NULL) {
		/* Only its always-run steps are left (recovery, a handover). */
		cleanup = stopped = ending = 1;
		final = strcmp(op.ends_as, "cancelled") == 0 ? "cancelled" :
		    strcmp(op.ends_as, "succeeded") == 0 ? "succeeded" : "failed";
		if (strcmp(final, "succeeded") != 0 || op.error != NULL)
			snprintf(operr, sizeof(operr), "%s", op.error ?
			    op.error : "spooler stopped");
		log_info("operation %lld: running its always-run steps (%s)",
		    c->id, operr);
	}
	if (op_secrets_load(sp->db, c->id, sp->keys, sp->resolve, &sec) == -1) {
		rc = finish_op(sp, c, "failed", "its secrets could not be opened");
		goto out;
	}
	if (sp->prelude != NULL) {
		char	 perr[256];

		perr[0] = '\0';
		if (sp->prelude(sp->db, c, &prelude, perr, sizeof(perr)) == -1) {
			rc = finish_op(sp, c, "failed", perr[0] != '\0' ? perr :
			    "what its steps need could not be found");
			goto out;
		}
		if (prelude.len > 0)
			r.prelude = buf_cstr(&prelude);
	}
	if (row_all(sp->db, &run_step_t, ST_OP_RUN_STEPS, 1, p, (void **)&v,
	    &n) == -1)
		goto out;
	if ((wave = calloc(fan, sizeof(*wave))) == NULL ||
	    (r.m = calloc(fan, sizeof(*r.m))) == NULL ||
	    (r.it = calloc(fan, sizeof(*r.it))) == NULL)
		goto out;
	for (size_t i = 0, j; i < n; i = j) {
		size_t k = i;

		j = group_end(v, n, i);
		while (k < j) {
			size_t nw = 0;

			/* A cancel asked for before the next wave starts: no
			 * step of it starts (a "finish" step would run to its
			 * end). Asked here, not only when the lease is due. */
			if (!stopped) {
				renew_now(&r);
				if (r.cancel)
					cancel_rest(&r, v, k, n, &final, operr,
					    sizeof(operr));
				stopped = r.cancel;
			}
			/* The next wave: up to fan steps of the group that
			 * still run. */
			for (; k < j && nw < fan; k++) {
				if (strcmp(v[k].status, "succeeded") == 0)
					continue;	/* a requeued run resumes */
				if (stopped && v[k].always != 1)
					continue;	/* skipped at the end */
				if (cleanup && strcmp(v[k].status, "pending") != 0)
					continue;	/* ended before the crash */
				wave[nw++] = &v[k];
			}
			if (nw == 0)
				continue;
			if (stopped && !ending) {
				if (op_write(&r, ST_OP_ENDING, final,
				    operr[0] ? operr : NULL) == -1)
					goto out;
				ending = 1;
			}
			/* A spooler shutting down leaves the clean-up to
			 * another rather than have it cancelled. */
			if (stopped && (r.stop_seen != 0 || *sp->stopping)) {
				const char *sp3[] = { ids, f, "false" };

				PQclear(db_exec(sp->db, ST_OP_SKIP_REST, 3, sp3));
				if (op_write(&r, ST_OP_HANDOVER, final,
				    operr[0] ? operr : NULL) == -1)
					goto out;
				log_info("operation %lld: shutting down; its "
				    "always-run steps are left to another run",
				    c->id);
				rc = 0;
				goto out;
			}
			if (time(NULL) - r.renewed >= sp->lease_s / 3)
				renew_now(&r);
			if (run_wave(&r, wave, nw) == -1)
				goto out;
			for (size_t w = 0; w < nw; w++) {
				const struct member *m = &r.m[w];

				if (m->st == NULL || strcmp(m->st, "succeeded") == 0)
					continue;
				/* The operation reports its first failure; each
				 * step its own. */
				if (operr[0] == '\0')
					snprintf(operr, sizeof(operr), "%s", m->err);
				if (strcmp(m->st, "cancelled") == 0)
					final = "cancelled";
				else if (strcmp(final, "succeeded") == 0)
					final = "failed";
				/* A health-matrix cell: the other cells still
				 * run. */
				if (m->s->keep_going != 1 || strcmp(m->st,
				    "failed") != 0)
					stopped = 1;
			}
			/* Nothing left to do (a hook said so): the
			 * always-run steps, then it succeeds. (A cancel
			 * stops the run before the next wave.) */
			if (r.done)
				stopped = 1;
		}
	}
	rc = finish_op(sp, c, final, operr[0] ? operr : NULL);
out:
	if (rc == -1)
		log_warnx("operation %lld: lost its lease or the database; "
		    "recovery will end it", c->id);
	row_unfill_all(&run_step_t, v, n);
	row_unfill(&run_op_t, &op);
	free(wave);
	free(r.m);
	free(r.it);
	conns_close(&r.conns);
	op_secrets_free(&sec);
	buf_release(&prelude);
	return rc;
}
