#define _GNU_SOURCE	/* memmem */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "sec.h"
#include "testutil.h"

static char dir[] = "/tmp/ks-sec-XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void
writefile(const char *path, const char *text, mode_t mode)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(key_generate_and_load)
{
	char		 path[256], err[256];
	unsigned char	 k1[SEC_KEYBYTES], k2[SEC_KEYBYTES];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	ck_assert_int_eq(sec_key_generate(path, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(sec_key_load(path, k1, err, sizeof(err)), 0);
	ck_assert_int_eq(sec_key_load(path, k2, err, sizeof(err)), 0);
	ck_assert_mem_eq(k1, k2, SEC_KEYBYTES);
	/* Never overwrites. */
	ck_assert_int_eq(sec_key_generate(path, err, sizeof(err)), -1);
	ck_assert_int_eq(sec_key_load(path, k2, err, sizeof(err)), 0);
	ck_assert_mem_eq(k1, k2, SEC_KEYBYTES);
}
END_TEST

START_TEST(key_refusals)
{
	char		 path[256], err[256];
	unsigned char	 k[SEC_KEYBYTES];
	const char	*hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

	snprintf(path, sizeof(path), "%s/missing.key", dir);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));

	snprintf(path, sizeof(path), "%s/open.key", dir);
	writefile(path, hex, 0640);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), -1);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/short.key", dir);
	writefile(path, "0011223344\n", 0600);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "malformed"));

	snprintf(path, sizeof(path), "%s/nothex.key", dir);
	writefile(path, "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), -1);

	snprintf(path, sizeof(path), "%s/long.key", dir);
	writefile(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\n", 0600);
	ck_assert_int_eq(sec_key_load(path, k, err, sizeof(err)), -1);

	ck_assert_int_eq(sec_key_load(dir, k, err, sizeof(err)), -1);	/* a directory */
}
END_TEST

START_TEST(seal_roundtrip_and_binding)
{
	unsigned char	 master[SEC_KEYBYTES], key[SEC_KEYBYTES], other[SEC_KEYBYTES];
	struct buf	 ct, pt;
	const char	*secret = "registry-password-canary-7f3a";

	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(master, sizeof(master));
	sec_subkey(key, master, SEC_SUB_SEAL);
	sec_subkey(other, master, SEC_SUB_CSRF);
	ck_assert_int_ne(memcmp(key, other, SEC_KEYBYTES), 0);
	buf_init(&ct);
	buf_init(&pt);
	ck_assert_int_eq(sec_seal(&ct, key, 1, "registry.password:1", secret,
	    strlen(secret)), 0);
	ck_assert_ptr_null(memmem(ct.ptr, ct.len, secret, strlen(secret)));
	ck_assert_int_eq(sec_open(&pt, key, "registry.password:1", ct.ptr, ct.len), 0);
	ck_assert_str_eq(buf_cstr(&pt), secret);
	/* Bound to its place: another row or column does not open it. */
	buf_reset(&pt);
	ck_assert_int_eq(sec_open(&pt, key, "registry.password:2", ct.ptr, ct.len), -1);
	ck_assert_int_eq(pt.len, 0);
	/* Another key does not open it. */
	ck_assert_int_eq(sec_open(&pt, other, "registry.password:1", ct.ptr, ct.len), -1);
	/* A flipped bit, a changed key version, truncation: refused. */
	ct.ptr[ct.len - 1] ^= 1;
	ck_assert_int_eq(sec_open(&pt, key, "registry.password:1", ct.ptr, ct.len), -1);
	ct.ptr[ct.len - 1] ^= 1;
	ct.ptr[4] ^= 1;
	ck_assert_int_eq(sec_open(&pt, key, "registry.password:1", ct.ptr, ct.len), -1);
	ct.ptr[4] ^= 1;
	ck_assert_int_eq(sec_open(&pt, key, "registry.password:1", ct.ptr, 10), -1);
	ck_assert_int_eq(sec_open(&pt, key, "registry.password:1", ct.ptr, ct.len), 0);
	buf_release(&ct);
	buf_release(&pt);
}
END_TEST

START_TEST(random_and_hash)
{
	char	 a[64], b[64], h1[65], h2[65];

	sec_random_b64(a, sizeof(a), 32);
	sec_random_b64(b, sizeof(b), 32);
	ck_assert_int_eq(strlen(a), 43);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	sec_hash_hex(h1, "abc");
	sec_hash_hex(h2, "abc");
	ck_assert_str_eq(h1, h2);
	ck_assert_int_eq(strlen(h1), 64);
	sec_hash_hex(h2, "abd");
	ck_assert_str_ne(h1, h2);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sec");
	TCase	*tc = tcase_create("sec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, key_generate_and_load);
	tcase_add_test(tc, key_refusals);
	tcase_add_test(tc, seal_roundtrip_and_binding);
	tcase_add_test(tc, random_and_hash);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
