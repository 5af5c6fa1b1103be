/*
 * Deploy on push (lib/domain/hook.c) without the stack: the secret, the
 * GitHub and GitLab proofs, the push in the body and the delivery id.
 * Every expected MAC is computed by openssl, not by the code under test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hook.h"
#include "testutil.h"

static unsigned char	 key[SEC_KEYBYTES];
static char		 keyhex[2 * SEC_KEYBYTES + 1];

static const char	 env_uuid[] = "0f1e2d3c-4b5a-4697-8877-66554433aa11";
static const char	 push_body[] = "{\"ref\":\"refs/heads/main\","
	"\"before\":\"1111111111111111111111111111111111111111\","
	"\"after\":\"89abcdef0123456789abcdef0123456789abcdef\","
	"\"repository\":{\"full_name\":\"o/r\"}}";

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(0xa0 + i);
	sodium_bin2hex(keyhex, sizeof(keyhex), key, sizeof(key));
}

/* HMAC-SHA256 of data by openssl (mac_opt: "-macopt hexkey:HEX" or
 * "-macopt key:TEXT"), as lower-case hex into out. */
static void
openssl_hmac(char out[65], const char *mac_opt, const void *data, size_t len)
{
	char	 path[] = "/tmp/check_hook.XXXXXX", cmd[512], line[512], *p;
	FILE	*f;
	int	 fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -mac HMAC %s < '%s'",
	    mac_opt, path);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_int_eq(pclose(f), 0);
	unlink(path);
	ck_assert_ptr_nonnull(p = strstr(line, "= "));
	p += 2;
	p[strcspn(p, "\n")] = '\0';
	ck_assert_uint_eq(strlen(p), 64);
	memcpy(out, p, 65);
}

/* The secret is HMAC-SHA256(subkey, "keystone-hook:UUID:vN") in hex; a new
 * version, a new secret. */
START_TEST(secret_vector)
{
	char	 got[HOOK_SECRETLEN + 1], want[65], opt[128], msg[128];

	snprintf(opt, sizeof(opt), "-macopt hexkey:%s", keyhex);
	snprintf(msg, sizeof(msg), "keystone-hook:%s:v1", env_uuid);
	openssl_hmac(want, opt, msg, strlen(msg));
	hook_secret(got, key, env_uuid, 1);
	ck_assert_str_eq(got, want);
	snprintf(msg, sizeof(msg), "keystone-hook:%s:v2", env_uuid);
	openssl_hmac(want, opt, msg, strlen(msg));
	hook_secret(got, key, env_uuid, 2);
	ck_assert_str_eq(got, want);
	/* Another key: another secret. */
	key[0] ^= 1;
	hook_secret(want, key, env_uuid, 2);
	ck_assert_str_ne(got, want);
}
END_TEST

static void
github_in(struct hook_in *in, const char *sig, const char *body)
{
	memset(in, 0, sizeof(*in));
	in->ctype = "application/json";
	in->gh_signature = sig;
	in->gh_event = "push";
	in->body = body;
	in->len = strlen(body);
}

START_TEST(github_signature)
{
	struct hook_in	 in;
	char		 secret[HOOK_SECRETLEN + 1], other[HOOK_SECRETLEN + 1];
	char		 mac[65], opt[128], sig[80], bad[160], body[sizeof(push_body)];
	const char	*why;

	hook_secret(secret, key, env_uuid, 1);
	hook_secret(other, key, env_uuid, 2);
	snprintf(opt, sizeof(opt), "-macopt key:%s", secret);
	openssl_hmac(mac, opt, push_body, strlen(push_body));
	snprintf(sig, sizeof(sig), "sha256=%s", mac);

	github_in(&in, sig, push_body);
	ck_assert_int_eq(hook_kind(&in), HOOK_GITHUB);
	ck_assert_int_eq(hook_verify(secret, &in, &why), 0);
	/* The old secret after a rotation. */
	why = NULL;
	ck_assert_int_eq(hook_verify(other, &in, &why), -1);
	ck_assert_str_eq(why, "X-Hub-Signature-256 does not match the body");
	/* One byte of the body changed. */
	memcpy(body, push_body, sizeof(body));
	body[strlen(body) - 3] ^= 1;
	github_in(&in, sig, body);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	/* One digit of the MAC changed. */
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[7] = bad[7] == '0' ? '1' : '0';
	github_in(&in, bad, push_body);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	ck_assert_str_eq(why, "X-Hub-Signature-256 does not match the body");
	/* Malformed headers. */
	const char *malformed[] = {
		"", "sha256=", mac, "sha1=0123456789abcdef0123456789abcdef01234567",
		"sha256=zz", "SHA256=x", NULL,
	};
	for (size_t i = 0; malformed[i] != NULL; i++) {
		github_in(&in, malformed[i], push_body);
		why = NULL;
		ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
		ck_assert_msg(why != NULL && strcmp(why,
		    "malformed X-Hub-Signature-256") == 0, "%s: %s", malformed[i],
		    why);
	}
	/* Too short, too long, a space inside. */
	snprintf(bad, sizeof(bad), "%.70s", sig);
	github_in(&in, bad, push_body);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	snprintf(bad, sizeof(bad), "%s0", sig);
	github_in(&in, bad, push_body);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[20] = ' ';
	github_in(&in, bad, push_body);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	ck_assert_str_eq(why, "malformed X-Hub-Signature-256");
	/* An empty body signed is still checked. */
	openssl_hmac(mac, opt, "", 0);
	snprintf(sig, sizeof(sig), "sha256=%s", mac);
	github_in(&in, sig, "");
	ck_assert_int_eq(hook_verify(secret, &in, &why), 0);
}
END_TEST

START_TEST(gitlab_token)
{
	struct hook_in	 in;
	char		 secret[HOOK_SECRETLEN + 1], t[2 * HOOK_SECRETLEN];
	const char	*why;

	hook_secret(secret, key, env_uuid, 3);
	memset(&in, 0, sizeof(in));
	in.secret_gl_token = secret;
	ck_assert_int_eq(hook_kind(&in), HOOK_GITLAB);
	ck_assert_int_eq(hook_verify(secret, &in, &why), 0);
	/* The same length, one character off; shorter; longer; empty. */
	snprintf(t, sizeof(t), "%s", secret);
	t[HOOK_SECRETLEN - 1] = t[HOOK_SECRETLEN - 1] == 'a' ? 'b' : 'a';
	in.secret_gl_token = t;
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	ck_assert_str_eq(why, "X-Gitlab-Token is not this environment's secret");
	snprintf(t, sizeof(t), "%.63s", secret);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	snprintf(t, sizeof(t), "%sa", secret);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	in.secret_gl_token = "";
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	/* Neither header. */
	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(hook_kind(&in), HOOK_NONE);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
	ck_assert_str_eq(why, "no X-Hub-Signature-256 or X-Gitlab-Token header");
	/* Both: GitHub's signature is the one checked (a right token does not
	 * excuse a wrong signature). */
	in.secret_gl_token = secret;
	in.gh_signature = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
	in.body = "{}";
	in.len = 2;
	ck_assert_int_eq(hook_kind(&in), HOOK_GITHUB);
	ck_assert_int_eq(hook_verify(secret, &in, &why), -1);
}
END_TEST

START_TEST(events)
{
	struct hook_in	 in;
	const char	*why = NULL;

	memset(&in, 0, sizeof(in));
	in.gh_event = "push";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITHUB, &why), 1);
	in.gh_event = "ping";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITHUB, &why), 0);
	ck_assert_str_eq(why, "ping");
	in.gh_event = "pull_request";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITHUB, &why), 0);
	ck_assert_str_eq(why, "not a push event");
	in.gh_event = NULL;
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITHUB, &why), 0);
	ck_assert_str_eq(why, "no X-GitHub-Event header");
	/* GitLab's own names; GitHub's header does not count for it. */
	in.gh_event = "push";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITLAB, &why), 0);
	in.gl_event = "Push Hook";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITLAB, &why), 1);
	in.gl_event = "Tag Push Hook";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITLAB, &why), 0);
	in.gl_event = "push hook";
	ck_assert_int_eq(hook_is_push(&in, HOOK_GITLAB, &why), 0);
}
END_TEST

static int
parse(const char *ctype, const char *body, enum hook_kind kind,
    struct hook_push *p, int *status, const char **why)
{
	struct hook_in	 in;

	memset(&in, 0, sizeof(in));
	in.ctype = ctype;
	in.body = body;
	in.len = strlen(body);
	*status = 0;
	*why = NULL;
	return hook_parse(&in, kind, p, why, status);
}

START_TEST(push_body_parsed)
{
	struct hook_push p;
	const char	*why;
	int		 st;

	ck_assert_int_eq(parse("application/json", push_body, HOOK_GITHUB, &p,
	    &st, &why), 0);
	ck_assert_str_eq(p.branch, "main");
	ck_assert_str_eq(p.commit, "89abcdef0123456789abcdef0123456789abcdef");
	ck_assert_int_eq(p.deleted, 0);
	/* A charset parameter, any case. */
	ck_assert_int_eq(parse("Application/JSON; charset=utf-8", push_body,
	    HOOK_GITHUB, &p, &st, &why), 0);
	/* GitHub's form-encoded payload. */
	ck_assert_int_eq(parse("application/x-www-form-urlencoded",
	    "payload=%7B%22ref%22%3A%22refs%2Fheads%2Ffeature%2Fx%22%2C%22after"
	    "%22%3A%2200112233445566778899aabbccddeeff00112233%22%7D", HOOK_GITHUB,
	    &p, &st, &why), 0);
	ck_assert_str_eq(p.branch, "feature/x");
	ck_assert_str_eq(p.commit, "00112233445566778899aabbccddeeff00112233");
	/* ... which GitLab never sends. */
	ck_assert_int_eq(parse("application/x-www-form-urlencoded",
	    "payload=%7B%7D", HOOK_GITLAB, &p, &st, &why), -1);
	ck_assert_int_eq(st, 415);
	ck_assert_int_eq(parse("application/x-www-form-urlencoded", "a=1",
	    HOOK_GITHUB, &p, &st, &why), -1);
	ck_assert_int_eq(st, 400);
	/* Other content types. */
	ck_assert_int_eq(parse("text/plain", push_body, HOOK_GITHUB, &p, &st,
	    &why), -1);
	ck_assert_int_eq(st, 415);
	ck_assert_int_eq(parse(NULL, push_body, HOOK_GITHUB, &p, &st, &why), -1);
	ck_assert_int_eq(st, 415);
	ck_assert_int_eq(parse("application/jsonx", push_body, HOOK_GITHUB, &p,
	    &st, &why), -1);
	ck_assert_int_eq(st, 415);
	/* Not JSON, not an object, no ref. */
	ck_assert_int_eq(parse("application/json", "{\"ref\":", HOOK_GITHUB, &p,
	    &st, &why), -1);
	ck_assert_int_eq(st, 400);
	ck_assert_int_eq(parse("application/json", "[1]", HOOK_GITHUB, &p, &st,
	    &why), -1);
	ck_assert_int_eq(parse("application/json", "{\"after\":\"x\"}",
	    HOOK_GITHUB, &p, &st, &why), -1);
	ck_assert_str_eq(why, "the push names no ref");
	/* A tag: no branch. */
	ck_assert_int_eq(parse("application/json", "{\"ref\":\"refs/tags/v1\","
	    "\"after\":\"89abcdef0123456789abcdef0123456789abcdef\"}", HOOK_GITHUB,
	    &p, &st, &why), 0);
	ck_assert_str_eq(p.branch, "");
	ck_assert_str_eq(p.ref, "refs/tags/v1");
	/* A deletion. */
	ck_assert_int_eq(parse("application/json", "{\"ref\":\"refs/heads/main\","
	    "\"after\":\"0000000000000000000000000000000000000000\"}", HOOK_GITHUB,
	    &p, &st, &why), 0);
	ck_assert_int_eq(p.deleted, 1);
	ck_assert_str_eq(p.commit, "");
	/* A commit that is not one. */
	ck_assert_int_eq(parse("application/json", "{\"ref\":\"refs/heads/main\","
	    "\"after\":\"$(reboot)\"}", HOOK_GITHUB, &p, &st, &why), 0);
	ck_assert_str_eq(p.commit, "");
	/* GitLab: checkout_sha when after is not usable. */
	ck_assert_int_eq(parse("application/json", "{\"ref\":\"refs/heads/dev\","
	    "\"after\":null,\"checkout_sha\":"
	    "\"fedcba9876543210fedcba9876543210fedcba98\"}", HOOK_GITLAB, &p, &st,
	    &why), 0);
	ck_assert_str_eq(p.branch, "dev");
	ck_assert_str_eq(p.commit, "fedcba9876543210fedcba9876543210fedcba98");
	ck_assert_int_eq(parse("application/json", "{\"ref\":\"refs/heads/dev\","
	    "\"after\":\"0000000000000000000000000000000000000000\","
	    "\"checkout_sha\":null}", HOOK_GITLAB, &p, &st, &why), 0);
	ck_assert_int_eq(p.deleted, 1);
}
END_TEST

START_TEST(delivery_ids)
{
	struct hook_in	 in;
	const char	*id;
	char		 longid[HOOK_MAX_DELIVERY + 2];

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITHUB, &id), 0);
	ck_assert_ptr_null(id);
	in.gh_delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
	in.gl_delivery = "gl-1";
	in.idempotency_key = "idem-1";
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITHUB, &id), 1);
	ck_assert_str_eq(id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), 1);
	ck_assert_str_eq(id, "gl-1");
	in.gl_delivery = NULL;
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), 1);
	ck_assert_str_eq(id, "idem-1");
	in.idempotency_key = "";
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), -1);
	in.idempotency_key = "a b";
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), -1);
	in.idempotency_key = "a\x01";
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), -1);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	in.idempotency_key = longid;
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), -1);
	longid[HOOK_MAX_DELIVERY] = '\0';
	ck_assert_int_eq(hook_delivery(&in, HOOK_GITLAB, &id), 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("hook");
	TCase	*tc = tcase_create("hook");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, secret_vector);
	tcase_add_test(tc, github_signature);
	tcase_add_test(tc, gitlab_token);
	tcase_add_test(tc, events);
	tcase_add_test(tc, push_body_parsed);
	tcase_add_test(tc, delivery_ids);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
