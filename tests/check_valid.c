/*
 * Unit tests for lib/core/valid.c: accepted and rejected values for every
 * validator, with attention to what would matter on a command line (shell
 * metacharacters, leading '-') and to names being stored verbatim.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "valid.h"
#include "testutil.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

typedef const char *(*validator)(const char *);

/* Every value in good must pass, every one in bad must fail with a
 * non-empty message; the input must come back untouched either way. */
static void
run(const char *what, validator fn, const char *const *good, size_t ngood,
    const char *const *bad, size_t nbad)
{
	const char	*msg;
	char		*copy;
	size_t		 i;

	for (i = 0; i < ngood; i++) {
		copy = strdup(good[i]);
		ck_assert_ptr_nonnull(copy);
		msg = fn(copy);
		ck_assert_msg(msg == NULL, "%s(\"%s\") rejected: %s", what,
		    good[i], msg);
		ck_assert_str_eq(copy, good[i]);
		free(copy);
	}
	for (i = 0; i < nbad; i++) {
		copy = strdup(bad[i]);
		ck_assert_ptr_nonnull(copy);
		msg = fn(copy);
		ck_assert_msg(msg != NULL && msg[0] != '\0',
		    "%s(\"%s\") accepted", what, bad[i]);
		ck_assert_str_eq(copy, bad[i]);
		free(copy);
	}
}

#define RUN(fn, good, bad) \
	run(#fn, fn, good, NELEM(good), bad, NELEM(bad))

/* n copies of unit, malloc'd. */
static char *
rep(const char *unit, size_t n)
{
	size_t	 ul = strlen(unit), i;
	char	*s = malloc(ul * n + 1);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* A hostname of exactly n bytes made of 63-byte labels ("aaa...a.aaa..."). */
static char *
host_of_len(size_t n)
{
	char	*s = malloc(n + 1);
	size_t	 i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		s[i] = i % 64 == 63 ? '.' : 'a';
	s[n] = '\0';
	ck_assert_int_ne(s[n - 1], '.');
	return s;
}

START_TEST(test_name)
{
	static const char *const good[] = {
		"web-1", "Production", "x", "  padded  ", "a b",
		"'; DROP TABLE x; --", "<script>alert(1)</script>",
		"\"quoted\" & 'single'", "$(rm -rf /) `id` ; |",
		"Caf\xC3\xA9", "\xE5\x90\x8D\xE5\x89\x8D",
		"\xF0\x9F\x9A\x80 launch", " \xC2\xA0x",
		"%00", "\\n",
	};
	static const char *const bad[] = {
		"", " ", "     ", "\xC2\xA0", "\xE3\x80\x80",
		" \xE2\x80\x83 ",		/* em space */
		"a\nb", "a\rb", "tab\there", "\x1b[31mred", "bell\x07",
		"del\x7f", "nel\xC2\x85", "csi\xC2\x9B",
		"bad\xff", "over\xC0\xAF", "sur\xED\xA0\x80",
	};
	char	*s;

	RUN(valid_name, good, bad);

	/* 100 code points is the limit, whatever their byte length. */
	s = rep("a", 100);
	ck_assert_ptr_null(valid_name(s));
	free(s);
	s = rep("a", 101);
	ck_assert_ptr_nonnull(valid_name(s));
	free(s);
	s = rep("\xC3\xA9", 100);			/* 200 bytes */
	ck_assert_ptr_null(valid_name(s));
	free(s);
	s = rep("\xC3\xA9", 101);
	ck_assert_ptr_nonnull(valid_name(s));
	free(s);
	s = rep("\xE5\x90\x8D", 100);			/* 300 bytes */
	ck_assert_ptr_null(valid_name(s));
	free(s);
	s = rep("\xF0\x9F\x9A\x80", 100);		/* 400 bytes */
	ck_assert_ptr_null(valid_name(s));
	free(s);
	s = rep("\xF0\x9F\x9A\x80", 101);
	ck_assert_ptr_nonnull(valid_name(s));
	free(s);
}
END_TEST

START_TEST(test_host)
{
	static const char *const good[] = {
		"example.com", "localhost", "a", "web-01.internal",
		"EXAMPLE.Com", "3com.net", "1a.example", "xn--bcher-kva.ch",
		"1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.1",
		"::1", "::", "2001:db8::1", "fe80::1:2:3:4",
		"2001:0db8:0000:0000:0000:ff00:0042:8329",
		"::ffff:192.0.2.1",
	};
	static const char *const bad[] = {
		"", ".", "-oProxyCommand=id", "-host", "host-", "a.-b",
		"a-.b", "a..b", ".a", "a.", "a_b", "a b", " a", "a ",
		"host;id", "host$(id)", "$(id)", "`id`", "host`id`",
		"host\nid", "host\n", "host|id", "host&", "a/b", "a:b",
		"user@host", "h\xC3\xA9.com", "256.1.1.1", "1.2.3",
		"1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", "999", "[::1]",
		"fe80::1%eth0", "1::2::3", "2001:db8::g", "::1]",
	};
	char	*s, *label;

	RUN(valid_host, good, bad);

	/* 63-byte labels, 253-byte names. */
	label = rep("a", 63);
	ck_assert_ptr_null(valid_host(label));
	free(label);
	label = rep("a", 64);
	ck_assert_ptr_nonnull(valid_host(label));
	free(label);
	/* Names of 63-byte labels: length alone decides. */
	s = host_of_len(253);
	ck_assert_ptr_null(valid_host(s));
	free(s);
	s = host_of_len(254);
	ck_assert_ptr_nonnull(valid_host(s));
	free(s);
	s = host_of_len(300);
	ck_assert_ptr_nonnull(valid_host(s));
	free(s);
}
END_TEST

START_TEST(test_port)
{
	static const struct {
		const char	*s;
		int		 want;
	} good[] = {
		{ "1", 1 }, { "22", 22 }, { "8080", 8080 },
		{ "65535", 65535 }, { "0443", 443 },
	};
	static const char *const bad[] = {
		"", "0", "00", "65536", "99999", "-1", "-22", "+22", " 22",
		"22 ", "2 2", "0x16", "22a", "a22", "22;id", "1e3", "22.0",
		"-", "99999999999999999999999999",
	};
	size_t	 i;
	int	 p;

	for (i = 0; i < NELEM(good); i++) {
		p = -7;
		ck_assert_msg(valid_port(good[i].s, &p) == NULL,
		    "valid_port(\"%s\") rejected", good[i].s);
		ck_assert_int_eq(p, good[i].want);
	}
	for (i = 0; i < NELEM(bad); i++) {
		p = -7;
		ck_assert_msg(valid_port(bad[i], &p) != NULL,
		    "valid_port(\"%s\") accepted", bad[i]);
		/* Not touched on failure. */
		ck_assert_int_eq(p, -7);
	}
	ck_assert_ptr_null(valid_port("80", NULL));
}
END_TEST

START_TEST(test_unix_user)
{
	static const char *const good[] = {
		"deploy", "_svc", "a", "www-data", "a_b-9", "_", "git",
		"abcdefghijklmnopqrstuvwxyz012345",		/* 32 */
	};
	static const char *const bad[] = {
		"", "Root", "deployA", "9user", "-x", "-oProxyCommand",
		"a b", "a;id", "a$(id)", "$(id)", "`id`", "a`id`", "a\n",
		"a\nb", "a.b", "a@b", "a/b", "a:b", "\xC3\xBC", "a\xC3\xBC",
		"abcdefghijklmnopqrstuvwxyz0123456",		/* 33 */
	};

	RUN(valid_unix_user, good, bad);
}
END_TEST

START_TEST(test_git_url)
{
	static const char *const good[] = {
		"https://github.com/org/repo.git",
		"https://github.com/org/repo",
		"http://git.internal:8080/r.git",
		"https://user:tok%40en@host.example/r.git",
		"ssh://git@host.example/srv/repo.git",
		"ssh://git@host.example:2222/srv/repo.git",
		"ssh://host/~user/repo",
		"ssh://git@[::1]:2222/repo",
		"ssh://[2001:db8::1]/repo",
		"ssh://10.0.0.5/repo",
		"git://host/repo",
		"file:///srv/git/repo.git",
		"file://localhost/srv/repo",
		"git@github.com:org/repo.git",
		"deploy_user@10.1.2.3:/srv/repo.git",
		"git@[2001:db8::1]:repo.git",
		"git@host:~/repo+x=y,z",
	};
	static const char *const bad[] = {
		"", "-u", "--upload-pack=touch /tmp/x",
		"https://host/repo;id", "https://host/repo;rm -rf ~",
		"https://host/$(id)", "https://host/`id`",
		"https://host/repo\nid", "https://host/repo\n",
		"https://host/re po", "https://ho\tst/r", "https://host/r\x7f",
		"https://host/repo|id", "https://host/repo&id",
		"https://host/repo>x", "https://host/repo'", "https://host/r\"",
		"https://host/r\\x", "https://host/r?x=1", "https://host/r#x",
		"https://host/r!", "https://host/r*", "https://host/{a}",
		"git@host:repo;id", "git@host:$(id)", "git@host:`id`",
		"git@host:re\npo",
		"ext::sh -c touch% /tmp/pwned", "ext::ls", "fd::3",
		"ftp://host/repo", "HTTPS://host/r", "https:/host/r",
		"ssh://-oProxyCommand=touch/x", "ssh://git@-oProxyCommand=x/r",
		"ssh://-user@host/repo", "git@-oProxyCommand:repo",
		"git@-host:repo", "-u@host:repo", "-oProxyCommand=x@host:repo",
		"ssh://host:-1/r", "ssh://host:/r",
		"https://host:99999/r", "https://host:0/r", "https://host:8x/r",
		"https://", "https://host", "https://host/", "https:///r",
		"ssh://user@/r", "ssh://@host/r", "https://ho_st/r",
		"ssh://[::1/r", "ssh://[zz]/r",
		"file://", "file:///", "file://evil.com/x", "file://localhostx/x",
		"/srv/repo", "repo", "host:repo", "./repo:x", "a/b@host:c",
		"git@host:", "@host:repo", "git@:repo", "git@ho_st:repo",
		"\xC3\xA9@host:repo", "https://h\xC3\xA9.com/r",
	};
	char	*s;

	RUN(valid_git_url, good, bad);

	/* 2048 bytes is the limit. */
	s = rep("a", 2048);
	memcpy(s, "https://h/", 10);
	ck_assert_ptr_null(valid_git_url(s));
	free(s);
	s = rep("a", 2049);
	memcpy(s, "https://h/", 10);
	ck_assert_ptr_nonnull(valid_git_url(s));
	free(s);
}
END_TEST

START_TEST(test_git_ref)
{
	static const char *const good[] = {
		"main", "master", "feature/login", "release-1.2", "v1.0.0",
		"user/foo_bar", "fix+plus", "a@b", "a.b", "issue#12",
		"deps/a=1,b", "UPPER", "x.lock.y", "a/b.locked",
		"\xC3\xBCnicode", "50%",
	};
	static const char *const bad[] = {
		"", "-b", "--force", "/main", "main/", "main.", "a..b",
		"a/../b", "a@{1}", "@{-1}", "@", "a b", " a", "a~1", "a^",
		"a^{}", "a:b", "a?", "a*", "a[1]", "a\\b", "a\nb", "main\n",
		"a\tb", "a\x7f", "a\x01", ".hidden", "a/.b", "a/./b",
		"a.lock", "a.lock/b", "b/a.lock", ".lock", "a//b",
		"a;id", "main;rm -rf /", "$(id)", "a$(id)", "`id`", "a`id`b",
		"a|b", "a&b", "a>b", "a<b", "a'b", "a\"b", "a!b", "a{b}",
		"a(b)", "a$b",
	};
	char	*s;

	RUN(valid_git_ref, good, bad);

	s = rep("r", 255);
	ck_assert_ptr_null(valid_git_ref(s));
	free(s);
	s = rep("r", 256);
	ck_assert_ptr_nonnull(valid_git_ref(s));
	free(s);
}
END_TEST

START_TEST(test_uuid)
{
	static const char *const good[] = {
		"123e4567-e89b-12d3-a456-426614174000",
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
	};
	static const char *const bad[] = {
		"", "123E4567-e89b-12d3-a456-426614174000",
		"123e4567-e89b-12d3-a456-42661417400",
		"123e4567-e89b-12d3-a456-4266141740000",
		"123e4567e89b12d3a456426614174000",
		"123e4567-e89b-12d3-a456_426614174000",
		"123e4567-e89b-12d3a-456-426614174000",
		"{123e4567-e89b-12d3-a456-426614174000}",
		"g23e4567-e89b-12d3-a456-426614174000",
		" 123e4567-e89b-12d3-a456-426614174000",
		"123e4567-e89b-12d3-a456-426614174000 ",
		"123e4567-e89b-12d3-a456-426614174000\n",
		"------------------------------------",
	};

	RUN(valid_uuid, good, bad);
}
END_TEST

START_TEST(test_int)
{
	char	 buf[64];
	long	 v;

	v = 99;
	ck_assert_ptr_null(valid_int("0", 0, 10, &v));
	ck_assert_int_eq(v, 0);
	ck_assert_ptr_null(valid_int("10", 0, 10, &v));
	ck_assert_int_eq(v, 10);
	ck_assert_ptr_null(valid_int("-5", -10, 10, &v));
	ck_assert_int_eq(v, -5);
	ck_assert_ptr_null(valid_int("-10", -10, 10, &v));
	ck_assert_int_eq(v, -10);
	ck_assert_ptr_null(valid_int("007", 0, 10, &v));
	ck_assert_int_eq(v, 7);
	ck_assert_ptr_null(valid_int("-0", 0, 0, &v));
	ck_assert_int_eq(v, 0);
	ck_assert_ptr_null(valid_int("5", 0, 10, NULL));
	snprintf(buf, sizeof(buf), "%ld", LONG_MAX);
	ck_assert_ptr_null(valid_int(buf, LONG_MIN, LONG_MAX, &v));
	ck_assert_int_eq(v, LONG_MAX);
	snprintf(buf, sizeof(buf), "%ld", LONG_MIN);
	ck_assert_ptr_null(valid_int(buf, LONG_MIN, LONG_MAX, &v));
	ck_assert_int_eq(v, LONG_MIN);

	/* Failures leave *out alone. */
	v = 42;
	ck_assert_ptr_nonnull(valid_int("11", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("-1", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("-11", -10, 10, &v));
	ck_assert_ptr_nonnull(valid_int("", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("-", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("+1", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int(" 1", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("1 ", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("1\n", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("--1", -10, 10, &v));
	ck_assert_ptr_nonnull(valid_int("1.0", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("1e1", 0, 100, &v));
	ck_assert_ptr_nonnull(valid_int("0x1", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("1;id", 0, 10, &v));
	ck_assert_ptr_nonnull(valid_int("\xD9\xA3", 0, 10, &v));	/* ٣ */
	ck_assert_ptr_nonnull(valid_int("5", 10, 0, &v));	/* lo > hi */
	/* Overflow must not wrap into range. */
	ck_assert_ptr_nonnull(valid_int("99999999999999999999999", LONG_MIN,
	    LONG_MAX, &v));
	ck_assert_ptr_nonnull(valid_int("-99999999999999999999999",
	    LONG_MIN, LONG_MAX, &v));
	ck_assert_ptr_nonnull(valid_int("18446744073709551617", LONG_MIN,
	    LONG_MAX, &v));
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_commit_sha)
{
	static const char *const good[] = {
		"0123456789abcdef0123456789abcdef01234567",
		"da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	};
	static const char *const bad[] = {
		"", "da39a3e", "HEAD", "main",
		"da39a3ee5e6b4b0d3255bfef95601890afd8070",	/* 39 */
		"da39a3ee5e6b4b0d3255bfef95601890afd807090",	/* 41 */
		"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
		"da39a3ee5e6b4b0d3255bfef95601890afd8070g",
		"da39a3ee5e6b4b0d3255bfef95601890afd8070 ",
		"-a39a3ee5e6b4b0d3255bfef95601890afd80709",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
	};

	RUN(valid_commit_sha, good, bad);
}
END_TEST

START_TEST(test_repo_path)
{
	static const char *const good[] = {
		"README.md", "src/main.c", "a..b", "..a", "a..",
		"dir/file name.txt", ".github/workflows/ci.yml", "a/b/c/d",
		"\xC3\xBCnicode/ok", "deploy/app-1.conf", "x/-y",
	};
	static const char *const bad[] = {
		"", "/etc/passwd", "/", "..", "../x", "a/../b", "a/..",
		"../../../../etc/shadow", "a\nb", "a\x01", "a\x7f", "a\tb",
		"a\rb", "-rf", "--output=x",
	};
	char	*s;

	RUN(valid_repo_path, good, bad);

	s = rep("p", 1024);
	ck_assert_ptr_null(valid_repo_path(s));
	free(s);
	s = rep("p", 1025);
	ck_assert_ptr_nonnull(valid_repo_path(s));
	free(s);
}
END_TEST

static Suite *
valid_suite(void)
{
	Suite	*s = suite_create("valid");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_name);
	tcase_add_test(tc, test_host);
	tcase_add_test(tc, test_port);
	tcase_add_test(tc, test_unix_user);
	tcase_add_test(tc, test_git_url);
	tcase_add_test(tc, test_git_ref);
	tcase_add_test(tc, test_uuid);
	tcase_add_test(tc, test_int);
	tcase_add_test(tc, test_commit_sha);
	tcase_add_test(tc, test_repo_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(valid_suite());
}
