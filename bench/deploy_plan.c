/*
 * bench/deploy.sh's driver: queues a deploy through deploy_plan()
 * (lib/domain/deploy.c), as "Deploy this version" on an artifact does,
 * or a build and a deploy when no artifact is given. Prints the deploy
 * operation's uuid; a refusal on stderr, exit 1. (keystonectl has no
 * deploy command yet; this is a bench tool, not an interface.)
 *
 * usage: deploy_plan -c CONFIG ENV_UUID [ARTIFACT_UUID]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "deploy.h"
#include "keys.h"
#include "log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: deploy_plan -c CONFIG ENV_UUID [ARTIFACT_UUID]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct db	 db;
	struct keys	 keys;
	struct deploy_req r;
	const char	*cfgpath = NULL;
	char		 err[1024], uuid[40];
	int		 ch, rc = 1, prc;

	log_setprog("deploy_plan");
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch == 'c')
			cfgpath = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 || cfgpath == NULL)
		usage();
	memset(&keys, 0, sizeof(keys));
	memset(&db, 0, sizeof(db));
	config_init(&cfg);
	if (config_load(&cfg, cfgpath, err, sizeof(err)) == -1) {
		fprintf(stderr, "deploy_plan: %s\n", err);
		goto out;
	}
	if (keys_load(&keys, cfg.master_key_file, KEYS_OPENER, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "deploy_plan: %s\n", err);
		goto out;
	}
	if (db_open(&db, cfg.database) == -1) {
		fprintf(stderr, "deploy_plan: cannot connect to the database\n");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.env_uuid = argv[0];
	r.artifact_uuid = argc == 2 ? argv[1] : NULL;
	prc = deploy_plan(&db, &cfg, &keys, &r, uuid, err, sizeof(err));
	if (prc != 0) {
		fprintf(stderr, "deploy_plan: %s\n", prc == 1 ? err :
		    "the deploy could not be queued (see the log)");
		goto out;
	}
	printf("%s\n", uuid);
	rc = 0;
out:
	keys_release(&keys);
	db_close(&db);
	config_release(&cfg);
	return rc;
}
