/*
 * Deploy on push (lib/domain/hook.h): POST /hooks/git/{environment_uuid},
 * a Git host's delivery, and for a signed-in user the environment's hook
 * secret (shown only when asked for) and its rotation.
 *
 * The hook has no session and no CSRF token: its caller is a Git host,
 * authenticated by the environment's secret. Its body is read as sent,
 * up to APP_MAX_RAW (1 MiB; more: 413), as application/json or GitHub's
 * form-encoded payload=JSON (anything else: 415, once the secret was
 * proven). An unknown environment and a wrong signature are the same 401,
 * so the hook tells nobody which environments exist. Every answer is a
 * small JSON object: {"status": "queued" | "ignored" | "duplicate" |
 * "refused" | "malformed", "message": ..., "operation": uuid when queued}.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "hook.h"
#include "log.h"

static int hook_post(struct req *);
static int secret_post(struct req *);
static int rotate_post(struct req *);

const struct route hook_routes[] = {
	{ "POST", "/hooks/git/:uuid", hook_post, NULL, 0,
	    R_PUBLIC | R_NOCSRF | R_RAWBODY, NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/hook", secret_post, NULL, 0, 0, NULL,
	    0, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/hook/rotate", rotate_post, NULL, 0, 0,
	    NULL, 0, NULL },
};
const size_t hook_nroutes = sizeof(hook_routes) / sizeof(hook_routes[0]);

static int
hook_post(struct req *r)
{
	struct hook_in	 in;
	struct hook_result res;
	cJSON		*o = NULL;
	char		*text = NULL;
	int		 rc = 500;

	memset(&in, 0, sizeof(in));
	in.ctype = r->ctype;
	in.gh_signature = req_header(r, "HTTP_X_HUB_SIGNATURE_256");
	in.gh_event = req_header(r, "HTTP_X_GITHUB_EVENT");
	in.gh_delivery = req_header(r, "HTTP_X_GITHUB_DELIVERY");
	in.secret_gl_token = req_header(r, "HTTP_X_GITLAB_TOKEN");
	in.gl_event = req_header(r, "HTTP_X_GITLAB_EVENT");
	in.gl_delivery = req_header(r, "HTTP_X_GITLAB_EVENT_UUID");
	in.idempotency_key = req_header(r, "HTTP_IDEMPOTENCY_KEY");
	in.body = r->raw;
	in.len = r->rawlen;
	if (hook_receive(&r->app->db, &r->app->cfg, &r->app->keys, r->params[0],
	    r->remote_addr, &in, &res) == -1)
		return 500;
	if ((o = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddStringToObject(o, "status", res.outcome);
	cJSON_AddStringToObject(o, "message", res.message);
	if (res.operation[0] != '\0')
		cJSON_AddStringToObject(o, "operation", res.operation);
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	(void)http_send(&r->resp, res.status, "application/json", NULL, 0, text,
	    strlen(text), 0);
	rc = 0;
out:
	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

/* The hook's URL and secret, on a page of their own: asked for by a
 * click (a POST, so that no link, prefetch or history entry shows it). */
static int
secret_post(struct req *r)
{
	char		 secret_hook[HOOK_SECRETLEN + 1], url[512];
	cJSON		*m;
	int		 rc;

	if ((rc = found(hook_env_secret(&r->app->db, &r->app->keys, r->params[0],
	    r->params[1], secret_hook))) != 0)
		return rc;
	if ((m = model_new("Push hook", "apps")) == NULL) {
		sodium_memzero(secret_hook, sizeof(secret_hook));
		return 500;
	}
	snprintf(url, sizeof(url), "%s/hooks/git/%s", r->app->cfg.base_url != NULL ?
	    r->app->cfg.base_url : "", r->params[1]);
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddStringToObject(m, "env_uuid", r->params[1]);
	cJSON_AddStringToObject(m, "hook_url", url);
	cJSON_AddStringToObject(m, "hook_secret", secret_hook);
	sodium_memzero(secret_hook, sizeof(secret_hook));
	/* page() frees the model; the copy in it is the only one left. */
	return page(r, 200, "env_hook", m);
}

static int
rotate_post(struct req *r)
{
	char	 loc[200];
	int	 rc;

	if ((rc = found(hook_rotate(&r->app->db, r->params[0], r->params[1]))) != 0)
		return rc;
	log_info("hook: environment %s: secret rotated by %s", r->params[1],
	    r->username);
	snprintf(loc, sizeof(loc), "/apps/%s/envs/%s#hook", r->params[0],
	    r->params[1]);
	return flash_redirect(r, "ok", "Push hook secret rotated: the old one no "
	    "longer works. Set the new one at your Git host.", loc);
}
