// The bridge to ctemplate: cJSON view model in, auto-escaped HTML out.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <dirent.h>

#include <ctemplate/template.h>

extern "C" {
#include "buf.h"
}
#include "tmpl.h"

using ctemplate::StaticTemplateString;
using ctemplate::StaticTemplateStringInitializer;
using ctemplate::TemplateDictionary;
using ctemplate::TemplateString;

/*
 * Interned dictionary keys. Given a plain string, ctemplate hashes it and
 * records the hash in its global id-to-name map (under a lock) on every
 * SetValue, ShowSection and AddSectionDictionary; a StaticTemplateString
 * carries its id, so ctemplate does neither. A page sets a few hundred
 * values from a few dozen distinct keys (column and model names), so each
 * key is interned once per process. The table only grows: entries live as
 * long as the process. Keys past KEYS_MAX (or longer than KEY_MAX bytes)
 * take the plain-string path, which renders the same.
 *
 * Each entry also says whether some template opens {{#KEY}} or {{#NO_KEY}}
 * (set by tmpl_init, which loads the whole template directory): a string
 * value shows its section only then, since each ShowSection builds a
 * dictionary, and showing a section no template opens changes no output.
 *
 * Not thread-safe: Keystone's processes render from one thread.
 */
#define KEYS_SLOTS	1024		/* power of two */
#define KEYS_MAX	768		/* entries; keeps probes short */
#define KEY_MAX		64		/* bytes of a key, NUL excluded */

struct key {
	char			 name[KEY_MAX + 1];
	char			 no_name[KEY_MAX + 4];	/* "NO_" + name */
	StaticTemplateString	 sts, no_sts;
	bool			 sect, no_sect;
};

static struct key	*keys[KEYS_SLOTS];
static size_t		 nkeys;
/* False until a template directory was loaded: every section is shown. */
static bool		 sections_known;

static size_t
key_hash(const char *s, size_t len)
{
	size_t	 h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The entry for s[0..len), created if create; NULL if absent or full. */
static struct key *
key_find(const char *s, size_t len, bool create)
{
	size_t		 i = key_hash(s, len) & (KEYS_SLOTS - 1);
	struct key	*k;

	if (len > KEY_MAX)
		return NULL;
	for (; keys[i] != NULL; i = (i + 1) & (KEYS_SLOTS - 1))
		if (strncmp(keys[i]->name, s, len) == 0 &&
		    keys[i]->name[len] == '\0')
			return keys[i];
	if (!create || nkeys >= KEYS_MAX)
		return NULL;
	k = new struct key();
	memcpy(k->name, s, len);
	k->name[len] = '\0';
	memcpy(k->no_name, "NO_", 3);
	memcpy(k->no_name + 3, s, len + 1);
	k->sts.do_not_use_directly_.ptr_ = k->name;
	k->sts.do_not_use_directly_.length_ = len;
	k->sts.do_not_use_directly_.id_ = 0;
	k->no_sts.do_not_use_directly_.ptr_ = k->no_name;
	k->no_sts.do_not_use_directly_.length_ = len + 3;
	k->no_sts.do_not_use_directly_.id_ = 0;
	/* Computes each id and registers it with ctemplate, once. */
	StaticTemplateStringInitializer init(&k->sts);
	StaticTemplateStringInitializer no_init(&k->no_sts);
	k->sect = k->no_sect = !sections_known;
	keys[i] = k;
	nkeys++;
	return k;
}

/* Marks section name s[0..len) as opened by a template. */
static void
mark_section(const char *s, size_t len)
{
	struct key	*k;

	if ((k = key_find(s, len, true)) != NULL)
		k->sect = true;
	if (len > 3 && memcmp(s, "NO_", 3) == 0 &&
	    (k = key_find(s + 3, len - 3, true)) != NULL)
		k->no_sect = true;
}

/* Loads every *.tpl in dir into ctemplate's cache (so a broken template
 * fails the start, not a request) and records each {{#NAME}} it opens.
 * Templates are read once: the scan and the cache see the same files. -1
 * if dir or a template cannot be read or does not compile. */
static int
load_all(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 rc = 0;

	for (size_t i = 0; i < KEYS_SLOTS; i++)
		if (keys[i] != NULL)
			keys[i]->sect = keys[i]->no_sect = false;
	if ((d = opendir(dir)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0)
				rc = -1;
			break;
		}
		size_t	 n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".tpl") != 0)
			continue;
		std::string	 path = std::string(dir) + "/" + e->d_name, text;
		char		 chunk[8192];
		size_t		 got;
		FILE		*f;
		if (ctemplate::Template::GetTemplate(e->d_name,
		    ctemplate::STRIP_BLANK_LINES) == NULL ||
		    (f = std::fopen(path.c_str(), "r")) == NULL) {
			rc = -1;
			break;
		}
		while ((got = std::fread(chunk, 1, sizeof(chunk), f)) > 0)
			text.append(chunk, got);
		if (std::ferror(f))
			rc = -1;
		std::fclose(f);
		if (rc == -1)
			break;
		for (size_t p = 0; (p = text.find("{{#", p)) != std::string::npos;) {
			size_t	 q = p += 3;
			while (q < text.size() && (isalnum((unsigned char)text[q]) ||
			    text[q] == '_'))
				q++;
			if (q > p)
				mark_section(text.data() + p, q - p);
			p = q;
		}
	}
	closedir(d);
	return rc;
}

static void fill(TemplateDictionary *d, const cJSON *obj);

/* The dictionary name of key, whose entry k may be NULL (not interned). */
static TemplateString
name_of(const struct key *k, const char *key)
{
	return k != NULL ? TemplateString(k->sts) : TemplateString(key);
}

/* key's section (no ? NO_key : key) shown once, if a template opens it. */
static void
show(TemplateDictionary *d, const struct key *k, const char *key, bool no)
{
	if (k == NULL)
		d->ShowSection(no ? std::string("NO_") + key : std::string(key));
	else if (no ? k->no_sect : k->sect)
		d->ShowSection(no ? TemplateString(k->no_sts) :
		    TemplateString(k->sts));
}

/* Decimal digits of x (|x| < 9e15) into buf, without printf. */
static size_t
fmt_int(char *buf, size_t sz, long long x)
{
	char			 tmp[24];
	size_t			 n = 0, len = 0;
	unsigned long long	 u = x < 0 ? 0ULL - (unsigned long long)x :
	    (unsigned long long)x;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0 && n < sizeof(tmp));
	if (x < 0 && len + 1 < sz)
		buf[len++] = '-';
	while (n > 0 && len + 1 < sz)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

static void
set_scalar(TemplateDictionary *d, const char *key, const cJSON *v)
{
	const struct key	*k = key_find(key, strlen(key), true);
	char			 num[64];
	size_t			 len;

	if (cJSON_IsString(v)) {
		d->SetValue(name_of(k, key), v->valuestring);
		show(d, k, key, v->valuestring[0] == '\0');
	} else if (cJSON_IsNumber(v)) {
		double	 x = v->valuedouble;
		if (std::floor(x) == x && std::fabs(x) < 9e15)
			len = fmt_int(num, sizeof(num), (long long)x);
		else
			len = (size_t)std::snprintf(num, sizeof(num), "%g", x);
		d->SetValue(name_of(k, key), TemplateString(num, len));
	} else if (cJSON_IsTrue(v)) {
		show(d, k, key, false);
	} else if (cJSON_IsFalse(v) || cJSON_IsNull(v)) {
		show(d, k, key, true);
	}
}

static void
fill(TemplateDictionary *d, const cJSON *obj)
{
	const cJSON	*v, *e;

	cJSON_ArrayForEach(v, obj) {
		const char		*key = v->string;
		const struct key	*k;

		if (key == NULL)
			continue;
		if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
			set_scalar(d, key, v);
			continue;
		}
		k = key_find(key, strlen(key), true);
		if (cJSON_IsObject(v)) {
			fill(d->AddSectionDictionary(name_of(k, key)), v);
			continue;
		}
		if (cJSON_GetArraySize(v) == 0)
			show(d, k, key, true);
		cJSON_ArrayForEach(e, v) {
			TemplateDictionary *s = d->AddSectionDictionary(name_of(k, key));
			if (cJSON_IsObject(e))
				fill(s, e);
			else
				set_scalar(s, "VALUE", e);
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
	try {
		ctemplate::mutable_default_template_cache()->
		    SetTemplateRootDirectory(dir);
		sections_known = true;
		if (load_all(dir) == 0 && ctemplate::Template::GetTemplate(
		    "layout.tpl", ctemplate::STRIP_BLANK_LINES) != NULL)
			return 0;
	} catch (...) {
	}
	/* Not usable: should a caller render anyway, show every section. */
	sections_known = false;
	for (size_t i = 0; i < KEYS_SLOTS; i++)
		if (keys[i] != NULL)
			keys[i]->sect = keys[i]->no_sect = true;
	return -1;
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
		d.SetValue(name_of(key_find("BODY", 4, true), "BODY"), body);
		if (expand(&page, "layout", &d) == -1)
			return -1;
		return buf_put(out, page.data(), page.size());
	} catch (...) {
		return -1;
	}
}
