/* Which program holds which key, and the sealed form the web app writes. */
#include <check.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "keys.h"
#include "sec.h"
#include "testutil.h"

static unsigned char	 master[SEC_KEYBYTES];

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(master, sizeof(master));
}

/* The web set has every subkey but nothing that opens; the opener's
 * subkeys are the same ones. */
START_TEST(web_holds_no_opening_key)
{
	struct keys	 web, op;
	unsigned char	 zero[SEC_KEYBYTES], seed[SEC_KEYBYTES];
	unsigned char	 pk[KEYS_PKBYTES], sk[KEYS_SKBYTES], legacy[SEC_KEYBYTES];

	memset(zero, 0, sizeof(zero));
	keys_derive(&web, master, KEYS_WEB);
	keys_derive(&op, master, KEYS_OPENER);
	ck_assert_int_eq(web.can_open, 0);
	ck_assert_int_eq(op.can_open, 1);
	ck_assert(memcmp(web.seal_sk, zero, sizeof(web.seal_sk)) == 0);
	ck_assert(memcmp(web.legacy, zero, sizeof(web.legacy)) == 0);
	ck_assert(memcmp(web.csrf, op.csrf, sizeof(web.csrf)) == 0);
	ck_assert(memcmp(web.token, op.token, sizeof(web.token)) == 0);
	ck_assert(memcmp(web.prov, op.prov, sizeof(web.prov)) == 0);
	ck_assert(memcmp(web.hook, op.hook, sizeof(web.hook)) == 0);
	ck_assert(memcmp(web.login, op.login, sizeof(web.login)) == 0);
	ck_assert(memcmp(web.seal_pk, op.seal_pk, sizeof(web.seal_pk)) == 0);
	/* The pair is the one its seed makes; the legacy key is SEC_SUB_SEAL. */
	sec_subkey(seed, master, SEC_SUB_SEALBOX);
	crypto_box_seed_keypair(pk, sk, seed);
	ck_assert(memcmp(pk, op.seal_pk, sizeof(pk)) == 0);
	ck_assert(memcmp(sk, op.seal_sk, sizeof(sk)) == 0);
	sec_subkey(legacy, master, SEC_SUB_SEAL);
	ck_assert(memcmp(legacy, op.legacy, sizeof(legacy)) == 0);
	/* Separate purposes, separate keys. */
	ck_assert(memcmp(web.csrf, web.token, sizeof(web.csrf)) != 0);
	ck_assert(memcmp(web.prov, web.hook, sizeof(web.prov)) != 0);
	ck_assert(memcmp(web.login, web.csrf, sizeof(web.login)) != 0);
	keys_release(&web);
	ck_assert(memcmp(web.csrf, zero, sizeof(zero)) == 0);
	keys_release(&op);
}
END_TEST

/* The web app seals; only the opener opens, and only at the same place. */
START_TEST(seal_and_open)
{
	struct keys	 web, op;
	struct buf	 pt;
	char		*b64 = NULL, *b64b = NULL;

	keys_derive(&web, master, KEYS_WEB);
	keys_derive(&op, master, KEYS_OPENER);
	buf_init(&pt);
	ck_assert_int_eq(keys_seal_b64(&b64, &web, "operation_secrets:7:TOKEN",
	    "s3cret value", 12), 0);
	ck_assert_ptr_null(strstr(b64, "s3cret"));
	/* The web set cannot open what it sealed. */
	ck_assert_int_eq(keys_open_b64(&pt, &web, "operation_secrets:7:TOKEN", b64), -1);
	ck_assert_int_eq(pt.len, 0);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "operation_secrets:7:TOKEN", b64), 0);
	ck_assert_str_eq(buf_cstr(&pt), "s3cret value");
	buf_reset(&pt);
	/* Bound to its row: another AD (a prefix too) does not open it. */
	ck_assert_int_eq(keys_open_b64(&pt, &op, "operation_secrets:8:TOKEN", b64), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "operation_secrets:7:TOKE", b64), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "", b64), -1);
	/* Random each time; a changed byte does not open. */
	ck_assert_int_eq(keys_seal_b64(&b64b, &web, "x", "v", 1), 0);
	ck_assert_str_ne(b64, b64b);
	b64[10] = b64[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(keys_open_b64(&pt, &op, "operation_secrets:7:TOKEN", b64), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "x", "not base64 !"), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "x", ""), -1);
	/* Another master key's opener cannot open it. */
	{
		unsigned char other[SEC_KEYBYTES];
		struct keys ok2;
		randombytes_buf(other, sizeof(other));
		keys_derive(&ok2, other, KEYS_OPENER);
		ck_assert_int_eq(keys_open_b64(&pt, &ok2, "x", b64b), -1);
		keys_release(&ok2);
	}
	ck_assert_int_eq(keys_open_b64(&pt, &op, "x", b64b), 0);
	ck_assert_str_eq(buf_cstr(&pt), "v");
	free(b64);
	free(b64b);
	buf_release(&pt);
	keys_release(&web);
	keys_release(&op);
}
END_TEST

/* Values sealed before the key pair (symmetric 'K' form) still open, for
 * the opener only. */
START_TEST(legacy_values_open)
{
	struct keys	 web, op;
	struct buf	 pt;
	unsigned char	 legacy[SEC_KEYBYTES];
	char		*b64 = NULL;

	keys_derive(&web, master, KEYS_WEB);
	keys_derive(&op, master, KEYS_OPENER);
	buf_init(&pt);
	sec_subkey(legacy, master, SEC_SUB_SEAL);
	ck_assert_int_eq(sec_seal_b64(&b64, legacy, 1, "registry_credentials:"
	    "build:ks-build:v1", "old password", 12), 0);
	ck_assert_int_eq(keys_open_b64(&pt, &web, "registry_credentials:build:"
	    "ks-build:v1", b64), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "registry_credentials:build:"
	    "ks-build:v1", b64), 0);
	ck_assert_str_eq(buf_cstr(&pt), "old password");
	free(b64);
	buf_release(&pt);
	keys_release(&web);
	keys_release(&op);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("keys");
	TCase	*tc = tcase_create("keys");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, web_holds_no_opening_key);
	tcase_add_test(tc, seal_and_open);
	tcase_add_test(tc, legacy_values_open);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
