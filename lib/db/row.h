/*
 * Typed rows: how a result becomes a struct. A row type is a table of
 * columns (name, type, the field's place in the struct); a result's row is
 * filled into its struct by column name here, in this one place, so a
 * statement may order its columns as it likes and one that lacks a column
 * fails loudly. Strings are owned by the row (NULL for SQL NULL).
 *
 * For the modules that own statements (lib/web/model.c for the web pages,
 * lib/domain/reg.c, lib/domain/prov.c, lib/ops/plan.c): each defines its row types next to
 * the functions that run its statements, and reads results only through
 * these. Nothing else includes this header (but tests/check_model.c,
 * which tests it).
 */
#ifndef KS_ROW_H
#define KS_ROW_H

/* A NULL integer column. */
#define ROW_NULL	(-9223372036854775807LL - 1)

#include <stddef.h>

#include <libpq-fe.h>
#include <cjson/cJSON.h>

#include "db.h"

enum ctype {
	C_STR,		/* char *, NULL for NULL */
	C_INT,		/* long long, ROW_NULL for NULL */
	C_BOOL,		/* int, -1 for NULL */
	C_AGE,		/* char *: column NAME_s in seconds, as an age */
	C_TOOK		/* char *: column NAME_s in seconds, as a duration */
};

struct col {
	const char	*name;	/* the column's and the view's key */
	enum ctype	 type;
	size_t		 off;
};

/* A row type: its columns, each of which its statements must return. */
struct rowtype {
	const char		*name;
	const struct col	*cols;
	size_t			 ncols;
	size_t			 size;
};

#define ROW_NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define COL(T, f, ty)	{ #f, ty, offsetof(struct T, f) }
#define ROWTYPE(T, cols)	{ #T, cols, ROW_NELEM(cols), sizeof(struct T) }

/* Row r of res into row (zeroed first): 0, or -1 when a column is missing
 * (the statement and the row type disagree; logged) or memory ran out. */
int	 row_fill(const struct rowtype *, const PGresult *, int r, void *row);
/* Frees the row's strings (NULL after); the row may be zeroed or filled. */
void	 row_unfill(const struct rowtype *, void *row);
/* The row as an object keyed by column name (NULL values as null). */
cJSON	*row_view(const struct rowtype *, const void *row);

/* Every row of res into a new array *v of *n rows: 0, or -1 (nothing). */
int	 row_fill_all(const struct rowtype *, const PGresult *, void **v,
	    size_t *n);
/* Frees n rows of v and v itself. */
void	 row_unfill_all(const struct rowtype *, void *v, size_t n);
/* The rows as an array of row_view() objects. */
cJSON	*row_view_all(const struct rowtype *, const void *v, size_t n);

/* The first row of statement st into row (zeroed first): 1 found, 0 no
 * row, -1 failure. */
int	 row_get(struct db *, const struct rowtype *, enum stmt st, int n,
	    const char *const *params, void *row);
/* Every row of st into a new array: 0, or -1 (*v NULL, *nv 0). */
int	 row_all(struct db *, const struct rowtype *, enum stmt st, int n,
	    const char *const *params, void **v, size_t *nv);

/*
 * The one-integer rows many statements return, described once: "id" (the
 * row a statement wrote or found: RETURNING id) and "n" (a count). No
 * strings, so nothing to unfill.
 */
struct row_id {
	long long	 id;
};
struct row_n {
	long long	 n;
};
extern const struct rowtype row_id_t, row_n_t;

/* A row type's T_free and T_view; a list type's (v, n) likewise. */
#define ROW_FUNCS(T, rt)						\
void T##_free(struct T *r) { row_unfill(&rt, r); }			\
cJSON *T##_view(const struct T *r) { return row_view(&rt, r); }
#define LIST_FREE(L, rt)						\
void L##_free(struct L *l) { row_unfill_all(&rt, l->v, l->n); l->v = NULL; l->n = 0; }
#define LIST_FUNCS(L, rt)						\
LIST_FREE(L, rt)							\
cJSON *L##_view(const struct L *l) { return row_view_all(&rt, l->v, l->n); }

#endif
