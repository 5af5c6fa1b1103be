/*
 * keystonectl: the admin command line.
 *
 *   keystonectl [-c config] keygen
 *   keystonectl [-c config] migrate
 *   keystonectl [-c config] user add NAME [--admin] [--generate]
 *   keystonectl [-c config] user passwd NAME [--generate]
 *   keystonectl [-c config] server pin NAME [FINGERPRINT]
 *   keystonectl [-c config] build APP ENV [--commit SHA] [--rebuild]
 *   keystonectl [-c config] deploy APP ENV [--artifact UUID]
 *
 * Passwords never travel in arguments: they are read from standard input
 * (one line), or generated with --generate and printed once on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "build.h"
#include "deploy.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "model.h"
#include "pw.h"
#include "reg.h"
#include "sec.h"
#include "ssh.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: keystonectl [-c config] keygen\n"
	    "       keystonectl [-c config] migrate\n"
	    "       keystonectl [-c config] user add NAME [--admin] [--generate]\n"
	    "       keystonectl [-c config] user passwd NAME [--generate]\n"
	    "       keystonectl [-c config] server pin NAME [SHA256:FINGERPRINT]\n"
	    "       keystonectl [-c config] registry setup [HOSTNAME [STORAGE_PATH]]\n"
	    "       keystonectl [-c config] registry provision|check|status\n"
	    "       keystonectl [-c config] build APP ENV [--commit SHA] [--rebuild]\n"
	    "       keystonectl [-c config] deploy APP ENV [--artifact UUID]\n");
	exit(2);
}

/* Reads the password from stdin or generates one; secret_out gets it. */
static int
get_password(char *secret_out, size_t sz, int generate)
{
	size_t		 len;
	const char	*msg;

	if (generate) {
		sec_random_b64(secret_out, sz, 18);	/* 144 bits, 24 chars */
		return 0;
	}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password: ");
	if (fgets(secret_out, (int)sz, stdin) == NULL) {
		fprintf(stderr, "keystonectl: no password on standard input\n");
		return -1;
	}
	len = strcspn(secret_out, "\r\n");
	if (secret_out[len] == '\0' && len + 1 == sz) {
		fprintf(stderr, "keystonectl: password too long\n");
		return -1;
	}
	secret_out[len] = '\0';
	if ((msg = pw_policy(secret_out)) != NULL) {
		fprintf(stderr, "keystonectl: the password %s\n", msg);
		return -1;
	}
	return 0;
}

static int
valid_username(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > 64 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static int
cmd_user(struct db *db, int argc, char *argv[])
{
	char		 secret_pw[PW_MAXLEN + 2], hash[PW_HASHBYTES];
	int		 admin = 0, generate = 0, add, rc = 1, r;

	if (argc < 2)
		usage();
	if (strcmp(argv[0], "add") == 0)
		add = 1;
	else if (strcmp(argv[0], "passwd") == 0)
		add = 0;
	else
		usage();
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--admin") == 0 && add)
			admin = 1;
		else if (strcmp(argv[i], "--generate") == 0)
			generate = 1;
		else
			usage();
	}
	if (!valid_username(argv[1])) {
		fprintf(stderr, "keystonectl: user name must be 1-64 of "
		    "a-z 0-9 _ . - starting with a letter or _\n");
		return 1;
	}
	if (get_password(secret_pw, sizeof(secret_pw), generate) == -1)
		goto out;
	if (pw_hash(hash, secret_pw) == -1) {
		fprintf(stderr, "keystonectl: password hashing failed\n");
		goto out;
	}
	r = add ? m_user_insert(db, argv[1], hash, admin) :
	    m_user_set_password(db, argv[1], hash);
	if (r == 1) {
		fprintf(stderr, add ? "keystonectl: user %s already exists\n" :
		    "keystonectl: no user %s\n", argv[1]);
		goto out;
	}
	if (r == -1)
		goto out;
	if (generate)
		printf("%s\n", secret_pw);
	fprintf(stderr, "keystonectl: %s %s\n", add ? "created user" :
	    "changed the password of", argv[1]);
	rc = 0;
out:
	sodium_memzero(secret_pw, sizeof(secret_pw));
	return rc;
}

/*
 * Pins a server's host key by an explicit act: without a fingerprint it
 * shows the one the server offers and pins nothing; with one, it pins the
 * offered key only if it is that fingerprint (checked against the server
 * again, so what is pinned is what the operator saw).
 */
static int
cmd_server_pin(struct db *db, const struct config *cfg, int argc, char *argv[])
{
	char			 key[2048], fp[80], err[512];
	struct server_row	 s;
	int			 rc = 1;

	if (argc < 2 || argc > 3 || strcmp(argv[0], "pin") != 0)
		usage();
	if (m_server_by_name(db, argv[1], &s) != 1) {
		fprintf(stderr, "keystonectl: no server named %s\n", argv[1]);
		server_row_free(&s);
		return 1;
	}
	if (ssh_offered_hostkey(s.address, (int)s.ssh_port,
	    cfg->ssh_connect_timeout, key, sizeof(key), fp, sizeof(fp), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "keystonectl: %s\n", err);
		goto out;
	}
	if (argc == 2) {
		printf("%s offers %s\n", argv[1], fp);
		fprintf(stderr, "keystonectl: nothing pinned; if this is the "
		    "server's key, run: keystonectl server pin %s %s\n", argv[1], fp);
		goto out;
	}
	if (strcmp(argv[2], fp) != 0) {
		fprintf(stderr, "keystonectl: %s offers %s, not %s: nothing "
		    "pinned\n", argv[1], fp, argv[2]);
		goto out;
	}
	if (m_server_pin(db, s.uuid, key, fp) == -1)
		goto out;
	printf("pinned %s for %s\n", fp, argv[1]);
	rc = 0;
out:
	server_row_free(&s);
	return rc;
}

/* registry setup|provision|check: queues the operation and prints its
 * id (the spooler runs it; the Operations page shows it). */
static int
cmd_registry(struct db *db, const struct config *cfg, const struct keys *k,
    int argc, char *argv[])
{
	char		 uuid[40], err[512];
	int		 rc = -1;

	if (argc < 1)
		usage();
	err[0] = '\0';
	if (strcmp(argv[0], "setup") == 0 && argc <= 3) {
		rc = reg_setup(db, cfg, k, argc > 1 ? argv[1] : NULL,
		    argc > 2 ? argv[2] : NULL, err, sizeof(err));
		if (rc == 0)
			printf("registry settings saved\n");
	} else if (strcmp(argv[0], "provision") == 0 && argc == 1) {
		if ((rc = reg_plan_provision(db, cfg, k, 0, uuid, err,
		    sizeof(err))) == 0)
			printf("queued registry provisioning %s (then Docker sign-in on each node and a health check)\n", uuid);
	} else if (strcmp(argv[0], "status") == 0 && argc == 1) {
		struct reg r;
		if ((rc = reg_load(db, &r)) >= 0) {
			printf("%s\n", r.state);
			rc = 0;
		}
		reg_free(&r);
	} else if (strcmp(argv[0], "check") == 0 && argc == 1) {
		if ((rc = reg_plan_check(db, cfg, k, 0, uuid, err, sizeof(err))) == 0)
			printf("queued check operation %s\n", uuid);
	} else
		usage();
	if (rc == -1)
		fprintf(stderr, "keystonectl: %s\n", err[0] ? err : "database error");
	return rc == 0 ? 0 : 1;
}

/*
 * build APP ENV [--commit SHA] [--rebuild]: queues a build as the
 * environment page's "Build" does (build_plan), the operation's id on
 * stdout; a refusal on stderr, exit 1.
 */
static int
cmd_build(struct db *db, const struct config *cfg, const struct keys *k,
    int argc, char *argv[])
{
	struct build_req b;
	char		 env[40], uuid[40], err[1024];
	int		 rc;

	if (argc < 2)
		usage();
	memset(&b, 0, sizeof(b));
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--rebuild") == 0)
			b.rebuild = 1;
		else if (strcmp(argv[i], "--commit") == 0 && i + 1 < argc &&
		    b.commit == NULL)
			b.commit = argv[++i];
		else
			usage();
	}
	if ((rc = m_env_by_names(db, argv[0], argv[1], env)) != 1) {
		if (rc == 0)
			fprintf(stderr, "keystonectl: application %s has no "
			    "environment %s\n", argv[0], argv[1]);
		return 1;
	}
	b.env_uuid = env;
	rc = build_plan(db, cfg, k, &b, uuid, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "keystonectl: %s\n", rc == 1 ? err :
		    "the build could not be queued (see the log)");
		return 1;
	}
	printf("%s\n", uuid);
	return 0;
}

/*
 * deploy APP ENV [--artifact UUID]: queues a build and a deploy of what
 * it makes, or a deploy of an available artifact, as the environment
 * page's "Deploy" and an artifact's "Deploy this version" do
 * (deploy_plan), the deploy operation's id on stdout; a refusal on
 * stderr, exit 1.
 */
static int
cmd_deploy(struct db *db, const struct config *cfg, const struct keys *k,
    int argc, char *argv[])
{
	struct deploy_req d;
	char		 env[40], uuid[40], err[1024];
	int		 rc;

	if (argc < 2)
		usage();
	memset(&d, 0, sizeof(d));
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--artifact") == 0 && i + 1 < argc &&
		    d.artifact_uuid == NULL)
			d.artifact_uuid = argv[++i];
		else
			usage();
	}
	if ((rc = m_env_by_names(db, argv[0], argv[1], env)) != 1) {
		if (rc == 0)
			fprintf(stderr, "keystonectl: application %s has no "
			    "environment %s\n", argv[0], argv[1]);
		return 1;
	}
	d.env_uuid = env;
	rc = deploy_plan(db, cfg, k, &d, uuid, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "keystonectl: %s\n", rc == 1 ? err :
		    "the deploy could not be queued (see the log)");
		return 1;
	}
	printf("%s\n", uuid);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct db	 db;
	const char	*cfgpath = NULL;
	char		 err[512];
	struct keys	 keys;
	int		 ch, rc = 1, n;

	log_setprog("keystonectl");
	memset(&keys, 0, sizeof(keys));
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch == 'c')
			cfgpath = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	config_init(&cfg);
	memset(&db, 0, sizeof(db));
	if (config_load(&cfg, cfgpath, err, sizeof(err)) == -1) {
		fprintf(stderr, "keystonectl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "keygen") == 0) {
		if (sec_key_generate(cfg.master_key_file, err, sizeof(err)) == -1) {
			fprintf(stderr, "keystonectl: %s\n", err);
			goto out;
		}
		rc = 0;
		goto out;
	}
	/* Every other command needs a sound master key: refuse early. */
	if (keys_load(&keys, cfg.master_key_file, KEYS_OPENER, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "keystonectl: %s\n", err);
		goto out;
	}
	if (db_open(&db, cfg.database) == -1) {
		fprintf(stderr, "keystonectl: cannot connect to the database\n");
		goto out;
	}
	if (strcmp(argv[0], "migrate") == 0) {
		if (cfg.sql_dir == NULL) {
			fprintf(stderr, "keystonectl: config: sql_dir is required\n");
			goto out;
		}
		if ((n = migrate_run(&db, cfg.sql_dir)) < 0)
			goto out;
		fprintf(stderr, "keystonectl: %d migration(s) applied\n", n);
		rc = 0;
	} else if (strcmp(argv[0], "user") == 0)
		rc = cmd_user(&db, argc - 1, argv + 1);
	else if (strcmp(argv[0], "server") == 0)
		rc = cmd_server_pin(&db, &cfg, argc - 1, argv + 1);
	else if (strcmp(argv[0], "registry") == 0)
		rc = cmd_registry(&db, &cfg, &keys, argc - 1, argv + 1);
	else if (strcmp(argv[0], "build") == 0)
		rc = cmd_build(&db, &cfg, &keys, argc - 1, argv + 1);
	else if (strcmp(argv[0], "deploy") == 0)
		rc = cmd_deploy(&db, &cfg, &keys, argc - 1, argv + 1);
	else
		usage();
out:
	keys_release(&keys);
	db_close(&db);
	config_release(&cfg);
	return rc;
}
