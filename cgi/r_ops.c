/*
 * Operations: the list, one operation's page with its live log (a JSON
 * endpoint polled by static/ops.js), cancel and retry.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "model.h"
#include "valid.h"

/* Chunks per log answer: the client asks again at once when there are
 * more, so one request never carries a whole capped log twice over. */
#define LOG_MAX_CHUNKS	200
/* Seconds between refreshes of an active operation's page without
 * JavaScript. */
#define REFRESH_S	"2"

static int list_get(struct req *);
static int show_get(struct req *);
static int log_get(struct req *);
static int cancel_post(struct req *);
static int retry_post(struct req *);

static const struct field list_query[] = {
	QUERY_PAGE,
};

/* The log position a client continues from (log_get). */
static const struct field log_query[] = {
	{ "step", FT_INT, 0, 0, LONG_MAX, NULL },
	{ "from", FT_INT, 0, 0, INT_MAX, NULL },
};

const struct route op_routes[] = {
	{ "GET", "/ops", list_get, NULL, 0, 0, list_query, 1, NULL },
	{ "GET", "/ops/:uuid", show_get, NULL, 0, 0, NULL, 0, NULL },
	{ "GET", "/ops/:uuid/log", log_get, NULL, 0, 0, log_query, 2, NULL },
	{ "POST", "/ops/:uuid/cancel", cancel_post, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", "/ops/:uuid/retry", retry_post, NULL, 0, 0, NULL, 0, NULL },
};
const size_t op_nroutes = sizeof(op_routes) / sizeof(op_routes[0]);

static const struct {
	const char	*kind, *label;
} kinds[] = {
	{ "build", "Build" },
	{ "deploy", "Deploy" },
	{ "prune", "Prune" },
	{ "provision", "Provision" },
	{ "verify", "Verify" },
	{ "registry", "Registry maintenance" },
	{ "registry_auth", "Registry sign-in" },
	{ "check", "Check" },
	{ "hostkey", "Host key check" },
};

static const struct {
	const char	*target, *label;
} targets[] = {
	{ "control_node", "Control node" },
	{ "build_node", "Build node" },
	{ "runtime_server", "Runtime server" },
	{ "specific_server", "Server" },
};

static const char *
kind_label(const char *kind)
{
	for (size_t i = 0; kind != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].label;
	return kind != NULL ? kind : "Operation";
}

static const char *
target_label(const char *target)
{
	for (size_t i = 0; target != NULL &&
	    i < sizeof(targets) / sizeof(targets[0]); i++)
		if (strcmp(targets[i].target, target) == 0)
			return targets[i].label;
	return target != NULL ? target : "";
}

static void
fmt_bytes(char *out, size_t sz, long long n)
{
	if (n < 1024)
		snprintf(out, sz, "%lld B", n);
	else if (n < 1024 * 1024)
		snprintf(out, sz, "%.1f KiB", (double)n / 1024);
	else
		snprintf(out, sz, "%.1f MiB", (double)n / (1024 * 1024));
}

/* Adds to step s's view what it shows beyond its columns: labels, the
 * exit, the size and the output. */
static void
step_view(cJSON *v, const struct op_step *s, const char *output)
{
	char	 text[48];
	int	 ran = strcmp(s->status, "succeeded") == 0 ||
		    strcmp(s->status, "failed") == 0 ||
		    strcmp(s->status, "cancelled") == 0;

	cJSON_AddStringToObject(v, "target_label", target_label(s->target));
	if (s->exit_signal != NULL) {
		snprintf(text, sizeof(text), "signal %s", s->exit_signal);
		cJSON_AddStringToObject(v, "exit", text);
	} else if (s->exit_code != M_NULL) {
		snprintf(text, sizeof(text), "%lld", s->exit_code);
		cJSON_AddStringToObject(v, "exit", text);
	} else
		cJSON_AddNullToObject(v, "exit");
	/* The count is written when a step ends: 0 before that (or for a
	 * step that never ran) means nothing, not an empty result. */
	if (ran) {
		fmt_bytes(text, sizeof(text), s->output_bytes);
		cJSON_AddStringToObject(v, "size", text);
	} else
		cJSON_AddNullToObject(v, "size");
	cJSON_AddStringToObject(v, "output", output);
}

/*
 * The reads of one answer (an operation, its steps, their output) run in
 * one snapshot: read one after another, a page could show a step finished
 * yet miss the output it stored just before finishing, and the log's
 * client would then stop short of the end.
 */
static int
snap_begin(struct req *r)
{
	return db_tx_snapshot(&r->app->db);
}

static void
snap_end(struct req *r)
{
	/* Read only: ending it either way is the same, and a rollback also
	 * ends an aborted one quietly. The connection outlives the request. */
	db_tx_rollback(&r->app->db);
}

static int
list_get(struct req *r)
{
	struct op_list	 l;
	long		 pg = req_page(r);
	cJSON		*m = NULL, *rows = NULL;
	int		 rc = 500;

	if (m_op_list(&r->app->db, APP_PAGE_SIZE, (pg - 1) * APP_PAGE_SIZE,
	    &l) == -1 || (rows = op_list_view(&l)) == NULL ||
	    (m = model_new("Operations", "ops")) == NULL)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		cJSON_AddStringToObject(cJSON_GetArrayItem(rows, (int)i),
		    "kind_label", kind_label(l.v[i].kind));
	cJSON_AddItemToObject(m, "ops", rows);
	rows = NULL;
	/* One order only, newest first; the pager's sort is for show. */
	model_pager(m, "/ops", "-created", pg, l.total);
	rc = page(r, 200, "ops", m);
	m = NULL;
out:
	cJSON_Delete(rows);
	cJSON_Delete(m);
	op_list_free(&l);
	return rc;
}

/* Moves every item of from into to (from is deleted). */
static void
merge(cJSON *to, cJSON *from)
{
	cJSON	*v;
	char	 key[64];

	while ((v = from->child) != NULL) {
		cJSON_DetachItemViaPointer(from, v);
		/* A copy: adding replaces the item's own key string. */
		snprintf(key, sizeof(key), "%s", v->string ? v->string : "");
		if (!cJSON_AddItemToObject(to, key, v))
			cJSON_Delete(v);
	}
	cJSON_Delete(from);
}

/* What the operation page shows, read in one snapshot. */
struct opctx {
	struct op_row		 op;
	struct op_info		 info;
	struct op_steps		 steps;
	char			**output;	/* per step */
	struct op_log_end	 end;
	int			 has_end;
};

static void
opctx_free(struct opctx *c)
{
	for (size_t i = 0; c->output != NULL && i < c->steps.n; i++)
		free(c->output[i]);
	free(c->output);
	op_row_free(&c->op);
	op_info_free(&c->info);
	op_steps_free(&c->steps);
}

/* 0, or the status to answer. */
static int
load(struct req *r, struct opctx *c)
{
	struct db	*db = &r->app->db;
	int		 rc;

	memset(c, 0, sizeof(*c));
	if (snap_begin(r) == -1)
		return 500;
	if ((rc = found(m_op_get(db, r->params[0], &c->op))) != 0)
		goto out;
	rc = 500;
	if (m_op_info(db, c->op.id, &c->info) != 1 ||
	    m_op_steps(db, c->op.id, &c->steps) == -1 ||
	    (c->has_end = m_op_log_end(db, c->op.id, &c->end)) == -1)
		goto out;
	if (c->steps.n > 0 &&
	    (c->output = calloc(c->steps.n, sizeof(*c->output))) == NULL)
		goto out;
	for (size_t i = 0; i < c->steps.n; i++)
		if ((c->output[i] = m_op_output(db, c->steps.v[i].id)) == NULL)
			goto out;
	rc = 0;
out:
	snap_end(r);
	return rc;
}

static int
show_get(struct req *r)
{
	struct opctx	 c;
	cJSON		*m = NULL, *op = NULL, *steps = NULL;
	char		 title[2048];	/* a subject name is up to 400 characters */
	const char	*label;
	int		 rc;

	if ((rc = load(r, &c)) != 0)
		goto out;
	rc = 500;
	if ((op = op_row_view(&c.op)) == NULL ||
	    (steps = op_steps_view(&c.steps)) == NULL)
		goto out;
	for (size_t i = 0; i < c.steps.n; i++)
		step_view(cJSON_GetArrayItem(steps, (int)i), &c.steps.v[i],
		    c.output[i]);
	merge(op, op_info_view(&c.info));
	label = kind_label(c.op.kind);
	cJSON_AddStringToObject(op, "kind_label", label);
	/* Where the live log continues: after what this page shows. */
	cJSON_AddNumberToObject(op, "log_step", c.has_end ? (double)c.end.step : 0);
	cJSON_AddNumberToObject(op, "log_from", c.has_end ? (double)c.end.next : 0);
	if (c.info.subject_name != NULL)
		snprintf(title, sizeof(title), "%s · %s", label, c.info.subject_name);
	else
		snprintf(title, sizeof(title), "%s", label);
	if ((m = model_new(title, "ops")) == NULL)
		goto out;
	/* Only browsers without JavaScript refresh (layout.tpl puts this in a
	 * <noscript>); with it, static/ops.js follows the log in place. */
	if (c.op.active == 1)
		cJSON_AddStringToObject(m, "refresh", REFRESH_S);
	cJSON_AddBoolToObject(m, "has_steps", c.steps.n > 0);
	cJSON_AddItemToObject(m, "op", op);
	cJSON_AddItemToObject(m, "steps", steps);
	op = steps = NULL;
	rc = page(r, 200, "op_show", m);
	m = NULL;
out:
	cJSON_Delete(m);
	cJSON_Delete(op);
	cJSON_Delete(steps);
	opctx_free(&c);
	return rc;
}

/*
 * GET /ops/:uuid/log?step=ID&from=SEQ: the operation's status, its steps'
 * statuses, and the log from position (step ID, seq SEQ) on: every chunk
 * written after that step's chunk SEQ - 1, whichever step wrote it (the
 * steps of a group write at the same time). Without step, the whole log.
 * "more" says the answer stopped at LOG_MAX_CHUNKS.
 */
static int
log_get(struct req *r)
{
	struct db	*db = &r->app->db;
	struct op_row	 op;
	struct op_steps	 steps;
	struct op_chunks chunks;
	const char	*v;
	cJSON		*res = NULL, *a, *o, *cv;
	char		*json = NULL;
	long		 step = 0, from = 0;
	size_t		 n;
	int		 rc = 400, snap = 0, mine = 0;

	memset(&op, 0, sizeof(op));
	memset(&steps, 0, sizeof(steps));
	memset(&chunks, 0, sizeof(chunks));
	if (r->q.errs.n > 0)
		goto out;
	if ((v = req_query(r, "step")) != NULL)
		step = strtol(v, NULL, 10);
	if ((v = req_query(r, "from")) != NULL)
		from = strtol(v, NULL, 10);
	rc = 500;
	if (snap_begin(r) == -1)
		goto out;
	snap = 1;
	if ((rc = found(m_op_get(db, r->params[0], &op))) != 0)
		goto out;
	rc = 500;
	if (m_op_steps(db, op.id, &steps) == -1)
		goto out;
	if (step != 0) {
		for (size_t i = 0; i < steps.n; i++)
			if (steps.v[i].id == step)
				mine = 1;
		/* Another operation's step. */
		if (!mine) {
			rc = 400;
			goto out;
		}
	} else
		from = 0;
	if (m_op_log(db, op.id, step, from, LOG_MAX_CHUNKS + 1, &chunks) == -1)
		goto out;
	snap_end(r);
	snap = 0;

	/* The one past the limit only says there is more. */
	n = chunks.n > LOG_MAX_CHUNKS ? LOG_MAX_CHUNKS : chunks.n;
	if ((res = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(res, "status", op.status) == NULL ||
	    cJSON_AddBoolToObject(res, "active", op.active == 1) == NULL ||
	    cJSON_AddBoolToObject(res, "cancel_requested",
	    op.cancel_requested == 1) == NULL ||
	    (a = cJSON_AddArrayToObject(res, "steps")) == NULL)
		goto out;
	for (size_t i = 0; i < steps.n; i++) {
		const struct op_step *s = &steps.v[i];
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			goto out;
		}
		cJSON_AddNumberToObject(o, "id", (double)s->id);
		cJSON_AddStringToObject(o, "status", s->status);
		if (s->exit_code != M_NULL)
			cJSON_AddNumberToObject(o, "exit_code", (double)s->exit_code);
		else
			cJSON_AddNullToObject(o, "exit_code");
		if (s->exit_signal != NULL)
			cJSON_AddStringToObject(o, "exit_signal", s->exit_signal);
		else
			cJSON_AddNullToObject(o, "exit_signal");
	}
	if ((cv = op_chunks_view(&chunks)) == NULL)
		goto out;
	if (chunks.n > n)
		cJSON_DeleteItemFromArray(cv, (int)n);
	cJSON_AddItemToObject(res, "chunks", cv);
	cJSON_AddBoolToObject(res, "more", chunks.n > n);
	if ((json = cJSON_PrintUnformatted(res)) == NULL)
		goto out;
	if (http_send(&r->resp, 200, "application/json", NULL, 0, json,
	    strlen(json), strcmp(r->method, "HEAD") == 0) == -1)
		goto out;
	rc = 0;
out:
	if (snap)
		snap_end(r);
	cJSON_free(json);
	cJSON_Delete(res);
	op_chunks_free(&chunks);
	op_steps_free(&steps);
	op_row_free(&op);
	return rc;
}

static int
cancel_post(struct req *r)
{
	struct op_row	 op;
	char		 loc[80], st[16];
	int		 rc;

	if ((rc = found(m_op_get(&r->app->db, r->params[0], &op))) != 0)
		return rc;
	op_row_free(&op);
	snprintf(loc, sizeof(loc), "/ops/%s", r->params[0]);
	if ((rc = m_op_cancel(&r->app->db, r->params[0], st)) == -1)
		return 500;
	if (rc == 0)
		return flash_redirect(r, "error", "This operation has already "
		    "finished; there is nothing to cancel.", loc);
	return flash_redirect(r, "ok", strcmp(st, "cancelled") == 0 ?
	    "Operation cancelled." : "Cancel requested. The running step is "
	    "being stopped.", loc);
}

static int
retry_post(struct req *r)
{
	struct op_row	 op;
	const char	*msg = NULL;
	char		 loc[80];
	int		 rc;

	if ((rc = found(m_op_get(&r->app->db, r->params[0], &op))) != 0)
		return rc;
	snprintf(loc, sizeof(loc), "/ops/%s", r->params[0]);
	if (strcmp(op.status, "failed") != 0 && strcmp(op.status,
	    "cancelled") != 0)
		msg = "Only a failed or cancelled operation can be retried.";
	else if (op.has_secrets == 1)
		msg = "This operation used secrets, which were deleted when it "
		    "ended, so it cannot be retried; start a new one instead.";
	op_row_free(&op);
	if (msg != NULL)
		return flash_redirect(r, "error", msg, loc);
	if ((rc = m_op_retry(&r->app->db, r->params[0])) == -1)
		return 500;
	if (rc == 1)
		return flash_redirect(r, "error", "The operation changed meanwhile "
		    "and cannot be retried now.", loc);
	return flash_redirect(r, "ok", "Operation queued again.", loc);
}
