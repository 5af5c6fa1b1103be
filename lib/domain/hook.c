/*
 * Deploy on push (see hook.h): the per-environment secret, the GitHub and
 * GitLab proofs, the push in the body, the delivery id, and the plan.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "config.h"
#include "db.h"
#include "deploy.h"
#include "form.h"
#include "hook.h"
#include "log.h"
#include "row.h"
#include "valid.h"

/* The environment a hook names (ST_HOOK_ENV). */
struct henv {
	long long	 id;
	char		*uuid;
	char		*app_uuid;
	long long	 hook_version;
	char		*branch;
	char		*pinned_commit;
};
static const struct col henv_cols[] = {
	COL(henv, id, C_INT), COL(henv, uuid, C_STR), COL(henv, app_uuid, C_STR),
	COL(henv, hook_version, C_INT), COL(henv, branch, C_STR),
	COL(henv, pinned_commit, C_STR),
};
static const struct rowtype henv_t = ROWTYPE(henv, henv_cols);

void
hook_secret(char secret_out[HOOK_SECRETLEN + 1],
    const unsigned char key[SEC_KEYBYTES], const char *env_uuid,
    long long version)
{
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	char		 msg[128];
	int		 n;

	/* The version in the message: a rotation is a new secret, and no
	 * secret is a prefix or a suffix of another's message. */
	n = snprintf(msg, sizeof(msg), "keystone-hook:%s:v%lld", env_uuid,
	    version);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (size_t)n, key);
	sodium_bin2hex(secret_out, HOOK_SECRETLEN + 1, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
}

enum hook_kind
hook_kind(const struct hook_in *in)
{
	if (in->gh_signature != NULL)
		return HOOK_GITHUB;
	if (in->secret_gl_token != NULL)
		return HOOK_GITLAB;
	return HOOK_NONE;
}

/* GitHub: "sha256=" and 64 hex digits of HMAC-SHA256(secret, body), the
 * secret's text as the key (as GitHub uses what was typed into its form). */
static int
verify_github(const char *secret_hook, const struct hook_in *in,
    const char **why)
{
	crypto_auth_hmacsha256_state st;
	unsigned char	 want[crypto_auth_hmacsha256_BYTES];
	unsigned char	 got[crypto_auth_hmacsha256_BYTES];
	const char	*h = in->gh_signature, *end = NULL;
	size_t		 binlen = 0;
	int		 rc = -1;

	if (strncmp(h, "sha256=", 7) != 0 || strlen(h + 7) != 2 * sizeof(got) ||
	    sodium_hex2bin(got, sizeof(got), h + 7, 2 * sizeof(got), NULL,
	    &binlen, &end) != 0 || binlen != sizeof(got) || *end != '\0') {
		*why = "malformed X-Hub-Signature-256";
		return -1;
	}
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret_hook,
	    strlen(secret_hook));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)
	    (in->body != NULL ? in->body : ""), in->len);
	crypto_auth_hmacsha256_final(&st, want);
	if (crypto_verify_32(want, got) == 0)
		rc = 0;
	else
		*why = "X-Hub-Signature-256 does not match the body";
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(want, sizeof(want));
	return rc;
}

/* GitLab: the token is the secret. Every secret has HOOK_SECRETLEN
 * characters, so checking the length first tells nothing. */
static int
verify_gitlab(const char *secret_hook, const struct hook_in *in,
    const char **why)
{
	if (strlen(in->secret_gl_token) != HOOK_SECRETLEN ||
	    sodium_memcmp(in->secret_gl_token, secret_hook, HOOK_SECRETLEN) != 0) {
		*why = "X-Gitlab-Token is not this environment's secret";
		return -1;
	}
	return 0;
}

int
hook_verify(const char *secret_hook, const struct hook_in *in, const char **why)
{
	switch (hook_kind(in)) {
	case HOOK_GITHUB:
		return verify_github(secret_hook, in, why);
	case HOOK_GITLAB:
		return verify_gitlab(secret_hook, in, why);
	default:
		*why = "no X-Hub-Signature-256 or X-Gitlab-Token header";
		return -1;
	}
}

int
hook_is_push(const struct hook_in *in, enum hook_kind kind, const char **why)
{
	const char	*ev = kind == HOOK_GITHUB ? in->gh_event :
	    kind == HOOK_GITLAB ? in->gl_event : NULL;

	if (ev == NULL) {
		*why = kind == HOOK_GITLAB ? "no X-Gitlab-Event header" :
		    "no X-GitHub-Event header";
		return 0;
	}
	if (kind == HOOK_GITHUB && strcmp(ev, "push") == 0)
		return 1;
	if (kind == HOOK_GITLAB && strcmp(ev, "Push Hook") == 0)
		return 1;
	*why = kind == HOOK_GITHUB && strcmp(ev, "ping") == 0 ? "ping" :
	    "not a push event";
	return 0;
}

/* The media type of ctype, without parameters, is want. */
static int
media_is(const char *ctype, const char *want)
{
	size_t	 n = strlen(want);

	if (ctype == NULL || strncasecmp(ctype, want, n) != 0)
		return 0;
	ctype += n;
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	return *ctype == '\0' || *ctype == ';';
}

/* The commit of a push: s if it is a full commit id; forty (or
 * sixty-four) zeros mark a deletion. */
static void
take_commit(struct hook_push *p, const cJSON *v)
{
	const char	*s = cJSON_GetStringValue(v);
	size_t		 n;

	if (s == NULL || p->commit[0] != '\0')
		return;
	n = strlen(s);
	if ((n == 40 || n == 64) && strspn(s, "0") == n) {
		p->deleted = 1;
		return;
	}
	if (valid_commit_sha(s) == NULL)
		snprintf(p->commit, sizeof(p->commit), "%s", s);
}

int
hook_parse(const struct hook_in *in, enum hook_kind kind, struct hook_push *p,
    const char **why, int *status)
{
	struct kvlist	 form;
	cJSON		*root = NULL;
	const char	*json = in->body != NULL ? in->body : "", *ref;
	size_t		 jlen = in->len;
	int		 rc = -1;

	memset(p, 0, sizeof(*p));
	kvlist_init(&form);
	*status = 400;
	if (media_is(in->ctype, "application/x-www-form-urlencoded") &&
	    kind == HOOK_GITHUB) {
		/* GitHub's other content type: payload=JSON. The signature
		 * was over the raw body, checked already. */
		if (form_parse(&form, json, jlen) != FORM_OK ||
		    kv_count(&form, "payload") != 1 ||
		    (json = kv_get(&form, "payload")) == NULL) {
			*why = "the form has no single payload field";
			goto out;
		}
		jlen = strlen(json);
	} else if (!media_is(in->ctype, "application/json")) {
		*status = 415;
		*why = "the body must be application/json (or GitHub's "
		    "application/x-www-form-urlencoded payload)";
		goto out;
	}
	if ((root = cJSON_ParseWithLength(json, jlen)) == NULL ||
	    !cJSON_IsObject(root)) {
		*why = "the body is not a JSON object";
		goto out;
	}
	if ((ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root,
	    "ref"))) == NULL || ref[0] == '\0' || strlen(ref) >= sizeof(p->ref)) {
		*why = "the push names no ref";
		goto out;
	}
	snprintf(p->ref, sizeof(p->ref), "%s", ref);
	if (strncmp(ref, "refs/heads/", 11) == 0 && ref[11] != '\0')
		snprintf(p->branch, sizeof(p->branch), "%s", ref + 11);
	take_commit(p, cJSON_GetObjectItemCaseSensitive(root, "after"));
	/* GitLab's checkout_sha is null when the branch was deleted. */
	if (kind == HOOK_GITLAB && !p->deleted)
		take_commit(p, cJSON_GetObjectItemCaseSensitive(root,
		    "checkout_sha"));
	rc = 0;
out:
	cJSON_Delete(root);
	kvlist_release(&form);
	return rc;
}

int
hook_delivery(const struct hook_in *in, enum hook_kind kind, const char **id)
{
	const char	*v = kind == HOOK_GITHUB ? in->gh_delivery :
	    kind == HOOK_GITLAB ? in->gl_delivery : NULL;
	size_t		 n;

	if (v == NULL)
		v = in->idempotency_key;
	if ((*id = v) == NULL)
		return 0;
	n = strlen(v);
	if (n == 0 || n > HOOK_MAX_DELIVERY)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return -1;
	return 1;
}

static void
answer(struct hook_result *res, int status, const char *outcome,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
answer(struct hook_result *res, int status, const char *outcome,
    const char *fmt, ...)
{
	va_list	 ap;

	res->status = status;
	snprintf(res->outcome, sizeof(res->outcome), "%s", outcome);
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/* One answer for every refusal: nothing tells an unknown environment
 * from a wrong secret. The log says which (never a value). */
static void
refuse(struct hook_result *res, const char *env_uuid, const char *addr,
    const char *why)
{
	log_warnx("hook: refused a delivery for environment %s from %s: %s",
	    env_uuid, addr, why);
	answer(res, 401, "refused", "the delivery is not signed with this "
	    "environment's hook secret");
}

/* Queues the build and deploy of the push, once per delivery id. */
static int
start(struct db *db, const struct config *cfg, const struct keys *k,
    const struct henv *e, const struct hook_push *p, const char *delivery,
    struct hook_result *res)
{
	struct deploy_req	 dr;
	struct row_id		 w;
	char			 envid[24], stale[16], err[768];
	const char		*q[3];
	int			 rc;

	snprintf(envid, sizeof(envid), "%lld", e->id);
	snprintf(stale, sizeof(stale), "%d", HOOK_CLAIM_STALE_MIN);
	q[0] = envid;
	q[1] = delivery;
	q[2] = stale;
	/* Claimed first: a redelivery arriving while this one plans finds it
	 * taken, whichever transaction commits first. */
	if (delivery != NULL) {
		if ((rc = row_get(db, &row_id_t, ST_HOOK_CLAIM, 3, q, &w)) == -1)
			return -1;
		if (rc == 0) {
			log_info("hook: environment %s: delivery already received, "
			    "nothing started", e->uuid);
			answer(res, 202, "duplicate", "already received: this "
			    "delivery was acted on before; nothing new started");
			return 0;
		}
	}
	memset(&dr, 0, sizeof(dr));
	dr.env_uuid = e->uuid;
	dr.commit = p->commit;
	rc = deploy_plan(db, cfg, k, &dr, res->operation, err, sizeof(err));
	if (rc != 0) {
		/* Not recorded: a redelivery may try again. */
		if (delivery != NULL) {
			PGresult *r = db_exec(db, ST_HOOK_UNCLAIM, 2, q);
			if (r == NULL)
				log_warnx("hook: environment %s: the delivery's "
				    "claim could not be released", e->uuid);
			PQclear(r);
		}
		res->operation[0] = '\0';
		if (rc == -1)
			return -1;
		log_warnx("hook: environment %s: push of %.12s not deployed: %s",
		    e->uuid, p->commit, err);
		answer(res, 409, "refused", "%s", err);
		return 0;
	}
	if (delivery != NULL) {
		q[2] = res->operation;
		if (row_get(db, &row_id_t, ST_HOOK_CLAIMED, 3, q, &w) != 1)
			log_warnx("hook: environment %s: operation %s queued, but "
			    "the delivery could not be recorded", e->uuid,
			    res->operation);
	}
	log_info("hook: environment %s: push of %.12s queued as operation %s",
	    e->uuid, p->commit, res->operation);
	answer(res, 202, "queued", "build and deploy of %s queued", p->commit);
	return 0;
}

int
hook_receive(struct db *db, const struct config *cfg, const struct keys *k,
    const char *env_uuid, const char *remote_addr, const struct hook_in *in,
    struct hook_result *res)
{
	struct henv	 e;
	struct hook_push p;
	enum hook_kind	 kind;
	char		 secret_hook[HOOK_SECRETLEN + 1];
	const char	*why = "", *delivery = NULL, *q[1];
	int		 rc = -1, found, status;

	memset(res, 0, sizeof(res[0]));
	memset(&e, 0, sizeof(e));
	if (valid_uuid(env_uuid) != NULL) {
		refuse(res, "(malformed)", remote_addr, "not an environment id");
		return 0;
	}
	q[0] = env_uuid;
	if ((found = row_get(db, &henv_t, ST_HOOK_ENV, 1, q, &e)) != 1) {
		if (found == 0) {
			refuse(res, env_uuid, remote_addr, "no such environment");
			rc = 0;
		}
		goto out;
	}
	hook_secret(secret_hook, k->hook, e.uuid, e.hook_version);
	found = hook_verify(secret_hook, in, &why);
	sodium_memzero(secret_hook, sizeof(secret_hook));
	rc = 0;
	if (found == -1) {
		refuse(res, e.uuid, remote_addr, why);
		goto out;
	}
	kind = hook_kind(in);
	if (!hook_is_push(in, kind, &why)) {
		answer(res, 202, "ignored", strcmp(why, "ping") == 0 ? "pong: "
		    "the hook works; pushes to %s deploy" : "%s: nothing started",
		    strcmp(why, "ping") == 0 ? e.branch : why);
		goto out;
	}
	if (hook_parse(in, kind, &p, &why, &status) == -1) {
		log_warnx("hook: environment %s: a signed delivery refused: %s",
		    e.uuid, why);
		answer(res, status, "malformed", "%s", why);
		goto out;
	}
	if (p.branch[0] == '\0') {
		answer(res, 202, "ignored", "not a branch (%s): nothing started",
		    p.ref);
		goto out;
	}
	if (strcmp(p.branch, e.branch) != 0) {
		answer(res, 202, "ignored", "a push to %s; this environment "
		    "deploys %s: nothing started", p.branch, e.branch);
		goto out;
	}
	if (p.deleted) {
		answer(res, 202, "ignored", "branch %s deleted: nothing started",
		    p.branch);
		goto out;
	}
	if (p.commit[0] == '\0') {
		answer(res, 400, "malformed", "the push names no commit (after)");
		goto out;
	}
	if (e.pinned_commit != NULL) {
		answer(res, 202, "ignored", "this environment is pinned at "
		    "commit %s: nothing started", e.pinned_commit);
		goto out;
	}
	if (hook_delivery(in, kind, &delivery) == -1) {
		answer(res, 400, "malformed", "the delivery id is malformed");
		goto out;
	}
	rc = start(db, cfg, k, &e, &p, delivery, res);
out:
	row_unfill(&henv_t, &e);
	return rc;
}

int
hook_env_secret(struct db *db, const struct keys *k, const char *app_uuid,
    const char *env_uuid, char secret_out[HOOK_SECRETLEN + 1])
{
	struct henv	 e;
	const char	*q[1] = { env_uuid };
	int		 rc;

	secret_out[0] = '\0';
	if ((rc = row_get(db, &henv_t, ST_HOOK_ENV, 1, q, &e)) == 1) {
		if (strcmp(e.app_uuid, app_uuid) == 0)
			hook_secret(secret_out, k->hook, e.uuid, e.hook_version);
		else
			rc = 0;
	}
	row_unfill(&henv_t, &e);
	return rc;
}

int
hook_rotate(struct db *db, const char *app_uuid, const char *env_uuid)
{
	struct row_id	 w;
	const char	*q[2] = { app_uuid, env_uuid };

	return row_get(db, &row_id_t, ST_HOOK_ROTATE, 2, q, &w);
}
