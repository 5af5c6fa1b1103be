/*
 * The supervision loop: every executor's steps, one or many at once, in
 * one poll loop. Each item goes through: start (non-blocking; a connect
 * counts as one), input (the wrapper, then the secrets; stdin then stays
 * open), output through its filter, and its end. A cancel (the tick, the
 * item's own flag, a timeout) closes the step's stdin; after GRACE_MS what
 * is left is killed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exec.h"

#define GRACE_MS	5000	/* from cancel (stdin closed) to kill */
#define IDLE_POLL_MS	200	/* the longest wait: ticks need no more */
#define READS_PER_TURN	16	/* a noisy step leaves room for the others */

struct sup_state {
	struct outfilter of;
	struct buf	 input;		/* the wrapper and the secret lines */
	size_t		 sent;
	int		 running;	/* started */
	int		 in_open;
	int		 out_open;
	long long	 start;		/* when it started running */
	long long	 last_io;
	long long	 cancel_at;	/* 0, or when the cancel began */
	size_t		 pfd0, npfd;	/* its slots in the poll set */
};

/* The item's end: the filter's last output, the channel's verdict. */
static void
item_end(struct sup_item *it, struct sup_state *s)
{
	struct exec_res	*res = &it->res;

	if (s->running) {
		if (outfilter_finish(&s->of) == -1 && res->error[0] == '\0')
			snprintf(res->error, sizeof(res->error),
			    "storing output failed");
		it->ch->ops->result(it->ch, &s->of, res);
	}
	res->output_bytes = s->of.total;
	res->truncated = s->of.truncated;
	if (it->ch != NULL)
		it->ch->ops->free(it->ch);
	it->ch = NULL;
	it->done = 1;
	it->ended_ms = step_now_ms();
}

static void
item_init(struct sup_item *it, struct sup_state *s)
{
	const struct exec_req *rq = &it->rq;

	memset(&it->res, 0, sizeof(it->res));
	it->done = 0;
	it->rc = 0;
	buf_init(&s->input);
	outfilter_init(&s->of, rq->secrets, rq->nsecrets, rq->output_cap,
	    rq->output, rq->arg);
	s->in_open = s->out_open = 1;
	if (it->ch == NULL) {
		snprintf(it->res.error, sizeof(it->res.error), "out of memory");
		it->rc = -1;
		item_end(it, s);
	} else if (step_wrapper(&s->input, rq->script, rq->secrets,
	    rq->nsecrets) == -1 || step_secret_input(&s->input, rq->secrets,
	    rq->nsecrets) == -1) {
		snprintf(it->res.error, sizeof(it->res.error),
		    "invalid secret for the step");
		it->rc = -1;
		item_end(it, s);
	}
}

/* Output, timeouts and cancel of a running item. Nonzero when it moved
 * (then the loop looks again at once). */
static int
item_run(struct sup_item *it, struct sup_state *s, int cancel, long long t)
{
	const struct chan_ops *op = it->ch->ops;
	struct exec_res	*res = &it->res;
	char		 chunk[32768], err[256];
	ssize_t		 n;
	int		 busy = 0, ex;

	if (s->in_open && s->sent < s->input.len) {
		n = op->write(it->ch, s->input.ptr + s->sent, s->input.len - s->sent);
		if (n > 0) {
			s->sent += (size_t)n;
			busy = 1;
		} else if (n < 0)
			s->sent = s->input.len;	/* the step is gone */
	}
	for (int k = 0; s->out_open && k < READS_PER_TURN; k++) {
		err[0] = '\0';
		if ((n = op->read(it->ch, chunk, sizeof(chunk), err,
		    sizeof(err))) == 0)
			break;
		if (n == CHAN_EOF) {
			s->out_open = 0;
			break;
		}
		if (n < 0) {
			snprintf(res->error, sizeof(res->error), "%s", err);
			item_end(it, s);
			return 1;
		}
		busy = 1;
		if (outfilter_feed(&s->of, chunk, (size_t)n) == -1 &&
		    res->error[0] == '\0') {
			snprintf(res->error, sizeof(res->error),
			    "storing output failed");
			/* Nothing more can be kept: stop it now. */
			if (s->cancel_at == 0)
				s->cancel_at = t - GRACE_MS;
		}
	}
	if (busy)
		s->last_io = t;
	ex = op->exited(it->ch);
	/* The wrapper is done; whatever it left holding the output goes. */
	if (ex && s->out_open && s->cancel_at == 0)
		s->cancel_at = t;
	if (s->cancel_at == 0 && (cancel || it->cancel)) {
		res->cancelled = 1;
		s->cancel_at = t;
	}
	if (s->cancel_at == 0 && it->rq.timeout_s > 0 &&
	    t - s->start >= it->rq.timeout_s * 1000) {
		res->timed_out = 1;
		s->cancel_at = t;
	}
	/* Closing stdin is the cancel signal (step.h). */
	if (s->cancel_at != 0 && s->in_open && op->close_input(it->ch) == 0)
		s->in_open = 0;
	if (s->cancel_at != 0 && t - s->cancel_at >= GRACE_MS)
		op->kill(it->ch);
	/* A daemonised grandchild holds the output: stop waiting for it. */
	if (s->cancel_at != 0 && ex && s->out_open &&
	    t - s->cancel_at >= GRACE_MS + 1000)
		s->out_open = 0;
	if (!busy && op->alive != NULL && op->alive(it->ch, t - s->last_io,
	    it->rq.timeout_s, err, sizeof(err)) == -1) {
		snprintf(res->error, sizeof(res->error), "%s", err);
		item_end(it, s);
		return 1;
	}
	if (!s->out_open && ex) {
		item_end(it, s);
		return 1;
	}
	return busy;
}

/* One turn of an item: its start while under way, then its run. */
static int
item_turn(struct sup_item *it, struct sup_state *s, int cancel)
{
	long long	 t = step_now_ms();
	int		 rc;

	if (!s->running) {
		/* A cancel before the step runs: nothing ran, nothing to stop. */
		if (cancel || it->cancel) {
			it->res.cancelled = 1;
			item_end(it, s);
			return 1;
		}
		if ((rc = it->ch->ops->start(it->ch, it->res.error,
		    sizeof(it->res.error))) == 1)
			return 0;
		if (rc == -1) {
			it->rc = -1;
			item_end(it, s);
			return 1;
		}
		s->running = 1;
		s->start = s->last_io = t;
	}
	return item_run(it, s, cancel, t);
}

int
supervise(struct sup_item *items, size_t n, int (*tick)(void *), void *arg)
{
	struct sup_state *st;
	struct pollfd	*pfd;
	long long	 last_tick = step_now_ms(), t;
	size_t		 left = 0, np;
	int		 busy = 1, cancel = 0, ms, rc = -1;

	st = calloc(n > 0 ? n : 1, sizeof(*st));
	pfd = calloc(n * CHAN_MAXFD + 1, sizeof(*pfd));
	if (st == NULL || pfd == NULL) {
		for (size_t i = 0; i < n; i++) {
			memset(&items[i].res, 0, sizeof(items[i].res));
			snprintf(items[i].res.error, sizeof(items[i].res.error),
			    "out of memory");
			items[i].rc = -1;
			items[i].done = 1;
			if (items[i].ch != NULL)
				items[i].ch->ops->free(items[i].ch);
			items[i].ch = NULL;
		}
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		item_init(&items[i], &st[i]);
		left += !items[i].done;
	}
	while (left > 0) {
		ms = busy ? 0 : IDLE_POLL_MS;
		np = 0;
		for (size_t i = 0; i < n; i++) {
			struct sup_state *s = &st[i];

			if (items[i].done)
				continue;
			s->pfd0 = np;
			s->npfd = (size_t)items[i].ch->ops->want(items[i].ch,
			    pfd + np, s->running && s->in_open &&
			    s->sent < s->input.len, &ms);
			np += s->npfd;
		}
		if (poll(pfd, (nfds_t)np, ms) == -1 && errno != EINTR) {
			int e = errno;

			/* Cannot wait any more: stop every step now. */
			for (size_t i = 0; i < n; i++) {
				if (items[i].done || items[i].res.error[0] != '\0')
					continue;
				snprintf(items[i].res.error,
				    sizeof(items[i].res.error), "poll: %s",
				    strerror(e));
				if (st[i].cancel_at == 0)
					st[i].cancel_at = step_now_ms() - GRACE_MS;
			}
		}
		t = step_now_ms();
		/* Ticks go on during a cancel's grace too: they renew the
		 * lease, so a step that takes its grace to end is still this
		 * worker's when it does (not failed by another's recovery). */
		if (t - last_tick >= 1000) {
			last_tick = t;
			if (tick != NULL && tick(arg) != 0)
				cancel = 1;
		}
		busy = 0;
		for (size_t i = 0; i < n; i++) {
			if (items[i].done)
				continue;
			busy |= item_turn(&items[i], &st[i], cancel);
			left -= items[i].done;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; st != NULL && i < n; i++) {
		if (st[i].input.ptr != NULL)	/* holds the secrets */
			sodium_memzero(st[i].input.ptr, st[i].input.cap);
		buf_release(&st[i].input);
		outfilter_release(&st[i].of);
	}
	free(st);
	free(pfd);
	return rc;
}

int
exec_run(struct chan *ch, const struct exec_req *rq, struct exec_res *res)
{
	struct sup_item	 it;
	int		 rc;

	memset(&it, 0, sizeof(it));
	it.ch = ch;
	it.rq = *rq;
	rc = supervise(&it, 1, rq->tick, rq->arg);
	*res = it.res;
	return rc == -1 ? -1 : it.rc;
}
