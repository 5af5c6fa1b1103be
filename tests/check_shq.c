/* The quoting helper, proven by bash itself: every hostile value comes
 * back from `printf %s` verbatim and no canary file appears. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "shq.h"
#include "testutil.h"

static const char *const hostile[] = {
	"plain", "", "with space", "it's", "''", "'", "\\", "\\'", "a\\nb",
	"$(touch /tmp/ks-shq-canary)", "`touch /tmp/ks-shq-canary`",
	"; touch /tmp/ks-shq-canary", "| touch /tmp/ks-shq-canary",
	"&& touch /tmp/ks-shq-canary", "${IFS}x", "$HOME", "*", "?", "[a]",
	"~root", "-rf", "--option=1", "line1\nline2", "tab\there", "\"dq\"",
	"!history", "#comment", "héllo wörld ☃", "'; touch /tmp/ks-shq-canary; '",
	NULL
};

START_TEST(values_survive_bash)
{
	char		 path[] = "/tmp/ks-shq-XXXXXX", cmd[128];
	struct buf	 script;
	FILE		*f;
	char		*out;
	int		 fd;

	unlink("/tmp/ks-shq-canary");
	buf_init(&script);
	for (size_t i = 0; hostile[i] != NULL; i++) {
		buf_puts(&script, "printf '%s\\0' ");
		ck_assert_int_eq(shq_appends(&script, hostile[i]), 0);
		buf_putc(&script, '\n');
	}
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, script.ptr, script.len), (ssize_t)script.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "bash '%s' > '%s.out'", path, path);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.out", path);
	{
		size_t len, off = 0;
		ck_assert_ptr_nonnull(out = tu_slurp(cmd, &len));
		for (size_t i = 0; hostile[i] != NULL; i++) {
			size_t hl = strlen(hostile[i]);
			ck_assert_msg(off + hl < len + 1 && memcmp(out + off,
			    hostile[i], hl) == 0 && out[off + hl] == '\0',
			    "value %zu came back changed", i);
			off += hl + 1;
		}
		ck_assert_uint_eq(off, len);
		free(out);
	}
	ck_assert_int_ne(access("/tmp/ks-shq-canary", F_OK), 0);
	unlink(cmd);
	unlink(path);
	buf_release(&script);
	(void)f;
}
END_TEST

/* The assignment lines the generated scripts start with. */
START_TEST(assignment_line)
{
	struct buf	 b;

	buf_init(&b);
	ck_assert_int_eq(shq_assign(&b, "HOST", "a'b $(x)"), 0);
	ck_assert_str_eq(b.ptr, "HOST='a'\\''b $(x)'\n");
	ck_assert_int_eq(shq_assign(&b, "NUL", "\xff"), -1);
	buf_release(&b);
}
END_TEST

START_TEST(refusals)
{
	struct buf	 b;

	buf_init(&b);
	buf_puts(&b, "x=");
	ck_assert_int_eq(shq_append(&b, "a\0b", 3), -1);
	ck_assert_int_eq(shq_appends(&b, "\xff\xfe"), -1);
	ck_assert_int_eq(shq_appends(&b, "\xc0\xaf"), -1);
	ck_assert_str_eq(b.ptr, "x=");		/* unchanged */
	ck_assert_int_eq(shq_appends(&b, "it's"), 0);
	ck_assert_str_eq(b.ptr, "x='it'\\''s'");
	buf_release(&b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("shq");
	TCase	*tc = tcase_create("shq");

	tcase_add_test(tc, values_survive_bash);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, assignment_line);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
