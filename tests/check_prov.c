/*
 * prov_render(): the provisioning script from its values, without a
 * database. Every value reaches the script only as one NAME='value'
 * setting written by lib/core/shq.c; bash reads each back exactly, and none
 * runs, whatever it holds (a server's name with a newline, quotes, $( )).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "prov.h"
#include "testutil.h"

static char	 dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ks-check-prov.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char	 c[128];

	snprintf(c, sizeof(c), "rm -rf -- '%s'", dir);
	if (system(c) != 0)
		fprintf(stderr, "check_prov: cannot remove %s\n", dir);
}

static const char *const names[] = { "SERVER_NAME", "KEYSTONE_URL",
    "CALLBACK_SECRET", "MGMT_PUBKEY", "SUDO_PASSWORD", "CA_PEM", "REG_HOST",
    "REG_CA_PEM", "DAEMON_JSON", "BUILD_ROLE" };
#define NNAMES	(sizeof(names) / sizeof(names[0]))

/* Runs the script's header and settings (all before its first command)
 * with bash, and reads back each variable, in names' order, into got (the
 * values NUL-separated). Returns bash's exit status. */
static int
run_settings(const char *script, char **got, size_t *len)
{
	const char	*end;
	char		 path[128], c[256];
	FILE		*f;
	int		 rc;

	ck_assert_ptr_nonnull(end = strstr(script, "\nset -euo pipefail\n"));
	snprintf(path, sizeof(path), "%s/settings.sh", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%.*s\n", (int)(end - script), script);
	for (size_t i = 0; i < NNAMES; i++)
		fprintf(f, "printf '%%s\\0' \"$%s\"\n", names[i]);
	fclose(f);
	snprintf(c, sizeof(c), "cd '%s' && bash -u settings.sh > values", dir);
	rc = system(c);
	snprintf(path, sizeof(path), "%s/values", dir);
	*got = tu_slurp(path, len);
	ck_assert_ptr_nonnull(*got);
	return rc;
}

START_TEST(values_stay_values)
{
	struct prov_script v;
	struct buf	 out;
	char		 name[512], other[256], *got, *p, ran[128];
	const char	*want[NNAMES];
	size_t		 len;

	/* A name stored with a newline (an import, the database): as a
	 * comment it would end at the newline, and the rest would run. */
	snprintf(name, sizeof(name), "web-1\ntouch %s/ran\n$(touch %s/ran)`touch %s/ran`"
	    "'; touch %s/ran; '\n# \\", dir, dir, dir, dir);
	snprintf(other, sizeof(other), "x'\"$HOME\n\ttouch %s/ran", dir);
	memset(&v, 0, sizeof(v));
	v.server_name = name;
	v.keystone_url = "https://keystone.example.com";
	v.mgmt_pubkey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
	v.secret_callback = "cb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	v.secret_sudo = other;
	v.ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
	v.reg_host = "registry.example.com";
	v.reg_ca_pem = NULL;	/* "" */
	v.daemon_json = "{\"bridge\": \"none\"}";
	v.role_build = 1;
	want[0] = v.server_name;
	want[1] = v.keystone_url;
	want[2] = v.secret_callback;
	want[3] = v.mgmt_pubkey;
	want[4] = v.secret_sudo;
	want[5] = v.ca_pem;
	want[6] = v.reg_host;
	want[7] = "";
	want[8] = v.daemon_json;
	want[9] = "1";
	buf_init(&out);
	ck_assert_int_eq(prov_render(&out, &v), 0);
	ck_assert_int_eq(run_settings(out.ptr, &got, &len), 0);
	snprintf(ran, sizeof(ran), "%s/ran", dir);
	ck_assert_msg(access(ran, F_OK) == -1, "a value ran a command:\n%.1500s", out.ptr);
	p = got;
	for (size_t i = 0; i < NNAMES; i++) {
		ck_assert_msg(p < got + len, "%s missing", names[i]);
		ck_assert_msg(strcmp(p, want[i]) == 0, "%s: got \"%s\", want \"%s\"",
		    names[i], p, want[i]);
		p += strlen(p) + 1;
	}
	ck_assert_ptr_eq(p, got + len);
	free(got);
	/* The name is nowhere else in the text (not in a comment). */
	ck_assert_ptr_nonnull(p = strstr(out.ptr, "web-1\n"));
	ck_assert_int_eq(strncmp(p - 13, "SERVER_NAME='", 13), 0);
	ck_assert_ptr_null(strstr(p + 1, "web-1"));
	/* Then the template, as it is. */
	ck_assert_ptr_nonnull(strstr(out.ptr, "\nset -euo pipefail\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "X-Keystone-Callback: %s"));
	buf_release(&out);
}
END_TEST

/* The text before the settings is fixed, and each line from there to the
 * template sets one of the known names. */
START_TEST(header_is_fixed)
{
	struct prov_script v;
	struct buf	 a, b;
	const char	*p, *end;

	memset(&v, 0, sizeof(v));
	buf_init(&a);
	buf_init(&b);
	v.server_name = "alpha";
	ck_assert_int_eq(prov_render(&a, &v), 0);
	v.server_name = "beta";
	ck_assert_int_eq(prov_render(&b, &v), 0);
	p = strstr(a.ptr, "\nSERVER_NAME=");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(strncmp(a.ptr, b.ptr, (size_t)(p - a.ptr) + 1), 0);
	ck_assert_ptr_null(memmem(a.ptr, (size_t)(p - a.ptr), "alpha", 5));
	end = strstr(a.ptr, "\n# Keystone provisioning script for");
	ck_assert_ptr_nonnull(end);
	for (size_t i = 0; p < end; i++) {
		char want[32];
		ck_assert_uint_lt(i, NNAMES);
		snprintf(want, sizeof(want), "\n%s='", names[i]);
		ck_assert_msg(strncmp(p, want, strlen(want)) == 0, "line %zu: %.40s",
		    i, p + 1);
		p = strchr(p + 1, '\n');
	}
	ck_assert_ptr_eq(p, end);
	buf_release(&a);
	buf_release(&b);
}
END_TEST

/* The packages the script installs, for a server with or without the
 * build role: its settings, then its package selection (from the
 * Compose choice to the check of what is missing) run by bash on
 * Debian 12's facts; the list it would install into *out. */
static int
run_packages(const struct prov_script *v, char **out)
{
	struct buf	 s;
	const char	*a, *b, *end;
	char		 path[128], c[256];
	FILE		*f;
	int		 rc;

	buf_init(&s);
	ck_assert_int_eq(prov_render(&s, v), 0);
	ck_assert_ptr_nonnull(end = strstr(s.ptr, "\nset -euo pipefail\n"));
	ck_assert_ptr_nonnull(a = strstr(s.ptr, "\ncompose=docker-compose\n"));
	ck_assert_ptr_nonnull(b = strstr(a, "\nmissing=()\n"));
	snprintf(path, sizeof(path), "%s/packages.sh", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%.*s\nset -euo pipefail\nID=debian VERSION_ID=12\n%.*s\n"
	    "printf '%%s\\n' \"${want[*]}\"\n", (int)(end - s.ptr), s.ptr,
	    (int)(b - a), a);
	fclose(f);
	buf_release(&s);
	snprintf(c, sizeof(c), "cd '%s' && bash packages.sh > want", dir);
	rc = system(c);
	snprintf(path, sizeof(path), "%s/want", dir);
	ck_assert_ptr_nonnull(*out = tu_slurp(path, NULL));
	return rc;
}

/* A build node gets git and the ssh client (ssh-agent, ssh-add) with
 * Docker; a runtime-only server gets neither. */
START_TEST(build_role_gets_git)
{
	struct prov_script v;
	char		*got;

	memset(&v, 0, sizeof(v));
	v.server_name = "builder";
	v.role_build = 1;
	ck_assert_int_eq(run_packages(&v, &got), 0);
	ck_assert_str_eq(got, "docker.io docker-compose curl ca-certificates sudo "
	    "openssh-server git openssh-client\n");
	free(got);
	v.role_build = 0;
	ck_assert_int_eq(run_packages(&v, &got), 0);
	ck_assert_str_eq(got, "docker.io docker-compose curl ca-certificates sudo "
	    "openssh-server\n");
	free(got);
}
END_TEST

/* A value that cannot be one bash word (invalid UTF-8): nothing rendered,
 * and what was written is wiped (it held secrets). */
START_TEST(unquotable_value_refused)
{
	struct prov_script v;
	struct buf	 out;

	memset(&v, 0, sizeof(v));
	v.secret_sudo = "sudo-secret-value";
	v.daemon_json = "\xff\xfe";
	buf_init(&out);
	ck_assert_int_eq(buf_puts(&out, "before|"), 0);
	ck_assert_int_eq(prov_render(&out, &v), -1);
	ck_assert_uint_eq(out.len, 7);
	ck_assert_str_eq(out.ptr, "before|");
	ck_assert_ptr_null(memmem(out.ptr, out.cap, "sudo-secret-value", 17));
	buf_release(&out);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("prov");
	TCase	*tc = tcase_create("render");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, values_stay_values);
	tcase_add_test(tc, header_is_fixed);
	tcase_add_test(tc, unquotable_value_refused);
	tcase_add_test(tc, build_role_gets_git);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
