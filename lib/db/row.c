/*
 * Typed rows (lib/db/row.h): a result's rows into structs by column name, and
 * those structs into the views templates read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "row.h"

static const struct col row_id_cols[] = { COL(row_id, id, C_INT) };
static const struct col row_n_cols[] = { COL(row_n, n, C_INT) };
const struct rowtype row_id_t = ROWTYPE(row_id, row_id_cols);
const struct rowtype row_n_t = ROWTYPE(row_n, row_n_cols);

/* Seconds as text: an age keeps one unit ("42s", "5m", "3h", "12d"), a
 * duration one more ("42s", "3m 05s", "2h 07m"), the difference between
 * two steps being what a reader compares. */
static void
fmt_secs(char *out, size_t sz, long long s, int took)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, sz, "%llds", s);
	else if (s < 3600 && took)
		snprintf(out, sz, "%lldm %02llds", s / 60, s % 60);
	else if (s < 3600)
		snprintf(out, sz, "%lldm", s / 60);
	else if (took)
		snprintf(out, sz, "%lldh %02lldm", s / 3600, s % 3600 / 60);
	else if (s < 86400)
		snprintf(out, sz, "%lldh", s / 3600);
	else
		snprintf(out, sz, "%lldd", s / 86400);
}

static int
is_text(enum ctype t)
{
	return t == C_STR || t == C_AGE || t == C_TOOK;
}

void
row_unfill(const struct rowtype *t, void *row)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (is_text(t->cols[i].type)) {
			char **p = (char **)((char *)row + t->cols[i].off);
			free(*p);
			*p = NULL;
		}
}

/* Row r of res into row (zeroed first): 0, or -1 when a column is
 * missing (the statement and the row type disagree) or memory ran out. */
int
row_fill(const struct rowtype *t, const PGresult *res, int r, void *row)
{
	char		 cn[64], age[32];
	const char	*v;
	void		*p;
	int		 f;

	memset(row, 0, t->size);
	for (size_t i = 0; i < t->ncols; i++) {
		const struct col *c = &t->cols[i];

		snprintf(cn, sizeof(cn), c->type == C_AGE || c->type == C_TOOK ?
		    "%s_s" : "%s", c->name);
		if ((f = PQfnumber(res, cn)) < 0) {
			log_warnx("row: %s: the statement has no column %s",
			    t->name, cn);
			goto fail;
		}
		p = (char *)row + c->off;
		v = PQgetisnull(res, r, f) ? NULL : PQgetvalue(res, r, f);
		switch (c->type) {
		case C_STR:
			if (v != NULL && (*(char **)p = strdup(v)) == NULL)
				goto fail;
			break;
		case C_INT:
			*(long long *)p = v ? strtoll(v, NULL, 10) : ROW_NULL;
			break;
		case C_BOOL:
			*(int *)p = v ? v[0] == 't' : -1;
			break;
		case C_AGE:
		case C_TOOK:
			if (v == NULL)
				break;
			fmt_secs(age, sizeof(age), strtoll(v, NULL, 10),
			    c->type == C_TOOK);
			if ((*(char **)p = strdup(age)) == NULL)
				goto fail;
			break;
		}
	}
	return 0;
fail:
	row_unfill(t, row);
	return -1;
}

cJSON *
row_view(const struct rowtype *t, const void *row)
{
	cJSON	*o, *v;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	for (size_t i = 0; i < t->ncols; i++) {
		const struct col *c = &t->cols[i];
		const void	*p = (const char *)row + c->off;

		switch (c->type) {
		case C_STR:
		case C_AGE:
		case C_TOOK:
			v = *(char *const *)p != NULL ?
			    cJSON_CreateString(*(char *const *)p) : cJSON_CreateNull();
			break;
		case C_INT:
			v = *(const long long *)p != ROW_NULL ?
			    cJSON_CreateNumber((double)*(const long long *)p) :
			    cJSON_CreateNull();
			break;
		default:
			v = *(const int *)p >= 0 ?
			    cJSON_CreateBool(*(const int *)p) : cJSON_CreateNull();
			break;
		}
		if (v == NULL || !cJSON_AddItemToObject(o, c->name, v)) {
			cJSON_Delete(v);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

void
row_unfill_all(const struct rowtype *t, void *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		row_unfill(t, (char *)v + i * t->size);
	free(v);
}

/* Every row of res into a new array *v of *n rows: 0 or -1. */
int
row_fill_all(const struct rowtype *t, const PGresult *res, void **v, size_t *n)
{
	size_t	 k = (size_t)PQntuples(res), i;

	*v = NULL;
	*n = 0;
	if (k == 0)
		return 0;
	if ((*v = calloc(k, t->size)) == NULL)
		return -1;
	for (i = 0; i < k; i++)
		if (row_fill(t, res, (int)i, (char *)*v + i * t->size) == -1) {
			row_unfill_all(t, *v, i);
			*v = NULL;
			return -1;
		}
	*n = k;
	return 0;
}

cJSON *
row_view_all(const struct rowtype *t, const void *v, size_t n)
{
	cJSON	*a, *o;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((o = row_view(t, (const char *)v + i * t->size)) == NULL ||
		    !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

/* The first row of st into row: 1 found, 0 none, -1 failure. */
int
row_get(struct db *db, const struct rowtype *t, enum stmt st, int n,
    const char *const *p, void *row)
{
	PGresult	*res;
	int		 rc;

	memset(row, 0, t->size);
	if ((res = db_exec(db, st, n, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0)
		rc = 0;
	else
		rc = row_fill(t, res, 0, row) == 0 ? 1 : -1;
	PQclear(res);
	return rc;
}

/* Every row of st: 0 or -1. */
int
row_all(struct db *db, const struct rowtype *t, enum stmt st, int n,
    const char *const *p, void **v, size_t *nv)
{
	PGresult	*res;
	int		 rc;

	*v = NULL;
	*nv = 0;
	if ((res = db_exec(db, st, n, p)) == NULL)
		return -1;
	rc = row_fill_all(t, res, v, nv);
	PQclear(res);
	return rc;
}

