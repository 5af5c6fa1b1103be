#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static const char *good =
    "# comment\n"
    "database = host=/tmp dbname=keystone\n"
    "master_key_file = /etc/keystone/master.key  # trailing comment\n"
    "fcgi_socket = /run/keystone/app.sock\n"
    "base_url = https://keystone.example.com\n"
    "workers = 4\n";

START_TEST(parses_and_defaults)
{
	struct config	 c;
	char		 err[256];

	config_init(&c);
	ck_assert_int_eq(config_parse(&c, good, err, sizeof(err)), 0);
	ck_assert_str_eq(c.database, "host=/tmp dbname=keystone");
	ck_assert_str_eq(c.master_key_file, "/etc/keystone/master.key");
	ck_assert_int_eq(c.workers, 4);
	ck_assert_int_eq(c.session_idle_min, 60);
	ck_assert_int_eq(c.login_max_failures, 100);
	config_release(&c);
}
END_TEST

static void
expect_error(const char *text, const char *needle)
{
	struct config	 c;
	char		 err[256] = "";

	config_init(&c);
	ck_assert_int_eq(config_parse(&c, text, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err,
	    needle);
	config_release(&c);
}

START_TEST(errors_name_the_key)
{
	expect_error("database = x\n", "master_key_file");	/* missing required */
	expect_error("bogus = 1\n", "unknown key `bogus`");
	expect_error("workers = lots\n", "workers must be an integer");
	expect_error("workers = 0\n", "workers must be an integer from 1");
	expect_error("login_max_failures = 101\n", "login_max_failures");
	expect_error("master_key_file = relative/path\n", "master_key_file must be an absolute path");
	expect_error("base_url = http://x\n", "base_url must look like https://");
	expect_error("base_url = https://x/path\n", "base_url");
	expect_error("database\n", "expected `key = value`");
	expect_error("database = x\nmaster_key_file = /k\nfcgi_socket = /s\n"
	    "base_url = https://x\nregistry_tls = interal\n",
	    "registry_tls must be acme or internal");
	expect_error("registry_check_minutes = 1441\n", "registry_check_minutes");
	expect_error("registry_storage = data\n", "registry_storage must be an absolute path");
}
END_TEST

START_TEST(environment_overrides)
{
	struct config	 c;
	char		 err[256], path[] = "/tmp/ks-config-XXXXXX";
	int		 fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	close(fd);
	setenv("KEYSTONE_WORKERS", "7", 1);
	setenv("KEYSTONE_DATABASE", "dbname=other", 1);
	config_init(&c);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.workers, 7);
	ck_assert_str_eq(c.database, "dbname=other");
	config_release(&c);

	setenv("KEYSTONE_WORKERS", "-3", 1);
	config_init(&c);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "KEYSTONE_WORKERS"));
	config_release(&c);
	unsetenv("KEYSTONE_WORKERS");
	unsetenv("KEYSTONE_DATABASE");
	unlink(path);

	config_init(&c);
	ck_assert_int_eq(config_load(&c, "/nonexistent/keystone.conf", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/keystone.conf"));
	config_release(&c);
}
END_TEST

/* A base URL on loopback: provisioned servers share this machine's
 * network, so their Docker gets no bridge unless the file says otherwise. */
static void
daemon_json_for(const char *url, const char *extra, const char *want)
{
	struct config	 c;
	char		 err[256], text[512];

	snprintf(text, sizeof(text), "database = x\nmaster_key_file = /k\n"
	    "fcgi_socket = /s\nbase_url = %s\n%s", url, extra);
	config_init(&c);
	ck_assert_msg(config_parse(&c, text, err, sizeof(err)) == 0, "%s", err);
	if (want == NULL)
		ck_assert_msg(c.provision_daemon_json == NULL, "%s: got %s", url,
		    c.provision_daemon_json);
	else
		ck_assert_msg(c.provision_daemon_json != NULL &&
		    strcmp(c.provision_daemon_json, want) == 0, "%s: got %s", url,
		    c.provision_daemon_json ? c.provision_daemon_json : "(none)");
	config_release(&c);
}

START_TEST(loopback_gets_no_bridge)
{
	const char *nb = CONFIG_NO_BRIDGE_JSON;

	ck_assert_ptr_nonnull(strstr(nb, "\"bridge\": \"none\""));
	ck_assert_ptr_nonnull(strstr(nb, "\"iptables\": false"));
	ck_assert_ptr_nonnull(strstr(nb, "\"ip-forward\": false"));
	daemon_json_for("https://localhost:8443", "", nb);
	daemon_json_for("https://localhost", "", nb);
	daemon_json_for("https://127.0.0.1:8443", "", nb);
	daemon_json_for("https://127.3.4.5", "", nb);
	daemon_json_for("https://[::1]:8443", "", nb);
	daemon_json_for("https://ks.localhost:8443", "", nb);
	daemon_json_for("https://keystone.example.com", "", NULL);
	daemon_json_for("https://localhost.example.com", "", NULL);
	daemon_json_for("https://127.example.com", "", NULL);
	daemon_json_for("https://localhost:8443",
	    "provision_daemon_json = {\"log-level\": \"warn\"}\n",
	    "{\"log-level\": \"warn\"}");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");

	tcase_add_test(tc, parses_and_defaults);
	tcase_add_test(tc, errors_name_the_key);
	tcase_add_test(tc, environment_overrides);
	tcase_add_test(tc, loopback_gets_no_bridge);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
