#include <check.h>
#include <string.h>

#include "route.h"
#include "testutil.h"

static int h_list(struct req *r) { (void)r; return 1; }
static int h_show(struct req *r) { (void)r; return 2; }
static int h_post(struct req *r) { (void)r; return 3; }
static int h_env(struct req *r) { (void)r; return 4; }

static const struct route tbl[] = {
	{ "GET", "/servers", h_list, NULL, 0, 0 },
	{ "GET", "/servers/new", h_list, NULL, 0, 0 },
	{ "GET", "/servers/:uuid", h_show, NULL, 0, 0 },
	{ "POST", "/servers/:uuid", h_post, NULL, 0, 0 },
	{ "GET", "/apps/:uuid/envs/:uuid", h_env, NULL, 0, 0 },
};
#define N	(sizeof(tbl) / sizeof(tbl[0]))
#define U1	"0b8e7a3c-5d1f-4e2a-9c3b-1a2b3c4d5e6f"
#define U2	"ffffffff-0000-4000-8000-000000000001"

START_TEST(matches)
{
	char	 p[ROUTE_MAXPARAMS][ROUTE_PARAMLEN], allow[64];
	int	 st;
	const struct route *r;

	r = route_match(tbl, N, "GET", "/servers", p, &st, allow, sizeof(allow));
	ck_assert_ptr_eq(r, &tbl[0]);
	r = route_match(tbl, N, "GET", "/servers/new", p, &st, allow, sizeof(allow));
	ck_assert_ptr_eq(r, &tbl[1]);
	r = route_match(tbl, N, "GET", "/servers/" U1, p, &st, allow, sizeof(allow));
	ck_assert_ptr_eq(r, &tbl[2]);
	ck_assert_str_eq(p[0], U1);
	r = route_match(tbl, N, "HEAD", "/servers/" U1, p, &st, allow, sizeof(allow));
	ck_assert_ptr_eq(r, &tbl[2]);
	r = route_match(tbl, N, "POST", "/servers/" U1, p, &st, allow, sizeof(allow));
	ck_assert_ptr_eq(r, &tbl[3]);
	r = route_match(tbl, N, "GET", "/apps/" U1 "/envs/" U2, p, &st, allow,
	    sizeof(allow));
	ck_assert_ptr_eq(r, &tbl[4]);
	ck_assert_str_eq(p[0], U1);
	ck_assert_str_eq(p[1], U2);
}
END_TEST

START_TEST(refusals)
{
	char	 p[ROUTE_MAXPARAMS][ROUTE_PARAMLEN], allow[64];
	int	 st;
	static const char *const notfound[] = {
		"/", "/server", "/servers/", "/servers//", "/serverss",
		"/servers/not-a-uuid", "/servers/" U1 "/", "/servers/" U1 "x",
		"/servers/0B8E7A3C-5D1F-4E2A-9C3B-1A2B3C4D5E6F",	/* not canonical */
		"/servers/" U1 "/../new", "servers", "", "/apps/" U1 "/envs",
		"/servers/%30b8e7a3c-5d1f-4e2a-9c3b-1a2b3c4d5e6f",
		"/servers/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		NULL };

	for (const char *const *s = notfound; *s; s++) {
		ck_assert_msg(route_match(tbl, N, "GET", *s, p, &st, allow,
		    sizeof(allow)) == NULL, "%s matched", *s);
		ck_assert_int_eq(st, 404);
	}
	ck_assert_ptr_null(route_match(tbl, N, "PUT", "/servers", p, &st, allow,
	    sizeof(allow)));
	ck_assert_int_eq(st, 405);
	ck_assert_str_eq(allow, "GET");
	ck_assert_ptr_null(route_match(tbl, N, "DELETE", "/servers/" U1, p, &st,
	    allow, sizeof(allow)));
	ck_assert_int_eq(st, 405);
	ck_assert_str_eq(allow, "GET, POST");
}
END_TEST

static const char *const colours[] = { "red", "green", NULL };
static const struct field fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "port", FT_PORT, FF_REQ, 0, 0, NULL },
	{ "count", FT_INT, 0, 1, 100, NULL },
	{ "build", FT_BOOL, 0, 0, 0, NULL },
	{ "colour", FT_ENUM, FF_REQ, 0, 0, colours },
	{ "ids", FT_UUID, FF_MULTI, 0, 0, NULL },
	{ "note", FT_TEXT, 0, 0, 5, NULL },
	{ "secret", FT_SECRET, 0, 0, 0, NULL },
};
#define NF	(sizeof(fields) / sizeof(fields[0]))

static int
validate(const char *form, struct input *in)
{
	struct kvlist	 l;
	int		 rc;

	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, form, strlen(form)), FORM_OK);
	input_init(in);
	rc = route_validate(fields, NF, 0, &l, in);
	kvlist_release(&l);
	return rc;
}

START_TEST(validation_ok)
{
	struct input	 in;

	ck_assert_int_eq(validate("name=+web+1+&port=22&count=007&build=on&"
	    "colour=red&ids=" U1 "&ids=" U2 "&secret=+keep+spaces+&extra=x", &in), 0);
	ck_assert_str_eq(input_get(&in, "name"), "web 1");	/* trimmed */
	ck_assert_str_eq(input_get(&in, "count"), "7");		/* normalised */
	ck_assert_str_eq(input_get(&in, "build"), "true");
	ck_assert_str_eq(input_get(&in, "secret"), " keep spaces ");
	ck_assert_int_eq(kv_count(&in.vals, "ids"), 2);
	ck_assert_ptr_null(input_get(&in, "extra"));		/* undeclared */
	ck_assert_int_eq(in.errs.n, 0);
	input_release(&in);

	/* Absent checkbox is false; empty optional is absent. */
	ck_assert_int_eq(validate("name=a&port=1&colour=green&count=&note=", &in), 0);
	ck_assert_str_eq(input_get(&in, "build"), "false");
	ck_assert_ptr_null(input_get(&in, "count"));
	ck_assert_ptr_null(input_get(&in, "note"));
	input_release(&in);

	/* An empty checkbox is unchecked too: a boolean is never absent
	 * (handlers compare it without a NULL check). */
	ck_assert_int_eq(validate("name=a&port=1&colour=green&build=", &in), 0);
	ck_assert_str_eq(input_get(&in, "build"), "false");
	input_release(&in);
}
END_TEST

/* A field of one action only (FF_CREATE, FF_UPDATE) is neither checked
 * nor kept by a route of the other; ROUTE_SKIP names what a route skips. */
START_TEST(validation_modes)
{
	static const struct field f[] = {
		{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
		{ "connect", FT_BOOL, FF_CREATE, 0, 0, NULL },
		{ "token", FT_NAME, FF_REQ | FF_UPDATE, 0, 0, NULL },
	};
	struct kvlist	 l;
	struct input	 in;

	kvlist_init(&l);
	ck_assert_int_eq(form_parse(&l, "name=a&connect=on", 17), FORM_OK);
	input_init(&in);
	ck_assert_int_eq(route_validate(f, 3, ROUTE_SKIP(R_CREATE), &l, &in), 0);
	ck_assert_str_eq(input_get(&in, "connect"), "true");
	ck_assert_ptr_null(input_get(&in, "token"));
	input_release(&in);
	/* Updating: connect is ignored, the required token is missing. */
	input_init(&in);
	ck_assert_int_eq(route_validate(f, 3, ROUTE_SKIP(R_UPDATE), &l, &in), 1);
	ck_assert_ptr_null(input_get(&in, "connect"));
	ck_assert_str_eq(kv_get(&in.errs, "token"), "is required");
	input_release(&in);
	/* A route of neither action takes neither. */
	input_init(&in);
	ck_assert_int_eq(route_validate(f, 3, ROUTE_SKIP(0), &l, &in), 0);
	ck_assert_ptr_null(input_get(&in, "connect"));
	input_release(&in);
	kvlist_release(&l);
}
END_TEST

START_TEST(validation_errors)
{
	struct input	 in;

	ck_assert_int_eq(validate("name=&port=99999&count=0&build=maybe&"
	    "colour=blue&ids=nope&note=toolong", &in), 1);
	ck_assert_str_eq(kv_get(&in.errs, "name"), "is required");
	ck_assert_ptr_nonnull(kv_get(&in.errs, "port"));
	ck_assert_ptr_nonnull(strstr(kv_get(&in.errs, "count"), "1 to 100"));
	ck_assert_ptr_nonnull(kv_get(&in.errs, "build"));
	ck_assert_ptr_nonnull(kv_get(&in.errs, "colour"));
	ck_assert_ptr_nonnull(kv_get(&in.errs, "ids"));
	ck_assert_str_eq(kv_get(&in.errs, "note"), "is too long");
	ck_assert_ptr_null(input_get(&in, "name"));
	input_release(&in);

	/* Missing required fields, and a scalar given twice. */
	ck_assert_int_eq(validate("name=a&name=b", &in), 1);
	ck_assert_str_eq(kv_get(&in.errs, "name"), "was given more than once");
	ck_assert_str_eq(kv_get(&in.errs, "port"), "is required");
	ck_assert_str_eq(kv_get(&in.errs, "colour"), "is required");
	input_release(&in);

	/* Control characters in text. */
	ck_assert_int_eq(validate("name=a&port=1&colour=red&note=a%07b", &in), 1);
	ck_assert_ptr_nonnull(kv_get(&in.errs, "note"));
	input_release(&in);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("route");
	TCase	*tc = tcase_create("route");

	tcase_add_test(tc, matches);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, validation_ok);
	tcase_add_test(tc, validation_errors);
	tcase_add_test(tc, validation_modes);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
