/*
 * Test hosts (tests/hosts/hostctl) from a C test: the hosts a run brought
 * up ($KS_HOSTS_STATE), commands inside them, and commands on the machine.
 */
#ifndef KS_TU_HOSTS_H
#define KS_TU_HOSTS_H

struct th_host {
	char	 name[32];
	char	 addr[32];
	char	 key[1024];	/* its ed25519 host key, "ssh-ed25519 BASE64" */
};

/* Fills up to max hosts of kind ("ready", "fresh"); returns how many.
 * Fails the test when $KS_HOSTS_STATE is unset or unreadable. */
int	 th_load(const char *kind, struct th_host *out, int max);
/* Runs cmd with bash inside the host (cmd travels on stdin, through a file
 * in dir that is removed at once); its output (malloc'd) into out if not
 * NULL. Returns the exit status. */
int	 th_sh(const struct th_host *, const char *dir, const char *cmd, char **out);
/* Restarts the host's nested dockerd (the same safe flags) and waits
 * until it answers: after a change to the host's /etc/hosts, so that a
 * pull resolves names afresh. Fails the test if it does not come back. */
void	 th_engine_restart(const struct th_host *, const char *dir);
/* Runs cmd with sh on the machine; its output (malloc'd). */
char	*th_local(const char *dir, const char *cmd);

#endif
