/*
 * Unit tests for lib/core/buf.c: the invariants of buf.h after every call, growth,
 * detach/reset/release, formatting, and that a failing call (anything that
 * would take len past BUF_MAX) leaves the buffer exactly as it was.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"

/* The invariants from buf.h; checked after every operation below. */
static void
check_inv(const struct buf *b)
{
	if (b->ptr == NULL) {
		ck_assert_uint_eq(b->len, 0);
		ck_assert_uint_eq(b->cap, 0);
		ck_assert_str_eq(buf_cstr(b), "");
		return;
	}
	ck_assert_uint_lt(b->len, b->cap);
	ck_assert_uint_le(b->len, BUF_MAX);
	ck_assert_int_eq(b->ptr[b->len], '\0');
	ck_assert_ptr_eq(buf_cstr(b), b->ptr);
}

/* A copy of everything observable, to prove a failed call changed nothing. */
struct snap {
	char	*ptr;
	size_t	 len, cap;
	char	*copy;
};

static void
snap_take(struct snap *s, const struct buf *b)
{
	s->ptr = b->ptr;
	s->len = b->len;
	s->cap = b->cap;
	s->copy = malloc(b->len + 1);
	ck_assert_ptr_nonnull(s->copy);
	memcpy(s->copy, buf_cstr(b), b->len + 1);
}

static void
snap_same(struct snap *s, const struct buf *b)
{
	ck_assert_ptr_eq(b->ptr, s->ptr);
	ck_assert_uint_eq(b->len, s->len);
	ck_assert_uint_eq(b->cap, s->cap);
	/* len + 1: the terminator must be back in place too. */
	ck_assert_mem_eq(buf_cstr(b), s->copy, s->len + 1);
	check_inv(b);
	free(s->copy);
	s->copy = NULL;
}

START_TEST(test_zeroed_is_empty)
{
	struct buf	 b;

	memset(&b, 0, sizeof(b));
	check_inv(&b);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);
	check_inv(&b);

	/* buf_init must produce the same thing from garbage. */
	memset(&b, 0xa5, sizeof(b));
	buf_init(&b);
	ck_assert_ptr_null(b.ptr);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	buf_reset(&b);
	check_inv(&b);
}
END_TEST

START_TEST(test_put_puts_putc)
{
	struct buf	 b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "hello"), 0);
	check_inv(&b);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_int_eq(buf_putc(&b, ' '), 0);
	check_inv(&b);
	ck_assert_int_eq(buf_put(&b, "world!!!", 5), 0);
	check_inv(&b);
	ck_assert_str_eq(buf_cstr(&b), "hello world");
	ck_assert_uint_eq(b.len, 11);

	/* Zero-length writes are no-ops, even with a NULL source. */
	ck_assert_int_eq(buf_put(&b, NULL, 0), 0);
	ck_assert_int_eq(buf_puts(&b, ""), 0);
	ck_assert_uint_eq(b.len, 11);
	check_inv(&b);
	buf_release(&b);
	check_inv(&b);
}
END_TEST

START_TEST(test_binary_content)
{
	struct buf	 b;
	const char	 data[] = { 'a', '\0', 'b', '\xff', '\0' };

	buf_init(&b);
	ck_assert_int_eq(buf_put(&b, data, sizeof(data)), 0);
	check_inv(&b);
	ck_assert_uint_eq(b.len, sizeof(data));
	ck_assert_mem_eq(b.ptr, data, sizeof(data));
	/* putc stores the value as an unsigned char, including 0 and -1. */
	ck_assert_int_eq(buf_putc(&b, 0), 0);
	ck_assert_int_eq(buf_putc(&b, -1), 0);
	ck_assert_int_eq(buf_putc(&b, 0x1ff), 0);
	check_inv(&b);
	ck_assert_uint_eq(b.len, sizeof(data) + 3);
	ck_assert_int_eq(b.ptr[5], '\0');
	ck_assert_int_eq((unsigned char)b.ptr[6], 0xff);
	ck_assert_int_eq((unsigned char)b.ptr[7], 0xff);
	buf_release(&b);
}
END_TEST

/*
 * Byte-at-a-time growth through many reallocations keeps every byte. The
 * per-step checks count failures instead of asserting: every ck_assert
 * records a mark point through a pipe, far too slow for 200000 steps.
 */
START_TEST(test_growth)
{
	struct buf	 b;
	size_t		 i, n = 200000, grows = 0, lastcap = 0, bad = 0;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		if (buf_putc(&b, 'a' + (int)(i % 26)) != 0 ||
		    b.len != i + 1 || b.len >= b.cap || b.ptr[b.len] != '\0')
			bad++;
		if (b.cap != lastcap) {
			grows++;
			lastcap = b.cap;
		}
	}
	ck_assert_uint_eq(bad, 0);
	check_inv(&b);
	for (i = 0; i < n; i++)
		if (b.ptr[i] != 'a' + (int)(i % 26))
			bad++;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(strlen(buf_cstr(&b)), n);
	/* Geometric growth: a linear one would reallocate thousands of times. */
	ck_assert_uint_lt(grows, 40);
	buf_release(&b);
}
END_TEST

START_TEST(test_grow_reserves)
{
	struct buf	 b;
	char		*p;
	size_t		 i, bad = 0;

	buf_init(&b);
	ck_assert_int_eq(buf_grow(&b, 0), 0);
	check_inv(&b);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_grow(&b, 5000), 0);
	check_inv(&b);
	ck_assert_uint_ge(b.cap, 3 + 5000 + 1);
	ck_assert_str_eq(b.ptr, "abc");
	/* What was reserved is usable without moving the storage. */
	p = b.ptr;
	for (i = 0; i < 5000; i++)
		if (buf_putc(&b, 'x') != 0 || b.ptr != p)
			bad++;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(b.len, 5003);
	check_inv(&b);
	/* Growing within capacity changes nothing. */
	ck_assert_int_eq(buf_grow(&b, b.cap - b.len - 1), 0);
	ck_assert_ptr_eq(b.ptr, p);
	buf_release(&b);
}
END_TEST

/*
 * Sizes chosen to make len + extra + 1 wrap around SIZE_MAX: an
 * implementation that adds before comparing would "succeed" without room.
 */
START_TEST(test_grow_over_max_fails)
{
	struct buf	 b;
	struct snap	 s;
	size_t		 bad[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 5, SIZE_MAX - 6,
		BUF_MAX, BUF_MAX - 4, BUF_MAX + 1, (size_t)1 << 40
	};
	size_t		 i;

	buf_init(&b);
	/* Even the empty, unallocated buffer must refuse and stay NULL. */
	snap_take(&s, &b);
	ck_assert_int_eq(buf_grow(&b, BUF_MAX + 1), -1);
	ck_assert_int_eq(buf_grow(&b, SIZE_MAX), -1);
	snap_same(&s, &b);
	ck_assert_ptr_null(b.ptr);

	ck_assert_int_eq(buf_puts(&b, "hello"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snap_take(&s, &b);
		ck_assert_int_eq(buf_grow(&b, bad[i]), -1);
		snap_same(&s, &b);
	}
	/* The buffer is still fully usable afterwards. */
	ck_assert_int_eq(buf_puts(&b, " world"), 0);
	ck_assert_str_eq(buf_cstr(&b), "hello world");
	buf_release(&b);
}
END_TEST

START_TEST(test_put_over_max_fails)
{
	struct buf	 b;
	struct snap	 s;
	const char	 src[] = "x";

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "keep"), 0);
	snap_take(&s, &b);
	/* src is one byte: a write that did not check first would fault. */
	ck_assert_int_eq(buf_put(&b, src, SIZE_MAX), -1);
	ck_assert_int_eq(buf_put(&b, src, SIZE_MAX - 4), -1);
	ck_assert_int_eq(buf_put(&b, src, BUF_MAX), -1);
	snap_same(&s, &b);
	buf_release(&b);
}
END_TEST

START_TEST(test_printf_small)
{
	struct buf	 b;

	buf_init(&b);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "n", 42), 0);
	check_inv(&b);
	ck_assert_str_eq(buf_cstr(&b), "n=42");
	ck_assert_int_eq(buf_printf(&b, "; %05.1f|%-3s|%c", 2.5, "a", 'z'), 0);
	check_inv(&b);
	ck_assert_str_eq(buf_cstr(&b), "n=42; 002.5|a  |z");
	ck_assert_uint_eq(b.len, strlen("n=42; 002.5|a  |z"));
	/* Empty output adds nothing. */
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, strlen("n=42; 002.5|a  |z"));
	check_inv(&b);
	buf_release(&b);

	/* Empty output on an empty buffer leaves it a valid empty buffer. */
	buf_init(&b);
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	check_inv(&b);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_release(&b);
}
END_TEST

/* Output of every length around the spare capacity: exact fit, one short,
 * one over, where a retry path would be off by one. */
START_TEST(test_printf_boundaries)
{
	struct buf	 b;
	char		 want[300];
	size_t		 pre, n;

	for (pre = 0; pre < 70; pre += 7) {
		for (n = 0; n < 140; n++) {
			buf_init(&b);
			memset(want, 'p', pre);
			memset(want + pre, 'q', n);
			want[pre + n] = '\0';
			ck_assert_int_eq(buf_put(&b, want, pre), 0);
			ck_assert_int_eq(buf_printf(&b, "%.*s", (int)n,
			    want + pre), 0);
			check_inv(&b);
			ck_assert_uint_eq(b.len, pre + n);
			ck_assert_str_eq(b.ptr != NULL ? b.ptr : "", want);
			buf_release(&b);
		}
	}
}
END_TEST

START_TEST(test_printf_large)
{
	struct buf	 b;
	char		*big;
	size_t		 n = 300000, i;

	big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < n; i++)
		big[i] = 'A' + (char)(i % 26);
	big[n] = '\0';

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "<"), 0);
	ck_assert_int_eq(buf_printf(&b, "%s>%s", big, big), 0);
	check_inv(&b);
	ck_assert_uint_eq(b.len, 1 + n + 1 + n);
	ck_assert_int_eq(b.ptr[0], '<');
	ck_assert_mem_eq(b.ptr + 1, big, n);
	ck_assert_int_eq(b.ptr[1 + n], '>');
	ck_assert_mem_eq(b.ptr + 2 + n, big, n);
	/* Padding generated by the format, not copied from an argument. */
	ck_assert_int_eq(buf_printf(&b, "%*d", 100000, 7), 0);
	check_inv(&b);
	ck_assert_uint_eq(b.len, 2 * n + 2 + 100000);
	ck_assert_int_eq(b.ptr[b.len - 1], '7');
	ck_assert_int_eq(b.ptr[b.len - 2], ' ');
	buf_release(&b);
	free(big);
}
END_TEST

/*
 * Output past BUF_MAX must fail. The buffer has spare room, so a first
 * in-place formatting attempt will have scribbled over the terminator;
 * the snapshot proves it was put back.
 */
START_TEST(test_printf_over_max_fails)
{
	struct buf	 b;
	struct snap	 s;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_uint_gt(b.cap - b.len, 1);
	snap_take(&s, &b);
	ck_assert_int_eq(buf_printf(&b, "%*s", (int)BUF_MAX, "z"), -1);
	snap_same(&s, &b);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	ck_assert_int_eq(buf_puts(&b, "d"), 0);
	ck_assert_str_eq(buf_cstr(&b), "abcd");
	buf_release(&b);
}
END_TEST

START_TEST(test_reset)
{
	struct buf	 b;
	char		*p;
	size_t		 cap;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "some text that is here"), 0);
	p = b.ptr;
	cap = b.cap;
	buf_reset(&b);
	check_inv(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	/* Storage is kept for reuse. */
	ck_assert_ptr_eq(b.ptr, p);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_int_eq(buf_puts(&b, "new"), 0);
	ck_assert_str_eq(buf_cstr(&b), "new");
	ck_assert_ptr_eq(b.ptr, p);
	buf_release(&b);
	check_inv(&b);
}
END_TEST

START_TEST(test_detach)
{
	struct buf	 b;
	char		*p;
	size_t		 len = 12345;

	buf_init(&b);
	ck_assert_int_eq(buf_put(&b, "ab\0cd", 5), 0);
	p = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(p, "ab\0cd", 6);
	/* The buffer no longer owns it and is reusable. */
	ck_assert_ptr_null(b.ptr);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	ck_assert_ptr_ne(b.ptr, p);
	free(p);
	ck_assert_str_eq(buf_cstr(&b), "again");
	buf_release(&b);

	/* Empty buffer: a malloc'd "" (freed below; ASan would catch a
	 * static one), and lenp may be NULL. */
	buf_init(&b);
	len = 99;
	p = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
	p = buf_detach(&b, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	free(p);

	/* After a reset the storage still holds "" and is handed over. */
	ck_assert_int_eq(buf_puts(&b, "gone"), 0);
	buf_reset(&b);
	p = buf_detach(&b, &len);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
	check_inv(&b);
}
END_TEST

/* Digests shortened for display; anything that is not a whole sha256
 * digest passes unchanged. */
START_TEST(abbrev_digests)
{
	struct buf	 b;
	const char	*d = "sha256:0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef";

	buf_init(&b);
	ck_assert_int_eq(buf_put_abbrev_digests(&b, "pulled x@"), 0);
	ck_assert_str_eq(buf_cstr(&b), "pulled x@");
	buf_reset(&b);
	{
		char in[256];
		snprintf(in, sizeof(in), "a@%s b %s.", d, d);
		ck_assert_int_eq(buf_put_abbrev_digests(&b, in), 0);
		ck_assert_str_eq(buf_cstr(&b), "a@sha256:0123456789ab\u2026 b "
		    "sha256:0123456789ab\u2026.");
	}
	buf_reset(&b);
	/* Too short, upper case, or cut at the end: unchanged. */
	ck_assert_int_eq(buf_put_abbrev_digests(&b, "sha256:abc sha256:"
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef "
	    "sha256:0123"), 0);
	ck_assert_str_eq(buf_cstr(&b), "sha256:abc sha256:"
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef "
	    "sha256:0123");
	buf_reset(&b);
	ck_assert_int_eq(buf_put_abbrev_digests(&b, "sha256:"), 0);
	ck_assert_str_eq(buf_cstr(&b), "sha256:");
	buf_release(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");
	TCase	*big = tcase_create("big");

	tcase_add_test(tc, abbrev_digests);
	tcase_add_test(tc, test_zeroed_is_empty);
	tcase_add_test(tc, test_put_puts_putc);
	tcase_add_test(tc, test_binary_content);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_grow_reserves);
	tcase_add_test(tc, test_grow_over_max_fails);
	tcase_add_test(tc, test_put_over_max_fails);
	tcase_add_test(tc, test_printf_small);
	tcase_add_test(tc, test_printf_boundaries);
	tcase_add_test(tc, test_printf_large);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_detach);
	suite_add_tcase(s, tc);

	/* libc generates the whole 1 GiB of padding just to measure it. */
	tcase_set_timeout(big, 60);
	tcase_add_test(big, test_printf_over_max_fails);
	suite_add_tcase(s, big);
	return s;
}

int
main(void)
{
	return tu_run(buf_suite());
}
