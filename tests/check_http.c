#include <check.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "testutil.h"

static int
sink(void *arg, const void *p, size_t n)
{
	return buf_put(arg, p, n);
}

START_TEST(opener_writes_security_headers)
{
	struct buf	 out;
	struct resp	 r = { sink, &out, 0, 0, 0 };
	struct hdr	 h[] = { { "Location", "/x" } };

	buf_init(&out);
	ck_assert_int_eq(http_open(&r, 303, "text/html; charset=utf-8", h, 1), 0);
	ck_assert_ptr_nonnull(strstr(out.ptr, "Status: 303 See Other\r\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "Content-Security-Policy: default-src 'none';"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "frame-ancestors 'none'"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "X-Content-Type-Options: nosniff\r\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "Referrer-Policy: same-origin\r\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "Strict-Transport-Security: max-age="));
	ck_assert_ptr_nonnull(strstr(out.ptr, "Cache-Control: no-store\r\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "Location: /x\r\n"));
	ck_assert_int_eq(strcmp(out.ptr + out.len - 4, "\r\n\r\n"), 0);
	/* Once only. */
	ck_assert_int_eq(http_open(&r, 200, "text/plain", NULL, 0), -1);
	ck_assert_int_eq(http_write(&r, "body", 4), 0);
	ck_assert_int_eq(r.bytes, 4);
	buf_release(&out);
}
END_TEST

START_TEST(opener_refuses_injection)
{
	struct buf	 out;
	struct resp	 r = { sink, &out, 0, 0, 0 };
	struct hdr	 bad[] = { { "Location", "/x\r\nSet-Cookie: evil=1" } };

	buf_init(&out);
	ck_assert_int_eq(http_write(&r, "early", 5), -1);	/* before headers */
	ck_assert_int_eq(http_open(&r, 303, NULL, bad, 1), -1);
	ck_assert_int_eq(out.len, 0);
	ck_assert_int_eq(r.opened, 0);
	ck_assert_int_eq(http_open(&r, 99, NULL, NULL, 0), -1);
	ck_assert_int_eq(http_open(&r, 404, "text/html\nX: y", NULL, 0), -1);
	ck_assert_int_eq(out.len, 0);
	ck_assert_str_eq(http_reason(413), "Payload Too Large");
	buf_release(&out);
}
END_TEST

START_TEST(send_announces_length)
{
	struct buf	 out;
	struct resp	 r = { sink, &out, 0, 0, 0 };
	struct resp	 h = { sink, &out, 0, 0, 0 };
	char		*body;

	buf_init(&out);
	ck_assert_int_eq(http_send(&r, 200, "text/plain", NULL, 0, "hello\n", 6,
	    0), 0);
	ck_assert_ptr_nonnull(strstr(out.ptr, "Content-Length: 6\r\n"));
	ck_assert_ptr_nonnull(body = strstr(out.ptr, "\r\n\r\n"));
	ck_assert_str_eq(body + 4, "hello\n");
	ck_assert_int_eq(r.bytes, 6);
	ck_assert_int_eq(http_send(&r, 200, "text/plain", NULL, 0, "x", 1, 0), -1);
	/* HEAD: the length of the GET answer, no body. */
	buf_release(&out);
	buf_init(&out);
	ck_assert_int_eq(http_send(&h, 200, "text/plain", NULL, 0, "hello\n", 6,
	    1), 0);
	ck_assert_ptr_nonnull(strstr(out.ptr, "Content-Length: 6\r\n"));
	ck_assert_int_eq(strcmp(out.ptr + out.len - 4, "\r\n\r\n"), 0);
	ck_assert_int_eq(h.bytes, 0);
	buf_release(&out);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("http");

	tcase_add_test(tc, opener_writes_security_headers);
	tcase_add_test(tc, opener_refuses_injection);
	tcase_add_test(tc, send_announces_length);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
