/*
 * What the build and deploy tests (check_build, check_deploy) share: the
 * stack's configuration for the planners, the managed registry made ready,
 * the registry's name resolved on the test hosts, operations by uuid and
 * their end.
 */
#ifndef KS_TU_BUILD_H
#define KS_TU_BUILD_H

struct config;
struct th_host;

/* The stack's configuration, with Keystone's management key of the test
 * hosts ($KS_HOSTS_STATE) and local sources allowed; release it with
 * config_release(). */
void		 tb_config(struct config *);
/* The registry's name ($KS_REGISTRY_HOST) in each host's /etc/hosts; a
 * host's engine restarted when it changed (it must resolve it afresh). */
void		 tb_hosts_resolve(const struct th_host *, int n, const char *reghost);
/* Provisions the managed registry (as reghost) unless it is ready; fails
 * the test unless it then is. */
void		 tb_ensure_registry(const struct config *, const char *reghost);
long long	 tb_op_id(const char *uuid);
/* Waits for operation id to end; fails the test (with its report) unless
 * it ended as want. */
void		 tb_expect_status(long long id, const char *want, int secs);

#endif
