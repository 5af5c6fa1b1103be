/* What check_build and check_deploy share (tu_build.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reg.h"
#include "testutil.h"
#include "tu_build.h"
#include "tu_hosts.h"
#include "tu_spool.h"

void
tb_config(struct config *cfg)
{
	char		 path[512], err[256], key[512];
	const char	*hstate = getenv("KS_HOSTS_STATE");

	ck_assert_msg(hstate != NULL, "KS_HOSTS_STATE is not set");
	snprintf(key, sizeof(key), "%s/keys/mgmt_ed25519", hstate);
	setenv("KEYSTONE_SSH_KEY_FILE", key, 1);
	config_init(cfg);
	snprintf(path, sizeof(path), "%s/keystone.conf", ts_dir);
	ck_assert_msg(config_load(cfg, path, err, sizeof(err)) == 0, "%s", err);
	free(cfg->ssh_key_file);
	cfg->ssh_key_file = strdup(key);
	cfg->allow_local_sources = 1;
}

void
tb_hosts_resolve(const struct th_host *hosts, int n, const char *reghost)
{
	char	 cmd[512], *out;
	int	 nl = (int)strcspn(reghost, ":");

	for (int i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "grep -q ' %.*s$' /etc/hosts || "
		    "{ echo '127.0.0.1 %.*s' >> /etc/hosts; echo CHANGED; }",
		    nl, reghost, nl, reghost);
		ck_assert_int_eq(th_sh(&hosts[i], ts_tmp, cmd, &out), 0);
		if (strstr(out, "CHANGED") != NULL)
			th_engine_restart(&hosts[i], ts_tmp);
		free(out);
	}
}

void
tb_ensure_registry(const struct config *cfg, const char *reghost)
{
	PGresult	*res = ts_q("SELECT state FROM registry", 0, NULL);
	int		 ready = PQntuples(res) == 1 &&
			    strcmp(PQgetvalue(res, 0, 0), "ready") == 0;
	char		 uuid[40], err[256];

	PQclear(res);
	if (ready)
		return;
	ck_assert_msg(reg_setup(&ts_db, cfg, ts_sealkey, reghost, NULL, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_msg(reg_plan_provision(&ts_db, cfg, ts_sealkey, 0, uuid, err,
	    sizeof(err)) == 0, "provision: %s", err);
	ts_wait_idle(300);
	res = ts_q("SELECT state, coalesce(state_reason, '') FROM registry", 0, NULL);
	ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "ready") == 0, "registry %s: %s",
	    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
}

long long
tb_op_id(const char *uuid)
{
	const char	*p[] = { uuid };
	PGresult	*res = ts_q("SELECT id FROM operations WHERE uuid = $1", 1, p);
	long long	 id;

	ck_assert_int_eq(PQntuples(res), 1);
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

void
tb_expect_status(long long id, const char *want, int secs)
{
	char	 st[32];

	ts_wait_done(id, secs, st, sizeof(st));
	ck_assert_msg(strcmp(st, want) == 0, "operation %lld: %s, expected %s\n%s", id,
	    st, want, ts_op_report(id));
}
