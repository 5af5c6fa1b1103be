/* A Git host's webhook delivery, as the hook tests send it (tu_hook.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "tu_hook.h"

static size_t
collect(char *p, size_t sz, size_t n, void *arg)
{
	return buf_put(arg, p, sz * n) == 0 ? sz * n : 0;
}

long
tk_deliver(struct tk_reply *r, const char *env, const char *ctype, const char *body,
    size_t len, const char *const *hdrs)
{
	struct curl_slist	*h = NULL;
	CURL			*c;
	const char		*base = getenv("KS_URL"), *ca = getenv("KS_CA");
	char			 url[512], ct[128];
	CURLcode		 rc;

	ck_assert_msg(base != NULL && ca != NULL, "KS_URL or KS_CA is not set");
	buf_reset(&r->body);
	r->status = 0;
	ck_assert_ptr_nonnull(c = curl_easy_init());
	snprintf(url, sizeof(url), "%s/hooks/git/%s", base, env);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	h = curl_slist_append(h, ct);
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		h = curl_slist_append(h, hdrs[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	/* A 413 may come before the whole body was sent. */
	if (rc != CURLE_OK && r->status == 0)
		ck_abort_msg("POST %s: %s", url, curl_easy_strerror(rc));
	return r->status;
}

void
tk_gh_sign(char out[128], const char *secret, const char *body, size_t len)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[32];
	char				 hex[65];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(out, 128, "X-Hub-Signature-256: sha256=%s", hex);
}

long
tk_github(struct tk_reply *r, const char *env, const char *secret, const char *event,
    const char *id, const char *body)
{
	char	 sig[128], ev[64], del[256];
	const char *h[4] = { sig, ev, NULL, NULL };

	tk_gh_sign(sig, secret, body, strlen(body));
	snprintf(ev, sizeof(ev), "X-GitHub-Event: %s", event);
	if (id != NULL) {
		snprintf(del, sizeof(del), "X-GitHub-Delivery: %s", id);
		h[2] = del;
	}
	return tk_deliver(r, env, "application/json", body, strlen(body), h);
}

long
tk_gitlab(struct tk_reply *r, const char *env, const char *token, const char *event,
    const char *id, const char *body)
{
	char	 tok[160], ev[64], del[256];
	const char *h[4] = { tok, ev, NULL, NULL };

	snprintf(tok, sizeof(tok), "X-Gitlab-Token: %s", token);
	snprintf(ev, sizeof(ev), "X-Gitlab-Event: %s", event);
	if (id != NULL) {
		snprintf(del, sizeof(del), "X-Gitlab-Event-UUID: %s", id);
		h[2] = del;
	}
	return tk_deliver(r, env, "application/json", body, strlen(body), h);
}

void
tk_push_json(char *out, size_t sz, const char *ref, const char *after)
{
	snprintf(out, sz, "{\"ref\":\"%s\",\"before\":"
	    "\"1111111111111111111111111111111111111111\",\"after\":\"%s\","
	    "\"repository\":{\"full_name\":\"t/hook\"}}", ref, after);
}
