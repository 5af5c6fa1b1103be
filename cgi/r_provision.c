/*
 * The provisioning endpoints a server reaches without a session: the
 * one-time script (GET /provision/<token>) and its report
 * (POST /provision/callback, with the script's own callback secret in the
 * X-Keystone-Callback header; the URL's token authorises no callback).
 * Every refusal is the same 401, whatever the reason (a malformed report
 * with a secret: 400), and every refusal is logged.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "buf.h"
#include "prov.h"

static int script_get(struct req *);
static int callback_post(struct req *);

static const struct field callback_fields[] = {
	{ "host_key", FT_TEXT, FF_REQ, 0, 200, NULL },
	{ "os", FT_TEXT, FF_REQ, 0, 32, NULL },
	{ "os_version", FT_TEXT, FF_REQ, 0, 32, NULL },
	{ "arch", FT_TEXT, FF_REQ, 0, 32, NULL },
	{ "docker_version", FT_TEXT, FF_REQ, 0, 64, NULL },
	{ "free_disk_kb", FT_INT, FF_REQ, 0, 1L << 40, NULL },
};

/* No CSRF on the callback: its caller is a server, authenticated by the
 * callback secret, not a browser with a session. */
const struct route provision_routes[] = {
	{ "GET", "/provision/:token", script_get, NULL, 0, R_PUBLIC, NULL, 0,
	    NULL },
	{ "POST", "/provision/callback", callback_post, callback_fields,
	    sizeof(callback_fields) / sizeof(callback_fields[0]),
	    R_PUBLIC | R_NOCSRF, NULL, 0, NULL },
};
const size_t provision_nroutes = sizeof(provision_routes) /
    sizeof(provision_routes[0]);

static int
text(struct req *r, int status, const char *body)
{
	(void)http_send(&r->resp, status, "text/plain; charset=utf-8", NULL, 0,
	    body, strlen(body), 0);
	return 0;
}

static int
refused(struct req *r)
{
	return text(r, 401, "refused: this provisioning link is not valid "
	    "(it may have been used, re-issued or expired); issue a new one "
	    "on the server's page in Keystone\n");
}

static int
script_get(struct req *r)
{
	struct buf	 out;
	int		 rc;

	/* The router answers HEAD with the GET handler; here that would use
	 * up the one-time link (a link preview) and deliver nothing. */
	if (strcmp(r->method, "HEAD") == 0) {
		struct hdr allow = { "Allow", "GET" };
		(void)http_send(&r->resp, 405, "text/plain; charset=utf-8", &allow,
		    1, NULL, 0, 1);
		return 0;
	}
	buf_init(&out);
	rc = prov_exchange(&r->app->db, &r->app->cfg, &r->app->keys,
	    r->params[0], r->remote_addr, &out);
	if (rc == 1) {
		(void)http_send(&r->resp, 200, "text/x-shellscript; charset=utf-8",
		    NULL, 0, out.ptr, out.len, 0);
	} else if (rc == 0)
		(void)refused(r);
	/* The script held the sudo password. */
	if (out.ptr != NULL)
		sodium_memzero(out.ptr, out.cap);
	buf_release(&out);
	return rc == -1 ? 500 : 0;
}

void
provision_refused_early(struct req *r)
{
	char	 detail[64];

	snprintf(detail, sizeof(detail), "HTTP %d before the report was read",
	    r->resp.status);
	prov_callback_refused(&r->app->db, r->remote_addr, detail);
}

static int
callback_post(struct req *r)
{
	cJSON		*facts = NULL;
	char		*ftext = NULL, msg[160];
	long long	 id;
	int		 rc;

	/* The secret first: without one, nothing is said about the rest of
	 * the request. */
	if (r->callback == NULL) {
		(void)prov_callback(&r->app->db, &r->app->keys, NULL,
		    r->remote_addr, "", "{}", &id);
		return refused(r);
	}
	if (r->invalid) {
		/* Logged without the body or the secret. */
		prov_callback_refused(&r->app->db, r->remote_addr,
		    "malformed report");
		return text(r, 400, "the report is malformed\n");
	}
	if ((facts = cJSON_CreateObject()) == NULL)
		return 500;
	for (size_t i = 1; i < sizeof(callback_fields) / sizeof(callback_fields[0]); i++)
		cJSON_AddStringToObject(facts, callback_fields[i].name,
		    input_get(&r->in, callback_fields[i].name));
	ftext = cJSON_PrintUnformatted(facts);
	cJSON_Delete(facts);
	if (ftext == NULL)
		return 500;
	rc = prov_callback(&r->app->db, &r->app->keys, r->callback, r->remote_addr,
	    input_get(&r->in, "host_key"), ftext, &id);
	cJSON_free(ftext);
	if (rc == -1)
		return 500;
	if (rc == 0)
		return refused(r);
	if (prov_after(&r->app->db, &r->app->cfg, &r->app->keys, id) == -1)
		return 500;
	snprintf(msg, sizeof(msg), "ok: the server is active; Keystone verifies it now\n");
	return text(r, 200, msg);
}
