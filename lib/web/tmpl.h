/*
 * C API over ctemplate (the only C++ in Keystone: lib/web/tmpl.cc).
 *
 * Every template starts with {{%AUTOESCAPE context="HTML"}}, so each
 * variable is HTML-escaped (URL-escaped in href/src) by default. A template
 * never uses :none except layout.tpl's {{BODY:none}}, which receives the
 * output of another auto-escaped template, never user data.
 *
 * View models are cJSON objects mapped to dictionaries:
 *   string -> variable, and section KEY shown once when non-empty (NO_KEY
 *             when empty), so optional text can be wrapped in {{#KEY}};
 *   number -> variable (integers printed as such);
 *   true -> section KEY shown once; false/null -> section NO_KEY shown once;
 *   object -> section KEY shown once with the object's values;
 *   array  -> section KEY repeated per element (an object, or a scalar
 *             bound to VALUE); an empty array shows NO_KEY.
 * Sections inherit the values of their parents.
 */
#ifndef KS_TMPL_H
#define KS_TMPL_H

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

struct buf;

/* Sets the directory holding *.tpl and loads every template in it.
 * Returns -1 if the directory cannot be read, layout.tpl is missing, or a
 * template does not compile. */
int	tmpl_init(const char *dir);
/* Renders NAME.tpl with model and appends it to out. -1 on error (missing
 * or broken template), out unchanged. */
int	tmpl_render(struct buf *out, const char *name, const cJSON *model);
/* Renders NAME.tpl inside layout.tpl (which places it at {{BODY:none}}). */
int	tmpl_render_page(struct buf *out, const char *name, const cJSON *model);

#ifdef __cplusplus
}
#endif

#endif
