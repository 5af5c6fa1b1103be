/*
 * Template bridge: the cJSON-to-dictionary conventions, auto-escaping, and
 * the real page templates against golden files (KS_UPDATE_GOLDEN=1
 * rewrites them after a deliberate template change).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"
#include "tmpl.h"

static char *
render(const char *dir, const char *name, const char *json, int page)
{
	struct buf	 out;
	cJSON		*m = cJSON_Parse(json);
	size_t		 len;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(tmpl_init(dir), 0);
	buf_init(&out);
	ck_assert_int_eq(page ? tmpl_render_page(&out, name, m) :
	    tmpl_render(&out, name, m), 0);
	cJSON_Delete(m);
	return buf_detach(&out, &len);
}

START_TEST(conventions)
{
	char	*o = render("tests/tmpl", "conv",
	    "{\"s\":\"<b>&\\\"'\",\"n\":42,\"f\":1.5,\"t\":true,\"fa\":false,"
	    "\"nul\":null,\"e\":\"\",\"obj\":{\"k\":\"K\"},"
	    "\"arr\":[{\"k\":1},{\"k\":2}],\"none\":[],\"scal\":[\"a\",3]}", 0);

	ck_assert_ptr_nonnull(strstr(o, "s=&lt;b&gt;&amp;&quot;&#39; n=42 f=1.5"));
	ck_assert_ptr_nonnull(strstr(o, "TnotFnull"));
	ck_assert_ptr_null(strstr(o, "notT"));
	ck_assert_ptr_nonnull(strstr(o, "has-sempty-e"));
	/* Sections inherit the parent's values. */
	ck_assert_ptr_nonnull(strstr(o, "[K &lt;b&gt;&amp;&quot;&#39;]"));
	ck_assert_ptr_nonnull(strstr(o, "<1><2>no-items"));
	ck_assert_ptr_nonnull(strstr(o, "(a)(3)"));
	/* In a URL attribute the value is URL-escaped, not raw. */
	ck_assert_ptr_null(strstr(o, "q=<b>"));
	ck_assert_ptr_null(strstr(o, "<b>"));
	free(o);
}
END_TEST

START_TEST(layout_and_missing)
{
	struct buf	 out;
	cJSON		*m = cJSON_Parse("{\"title\":\"<script>x</script>\",\"s\":\"v\"}");
	char		*o;

	o = render("tests/tmpl", "conv", "{\"title\":\"<i>t</i>\",\"s\":\"v\"}", 1);
	ck_assert_ptr_nonnull(strstr(o, "<main title=\"&lt;i&gt;t&lt;/i&gt;\">"));
	ck_assert_ptr_nonnull(strstr(o, "s=v"));
	free(o);
	buf_init(&out);
	ck_assert_int_eq(tmpl_render(&out, "does-not-exist", m), -1);
	ck_assert_int_eq(out.len, 0);
	buf_release(&out);
	cJSON_Delete(m);
	ck_assert_int_eq(tmpl_init("/nonexistent"), -1);
	/* Every template is loaded at start: one that does not compile fails
	 * tmpl_init, not a request later. */
	ck_assert_int_eq(tmpl_init("tests/tmpl_broken"), -1);
}
END_TEST

static void
golden(const char *name, const char *tpl, const char *json)
{
	char	 path[256];
	char	*got = render("templates", tpl, json, 1), *want;
	FILE	*f;

	snprintf(path, sizeof(path), "tests/golden/%s.html", name);
	if (getenv("KS_UPDATE_GOLDEN") != NULL) {
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(got, f);
		fclose(f);
	}
	want = tu_slurp(path, NULL);
	ck_assert_msg(want != NULL, "missing %s (run with KS_UPDATE_GOLDEN=1)", path);
	ck_assert_msg(strcmp(got, want) == 0, "%s differs from the golden file;"
	    " got:\n%s", path, got);
	/* Whatever the golden file says, a raw script tag never gets out. */
	ck_assert_ptr_null(strstr(got, "<script>"));
	free(got);
	free(want);
}

START_TEST(golden_pages)
{
	golden("servers", "servers",
	    "{\"title\":\"Servers\",\"nav_servers\":true,\"user\":{\"username\":\"ada\"},"
	    "\"csrf\":\"TOKEN\",\"sort\":\"name\",\"servers\":[{\"uuid\":"
	    "\"0b8e7a3c-5d1f-4e2a-9c3b-1a2b3c4d5e6f\",\"name\":\"<script>alert(1)</script>\","
	    "\"address\":\"127.0.0.10\",\"ssh_port\":22,\"ssh_user\":\"keystone\","
	    "\"role_build\":true,\"role_runtime\":false,\"status\":\"new\",\"age\":\"5m\"}],"
	    "\"pager\":{\"page\":1,\"pages\":2,\"total\":51,\"next\":{\"url\":"
	    "\"/servers?sort=name&page=2\"}},"
	    "\"flash\":{\"kind\":\"ok\",\"message\":\"Saved <b>it</b>.\"}}");
	golden("server_form_errors", "server_form",
	    "{\"title\":\"Add server\",\"user\":{\"username\":\"ada\"},\"csrf\":\"TOKEN\","
	    "\"editing\":false,\"v_name\":\"\\\"><script>x</script>\",\"v_address\":"
	    "\"bad host;rm\",\"v_ssh_port\":\"70000\",\"v_ssh_user\":\"keystone\","
	    "\"v_role_runtime\":true,\"v_role_build\":false,\"has_errors\":true,"
	    "\"err_address\":{\"msg\":\"must be a host name or an IP address\"},"
	    "\"err_ssh_port\":{\"msg\":\"must be from 1 to 65535\"}}");
	golden("login", "login",
	    "{\"title\":\"Sign in\",\"csrf\":\"TOKEN\",\"next\":\"/servers\","
	    "\"error\":{\"msg\":\"Wrong username or password.\"},\"v_username\":\"<script>\"}");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("tmpl");
	TCase	*tc = tcase_create("tmpl");

	tcase_add_test(tc, conventions);
	tcase_add_test(tc, layout_and_missing);
	tcase_add_test(tc, golden_pages);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
