/*
 * lib/domain/reg.c's settings resolver, the one place the page and the planners
 * take the registry's settings from: the stored row where it has a value,
 * else the configuration, else the defaults.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reg.h"
#include "testutil.h"

START_TEST(defaults)
{
	struct config		 c;
	struct reg_settings	 s;

	config_init(&c);
	reg_settings(&c, NULL, &s);
	ck_assert_ptr_null(s.hostname);
	ck_assert_str_eq(s.storage, "/home/keystone/registry/data");
	ck_assert_str_eq(s.listen, "127.0.0.1:5000");
	ck_assert_str_eq(s.conf_dir, "/etc/keystone/registry");
	ck_assert_str_eq(s.image, "registry:2");
	ck_assert_str_eq(s.container, REG_CONTAINER);
	ck_assert_str_eq(s.docker_config, "/home/keystone/.docker");
	ck_assert_str_eq(s.ca_file, "");
	config_release(&c);
}
END_TEST

START_TEST(configured_then_stored)
{
	struct config		 c;
	struct reg		 row;
	struct reg_settings	 s;

	config_init(&c);
	c.registry_host = strdup("reg.conf.test");
	c.registry_storage = strdup("/mnt/conf");
	c.registry_listen = strdup("127.0.0.9:5001");
	c.registry_conf_dir = strdup("/etc/ks-reg");
	c.registry_ca_file = strdup("/etc/ks-ca.crt");
	reg_settings(&c, NULL, &s);
	ck_assert_str_eq(s.hostname, "reg.conf.test");
	ck_assert_str_eq(s.storage, "/mnt/conf");
	ck_assert_str_eq(s.listen, "127.0.0.9:5001");
	ck_assert_str_eq(s.conf_dir, "/etc/ks-reg");
	ck_assert_str_eq(s.ca_file, "/etc/ks-ca.crt");

	/* A missing row (reg_load's "missing": empty fields) changes
	 * nothing; a stored one wins over the configuration. */
	memset(&row, 0, sizeof(row));
	reg_settings(&c, &row, &s);
	ck_assert_str_eq(s.hostname, "reg.conf.test");
	ck_assert_str_eq(s.storage, "/mnt/conf");
	row.hostname = (char *)"reg.stored.test";
	row.storage = (char *)"/mnt/stored";
	row.listen = (char *)"127.0.0.8:5002";
	reg_settings(&c, &row, &s);
	ck_assert_str_eq(s.hostname, "reg.stored.test");
	ck_assert_str_eq(s.storage, "/mnt/stored");
	ck_assert_str_eq(s.listen, "127.0.0.8:5002");
	ck_assert_str_eq(s.conf_dir, "/etc/ks-reg");
	config_release(&c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("reg");
	TCase	*tc = tcase_create("reg");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, configured_then_stored);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
