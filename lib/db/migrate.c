#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

#define MIGRATE_LOCK	"SELECT pg_advisory_lock(727274)"
#define MIGRATE_UNLOCK	"SELECT pg_advisory_unlock(727274)"

static int
cmpname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "NNN_name.sql" with three digits and a [a-z0-9_] name. */
static int
migration_name(const char *n, int *version)
{
	size_t	 len = strlen(n);

	if (len < 9 || strcmp(n + len - 4, ".sql") != 0 || n[3] != '_')
		return 0;
	for (size_t i = 0; i < len - 4; i++) {
		char c = n[i];
		if (i < 3 ? !(c >= '0' && c <= '9') :
		    !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	*version = atoi(n);
	return 1;
}

static int
applied(struct db *db, int version, int *yes)
{
	char		 v[16];
	const char	*p[1] = { v };
	PGresult	*res;

	snprintf(v, sizeof(v), "%d", version);
	res = PQexecParams(db->conn,
	    "SELECT 1 FROM schema_migrations WHERE version = $1::int",
	    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("migrate: %s", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	*yes = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

static int
apply(struct db *db, const char *dir, const char *name, int version)
{
	struct buf	 path, sql;
	char		 chunk[8192], v[16];
	const char	*p[2] = { v, name };
	FILE		*f = NULL;
	PGresult	*res;
	size_t		 n;
	int		 rc = -1;

	buf_init(&path);
	buf_init(&sql);
	if (buf_printf(&path, "%s/%s", dir, name) == -1)
		goto out;
	if ((f = fopen(path.ptr, "r")) == NULL) {
		log_err("migrate: %s", path.ptr);
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_put(&sql, chunk, n) == -1)
			goto out;
	if (db_tx_begin(db) == -1)
		goto out;
	if (db_simple(db, buf_cstr(&sql)) == -1) {
		log_warnx("migrate: %s failed", name);
		db_tx_rollback(db);
		goto out;
	}
	snprintf(v, sizeof(v), "%d", version);
	res = PQexecParams(db->conn, "INSERT INTO schema_migrations (version, name) "
	    "VALUES ($1::int, $2)", 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("migrate: record %s: %s", name, PQresultErrorMessage(res));
		PQclear(res);
		db_tx_rollback(db);
		goto out;
	}
	PQclear(res);
	if (db_tx_commit(db) == -1)
		goto out;
	log_info("migrate: applied %s", name);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	buf_release(&path);
	buf_release(&sql);
	return rc;
}

int
migrate_run(struct db *db, const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 n = 0, cap = 0;
	int		 version, yes, count = 0, rc = -1, locked = 0;

	if ((d = opendir(dir)) == NULL) {
		log_err("migrate: %s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migration_name(de->d_name, &version))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
			if (nn == NULL)
				goto out;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto out;
		n++;
	}
	qsort(names, n, sizeof(*names), cmpname);
	/* "already exists, skipping" notices are expected on every run. */
	if (db_simple(db, "SET client_min_messages = warning") == -1 ||
	    db_simple(db, MIGRATE_LOCK) == -1)
		goto out;
	locked = 1;
	if (db_simple(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())") == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		(void)migration_name(names[i], &version);
		if (applied(db, version, &yes) == -1)
			goto out;
		if (yes)
			continue;
		if (apply(db, dir, names[i], version) == -1)
			goto out;
		count++;
	}
	rc = count;
out:
	if (locked)
		(void)db_simple(db, MIGRATE_UNLOCK);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}
