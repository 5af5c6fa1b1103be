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

const struct route op_routes[] = {
	{ "GET", "/ops", list_get, NULL, 0, 0 },
	{ "GET", "/ops/:uuid", show_get, NULL, 0, 0 },
	{ "GET", "/ops/:uuid/log", log_get, NULL, 0, 0 },
	{ "POST", "/ops/:uuid/cancel", cancel_post, NULL, 0, 0 },
	{ "POST", "/ops/:uuid/retry", retry_post, NULL, 0, 0 },
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
str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
}

static long long
num(const cJSON *o, const char *key)
{
	return (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, key));
}

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

/* "42s", "3m 05s", "2h 07m": a duration keeps one more unit than an age,
 * the difference between two steps being what a reader compares. */
static void
fmt_took(char *out, size_t sz, long long s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, sz, "%llds", s);
	else if (s < 3600)
		snprintf(out, sz, "%lldm %02llds", s / 60, s % 60);
	else
		snprintf(out, sz, "%lldh %02lldm", s / 3600, s % 3600 / 60);
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

/* Replaces took_s (seconds, or null before the start) with took. */
static void
took(cJSON *o)
{
	cJSON	*v = cJSON_DetachItemFromObject(o, "took_s");
	char	 text[32];

	if (cJSON_IsNumber(v)) {
		fmt_took(text, sizeof(text), (long long)v->valuedouble);
		cJSON_AddStringToObject(o, "took", text);
	} else
		cJSON_AddNullToObject(o, "took");
	cJSON_Delete(v);
}

/* Adds what a step row shows beyond its columns. */
static void
step_view(cJSON *s)
{
	const char	*st = str(s, "status"), *sig = str(s, "exit_signal");
	cJSON		*code = cJSON_GetObjectItem(s, "exit_code");
	char		 text[48];
	int		 ran = st != NULL && (strcmp(st, "succeeded") == 0 ||
			    strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0);

	cJSON_AddStringToObject(s, "target_label", target_label(str(s, "target")));
	if (sig != NULL) {
		snprintf(text, sizeof(text), "signal %s", sig);
		cJSON_AddStringToObject(s, "exit", text);
	} else if (cJSON_IsNumber(code)) {
		snprintf(text, sizeof(text), "%lld", (long long)code->valuedouble);
		cJSON_AddStringToObject(s, "exit", text);
	} else
		cJSON_AddNullToObject(s, "exit");
	took(s);
	/* The count is written when a step ends: 0 before that (or for a
	 * step that never ran) means nothing, not an empty result. */
	if (ran) {
		fmt_bytes(text, sizeof(text), num(s, "output_bytes"));
		cJSON_AddStringToObject(s, "size", text);
	} else
		cJSON_AddNullToObject(s, "size");
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
	long	 pg = req_page(r), total = 0;
	cJSON	*m = model_new("Operations", "ops"), *rows, *row;

	if (m == NULL)
		return 500;
	rows = m_op_list(&r->app->db, APP_PAGE_SIZE, (pg - 1) * APP_PAGE_SIZE,
	    &total);
	if (rows == NULL) {
		cJSON_Delete(m);
		return 500;
	}
	cJSON_ArrayForEach(row, rows) {
		cJSON_AddStringToObject(row, "kind_label", kind_label(str(row,
		    "kind")));
		took(row);
	}
	cJSON_AddItemToObject(m, "ops", rows);
	/* One order only, newest first; the pager's sort is for show. */
	model_pager(m, "/ops", "-created", pg, total);
	return page(r, 200, "ops", m);
}

/* Moves every item of from into to (from is left empty). */
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
}

static int
show_get(struct req *r)
{
	struct db	*db = &r->app->db;
	cJSON		*m = NULL, *op = NULL, *info = NULL, *steps = NULL;
	cJSON		*end = NULL, *s, *out;
	char		 title[2048];	/* a subject name is up to 400 characters */
	long long	 id;
	int		 rc, snap = 0;

	if (snap_begin(r) == -1)
		return 500;
	snap = 1;
	if ((rc = fetch(r, m_op_get, r->params[0], &op)) != 0)
		goto out;
	rc = 500;
	id = num(op, "id");
	if (m_op_info(db, id, &info) != 1 || (steps = m_op_steps(db, id)) == NULL ||
	    m_op_log_end(db, id, &end) == -1)
		goto out;
	cJSON_ArrayForEach(s, steps) {
		if ((out = m_op_output(db, num(s, "id"))) == NULL)
			goto out;
		cJSON_AddItemToObject(s, "output", out);
		step_view(s);
	}
	snap_end(r);
	snap = 0;

	merge(op, info);
	took(op);
	cJSON_AddStringToObject(op, "kind_label", kind_label(str(op, "kind")));
	/* Where the live log continues: after what this page shows. */
	cJSON_AddNumberToObject(op, "log_step", end ? (double)num(end, "step") : 0);
	cJSON_AddNumberToObject(op, "log_from", end ? (double)num(end, "next") : 0);
	if (str(op, "subject_name") != NULL)
		snprintf(title, sizeof(title), "%s · %s", kind_label(str(op, "kind")),
		    str(op, "subject_name"));
	else
		snprintf(title, sizeof(title), "%s", kind_label(str(op, "kind")));
	if ((m = model_new(title, "ops")) == NULL)
		goto out;
	/* Only browsers without JavaScript refresh (layout.tpl puts this in a
	 * <noscript>); with it, static/ops.js follows the log in place. */
	if (cJSON_IsTrue(cJSON_GetObjectItem(op, "active")))
		cJSON_AddStringToObject(m, "refresh", REFRESH_S);
	cJSON_AddBoolToObject(m, "has_steps", cJSON_GetArraySize(steps) > 0);
	cJSON_AddItemToObject(m, "op", op);
	cJSON_AddItemToObject(m, "steps", steps);
	op = steps = NULL;
	rc = page(r, 200, "op_show", m);
	m = NULL;
out:
	if (snap)
		snap_end(r);
	cJSON_Delete(m);
	cJSON_Delete(op);
	cJSON_Delete(info);
	cJSON_Delete(steps);
	cJSON_Delete(end);
	return rc;
}

/*
 * GET /ops/:uuid/log?step=ID&from=SEQ: the operation's status, its steps'
 * statuses, and the log from position (step ID, seq SEQ) on: the rest of
 * that step's output and all of every later step's. Without step, the
 * whole log. "more" says the answer stopped at LOG_MAX_CHUNKS.
 */
static int
log_get(struct req *r)
{
	struct db	*db = &r->app->db;
	const char	*v;
	cJSON		*op = NULL, *steps = NULL, *chunks = NULL, *res = NULL;
	cJSON		*s, *a, *o;
	char		*json = NULL;
	long		 step = 0, from = 0, ordinal = 0;
	int		 rc = 400, snap = 0, more;

	if ((v = kv_get(&r->query, "step")) != NULL &&
	    valid_int(v, 0, LONG_MAX, &step) != NULL)
		goto out;
	if ((v = kv_get(&r->query, "from")) != NULL &&
	    valid_int(v, 0, INT_MAX, &from) != NULL)
		goto out;
	rc = 500;
	if (snap_begin(r) == -1)
		goto out;
	snap = 1;
	if ((rc = fetch(r, m_op_get, r->params[0], &op)) != 0)
		goto out;
	rc = 500;
	if ((steps = m_op_steps(db, num(op, "id"))) == NULL)
		goto out;
	if (step != 0) {
		cJSON_ArrayForEach(s, steps)
			if (num(s, "id") == step)
				ordinal = (long)num(s, "ordinal");
		/* Another operation's step. */
		if (ordinal == 0) {
			rc = 400;
			goto out;
		}
	} else
		from = 0;
	if ((chunks = m_op_log(db, num(op, "id"), ordinal, from,
	    LOG_MAX_CHUNKS + 1)) == NULL)
		goto out;
	snap_end(r);
	snap = 0;

	if ((more = cJSON_GetArraySize(chunks) > LOG_MAX_CHUNKS))
		cJSON_DeleteItemFromArray(chunks, LOG_MAX_CHUNKS);
	if ((res = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(res, "status", str(op, "status")) == NULL ||
	    cJSON_AddBoolToObject(res, "active", cJSON_IsTrue(
	    cJSON_GetObjectItem(op, "active"))) == NULL ||
	    cJSON_AddBoolToObject(res, "cancel_requested", cJSON_IsTrue(
	    cJSON_GetObjectItem(op, "cancel_requested"))) == NULL ||
	    (a = cJSON_AddArrayToObject(res, "steps")) == NULL)
		goto out;
	cJSON_ArrayForEach(s, steps) {
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			goto out;
		}
		cJSON_AddNumberToObject(o, "id", (double)num(s, "id"));
		cJSON_AddStringToObject(o, "status", str(s, "status"));
		cJSON_AddItemToObject(o, "exit_code", cJSON_Duplicate(
		    cJSON_GetObjectItem(s, "exit_code"), 0));
		cJSON_AddItemToObject(o, "exit_signal", cJSON_Duplicate(
		    cJSON_GetObjectItem(s, "exit_signal"), 0));
	}
	cJSON_AddItemToObject(res, "chunks", chunks);
	chunks = NULL;
	cJSON_AddBoolToObject(res, "more", more);
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
	cJSON_Delete(chunks);
	cJSON_Delete(steps);
	cJSON_Delete(op);
	return rc;
}

static int
cancel_post(struct req *r)
{
	cJSON		*done = NULL;
	const char	*st;
	char		 loc[80];
	int		 rc;

	if ((rc = fetch(r, m_op_get, r->params[0], NULL)) != 0)
		return rc;
	snprintf(loc, sizeof(loc), "/ops/%s", r->params[0]);
	if ((rc = m_op_cancel(&r->app->db, r->params[0], &done)) == -1)
		return 500;
	if (rc == 0)
		return flash_redirect(r, "error", "This operation has already "
		    "finished; there is nothing to cancel.", loc);
	st = str(done, "status");
	rc = flash_redirect(r, "ok", st != NULL && strcmp(st, "cancelled") == 0 ?
	    "Operation cancelled." : "Cancel requested. The running step is "
	    "being stopped.", loc);
	cJSON_Delete(done);
	return rc;
}

static int
retry_post(struct req *r)
{
	cJSON		*op = NULL;
	const char	*st, *msg = NULL;
	char		 loc[80];
	int		 rc;

	if ((rc = fetch(r, m_op_get, r->params[0], &op)) != 0)
		return rc;
	snprintf(loc, sizeof(loc), "/ops/%s", r->params[0]);
	st = str(op, "status");
	if (st == NULL || (strcmp(st, "failed") != 0 && strcmp(st,
	    "cancelled") != 0))
		msg = "Only a failed or cancelled operation can be retried.";
	else if (cJSON_IsTrue(cJSON_GetObjectItem(op, "has_secrets")))
		msg = "This operation used secrets, which were deleted when it "
		    "ended, so it cannot be retried; start a new one instead.";
	cJSON_Delete(op);
	if (msg != NULL)
		return flash_redirect(r, "error", msg, loc);
	if ((rc = m_op_retry(&r->app->db, r->params[0])) == -1)
		return 500;
	if (rc == 1)
		return flash_redirect(r, "error", "The operation changed meanwhile "
		    "and cannot be retried now.", loc);
	return flash_redirect(r, "ok", "Operation queued again.", loc);
}
