/*
 * Unit tests for lib/web/form.c: form/query decoding, cookie parsing, the UTF-8
 * gate, the pair limit, and that a rejected input leaves the list untouched.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "form.h"
#include "testutil.h"

/* Parses a NUL-terminated literal. */
static int
parse(struct kvlist *l, const char *s)
{
	return form_parse(l, s, strlen(s));
}

static void
assert_pair(const struct kvlist *l, size_t i, const char *k, const char *v)
{
	ck_assert_uint_lt(i, l->n);
	ck_assert_str_eq(l->v[i].key, k);
	ck_assert_str_eq(l->v[i].val, v);
	ck_assert_uint_eq(l->v[i].vlen, strlen(v));
}

/*
 * A list holding one known pair, and a record of its exact state: the
 * error tests assert that nothing about it (array, count, capacity, the
 * entry's storage) moved.
 */
struct lsnap {
	struct kv	*v;
	size_t		 n, cap;
	char		*k0, *v0;
};

static void
prefill(struct kvlist *l, struct lsnap *s)
{
	kvlist_init(l);
	ck_assert_int_eq(kvlist_add(l, "pre", "kept"), 0);
	s->v = l->v;
	s->n = l->n;
	s->cap = l->cap;
	s->k0 = l->v[0].key;
	s->v0 = l->v[0].val;
}

static void
assert_unchanged(const struct kvlist *l, const struct lsnap *s)
{
	ck_assert_ptr_eq(l->v, s->v);
	ck_assert_uint_eq(l->n, s->n);
	ck_assert_uint_eq(l->cap, s->cap);
	ck_assert_ptr_eq(l->v[0].key, s->k0);
	ck_assert_ptr_eq(l->v[0].val, s->v0);
	assert_pair(l, 0, "pre", "kept");
}

/* Expects form_parse(s) to fail with err and change nothing. */
static void
form_fails(const char *s, int err)
{
	struct kvlist	 l;
	struct lsnap	 sn;
	int		 rc;

	prefill(&l, &sn);
	rc = parse(&l, s);
	ck_assert_msg(rc == err, "form_parse(\"%s\") = %d, want %d", s, rc,
	    err);
	assert_unchanged(&l, &sn);
	kvlist_release(&l);
}

static void
cookie_fails(const char *s, int err)
{
	struct kvlist	 l;
	struct lsnap	 sn;
	int		 rc;

	prefill(&l, &sn);
	rc = cookie_parse(&l, s);
	ck_assert_msg(rc == err, "cookie_parse(\"%s\") = %d, want %d", s, rc,
	    err);
	assert_unchanged(&l, &sn);
	kvlist_release(&l);
}

START_TEST(test_basic)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(parse(&l, "a=1&bb=22&ccc=333"), FORM_OK);
	ck_assert_uint_eq(l.n, 3);
	assert_pair(&l, 0, "a", "1");
	assert_pair(&l, 1, "bb", "22");
	assert_pair(&l, 2, "ccc", "333");
	ck_assert_str_eq(kv_get(&l, "bb"), "22");
	ck_assert_ptr_null(kv_get(&l, "b"));
	ck_assert_ptr_null(kv_get(&l, "A"));
	ck_assert_uint_eq(kv_count(&l, "a"), 1);
	ck_assert_uint_eq(kv_count(&l, "zz"), 0);
	/* Only the first '=' splits. */
	ck_assert_int_eq(parse(&l, "eq=a=b=c"), FORM_OK);
	assert_pair(&l, 3, "eq", "a=b=c");
	kvlist_release(&l);
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(kv_get(&l, "a"));
}
END_TEST

START_TEST(test_decoding)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(parse(&l,
	    "first+name=J+R+R&q=a%2Bb%20c&%41%62=%7e%7E&p=100%25"), FORM_OK);
	ck_assert_uint_eq(l.n, 4);
	assert_pair(&l, 0, "first name", "J R R");
	assert_pair(&l, 1, "q", "a+b c");
	assert_pair(&l, 2, "Ab", "~~");
	assert_pair(&l, 3, "p", "100%");
	/* Decoding is single-pass: "%2541" is "%41", not "A". */
	ck_assert_int_eq(parse(&l, "d=%2541"), FORM_OK);
	assert_pair(&l, 4, "d", "%41");
	/* Encoded separators are data, not structure. */
	ck_assert_int_eq(parse(&l, "k%3D=v%26w%3Dx"), FORM_OK);
	ck_assert_uint_eq(l.n, 6);
	assert_pair(&l, 5, "k=", "v&w=x");
	kvlist_release(&l);
}
END_TEST

START_TEST(test_bad_escapes)
{
	static const char *const bad[] = {
		"%", "%4", "%zz", "%g0", "%0g", "a=%", "a=%4", "a=%zz",
		"a=1&b=%", "a=1&b=%4", "%%41", "a=100%", "a=%-1", "a=% 1",
		"a=%+1", "a=1%&b=2", "ok=1&also=2&k%=3"
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		form_fails(bad[i], FORM_EBADESC);
}
END_TEST

START_TEST(test_repeated_keys)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(parse(&l, "a=1&b=x&a=2&a=3&b=y"), FORM_OK);
	ck_assert_uint_eq(l.n, 5);
	assert_pair(&l, 0, "a", "1");
	assert_pair(&l, 1, "b", "x");
	assert_pair(&l, 2, "a", "2");
	assert_pair(&l, 3, "a", "3");
	assert_pair(&l, 4, "b", "y");
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	ck_assert_str_eq(kv_get(&l, "b"), "x");
	ck_assert_uint_eq(kv_count(&l, "a"), 3);
	ck_assert_uint_eq(kv_count(&l, "b"), 2);
	kvlist_release(&l);
}
END_TEST

START_TEST(test_empty_parts)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(parse(&l, "k&e=&=v&="), FORM_OK);
	ck_assert_uint_eq(l.n, 4);
	assert_pair(&l, 0, "k", "");
	assert_pair(&l, 1, "e", "");
	assert_pair(&l, 2, "", "v");
	assert_pair(&l, 3, "", "");
	ck_assert_str_eq(kv_get(&l, "k"), "");
	ck_assert_str_eq(kv_get(&l, ""), "v");
	kvlist_release(&l);

	/* Empty pairs vanish, wherever they are. */
	kvlist_init(&l);
	ck_assert_int_eq(parse(&l, "&&a=1&&&b=2&"), FORM_OK);
	ck_assert_uint_eq(l.n, 2);
	assert_pair(&l, 0, "a", "1");
	assert_pair(&l, 1, "b", "2");
	ck_assert_int_eq(parse(&l, "&"), FORM_OK);
	ck_assert_int_eq(parse(&l, "&&&&"), FORM_OK);
	ck_assert_int_eq(parse(&l, ""), FORM_OK);
	ck_assert_int_eq(form_parse(&l, NULL, 0), FORM_OK);
	ck_assert_uint_eq(l.n, 2);
	kvlist_release(&l);

	/* Nothing parsed into an empty list: it stays unallocated. */
	kvlist_init(&l);
	ck_assert_int_eq(parse(&l, "&&"), FORM_OK);
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	kvlist_release(&l);
}
END_TEST

/* len bounds the input: the bytes after it are never looked at, and the
 * input needs no terminator (ASan flags a read past the exact allocation). */
START_TEST(test_length_bounded)
{
	struct kvlist	 l;
	const char	 src[] = "a=1&b=2%41&c=3";
	char		*exact;

	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, "a=1&b=%zz", 3), FORM_OK);
	ck_assert_uint_eq(l.n, 1);
	assert_pair(&l, 0, "a", "1");
	/* Cut inside an escape: "%4" is incomplete within len. */
	ck_assert_int_eq(form_parse(&l, src, 9), FORM_EBADESC);
	ck_assert_uint_eq(l.n, 1);

	exact = malloc(sizeof(src) - 1);
	ck_assert_ptr_nonnull(exact);
	memcpy(exact, src, sizeof(src) - 1);
	ck_assert_int_eq(form_parse(&l, exact, sizeof(src) - 1), FORM_OK);
	ck_assert_uint_eq(l.n, 4);
	assert_pair(&l, 2, "b", "2A");
	assert_pair(&l, 3, "c", "3");
	/* Ending on "%" or "%4" right at the allocation's end. */
	memcpy(exact, "x=%", 3);
	ck_assert_int_eq(form_parse(&l, exact, 3), FORM_EBADESC);
	memcpy(exact, "x=%4", 4);
	ck_assert_int_eq(form_parse(&l, exact, 4), FORM_EBADESC);
	ck_assert_uint_eq(l.n, 4);
	free(exact);
	kvlist_release(&l);
}
END_TEST

START_TEST(test_appends)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(parse(&l, "q=1"), FORM_OK);
	ck_assert_int_eq(parse(&l, "b=2&q=3"), FORM_OK);
	ck_assert_uint_eq(l.n, 3);
	assert_pair(&l, 0, "q", "1");
	assert_pair(&l, 1, "b", "2");
	assert_pair(&l, 2, "q", "3");
	/* A failing second parse keeps the first one's pairs, and adds none
	 * of its own valid leading pairs. */
	ck_assert_int_eq(parse(&l, "c=4&d=%zz"), FORM_EBADESC);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_ptr_null(kv_get(&l, "c"));
	kvlist_release(&l);
}
END_TEST

START_TEST(test_huge_value)
{
	struct kvlist	 l;
	struct buf	 b;
	size_t		 n = (size_t)1 << 20, i, bad = 0;
	const char	*v;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "small=1&big="), 0);
	ck_assert_int_eq(buf_grow(&b, n), 0);
	for (i = 0; i < n; i++)
		b.ptr[b.len + i] = (char)('a' + i % 26);
	b.len += n;
	b.ptr[b.len] = '\0';
	ck_assert_int_eq(buf_puts(&b, "&tail=%41"), 0);

	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(l.v[1].vlen, n);
	v = kv_get(&l, "big");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(strlen(v), n);
	for (i = 0; i < n; i++)
		if (v[i] != (char)('a' + i % 26))
			bad++;
	ck_assert_uint_eq(bad, 0);
	assert_pair(&l, 2, "tail", "A");
	kvlist_release(&l);

	/* A 1 MB value of escapes decodes to a third of its length. */
	buf_reset(&b);
	ck_assert_int_eq(buf_puts(&b, "e="), 0);
	for (i = 0; i < n; i++)
		if (buf_put(&b, "%7A", 3) != 0)
			bad++;
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_OK);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_uint_eq(l.v[0].vlen, n);
	ck_assert_int_eq(l.v[0].val[0], 'z');
	ck_assert_int_eq(l.v[0].val[n - 1], 'z');
	ck_assert_int_eq(l.v[0].val[n], '\0');
	kvlist_release(&l);

	/* And one bad byte at its very end sinks the whole request. */
	ck_assert_int_eq(buf_puts(&b, "%FF"), 0);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_EUTF8);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.v);
	buf_release(&b);
}
END_TEST

START_TEST(test_utf8_accepted)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(parse(&l,
	    "e=%C3%A9&raw=\xC3\xA9&euro=%E2%82%AC&emoji=%F0%9F%98%80"
	    "&max=%F4%8F%BF%BF&%E5%90%8D=v&split=%C3\xA9"), FORM_OK);
	ck_assert_uint_eq(l.n, 7);
	assert_pair(&l, 0, "e", "\xC3\xA9");
	assert_pair(&l, 1, "raw", "\xC3\xA9");
	assert_pair(&l, 2, "euro", "\xE2\x82\xAC");
	assert_pair(&l, 3, "emoji", "\xF0\x9F\x98\x80");
	assert_pair(&l, 4, "max", "\xF4\x8F\xBF\xBF");
	assert_pair(&l, 5, "\xE5\x90\x8D", "v");
	/* Half escaped, half raw still forms one character. */
	assert_pair(&l, 6, "split", "\xC3\xA9");
	kvlist_release(&l);
}
END_TEST

START_TEST(test_utf8_rejected)
{
	static const char *const bad[] = {
		"a=%C0%AF",		/* overlong '/' */
		"a=%C1%BF",		/* overlong */
		"a=%E0%80%AF",		/* overlong, 3 bytes */
		"a=%E0%9F%BF",		/* overlong U+07FF */
		"a=%F0%80%80%AF",	/* overlong, 4 bytes */
		"a=%F0%8F%BF%BF",	/* overlong U+FFFF */
		"a=%ED%A0%80",		/* surrogate U+D800 */
		"a=%ED%BF%BF",		/* surrogate U+DFFF */
		"a=%F4%90%80%80",	/* U+110000 */
		"a=%F5%80%80%80",	/* lead byte past U+10FFFF */
		"a=%F8%88%80%80%80",	/* 5-byte form */
		"a=%FF", "a=%FE",
		"a=%E2%82",		/* truncated at the end */
		"a=%C3",		/* truncated at the end */
		"a=%F0%9F%98",		/* truncated at the end */
		"a=%E2%82x",		/* truncated, ASCII follows */
		"a=%C3&b=%A9",		/* sequence split over two values */
		"a=%80",		/* stray continuation */
		"a=x%BFy",		/* stray continuation */
		"a=%C3%A9%A9",		/* one continuation too many */
		"a=%E2%82%C0",		/* third byte not a continuation */
		"a=%F0%9F%C0%80",	/* ... or the third of four */
		"a=%F0%9F%98%C3%A9",	/* ... or the fourth */
		"a=%00",		/* NUL */
		"a=x%00y",
		"%00=v",
		"k%C0%AF=v",		/* in the key */
		"ok=1&k=%ED%A0%80",	/* in a later pair */
		"a=\xC0\xAF",		/* raw, not escaped */
		"a=\xff",
		"a=\xED\xA0\x80",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		form_fails(bad[i], FORM_EUTF8);
}
END_TEST

/* utf8_valid at every range boundary of RFC 3629. */
START_TEST(test_utf8_valid)
{
	static const char *const good[] = {
		"", "plain ascii", "\x01\x7f",
		"\xC2\x80", "\xDF\xBF",			/* U+0080, U+07FF */
		"\xE0\xA0\x80", "\xED\x9F\xBF",		/* U+0800, U+D7FF */
		"\xEE\x80\x80", "\xEF\xBF\xBF",		/* U+E000, U+FFFF */
		"\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",	/* U+10000, U+10FFFF */
		"\xEF\xBB\xBF", "\xE2\x80\xAE",		/* BOM, RLO: valid */
	};
	static const char *const bad[] = {
		"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xC2", "\xC2\x7F",
		"\xC2\xC0", "\xE0\x9F\xBF", "\xE0\xA0", "\xED\xA0\x80",
		"\xED\xBF\xBF", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
		"\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80", "\xFC", "\xFE",
		"\xFF", "\xF0\x90\x80", "a\xE2\x82", "\xE2\x82\xAC\xAC",
		"\xE2\x82\xC0", "\xE2\x82\x7F", "\xF0\x9F\xFF\x80",
		"\xF0\x9F\x98\xC0", "\xF0\x9F\x98\x41",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(utf8_valid(good[i], strlen(good[i])) == 1,
		    "good[%zu] rejected", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(utf8_valid(bad[i], strlen(bad[i])) == 0,
		    "bad[%zu] accepted", i);
	/* NUL anywhere, even where a C string would end. */
	ck_assert_int_eq(utf8_valid("a\0b", 3), 0);
	ck_assert_int_eq(utf8_valid("\0", 1), 0);
	/* len is honoured: a valid prefix of an invalid string. */
	ck_assert_int_eq(utf8_valid("ab\xff", 2), 1);
	ck_assert_int_eq(utf8_valid("\xC3\xA9", 1), 0);
	ck_assert_int_eq(utf8_valid(NULL, 0), 1);
}
END_TEST

/* Builds "k0=0&k1=1&..." with n pairs, optionally with empty pairs mixed. */
static void
build_pairs(struct buf *b, size_t n, int sep_extra)
{
	size_t	 i;

	buf_init(b);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(buf_printf(b, "%sk%zu=%zu", i > 0 ? "&" : "",
		    i, i), 0);
		if (sep_extra)
			ck_assert_int_eq(buf_puts(b, "&&"), 0);
	}
}

START_TEST(test_max_pairs)
{
	struct kvlist	 l;
	struct lsnap	 sn;
	struct buf	 b;

	/* Exactly the limit is fine; empty pairs do not count. */
	build_pairs(&b, FORM_MAX_PAIRS, 1);
	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_OK);
	ck_assert_uint_eq(l.n, FORM_MAX_PAIRS);
	assert_pair(&l, FORM_MAX_PAIRS - 1, "k255", "255");
	kvlist_release(&l);
	buf_release(&b);

	/* One more is refused, and nothing of it is kept. */
	build_pairs(&b, FORM_MAX_PAIRS + 1, 0);
	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_ETOOMANY);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.v);
	prefill(&l, &sn);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_ETOOMANY);
	assert_unchanged(&l, &sn);
	kvlist_release(&l);
	buf_release(&b);

	/* The bound is on the list: 1 already there + 256 is too many. */
	build_pairs(&b, FORM_MAX_PAIRS, 0);
	prefill(&l, &sn);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_ETOOMANY);
	assert_unchanged(&l, &sn);
	kvlist_release(&l);
	buf_release(&b);

	/* Many thousand pairs are refused as well (no quadratic blowup). */
	build_pairs(&b, 50000, 0);
	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, b.ptr, b.len), FORM_ETOOMANY);
	ck_assert_uint_eq(l.n, 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_cookie_basic)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l, "a=1; b=2;c=3"), FORM_OK);
	ck_assert_uint_eq(l.n, 3);
	assert_pair(&l, 0, "a", "1");
	assert_pair(&l, 1, "b", "2");
	assert_pair(&l, 2, "c", "3");
	kvlist_release(&l);

	/* No decoding at all: cookie values are opaque. */
	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l,
	    "sid=%41+b%zz; tok=a=b==; x=a&b"), FORM_OK);
	ck_assert_uint_eq(l.n, 3);
	assert_pair(&l, 0, "sid", "%41+b%zz");
	assert_pair(&l, 1, "tok", "a=b==");
	assert_pair(&l, 2, "x", "a&b");
	kvlist_release(&l);

	/* Repeated names (path-scoped cookies) kept in order. */
	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l, "s=new; t=1; s=old"), FORM_OK);
	ck_assert_uint_eq(kv_count(&l, "s"), 2);
	ck_assert_str_eq(kv_get(&l, "s"), "new");
	assert_pair(&l, 2, "s", "old");
	kvlist_release(&l);
}
END_TEST

START_TEST(test_cookie_whitespace)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l,
	    "  a=1 ;\tb = 2\t;c=  x y  ;d=   "), FORM_OK);
	ck_assert_uint_eq(l.n, 4);
	assert_pair(&l, 0, "a", "1");
	assert_pair(&l, 1, "b", "2");
	/* Inner whitespace is part of the (opaque) value. */
	assert_pair(&l, 2, "c", "x y");
	assert_pair(&l, 3, "d", "");
	kvlist_release(&l);

	/* Empty segments are skipped. */
	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l, ";; a=1;;  ; b=2; "), FORM_OK);
	ck_assert_uint_eq(l.n, 2);
	assert_pair(&l, 0, "a", "1");
	assert_pair(&l, 1, "b", "2");
	ck_assert_int_eq(cookie_parse(&l, ""), FORM_OK);
	ck_assert_int_eq(cookie_parse(&l, "   "), FORM_OK);
	ck_assert_int_eq(cookie_parse(&l, ";"), FORM_OK);
	/* No Cookie header at all. */
	ck_assert_int_eq(cookie_parse(&l, NULL), FORM_OK);
	ck_assert_uint_eq(l.n, 2);
	kvlist_release(&l);
}
END_TEST

START_TEST(test_cookie_quoted)
{
	struct kvlist	 l;

	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l,
	    "a=\"quoted\"; b=\"\"; c= \"sp ace\" ; d=\"; e=\"open; "
	    "f=close\"; g=\"in\"side\"; h=x\"y"), FORM_OK);
	ck_assert_uint_eq(l.n, 8);
	assert_pair(&l, 0, "a", "quoted");
	assert_pair(&l, 1, "b", "");
	assert_pair(&l, 2, "c", "sp ace");
	/* A lone or unbalanced quote is not a quoted value. */
	assert_pair(&l, 3, "d", "\"");
	assert_pair(&l, 4, "e", "\"open");
	assert_pair(&l, 5, "f", "close\"");
	/* Only the outer pair comes off. */
	assert_pair(&l, 6, "g", "in\"side");
	assert_pair(&l, 7, "h", "x\"y");
	kvlist_release(&l);
}
END_TEST

START_TEST(test_cookie_errors)
{
	struct kvlist	 l;
	struct buf	 b;
	size_t		 i;

	cookie_fails("a", FORM_ESYNTAX);
	cookie_fails("a=1; b", FORM_ESYNTAX);
	cookie_fails("a=1; b ; c=3", FORM_ESYNTAX);
	cookie_fails("=1", FORM_ESYNTAX);
	cookie_fails("a=1;  =2", FORM_ESYNTAX);
	cookie_fails(" \t= x", FORM_ESYNTAX);
	cookie_fails("a=\xff", FORM_EUTF8);
	cookie_fails("a=1; b=\xC0\xAF", FORM_EUTF8);
	cookie_fails("\xED\xA0\x80=1", FORM_EUTF8);
	cookie_fails("a=\"\xE2\x82\"", FORM_EUTF8);

	/* Pair limit applies to cookies too. */
	buf_init(&b);
	for (i = 0; i < FORM_MAX_PAIRS; i++)
		ck_assert_int_eq(buf_printf(&b, "c%zu=%zu; ", i, i), 0);
	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l, b.ptr), FORM_OK);
	ck_assert_uint_eq(l.n, FORM_MAX_PAIRS);
	kvlist_release(&l);
	ck_assert_int_eq(buf_puts(&b, "one=more"), 0);
	cookie_fails(b.ptr, FORM_ETOOMANY);
	kvlist_init(&l);
	ck_assert_int_eq(cookie_parse(&l, b.ptr), FORM_ETOOMANY);
	ck_assert_ptr_null(l.v);
	kvlist_release(&l);
	buf_release(&b);
}
END_TEST

START_TEST(test_kvlist_add)
{
	struct kvlist	 l;
	struct lsnap	 sn;
	char		 k[8], v[8];
	size_t		 i;

	kvlist_init(&l);
	memcpy(k, "key", 4);
	memcpy(v, "val", 4);
	ck_assert_int_eq(kvlist_add(&l, k, v), 0);
	/* The list holds copies. */
	k[0] = 'X';
	v[0] = 'X';
	assert_pair(&l, 0, "key", "val");
	ck_assert_ptr_ne(l.v[0].key, k);
	ck_assert_int_eq(kvlist_add(&l, "", ""), 0);
	assert_pair(&l, 1, "", "");
	/* Growth across many additions (not subject to FORM_MAX_PAIRS,
	 * which limits untrusted input only). */
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "n%zu", i);
		if (kvlist_add(&l, k, "\xC3\xA9") != 0)
			break;
	}
	ck_assert_uint_eq(i, 1000);
	ck_assert_uint_eq(l.n, 1002);
	ck_assert_uint_ge(l.cap, l.n);
	assert_pair(&l, 1001, "n999", "\xC3\xA9");
	kvlist_release(&l);
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.cap, 0);
	kvlist_release(&l);		/* twice is harmless */

	/* The list never holds invalid UTF-8, whoever adds to it. */
	prefill(&l, &sn);
	/* -1, the plain failure value callers test for. */
	ck_assert_int_eq(kvlist_add(&l, "k", "\xff"), -1);
	ck_assert_int_eq(kvlist_add(&l, "\xC0\xAF", "v"), -1);
	ck_assert_int_eq(kvlist_add(&l, "k", "\xED\xA0\x80"), -1);
	assert_unchanged(&l, &sn);
	kvlist_release(&l);
}
END_TEST

static Suite *
form_suite(void)
{
	Suite	*s = suite_create("form");
	TCase	*fc = tcase_create("form");
	TCase	*uc = tcase_create("utf8");
	TCase	*cc = tcase_create("cookie");
	TCase	*lc = tcase_create("kvlist");

	tcase_add_test(fc, test_basic);
	tcase_add_test(fc, test_decoding);
	tcase_add_test(fc, test_bad_escapes);
	tcase_add_test(fc, test_repeated_keys);
	tcase_add_test(fc, test_empty_parts);
	tcase_add_test(fc, test_length_bounded);
	tcase_add_test(fc, test_appends);
	tcase_add_test(fc, test_huge_value);
	tcase_add_test(fc, test_max_pairs);
	suite_add_tcase(s, fc);

	tcase_add_test(uc, test_utf8_accepted);
	tcase_add_test(uc, test_utf8_rejected);
	tcase_add_test(uc, test_utf8_valid);
	suite_add_tcase(s, uc);

	tcase_add_test(cc, test_cookie_basic);
	tcase_add_test(cc, test_cookie_whitespace);
	tcase_add_test(cc, test_cookie_quoted);
	tcase_add_test(cc, test_cookie_errors);
	suite_add_tcase(s, cc);

	tcase_add_test(lc, test_kvlist_add);
	suite_add_tcase(s, lc);
	return s;
}

int
main(void)
{
	return tu_run(form_suite());
}
