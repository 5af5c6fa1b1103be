/*
 * The operations pages against the running stack (Caddy, keystone.fcgi,
 * PostgreSQL), in the style of check_web.c: every request goes over HTTPS
 * through libcurl, and what the pages claim is checked against the
 * database through libpq.
 *
 * Operations are inserted with SQL in the states a test needs. The stack's
 * spooler must not be running (tests/run.sh stops it before the stack-phase
 * programs): it would claim the queued operations inserted here. Those run
 * only "true" anyway, and each test deletes what it created.
 *
 * Environment (set by tests/run.sh): KS_URL, KS_CA, KS_PGCONN, KS_USER and
 * KS_PASS (an existing account). Without them the program fails.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "buf.h"
#include "testutil.h"
#include "tu_web.h"

#define TEST_TIMEOUT	60
#define MAX_CLIENTS	4
#define MAX_PARAMS	10
#define MAX_OPS		8

/* Operations and servers a test created, deleted by teardown. */
static long		 made_ops[MAX_OPS];
static size_t		 nmade_ops;
static long		 made_server;

/* ---- HTTP ------------------------------------------------------------- */

/* POSTs the page's form (only its CSRF field) to path; 303 back to the
 * operation, whose page (with the flash) is then loaded. */
static void
post_action(struct tw_client *cl, const char *uuid, const char *action)
{
	struct buf	 f;
	char		 path[128], loc[128];

	snprintf(path, sizeof(path), "/ops/%s/%s", uuid, action);
	snprintf(loc, sizeof(loc), "/ops/%s", uuid);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_ck_location(cl, loc);
	ck_status(tw_get(cl, loc), cl, 200);
	buf_release(&f);
}

/* ---- fixtures --------------------------------------------------------- */

struct op {
	long	 id;
	char	 uuid[40];
	char	 sid[24];	/* id as text, for SQL parameters */
};

/*
 * An operation in state status, inserted directly. A running one holds a
 * lease far in the future under a made-up spooler name, so no recovery
 * ends it; started and finished times match the state. subject is a
 * server id (or NULL: no subject); by is a username (or NULL).
 */
static void
mk_op(struct op *o, const char *kind, const char *status, const char *subject,
    int secrets, const char *error, const char *by)
{
	PGresult	*res;

	ck_assert_uint_lt(nmade_ops, MAX_OPS);
	res = tw_sql("INSERT INTO operations (kind, subject_type, subject_id, status, "
	    " claimed_by, lease_until, started_at, finished_at, attempt, "
	    " has_secrets, error, created_by) "
	    "VALUES ($1, CASE WHEN $3::bigint IS NULL THEN 'none' ELSE 'server' END, "
	    " $3::bigint, $2, "
	    " CASE WHEN $2 = 'running' THEN 'check_ops_web' END, "
	    " CASE WHEN $2 = 'running' THEN now() + interval '1 day' END, "
	    " CASE WHEN $2 <> 'queued' THEN now() - interval '95 seconds' END, "
	    " CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') "
	    "  THEN now() - interval '20 seconds' END, "
	    " CASE WHEN $2 = 'queued' THEN 0 ELSE 1 END, $4::bool, $5, "
	    " (SELECT id FROM users WHERE username = $6)) RETURNING id, uuid",
	    6, kind, status, subject, secrets ? "true" : "false", error, by);
	ck_assert_int_eq(PQntuples(res), 1);
	o->id = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(o->sid, sizeof(o->sid), "%ld", o->id);
	snprintf(o->uuid, sizeof(o->uuid), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	made_ops[nmade_ops++] = o->id;
}

/* A step of o running "true"; exit is its exit code or NULL. Its id. */
static long
mk_step(const struct op *o, int ordinal, const char *name, const char *status,
    const char *exit, const char *signal, long bytes, int truncated)
{
	char	 ord[16], b[24];

	snprintf(ord, sizeof(ord), "%d", ordinal);
	snprintf(b, sizeof(b), "%ld", bytes);
	return tw_sql_long("INSERT INTO operation_steps (operation_id, ordinal, name, "
	    " target, script, status, exit_code, exit_signal, output_bytes, "
	    " truncated, started_at, finished_at) "
	    "VALUES ($1::bigint, $2::int, $3, 'control_node', 'true', $4, $5::int, "
	    " $6, $7::bigint, $8::bool, "
	    " CASE WHEN $4 <> 'pending' AND $4 <> 'skipped' "
	    "  THEN now() - interval '80 seconds' END, "
	    " CASE WHEN $4 IN ('succeeded', 'failed', 'cancelled') "
	    "  THEN now() - interval '30 seconds' END) RETURNING id", 8,
	    o->sid, ord, name, status, exit, signal, b, truncated ? "true" : "false");
}

static void
mk_output(long step, int seqno, const char *text)
{
	char	 s[24], q[16];

	snprintf(s, sizeof(s), "%ld", step);
	snprintf(q, sizeof(q), "%d", seqno);
	tw_sql_exec("INSERT INTO operation_output (step_id, seq, chunk) "
	    "VALUES ($1::bigint, $2::int, $3)", 3, s, q, text);
}

/* A server whose name is hostile HTML; its id as text in sid. */
static void
mk_server(char *name, size_t namesz, char sid[24])
{
	char	 u[80], addr[96];

	tw_uniq(u, sizeof(u), "ops");
	snprintf(name, namesz, "<script>alert('%s')</script>", u);
	snprintf(addr, sizeof(addr), "%s.example.com", u);
	made_server = tw_sql_long("INSERT INTO servers (name, address) VALUES ($1, $2) "
	    "RETURNING id", 2, name, addr);
	snprintf(sid, 24, "%ld", made_server);
}

/* One row of operations as "status|cancel_requested|finished|error|attempt". */
static void
op_state(const struct op *o, char *out, size_t sz)
{
	tw_sql_str(out, sz, "SELECT status || '|' || cancel_requested || '|' || "
	    "(finished_at IS NOT NULL) || '|' || coalesce(error, '') || '|' || "
	    "attempt FROM operations WHERE id = $1::bigint", 1, o->sid);
}

static void
setup(void)
{
	tw_setup(MAX_CLIENTS, MAX_PARAMS);
	nmade_ops = 0;
	made_server = 0;
}

static void
teardown(void)
{
	PGconn	*pgc;
	char	 id[24];

	tw_free_clients();
	if ((pgc = tw_pgconn()) != NULL) {
		/* Steps, output and secrets go with their operation. */
		for (size_t i = 0; i < nmade_ops; i++) {
			const char *p[] = { id };
			snprintf(id, sizeof(id), "%ld", made_ops[i]);
			PQclear(PQexecParams(pgc, "DELETE FROM operations WHERE "
			    "id = $1::bigint", 1, NULL, p, NULL, NULL, 0));
		}
		if (made_server != 0) {
			const char *p[] = { id };
			snprintf(id, sizeof(id), "%ld", made_server);
			PQclear(PQexecParams(pgc, "DELETE FROM servers WHERE "
			    "id = $1::bigint", 1, NULL, p, NULL, NULL, 0));
		}
	}
	tw_teardown();
}

/* ---- JSON ------------------------------------------------------------- */

/* GETs the log endpoint and parses the answer (owned by the caller). */
static cJSON *
get_log(struct tw_client *cl, const char *uuid, const char *query)
{
	char	 path[256], ctype[128];
	cJSON	*j;

	snprintf(path, sizeof(path), "/ops/%s/log%s", uuid, query);
	ck_status(tw_get(cl, path), cl, 200);
	if (tw_header(cl, "Content-Type", ctype, sizeof(ctype)) == NULL)
		ck_abort_msg("log without a Content-Type");
	ck_assert_str_eq(ctype, "application/json");
	if ((j = cJSON_Parse(tw_body(cl))) == NULL)
		ck_abort_msg("log is not JSON:\n%.2000s", tw_body(cl));
	return j;
}

static const cJSON *
jget(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		ck_abort_msg("JSON lacks \"%s\"", key);
	return v;
}

static void
ck_chunk(const cJSON *c, long step, int seqno, const char *text)
{
	ck_assert_int_eq((long)cJSON_GetNumberValue(jget(c, "step")), step);
	ck_assert_int_eq((int)cJSON_GetNumberValue(jget(c, "seq")), seqno);
	ck_assert_ptr_nonnull(cJSON_GetStringValue(jget(c, "text")));
	ck_assert_str_eq(cJSON_GetStringValue(jget(c, "text")), text);
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(list_page)
{
	struct tw_client	*cl = tw_login(), *anon = tw_cl_new();
	struct op	 a, b;
	struct buf	 esc, want;
	char		 name[200], sid[24];
	const char	*pa, *pb;

	ck_status(tw_get(anon, "/ops"), anon, 303);
	tw_ck_location(anon, "/login?next=/ops");

	mk_server(name, sizeof(name), sid);
	mk_op(&a, "provision", "failed", sid, 0, "step 1 (x): exit status 2",
	    tw_user);
	mk_op(&b, "verify", "running", sid, 0, NULL, NULL);
	buf_init(&esc);
	buf_init(&want);
	ck_status(tw_get(cl, "/ops"), cl, 200);
	ck_has(cl, "<a href=\"/ops\" aria-current=\"page\">Operations</a>");
	buf_printf(&want, "<a href=\"/ops/%s\">Provision</a>", a.uuid);
	ck_has(cl, buf_cstr(&want));
	pa = strstr(tw_body(cl), buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<a href=\"/ops/%s\">Verify</a>", b.uuid);
	ck_has(cl, buf_cstr(&want));
	pb = strstr(tw_body(cl), buf_cstr(&want));
	/* Newest first. */
	ck_assert_msg(pb < pa, "the newer operation is not listed first");
	/* The subject's name is escaped, never markup. */
	tw_html_escape(&esc, name);
	ck_has(cl, buf_cstr(&esc));
	ck_hasnt(cl, "<script>alert(");
	ck_has(cl, "<span class=\"status status-failed\">failed</span>");
	ck_has(cl, "<span class=\"status status-running\">running</span>");
	/* Durations: the failed one ran 75 s, the running one 95 s so far. */
	ck_has(cl, "<td>1m 15s</td>");
	ck_has(cl, "Page 1 of ");
	buf_release(&esc);
	buf_release(&want);
}
END_TEST

START_TEST(op_page)
{
	struct tw_client	*cl = tw_login();
	struct op	 dep, o;
	struct buf	 esc, want;
	char		 name[200], sid[24], path[128], s2id[24], suuid[40];
	long		 s1, s2, s3, s4;

	mk_server(name, sizeof(name), sid);
	mk_op(&dep, "build", "succeeded", NULL, 0, NULL, NULL);
	mk_op(&o, "deploy", "failed", sid, 0, "step 2 (<restart>): exit status 3",
	    tw_user);
	tw_sql_exec("UPDATE operations SET depends_on = $1::bigint WHERE id = $2::bigint",
	    2, dep.sid, o.sid);
	s1 = mk_step(&o, 1, "Pull <image>", "succeeded", "0", NULL, 2048, 0);
	s2 = mk_step(&o, 2, "Restart", "failed", "3", NULL, 5000000, 1);
	s3 = mk_step(&o, 3, "Killed", "cancelled", NULL, "9", 0, 0);
	s4 = mk_step(&o, 4, "Never", "skipped", NULL, NULL, 0, 0);
	snprintf(s2id, sizeof(s2id), "%ld", s2);
	tw_sql_exec("UPDATE operation_steps SET target = 'specific_server', "
	    "server_id = $1::bigint WHERE id = $2::bigint", 2, sid, s2id);
	tw_sql_str(suuid, sizeof(suuid), "SELECT uuid FROM servers WHERE id = "
	    "$1::bigint", 1, sid);
	mk_output(s1, 0, "first line\n\tindented & <script>alert(1)</script>\n");
	mk_output(s1, 1, "second \"chunk\" 'quoted'\n");
	mk_output(s2, 0, "restarting\n");

	snprintf(path, sizeof(path), "/ops/%s", o.uuid);
	ck_status(tw_get(cl, path), cl, 200);
	buf_init(&esc);
	buf_init(&want);
	tw_html_escape(&esc, name);
	buf_printf(&want, "<h1>Deploy · %s</h1>", buf_cstr(&esc));
	ck_has(cl, buf_cstr(&want));
	ck_hasnt(cl, "<script>alert(");
	/* Output: the stored chunks in order, escaped, whitespace kept. */
	buf_reset(&want);
	buf_printf(&want, "<pre class=\"log\" id=\"log-%ld\">first line\n"
	    "\tindented &amp; &lt;script&gt;alert(1)&lt;/script&gt;\n"
	    "second &quot;chunk&quot; &#39;quoted&#39;\n</pre>", s1);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<pre class=\"log\" id=\"log-%ld\">restarting\n</pre>", s2);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<pre class=\"log\" id=\"log-%ld\"></pre>", s4);
	ck_has(cl, buf_cstr(&want));
	/* The steps table. */
	ck_has(cl, "<a href=\"#step-");
	ck_has(cl, ">Pull &lt;image&gt;</a>");
	buf_reset(&want);
	buf_printf(&want, "<td>Server · %s</td>", buf_cstr(&esc));
	ck_has(cl, buf_cstr(&want));
	ck_has(cl, "<td>Control node</td>");
	buf_reset(&want);
	buf_printf(&want, "<span class=\"status status-failed\" data-step-status="
	    "\"%ld\">failed</span>", s2);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<td data-step-exit=\"%ld\"><code>3</code></td>", s2);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<td data-step-exit=\"%ld\"><code>signal 9</code></td>",
	    s3);
	ck_has(cl, buf_cstr(&want));
	ck_has(cl, "<td>2.0 KiB</td>");
	ck_has(cl, "<td>4.8 MiB <span class=\"tag\">truncated</span></td>");
	ck_has(cl, "only its start was stored");
	ck_has(cl, "<td>50s</td>");
	/* The facts. */
	ck_has(cl, "step 2 (&lt;restart&gt;): exit status 3");
	buf_reset(&want);
	buf_printf(&want, "<dt>Started by</dt><dd>%s</dd>", tw_user);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<a href=\"/ops/%s\"><code>%s</code></a>", dep.uuid,
	    dep.uuid);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<dt>Subject</dt><dd><a href=\"/servers/%s\">%s</a></dd>",
	    suuid, buf_cstr(&esc));
	ck_has(cl, buf_cstr(&want));
	ck_has(cl, "<dt>Attempt</dt><dd>1 of 3</dd>");
	ck_has(cl, "<dt>Took</dt><dd>1m 15s</dd>");
	/* Finished and retryable: Retry, no Cancel, no refresh. */
	buf_reset(&want);
	buf_printf(&want, "action=\"/ops/%s/retry\"", o.uuid);
	ck_has(cl, buf_cstr(&want));
	ck_hasnt(cl, "/cancel\"");
	ck_hasnt(cl, "http-equiv=\"refresh\"");
	ck_hasnt(cl, "ops.js");

	/* No creator, no subject: said so. */
	snprintf(path, sizeof(path), "/ops/%s", dep.uuid);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "<h1>Build</h1>");
	ck_has(cl, "<dt>Started by</dt><dd><span class=\"muted\">Keystone</span></dd>");
	ck_has(cl, "This operation has no steps.");
	/* Succeeded: neither button. */
	ck_hasnt(cl, "/retry\"");
	ck_hasnt(cl, "/cancel\"");
	buf_release(&esc);
	buf_release(&want);
}
END_TEST

START_TEST(log_json)
{
	struct tw_client	*cl = tw_login();
	struct op	 o, other;
	struct buf	 q;
	cJSON		*j;
	const cJSON	*chunks, *steps, *c;
	long		 s1, s2, s3, x;
	/* Everything JSON must escape, and what it need not. */
	static const char hostile[] = "quote \" backslash \\ slash / "
	    "</script><script>alert(1)</script>\n\ttab\r\x01\x1f é ✓ \U0001F680";

	mk_op(&o, "deploy", "running", NULL, 0, NULL, NULL);
	mk_op(&other, "deploy", "running", NULL, 0, NULL, NULL);
	s1 = mk_step(&o, 1, "one", "succeeded", "0", NULL, 10, 0);
	s2 = mk_step(&o, 2, "two", "running", NULL, NULL, 0, 0);
	s3 = mk_step(&o, 3, "three", "pending", NULL, NULL, 0, 0);
	x = mk_step(&other, 1, "x", "running", NULL, NULL, 0, 0);
	for (int i = 0; i < 3; i++) {
		char t[32];
		snprintf(t, sizeof(t), "s1 chunk %d\n", i);
		mk_output(s1, i, t);
	}
	mk_output(s2, 0, "s2 chunk 0\n");
	mk_output(s2, 1, hostile);
	mk_output(x, 0, "another operation's output\n");

	/* The whole log, in order. */
	j = get_log(cl, o.uuid, "");
	ck_assert_str_eq(cJSON_GetStringValue(jget(j, "status")), "running");
	ck_assert(cJSON_IsTrue(jget(j, "active")));
	ck_assert(cJSON_IsFalse(jget(j, "more")));
	steps = jget(j, "steps");
	ck_assert_int_eq(cJSON_GetArraySize(steps), 3);
	c = cJSON_GetArrayItem(steps, 0);
	ck_assert_int_eq((long)cJSON_GetNumberValue(jget(c, "id")), s1);
	ck_assert_str_eq(cJSON_GetStringValue(jget(c, "status")), "succeeded");
	ck_assert_int_eq((int)cJSON_GetNumberValue(jget(c, "exit_code")), 0);
	c = cJSON_GetArrayItem(steps, 1);
	ck_assert_str_eq(cJSON_GetStringValue(jget(c, "status")), "running");
	ck_assert(cJSON_IsNull(jget(c, "exit_code")));
	c = cJSON_GetArrayItem(steps, 2);
	ck_assert_int_eq((long)cJSON_GetNumberValue(jget(c, "id")), s3);
	ck_assert_str_eq(cJSON_GetStringValue(jget(c, "status")), "pending");
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 5);
	ck_chunk(cJSON_GetArrayItem(chunks, 0), s1, 0, "s1 chunk 0\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 2), s1, 2, "s1 chunk 2\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 3), s2, 0, "s2 chunk 0\n");
	/* Escaped for JSON, and read back byte for byte. */
	ck_chunk(cJSON_GetArrayItem(chunks, 4), s2, 1, hostile);
	ck_assert_ptr_null(strstr(tw_body(cl), "another operation"));
	ck_assert_ptr_null(strchr(tw_body(cl), '\n'));
	ck_assert_ptr_null(strchr(tw_body(cl), '\x01'));
	cJSON_Delete(j);

	/* From the middle of step 1: the rest of it and all of step 2. */
	buf_init(&q);
	buf_printf(&q, "?step=%ld&from=2", s1);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 3);
	ck_chunk(cJSON_GetArrayItem(chunks, 0), s1, 2, "s1 chunk 2\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 1), s2, 0, "s2 chunk 0\n");
	cJSON_Delete(j);

	/* After the last chunk: nothing; then what is written next. */
	buf_reset(&q);
	buf_printf(&q, "?step=%ld&from=2", s2);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	ck_assert_int_eq(cJSON_GetArraySize(jget(j, "chunks")), 0);
	cJSON_Delete(j);
	mk_output(s2, 2, "s2 chunk 2\n");
	mk_output(s3, 0, "s3 chunk 0\n");
	j = get_log(cl, o.uuid, buf_cstr(&q));
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 2);
	ck_chunk(cJSON_GetArrayItem(chunks, 0), s2, 2, "s2 chunk 2\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 1), s3, 0, "s3 chunk 0\n");
	cJSON_Delete(j);

	/* A long log comes in pages, each ending where the next starts. */
	for (int i = 1; i <= 250; i++) {
		char t[32];
		snprintf(t, sizeof(t), "s3 chunk %d\n", i);
		mk_output(s3, i, t);
	}
	buf_reset(&q);
	buf_printf(&q, "?step=%ld&from=1", s3);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	ck_assert(cJSON_IsTrue(jget(j, "more")));
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 200);
	ck_chunk(cJSON_GetArrayItem(chunks, 199), s3, 200, "s3 chunk 200\n");
	cJSON_Delete(j);
	buf_reset(&q);
	buf_printf(&q, "?step=%ld&from=201", s3);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	ck_assert(cJSON_IsFalse(jget(j, "more")));
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 50);
	ck_chunk(cJSON_GetArrayItem(chunks, 49), s3, 250, "s3 chunk 250\n");
	cJSON_Delete(j);

	/* The final state reaches the client with the last output. */
	tw_sql_exec("UPDATE operations SET status = 'failed', finished_at = now(), "
	    "claimed_by = NULL, lease_until = NULL WHERE id = $1::bigint", 1, o.sid);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	ck_assert_str_eq(cJSON_GetStringValue(jget(j, "status")), "failed");
	ck_assert(cJSON_IsFalse(jget(j, "active")));
	cJSON_Delete(j);

	/* Another operation's step, and malformed positions. */
	buf_reset(&q);
	buf_printf(&q, "/ops/%s/log?step=%ld&from=0", o.uuid, x);
	ck_status(tw_get(cl, buf_cstr(&q)), cl, 400);
	buf_reset(&q);
	buf_printf(&q, "/ops/%s/log?step=abc", o.uuid);
	ck_status(tw_get(cl, buf_cstr(&q)), cl, 400);
	buf_reset(&q);
	buf_printf(&q, "/ops/%s/log?step=%ld&from=-1", o.uuid, s1);
	ck_status(tw_get(cl, buf_cstr(&q)), cl, 400);
	buf_reset(&q);
	buf_printf(&q, "/ops/%s/log?step=%ld&from=99999999999", o.uuid, s1);
	ck_status(tw_get(cl, buf_cstr(&q)), cl, 400);
	buf_release(&q);
}
END_TEST

/*
 * Two steps of a group running at once write their output interleaved:
 * the log comes in the order it was written, and a position after one
 * step's chunk misses nothing the other wrote meanwhile (an earlier
 * step's later chunk included). The page continues from the last chunk
 * written, and shows both steps running with their own output.
 */
START_TEST(log_two_running)
{
	struct tw_client	*cl = tw_login();
	struct op	 o;
	struct buf	 q, want;
	cJSON		*j;
	const cJSON	*chunks;
	long		 s1, s2;
	char		 path[128];

	mk_op(&o, "deploy", "running", NULL, 0, NULL, NULL);
	s1 = mk_step(&o, 1, "one", "running", NULL, NULL, 0, 0);
	s2 = mk_step(&o, 2, "two", "running", NULL, NULL, 0, 0);
	mk_output(s2, 0, "two a\n");
	mk_output(s1, 0, "one a\n");
	mk_output(s2, 1, "two b\n");

	j = get_log(cl, o.uuid, "");
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 3);
	ck_chunk(cJSON_GetArrayItem(chunks, 0), s2, 0, "two a\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 1), s1, 0, "one a\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 2), s2, 1, "two b\n");
	cJSON_Delete(j);

	/* The page: both running, each its own output, the log's end. */
	snprintf(path, sizeof(path), "/ops/%s", o.uuid);
	ck_status(tw_get(cl, path), cl, 200);
	buf_init(&want);
	buf_printf(&want, "<span class=\"status status-running\" data-step-status="
	    "\"%ld\">running</span>", s1);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<span class=\"status status-running\" data-step-status="
	    "\"%ld\">running</span>", s2);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "<pre class=\"log\" id=\"log-%ld\">two a\ntwo b\n</pre>", s2);
	ck_has(cl, buf_cstr(&want));
	buf_reset(&want);
	buf_printf(&want, "data-step=\"%ld\" data-from=\"2\"", s2);
	ck_has(cl, buf_cstr(&want));

	/* After "two b": step 1 writes again, then step 2. */
	mk_output(s1, 1, "one b\n");
	mk_output(s2, 2, "two c\n");
	buf_init(&q);
	buf_printf(&q, "?step=%ld&from=2", s2);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 2);
	ck_chunk(cJSON_GetArrayItem(chunks, 0), s1, 1, "one b\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 1), s2, 2, "two c\n");
	cJSON_Delete(j);
	/* After "one a" (step 1's chunk 0): everything written since. */
	buf_reset(&q);
	buf_printf(&q, "?step=%ld&from=1", s1);
	j = get_log(cl, o.uuid, buf_cstr(&q));
	chunks = jget(j, "chunks");
	ck_assert_int_eq(cJSON_GetArraySize(chunks), 3);
	ck_chunk(cJSON_GetArrayItem(chunks, 0), s2, 1, "two b\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 1), s1, 1, "one b\n");
	ck_chunk(cJSON_GetArrayItem(chunks, 2), s2, 2, "two c\n");
	cJSON_Delete(j);
	buf_release(&q);
	buf_release(&want);
}
END_TEST

START_TEST(cancel_queued)
{
	struct tw_client	*cl = tw_login();
	struct op	 o;
	char		 st[256];
	long		 s1, s2;

	mk_op(&o, "registry", "queued", NULL, 1, NULL, NULL);
	s1 = mk_step(&o, 1, "gc", "pending", NULL, NULL, 0, 0);
	s2 = mk_step(&o, 2, "gc again", "pending", NULL, NULL, 0, 0);
	tw_sql_exec("INSERT INTO operation_secrets (operation_id, name, sealed) "
	    "VALUES ($1::bigint, 'REGISTRY_PASSWORD', 'c2VhbGVk')", 1, o.sid);

	post_action(cl, o.uuid, "cancel");
	ck_has(cl, "<p class=\"flash flash-ok\" role=\"status\">Operation "
	    "cancelled.</p>");
	ck_has(cl, "<span class=\"status status-cancelled\" data-op-status>");
	ck_hasnt(cl, "http-equiv=\"refresh\"");
	op_state(&o, st, sizeof(st));
	ck_assert_str_eq(st, "cancelled|true|true||0");
	/* Nothing will run it: its steps are skipped and its secrets gone,
	 * as when a spooler ends an operation. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps WHERE "
	    "operation_id = $1::bigint AND status = 'skipped'", 1, o.sid), 2);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_secrets WHERE "
	    "operation_id = $1::bigint", 1, o.sid), 0);
	(void)s1;
	(void)s2;
	/* It had secrets: it cannot be queued again. */
	ck_hasnt(cl, "/retry\"");
}
END_TEST

START_TEST(cancel_running)
{
	struct tw_client	*cl = tw_login();
	struct op	 o;
	char		 st[256], path[128];

	mk_op(&o, "deploy", "running", NULL, 0, NULL, NULL);
	(void)mk_step(&o, 1, "deploy", "running", NULL, NULL, 0, 0);
	snprintf(path, sizeof(path), "/ops/%s", o.uuid);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Cancel operation</button>");

	post_action(cl, o.uuid, "cancel");
	ck_has(cl, "<p class=\"flash flash-ok\" role=\"status\">Cancel requested.");
	/* Still running until its spooler stops the step. */
	op_state(&o, st, sizeof(st));
	ck_assert_str_eq(st, "running|true|false||1");
	ck_has(cl, "<span class=\"tag\">cancel requested</span>");
	ck_hasnt(cl, "Cancel operation</button>");
	ck_has(cl, "http-equiv=\"refresh\"");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps WHERE "
	    "operation_id = $1::bigint AND status = 'running'", 1, o.sid), 1);
}
END_TEST

START_TEST(cancel_finished)
{
	struct tw_client	*cl = tw_login();
	struct op	 o;
	char		 before[256], after[256];
	const char	*states[] = { "succeeded", "failed", "cancelled" };

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		mk_op(&o, "check", states[i], NULL, 0, NULL, NULL);
		(void)mk_step(&o, 1, "check", states[i], "0", NULL, 0, 0);
		op_state(&o, before, sizeof(before));
		post_action(cl, o.uuid, "cancel");
		ck_has(cl, "<p class=\"flash flash-error\" role=\"status\">This "
		    "operation has already finished; there is nothing to cancel.</p>");
		op_state(&o, after, sizeof(after));
		ck_assert_str_eq(after, before);
		ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps "
		    "WHERE operation_id = $1::bigint AND status = $2", 2, o.sid,
		    states[i]), 1);
	}
}
END_TEST

START_TEST(retry_failed)
{
	struct tw_client	*cl = tw_login();
	struct op	 o, c;
	char		 st[256];
	PGresult	*res;
	long		 s1;

	mk_op(&o, "deploy", "failed", NULL, 0, "step 2 (two): exit status 1", NULL);
	s1 = mk_step(&o, 1, "one", "succeeded", "0", NULL, 4, 0);
	(void)mk_step(&o, 2, "two", "failed", "1", NULL, 9, 1);
	(void)mk_step(&o, 3, "three", "skipped", NULL, NULL, 0, 0);
	mk_output(s1, 0, "kept\n");

	post_action(cl, o.uuid, "retry");
	ck_has(cl, "<p class=\"flash flash-ok\" role=\"status\">Operation queued "
	    "again.</p>");
	op_state(&o, st, sizeof(st));
	ck_assert_str_eq(st, "queued|false|false||0");
	res = tw_sql("SELECT ordinal, status, exit_code IS NULL, output_bytes, truncated "
	    "FROM operation_steps WHERE operation_id = $1::bigint ORDER BY ordinal",
	    1, o.sid);
	ck_assert_int_eq(PQntuples(res), 3);
	/* What succeeded stays done; the rest runs again. */
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "succeeded");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "f");
	ck_assert_str_eq(PQgetvalue(res, 1, 1), "pending");
	ck_assert_str_eq(PQgetvalue(res, 1, 2), "t");
	ck_assert_str_eq(PQgetvalue(res, 1, 3), "0");
	ck_assert_str_eq(PQgetvalue(res, 1, 4), "f");
	ck_assert_str_eq(PQgetvalue(res, 2, 1), "pending");
	PQclear(res);
	/* Queued again: active, so Cancel and the refresh are back. */
	ck_has(cl, "Cancel operation</button>");
	ck_has(cl, "<noscript><meta http-equiv=\"refresh\" content=\"2\">"
	    "</noscript>");

	/* A cancelled one without secrets too. */
	mk_op(&c, "deploy", "cancelled", NULL, 0, "step 1 (one): cancelled", NULL);
	(void)mk_step(&c, 1, "one", "cancelled", NULL, "15", 0, 0);
	post_action(cl, c.uuid, "retry");
	ck_has(cl, "Operation queued again.");
	op_state(&c, st, sizeof(st));
	ck_assert_str_eq(st, "queued|false|false||0");
}
END_TEST

START_TEST(retry_refused)
{
	struct tw_client	*cl = tw_login();
	struct op	 sec, run, ok;
	char		 before[256], after[256];

	/* Its secrets were deleted when it ended: it cannot run again. */
	mk_op(&sec, "registry_auth", "failed", NULL, 1, "step 1: exit status 1",
	    NULL);
	(void)mk_step(&sec, 1, "login", "failed", "1", NULL, 0, 0);
	op_state(&sec, before, sizeof(before));
	post_action(cl, sec.uuid, "retry");
	ck_has(cl, "<p class=\"flash flash-error\" role=\"status\">This operation "
	    "used secrets");
	ck_hasnt(cl, "/retry\"");
	op_state(&sec, after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps WHERE "
	    "operation_id = $1::bigint AND status = 'failed'", 1, sec.sid), 1);

	/* Neither running nor succeeded operations. */
	mk_op(&run, "deploy", "running", NULL, 0, NULL, NULL);
	(void)mk_step(&run, 1, "one", "running", NULL, NULL, 0, 0);
	mk_op(&ok, "deploy", "succeeded", NULL, 0, NULL, NULL);
	(void)mk_step(&ok, 1, "one", "succeeded", "0", NULL, 0, 0);
	op_state(&run, before, sizeof(before));
	post_action(cl, run.uuid, "retry");
	ck_has(cl, "Only a failed or cancelled operation can be retried.");
	op_state(&run, after, sizeof(after));
	ck_assert_str_eq(after, before);
	op_state(&ok, before, sizeof(before));
	post_action(cl, ok.uuid, "retry");
	ck_has(cl, "Only a failed or cancelled operation can be retried.");
	op_state(&ok, after, sizeof(after));
	ck_assert_str_eq(after, before);
}
END_TEST

START_TEST(csrf_required)
{
	struct tw_client	*cl = tw_login(), *other = tw_login();
	struct op	 q, f;
	struct buf	 form;
	char		 path[128], before[256], after[256];

	mk_op(&q, "check", "queued", NULL, 0, NULL, NULL);
	(void)mk_step(&q, 1, "one", "pending", NULL, NULL, 0, 0);
	mk_op(&f, "check", "failed", NULL, 0, "boom", NULL);
	(void)mk_step(&f, 1, "one", "failed", "1", NULL, 0, 0);
	buf_init(&form);

	/* Missing, then another session's token. */
	op_state(&q, before, sizeof(before));
	snprintf(path, sizeof(path), "/ops/%s/cancel", q.uuid);
	ck_status(tw_post(cl, path, &form), cl, 403);
	ck_has(cl, "The form expired or did not come from this site.");
	tw_fadd(&form, "csrf", other->csrf);
	ck_status(tw_post(cl, path, &form), cl, 403);
	op_state(&q, after, sizeof(after));
	ck_assert_str_eq(after, before);

	buf_reset(&form);
	op_state(&f, before, sizeof(before));
	snprintf(path, sizeof(path), "/ops/%s/retry", f.uuid);
	ck_status(tw_post(cl, path, &form), cl, 403);
	tw_fadd(&form, "csrf", other->csrf);
	ck_status(tw_post(cl, path, &form), cl, 403);
	op_state(&f, after, sizeof(after));
	ck_assert_str_eq(after, before);
	buf_release(&form);
}
END_TEST

START_TEST(not_found)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 u[40], path[128], allow[64];
	struct op	 o;

	tw_sql_str(u, sizeof(u), "SELECT gen_random_uuid()", 0);
	snprintf(path, sizeof(path), "/ops/%s", u);
	ck_status(tw_get(cl, path), cl, 404);
	ck_has(cl, "There is no such page.");
	snprintf(path, sizeof(path), "/ops/%s/log?step=1&from=0", u);
	ck_status(tw_get(cl, path), cl, 404);
	ck_status(tw_get(cl, "/ops/not-a-uuid"), cl, 404);
	ck_status(tw_get(cl, "/ops/"), cl, 404);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/ops/%s/cancel", u);
	ck_status(tw_post(cl, path, &f), cl, 404);
	snprintf(path, sizeof(path), "/ops/%s/retry", u);
	ck_status(tw_post(cl, path, &f), cl, 404);
	buf_release(&f);

	/* Actions are POST only. */
	mk_op(&o, "check", "failed", NULL, 0, NULL, NULL);
	snprintf(path, sizeof(path), "/ops/%s/cancel", o.uuid);
	ck_status(tw_get(cl, path), cl, 405);
	ck_assert_ptr_nonnull(tw_header(cl, "Allow", allow, sizeof(allow)));
	ck_assert_msg(strstr(allow, "POST") != NULL && strstr(allow, "GET") ==
	    NULL, "Allow: %s", allow);
}
END_TEST

START_TEST(refresh_only_while_active)
{
	struct tw_client	*cl = tw_login();
	static const char meta[] = "<noscript><meta http-equiv=\"refresh\" "
	    "content=\"2\"></noscript>";
	static const char script[] = "<script src=\"/static/ops.js\" defer>"
	    "</script>";
	const char	*states[] = { "queued", "running", "succeeded", "failed",
	    "cancelled" };
	char		 path[128], want[256];
	struct op	 o;

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		int active = i < 2;

		mk_op(&o, "check", states[i], NULL, 0, NULL, NULL);
		(void)mk_step(&o, 1, "one", active ? "pending" : "skipped", NULL,
		    NULL, 0, 0);
		snprintf(path, sizeof(path), "/ops/%s", o.uuid);
		ck_status(tw_get(cl, path), cl, 200);
		snprintf(want, sizeof(want), "<div id=\"op-live\" data-op=\"%s\" "
		    "data-step=\"0\" data-from=\"0\" hidden></div>", o.uuid);
		if (active) {
			ck_has(cl, meta);
			ck_has(cl, script);
			ck_has(cl, want);
		} else {
			ck_hasnt(cl, "http-equiv");
			ck_hasnt(cl, "<script");
			ck_hasnt(cl, "op-live");
		}
	}
	/* The live position is where the page's output ends. */
	mk_op(&o, "check", "running", NULL, 0, NULL, NULL);
	{
		long s1 = mk_step(&o, 1, "one", "succeeded", "0", NULL, 0, 0);
		long s2 = mk_step(&o, 2, "two", "running", NULL, NULL, 0, 0);
		mk_output(s1, 0, "a");
		mk_output(s2, 0, "b");
		mk_output(s2, 1, "c");
		snprintf(path, sizeof(path), "/ops/%s", o.uuid);
		ck_status(tw_get(cl, path), cl, 200);
		snprintf(want, sizeof(want), "data-step=\"%ld\" data-from=\"2\"", s2);
		ck_has(cl, want);
	}
	/* Only the operation page refreshes; the script is served. */
	ck_status(tw_get(cl, "/ops"), cl, 200);
	ck_hasnt(cl, "http-equiv");
	ck_status(tw_get(cl, "/static/ops.js"), cl, 200);
	ck_has(cl, "textContent");
	ck_hasnt(cl, "innerHTML");
}
END_TEST

static Suite *
ops_suite(void)
{
	Suite	*s = suite_create("ops_web");
	TCase	*tc = tcase_create("stack");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, list_page);
	tcase_add_test(tc, op_page);
	tcase_add_test(tc, log_json);
	tcase_add_test(tc, log_two_running);
	tcase_add_test(tc, cancel_queued);
	tcase_add_test(tc, cancel_running);
	tcase_add_test(tc, cancel_finished);
	tcase_add_test(tc, retry_failed);
	tcase_add_test(tc, retry_refused);
	tcase_add_test(tc, csrf_required);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, refresh_only_while_active);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	 rc;

	if (tw_env("check_ops_web") == -1)
		return EXIT_FAILURE;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "check_ops_web: FAIL: library initialisation\n");
		return EXIT_FAILURE;
	}
	rc = tu_run(ops_suite());
	curl_global_cleanup();
	return rc;
}
