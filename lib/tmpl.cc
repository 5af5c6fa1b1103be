// The bridge to ctemplate: cJSON view model in, auto-escaped HTML out.
#include <cmath>
#include <cstdio>
#include <string>

#include <ctemplate/template.h>

extern "C" {
#include "buf.h"
}
#include "tmpl.h"

using ctemplate::TemplateDictionary;

static std::string
no_key(const char *key)
{
	return std::string("NO_") + key;
}

static void fill(TemplateDictionary *d, const cJSON *obj);

static void
set_scalar(TemplateDictionary *d, const char *key, const cJSON *v)
{
	char	 num[64];

	if (cJSON_IsString(v)) {
		d->SetValue(key, v->valuestring);
		d->ShowSection(v->valuestring[0] != '\0' ? std::string(key) :
		    no_key(key));
	} else if (cJSON_IsNumber(v)) {
		double	 x = v->valuedouble;
		if (std::floor(x) == x && std::fabs(x) < 9e15)
			std::snprintf(num, sizeof(num), "%.0f", x);
		else
			std::snprintf(num, sizeof(num), "%g", x);
		d->SetValue(key, num);
	} else if (cJSON_IsTrue(v)) {
		d->ShowSection(key);
	} else if (cJSON_IsFalse(v) || cJSON_IsNull(v)) {
		d->ShowSection(no_key(key));
	}
}

static void
fill(TemplateDictionary *d, const cJSON *obj)
{
	const cJSON	*v, *e;

	cJSON_ArrayForEach(v, obj) {
		const char *key = v->string;
		if (key == NULL)
			continue;
		if (cJSON_IsObject(v)) {
			fill(d->AddSectionDictionary(key), v);
		} else if (cJSON_IsArray(v)) {
			if (cJSON_GetArraySize(v) == 0)
				d->ShowSection(no_key(key));
			cJSON_ArrayForEach(e, v) {
				TemplateDictionary *s = d->AddSectionDictionary(key);
				if (cJSON_IsObject(e))
					fill(s, e);
				else
					set_scalar(s, "VALUE", e);
			}
		} else {
			set_scalar(d, key, v);
		}
	}
}

static int
expand(std::string *outs, const char *name, TemplateDictionary *d)
{
	std::string	 file = std::string(name) + ".tpl";

	return ctemplate::ExpandTemplate(file, ctemplate::STRIP_BLANK_LINES, d,
	    outs) ? 0 : -1;
}

extern "C" int
tmpl_init(const char *dir)
{
	ctemplate::mutable_default_template_cache()->SetTemplateRootDirectory(dir);
	return ctemplate::Template::GetTemplate("layout.tpl",
	    ctemplate::STRIP_BLANK_LINES) != NULL ? 0 : -1;
}

extern "C" int
tmpl_render(struct buf *out, const char *name, const cJSON *model)
{
	try {
		TemplateDictionary	 d("view");
		std::string		 s;

		fill(&d, model);
		if (expand(&s, name, &d) == -1)
			return -1;
		return buf_put(out, s.data(), s.size());
	} catch (...) {
		return -1;	/* allocation failure: no exception crosses into C */
	}
}

extern "C" int
tmpl_render_page(struct buf *out, const char *name, const cJSON *model)
{
	try {
		TemplateDictionary	 d("view");
		std::string		 body, page;

		fill(&d, model);
		if (expand(&body, name, &d) == -1)
			return -1;
		d.SetValue("BODY", body);
		if (expand(&page, "layout", &d) == -1)
			return -1;
		return buf_put(out, page.data(), page.size());
	} catch (...) {
		return -1;
	}
}
