/* Password hashing, CSRF tokens and session identifiers. */
#include <check.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "csrf.h"
#include "model.h"
#include "pw.h"
#include "session.h"
#include "testutil.h"

START_TEST(pw_hash_verify)
{
	char	 h[PW_HASHBYTES], h2[PW_HASHBYTES];

	ck_assert_int_eq(pw_hash(h, "correct horse battery"), 0);
	ck_assert_ptr_nonnull(strstr(h, "$argon2id$"));
	ck_assert_ptr_null(strstr(h, "correct horse"));
	ck_assert_int_eq(pw_verify(h, "correct horse battery"), 0);
	ck_assert_int_eq(pw_verify(h, "correct horse batterz"), -1);
	ck_assert_int_eq(pw_verify(h, ""), -1);
	ck_assert_int_eq(pw_verify("not a hash", "x"), -1);
	/* Salted: the same password hashes differently. */
	ck_assert_int_eq(pw_hash(h2, "correct horse battery"), 0);
	ck_assert_str_ne(h, h2);
	ck_assert_int_eq(pw_needs_rehash(h), 0);
}
END_TEST

START_TEST(pw_rehash_weak)
{
	char	 weak[crypto_pwhash_STRBYTES];

	/* Below the INTERACTIVE limits: flagged for rehash. */
	ck_assert_int_eq(crypto_pwhash_str(weak, "pw", 2, 1, 8192), 0);
	ck_assert_int_eq(pw_verify(weak, "pw"), 0);
	ck_assert_int_eq(pw_needs_rehash(weak), 1);
}
END_TEST

START_TEST(pw_check_in_child)
{
	char	 h[PW_HASHBYTES], weak[crypto_pwhash_STRBYTES], nh[PW_HASHBYTES];

	/* No dummy hash yet: an unknown user is an error, not a fast no. */
	ck_assert_int_eq(pw_check(NULL, "anything at all", nh), -1);
	ck_assert_int_eq(pw_init(), 0);
	ck_assert_int_eq(pw_hash(h, "correct horse battery"), 0);
	ck_assert_int_eq(pw_check(h, "correct horse battery", nh), 1);
	ck_assert_str_eq(nh, "");			/* current limits: no rehash */
	ck_assert_int_eq(pw_check(h, "wrong horse battery", nh), 0);
	ck_assert_int_eq(pw_check(NULL, "anything at all", nh), 0);	/* dummy */
	ck_assert_int_eq(pw_check("garbage", "anything at all", nh), 0);
	/* A weak hash that matches comes back with its replacement. */
	ck_assert_int_eq(crypto_pwhash_str(weak, "pw", 2, 1, 8192), 0);
	ck_assert_int_eq(pw_check(weak, "pw", nh), 1);
	ck_assert_ptr_nonnull(strstr(nh, "$argon2id$"));
	ck_assert_int_eq(pw_needs_rehash(nh), 0);
	ck_assert_int_eq(pw_verify(nh, "pw"), 0);
	ck_assert_int_eq(pw_check(weak, "px", nh), 0);
	ck_assert_str_eq(nh, "");
}
END_TEST

/*
 * Login timing: an unknown user and a known user with a wrong password each
 * cost exactly one argon2id run (hash computations and verifications
 * counted together, the child's included). A dummy hash built in the child
 * would make the unknown user cost two, and tell which names exist.
 */
START_TEST(pw_check_one_run_each)
{
	char		 h[PW_HASHBYTES], nh[PW_HASHBYTES];
	unsigned long	 n;

	ck_assert_int_eq(pw_init(), 0);
	ck_assert_int_eq(pw_hash(h, "correct horse battery"), 0);
	for (int i = 0; i < 2; i++) {
		n = pw_runs();
		ck_assert_int_eq(pw_check(NULL, "a guessed password", nh), 0);
		ck_assert_msg(pw_runs() - n == 1, "unknown user: %lu argon2id "
		    "runs (want 1)", pw_runs() - n);
		n = pw_runs();
		ck_assert_int_eq(pw_check(h, "a guessed password", nh), 0);
		ck_assert_msg(pw_runs() - n == 1, "known user, wrong password: "
		    "%lu argon2id runs (want 1)", pw_runs() - n);
	}
	/* The counter sees the child's runs: a match costs one too. */
	n = pw_runs();
	ck_assert_int_eq(pw_check(h, "correct horse battery", nh), 1);
	ck_assert_uint_eq(pw_runs() - n, 1);
}
END_TEST

/* What login_attempts and the log hold for a sign-in name. */
START_TEST(login_names)
{
	unsigned char	 k1[32], k2[32];
	char		 a[M_LOGIN_NAMELEN], b[M_LOGIN_NAMELEN];
	const char	*typed = "Hunter2-my-real-password";

	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	/* A known name stays readable. */
	m_login_name(a, k1, "alice", 1);
	ck_assert_str_eq(a, "alice");
	/* An unknown one: "?" and 16 hex digits, nothing of what was typed. */
	m_login_name(a, k1, typed, 0);
	ck_assert_uint_eq(strlen(a), 17);
	ck_assert_int_eq(a[0], '?');
	ck_assert_uint_eq(strspn(a + 1, "0123456789abcdef"), 16);
	ck_assert_ptr_null(strstr(a, "Hunter2"));
	/* The same name maps to the same form (throttling counts it)... */
	m_login_name(b, k1, typed, 0);
	ck_assert_str_eq(a, b);
	/* ...another name or another key to another one. */
	m_login_name(b, k1, "Hunter2-my-real-passwore", 0);
	ck_assert_str_ne(a, b);
	m_login_name(b, k2, typed, 0);
	ck_assert_str_ne(a, b);
	/* Never a valid username (users.username is [a-z_][a-z0-9_.-]*). */
	m_login_name(b, k1, "alice", 0);
	ck_assert_int_eq(b[0], '?');
}
END_TEST

START_TEST(pw_policy_rules)
{
	char	 big[PW_MAXLEN + 2];

	ck_assert_ptr_nonnull(pw_policy("short"));
	ck_assert_ptr_null(pw_policy("twelve chars"));
	/* Twelve code points, more bytes. */
	ck_assert_ptr_null(pw_policy("ééééééééééé1"));
	ck_assert_ptr_nonnull(pw_policy("ééééééééééé"));
	ck_assert_ptr_nonnull(pw_policy("\xff\xfe invalid utf8 x"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_nonnull(pw_policy(big));
}
END_TEST

START_TEST(csrf_tokens)
{
	unsigned char	 k[SEC_KEYBYTES], k2[SEC_KEYBYTES];
	char		 t[CSRF_TOKENLEN], t2[CSRF_TOKENLEN];

	randombytes_buf(k, sizeof(k));
	randombytes_buf(k2, sizeof(k2));
	csrf_token(t, k, "session-a");
	ck_assert_int_eq(strlen(t), CSRF_TOKENLEN - 1);
	ck_assert_int_eq(csrf_check(k, "session-a", t), 0);
	ck_assert_int_eq(csrf_check(k, "session-b", t), -1);	/* other session */
	ck_assert_int_eq(csrf_check(k2, "session-a", t), -1);	/* other key */
	ck_assert_int_eq(csrf_check(k, "session-a", NULL), -1);
	ck_assert_int_eq(csrf_check(k, "session-a", ""), -1);
	memcpy(t2, t, sizeof(t));
	t2[5] = t2[5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(csrf_check(k, "session-a", t2), -1);
	t2[5] = t[5];
	t2[CSRF_TOKENLEN - 2] = '\0';	/* truncated */
	ck_assert_int_eq(csrf_check(k, "session-a", t2), -1);
	csrf_token(t2, k, "session-a");
	ck_assert_str_eq(t, t2);	/* stable for a session */
}
END_TEST

START_TEST(session_ids)
{
	char		 id[SESS_IDLEN], id2[SESS_IDLEN], h[65], h2[65];
	struct buf	 b;

	sess_new(id, h);
	sess_new(id2, h2);
	ck_assert_int_eq(strlen(id), 43);	/* 256 bits */
	ck_assert_str_ne(id, id2);
	ck_assert_str_ne(h, id);
	ck_assert_int_eq(sess_hash(id, h2), 0);
	ck_assert_str_eq(h, h2);
	ck_assert_int_eq(sess_hash("short", h2), -1);
	ck_assert_int_eq(sess_hash("0123456789012345678901234567890123456789;ab", h2), -1);
	ck_assert_int_eq(sess_hash("", h2), -1);

	buf_init(&b);
	ck_assert_int_eq(sess_cookie(&b, SESS_COOKIE, id, -1), 0);
	ck_assert_ptr_nonnull(strstr(b.ptr, "__Host-keystone="));
	ck_assert_ptr_nonnull(strstr(b.ptr, "; Path=/"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "; Secure"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "; HttpOnly"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "; SameSite=Lax"));
	ck_assert_ptr_null(strstr(b.ptr, "Domain"));
	ck_assert_ptr_null(strstr(b.ptr, "Max-Age"));
	buf_reset(&b);
	ck_assert_int_eq(sess_cookie(&b, SESS_COOKIE, "", 0), 0);
	ck_assert_ptr_nonnull(strstr(b.ptr, "Max-Age=0"));
	buf_release(&b);
}
END_TEST

START_TEST(session_expiry)
{
	/* idle 30 min, absolute 12 h */
	const long	 idle = 1800, max = 12 * 3600;
	const time_t	 t0 = 1000000;

	ck_assert_int_eq(sess_expired(t0, t0, t0 + 10, idle, max), 0);
	ck_assert_int_eq(sess_expired(t0, t0, t0 + idle, idle, max), 0);
	ck_assert_int_eq(sess_expired(t0, t0, t0 + idle + 1, idle, max), 1);
	/* Active, but past the absolute limit. */
	ck_assert_int_eq(sess_expired(t0, t0 + max, t0 + max + 1, idle, max), 1);
	/* Clock went backwards. */
	ck_assert_int_eq(sess_expired(t0, t0, t0 - 1, idle, max), 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("auth");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pw_hash_verify);
	tcase_add_test(tc, pw_rehash_weak);
	tcase_add_test(tc, pw_check_in_child);
	tcase_add_test(tc, pw_check_one_run_each);
	tcase_add_test(tc, login_names);
	tcase_add_test(tc, pw_policy_rules);
	tcase_add_test(tc, csrf_tokens);
	tcase_add_test(tc, session_ids);
	tcase_add_test(tc, session_expiry);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
