/*
 * Schema migrations: sql/NNN_name.sql applied in numeric order, each in its
 * own transaction together with its schema_migrations row, under an advisory
 * lock so two concurrent runs cannot apply one file twice. Idempotent.
 */
#ifndef KS_MIGRATE_H
#define KS_MIGRATE_H

struct db;

/* Returns the number of files applied (0 when up to date), -1 on error. */
int	migrate_run(struct db *, const char *sql_dir);

#endif
