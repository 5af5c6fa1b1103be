/*
 * The services' field checks and textarea parsing (lib/domain/service.c):
 * pure functions, no database. The writes are tested through the pages
 * (check_web.c's services_*).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "testutil.h"

START_TEST(names)
{
	char	 s[80];

	ck_assert_ptr_null(svc_check_name("web"));
	ck_assert_ptr_null(svc_check_name("0api_v2-x"));
	ck_assert_ptr_nonnull(svc_check_name(""));
	ck_assert_ptr_nonnull(svc_check_name("Web"));
	ck_assert_ptr_nonnull(svc_check_name("-web"));
	ck_assert_ptr_nonnull(svc_check_name("_web"));
	ck_assert_ptr_nonnull(svc_check_name("we.b"));
	ck_assert_ptr_nonnull(svc_check_name("we b"));
	ck_assert_ptr_nonnull(svc_check_name("web$"));
	memset(s, 'a', 63);
	s[63] = '\0';
	ck_assert_ptr_null(svc_check_name(s));
	s[63] = 'a';
	s[64] = '\0';
	ck_assert_ptr_nonnull(svc_check_name(s));
}
END_TEST

START_TEST(command_and_health)
{
	char	*big;

	ck_assert_ptr_null(svc_check_command("sh -c 'echo \"$HOME\" | cat'"));
	ck_assert_ptr_null(svc_check_command("caf\xc3\xa9"));
	ck_assert_ptr_nonnull(svc_check_command("a\nb"));
	ck_assert_ptr_nonnull(svc_check_command("a\rb"));
	ck_assert_ptr_nonnull(svc_check_command("a\tb"));
	ck_assert_ptr_nonnull(svc_check_command("a\x7f"));
	ck_assert_ptr_nonnull(svc_check_command("\xff\xfe"));
	big = malloc(4098);
	memset(big, 'x', 4096);
	big[4096] = '\0';
	ck_assert_ptr_null(svc_check_command(big));
	big[4096] = 'x';
	big[4097] = '\0';
	ck_assert_ptr_nonnull(svc_check_command(big));

	ck_assert_ptr_null(svc_check_health_path("/"));
	ck_assert_ptr_null(svc_check_health_path("/health?x=$y&z='1'"));
	ck_assert_ptr_nonnull(svc_check_health_path("health"));
	ck_assert_ptr_nonnull(svc_check_health_path(""));
	ck_assert_ptr_nonnull(svc_check_health_path("/a b"));
	ck_assert_ptr_nonnull(svc_check_health_path("/a\tb"));
	ck_assert_ptr_nonnull(svc_check_health_path("/a\nb"));
	big[0] = '/';
	big[1024] = '\0';
	ck_assert_ptr_null(svc_check_health_path(big));
	big[1024] = 'x';
	big[1025] = '\0';
	ck_assert_ptr_nonnull(svc_check_health_path(big));
	free(big);
}
END_TEST

START_TEST(bind_addresses)
{
	ck_assert_ptr_null(svc_check_bind("0.0.0.0"));
	ck_assert_ptr_null(svc_check_bind("127.0.0.5"));
	ck_assert_ptr_null(svc_check_bind("::1"));
	ck_assert_ptr_null(svc_check_bind("fe80::1"));
	ck_assert_ptr_nonnull(svc_check_bind("localhost"));
	ck_assert_ptr_nonnull(svc_check_bind("1.2.3"));
	ck_assert_ptr_nonnull(svc_check_bind("256.1.1.1"));
	ck_assert_ptr_nonnull(svc_check_bind("[::1]"));
	ck_assert_ptr_nonnull(svc_check_bind("127.0.0.1 "));
	ck_assert_ptr_nonnull(svc_check_bind(""));
}
END_TEST

START_TEST(variables)
{
	char	 s[140];

	ck_assert_ptr_null(svc_check_var_name("DATABASE_URL"));
	ck_assert_ptr_null(svc_check_var_name("_x1"));
	ck_assert_ptr_nonnull(svc_check_var_name("HOST"));
	ck_assert_ptr_nonnull(svc_check_var_name("PORT"));
	ck_assert_ptr_null(svc_check_var_name("HOSTNAME"));
	ck_assert_ptr_nonnull(svc_check_var_name("1X"));
	ck_assert_ptr_nonnull(svc_check_var_name("A-B"));
	ck_assert_ptr_nonnull(svc_check_var_name("A B"));
	ck_assert_ptr_nonnull(svc_check_var_name(""));
	memset(s, 'A', 128);
	s[128] = '\0';
	ck_assert_ptr_null(svc_check_var_name(s));
	s[128] = 'A';
	s[129] = '\0';
	ck_assert_ptr_nonnull(svc_check_var_name(s));

	/* Plain: anything but NUL (newlines, $, quotes); secret: one line. */
	ck_assert_ptr_null(svc_check_var_value("a\nb $x \"'` ${Y} \t\r"));
	ck_assert_ptr_null(svc_check_var_value(""));
	ck_assert_ptr_nonnull(svc_check_var_value("\xc3"));
	ck_assert_ptr_null(svc_check_secret_value("s3cr$t \"'` ${Y}"));
	ck_assert_ptr_nonnull(svc_check_secret_value("a\nb"));
	ck_assert_ptr_nonnull(svc_check_secret_value("a\rb"));
	ck_assert_ptr_nonnull(svc_check_secret_value("\xc3"));
}
END_TEST

START_TEST(volumes)
{
	ck_assert_ptr_null(svc_check_volume_name("data"));
	ck_assert_ptr_null(svc_check_volume_name("d.a_t-a0"));
	ck_assert_ptr_nonnull(svc_check_volume_name(".data"));
	ck_assert_ptr_nonnull(svc_check_volume_name("Data"));
	ck_assert_ptr_nonnull(svc_check_volume_name("da/ta"));
	ck_assert_ptr_nonnull(svc_check_volume_name(""));
	ck_assert_ptr_null(svc_check_mount("/var/lib/app"));
	ck_assert_ptr_null(svc_check_mount("/"));
	ck_assert_ptr_nonnull(svc_check_mount("var/lib"));
	ck_assert_ptr_nonnull(svc_check_mount("/a b"));
	ck_assert_ptr_nonnull(svc_check_mount("/a\nb"));
	ck_assert_ptr_nonnull(svc_check_mount(""));
}
END_TEST

START_TEST(parse_vars)
{
	struct svc_kvs	 l;
	char		 err[256];

	ck_assert_int_eq(svc_parse_vars("A=1\n\nB_2=x=y\nC=\n", &l, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0].name, "A");
	ck_assert_str_eq(l.v[0].value, "1");
	ck_assert_str_eq(l.v[1].name, "B_2");
	ck_assert_str_eq(l.v[1].value, "x=y");
	ck_assert_str_eq(l.v[2].name, "C");
	ck_assert_str_eq(l.v[2].value, "");
	svc_kvs_free(&l);

	ck_assert_int_eq(svc_parse_vars("", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 0);
	svc_kvs_free(&l);

	ck_assert_int_eq(svc_parse_vars("A=1\nnovalue\n", &l, err,
	    sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	ck_assert_ptr_null(l.v);
	ck_assert_int_eq(svc_parse_vars("A=1\nA=2\n", &l, err, sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(err, "twice"));
	ck_assert_int_eq(svc_parse_vars("PORT=1\n", &l, err, sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(err, "HOST or PORT"));
	ck_assert_int_eq(svc_parse_vars("1A=1\n", &l, err, sizeof(err)), 1);
}
END_TEST

START_TEST(parse_volumes)
{
	struct svc_kvs	 l;
	char		 err[256];

	ck_assert_int_eq(svc_parse_volumes("data:/var/lib/app\nlogs:/logs",
	    &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[1].name, "logs");
	ck_assert_str_eq(l.v[1].value, "/logs");
	svc_kvs_free(&l);

	ck_assert_int_eq(svc_parse_volumes("data:/a\nother:/a", &l, err,
	    sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(err, "twice"));
	ck_assert_int_eq(svc_parse_volumes("data:relative", &l, err,
	    sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(err, "absolute"));
	ck_assert_int_eq(svc_parse_volumes("data /a", &l, err, sizeof(err)), 1);
	ck_assert_int_eq(svc_parse_volumes("Data:/a", &l, err, sizeof(err)), 1);
}
END_TEST

/* A form as svc_check sees it: valid unless the test changes it. */
static void
good_in(struct svc_in *in)
{
	memset(in, 0, sizeof(*in));
	in->name = "web";
	in->port = "8080";
	in->health_kind = "http";
	in->health_path = "/";
	in->health_interval_s = "2";
	in->health_timeout_s = "60";
	in->restart_policy = "unless-stopped";
}

START_TEST(whole_form)
{
	struct svc_in	 in;
	struct svc_errs	 e;

	good_in(&in);
	e.n = 0;
	ck_assert_uint_eq(svc_check(&in, &e), 0);

	in.port = "0";
	in.health_interval_s = "301";
	in.health_timeout_s = "3601";
	in.restart_policy = "sometimes";
	ck_assert_uint_eq(svc_check(&in, &e), 4);
	ck_assert_str_eq(e.field[0], "port");
	ck_assert_str_eq(e.field[1], "health_interval_s");
	ck_assert_str_eq(e.field[2], "health_timeout_s");
	ck_assert_str_eq(e.field[3], "restart_policy");

	/* A command check needs its command; none needs nothing. */
	good_in(&in);
	e.n = 0;
	in.health_kind = "command";
	ck_assert_uint_eq(svc_check(&in, &e), 1);
	ck_assert_str_eq(e.field[0], "health_command");
	e.n = 0;
	in.health_kind = "none";
	in.health_path = NULL;
	ck_assert_uint_eq(svc_check(&in, &e), 0);

	/* A secret: both its name and value, one line. */
	good_in(&in);
	in.secret_name = "TOKEN";
	ck_assert_uint_eq(svc_check(&in, &e), 1);
	ck_assert_str_eq(e.field[0], "secret_value");
	e.n = 0;
	in.secret_value = "a\nb";
	ck_assert_uint_eq(svc_check(&in, &e), 1);
	ck_assert_str_eq(e.field[0], "secret_value");
	e.n = 0;
	in.secret_name = "PORT";
	in.secret_value = "x";
	ck_assert_uint_eq(svc_check(&in, &e), 1);
	ck_assert_str_eq(e.field[0], "secret_name");
	e.n = 0;
	in.bind_address = "example.com";
	in.secret_name = NULL;
	in.secret_value = NULL;
	ck_assert_uint_eq(svc_check(&in, &e), 1);
	ck_assert_str_eq(e.field[0], "bind_address");
}
END_TEST

static Suite *
service_suite(void)
{
	Suite	*s = suite_create("service");
	TCase	*tc = tcase_create("checks");

	tcase_add_test(tc, names);
	tcase_add_test(tc, command_and_health);
	tcase_add_test(tc, bind_addresses);
	tcase_add_test(tc, variables);
	tcase_add_test(tc, volumes);
	tcase_add_test(tc, parse_vars);
	tcase_add_test(tc, parse_volumes);
	tcase_add_test(tc, whole_form);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(service_suite());
}
