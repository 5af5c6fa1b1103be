/*
 * Typed rows for the modules that own their statements (lib/op.c,
 * lib/spool.c, ...), with lib/model.c's machinery: a row type is a column
 * table, each column filled by name into a struct field; strings are owned
 * by the row (NULL for SQL NULL), integers read M_NULL and booleans -1 for
 * NULL. Nothing reads a result by index.
 *
 *	struct thing { long long id; char *name; };
 *	static const struct col thing_cols[] = {
 *		COL(thing, id, C_INT), COL(thing, name, C_STR),
 *	};
 *	static const struct rowtype thing_t = ROWTYPE(thing, thing_cols);
 *	row_get1(db, &thing_t, ST_..., n, p, &row); ... row_free(&thing_t, &row);
 */
#ifndef KS_ROW_H
#define KS_ROW_H

#include <stddef.h>

#include "db.h"
#include "model.h"	/* M_NULL */

enum ctype {
	C_STR,		/* char *, NULL for NULL */
	C_INT,		/* long long, M_NULL for NULL */
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

#define COL(T, f, ty)	{ #f, ty, offsetof(struct T, f) }
#define ROWTYPE(T, cols)	\
	{ #T, cols, sizeof(cols) / sizeof((cols)[0]), sizeof(struct T) }

/* The first row of st into row (zeroed first): 1 found, 0 none, -1
 * failure. */
int	row_get1(struct db *, const struct rowtype *, enum stmt, int n,
	    const char *const *p, void *row);
/* Every row of st into a new array *v of *nv rows: 0 or -1. */
int	row_getall(struct db *, const struct rowtype *, enum stmt, int n,
	    const char *const *p, void **v, size_t *nv);
/* Frees what a row owns (the row itself is the caller's). */
void	row_free(const struct rowtype *, void *row);
/* Frees an array of n rows from row_getall(). */
void	row_free_all(const struct rowtype *, void *v, size_t n);

#endif
