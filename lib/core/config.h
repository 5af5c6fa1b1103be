/*
 * Keystone configuration: one file of `key = value` lines ('#' starts a
 * comment) plus environment overrides KEYSTONE_<KEY> (upper case), e.g.
 * KEYSTONE_DATABASE overrides `database`. Every key is validated at load;
 * an error names the key and says what is expected.
 */
#ifndef KS_CONFIG_H
#define KS_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH	"/etc/keystone/keystone.conf"

struct config {
	char	*database;		/* libpq conninfo */
	char	*master_key_file;
	char	*fcgi_socket;		/* unix socket the FastCGI program listens on */
	char	*base_url;		/* https://host[:port], no trailing slash */
	char	*templates_dir;
	char	*sql_dir;
	long	 workers;		/* FastCGI worker processes */
	/* The account keystone.fcgi's workers serve requests as (they drop
	 * to it once they hold what they need); NULL: the starting user. */
	char	*web_user;
	long	 session_idle_min;	/* idle session timeout, minutes */
	long	 session_max_hours;	/* absolute session lifetime, hours */
	long	 login_max_failures;	/* per account per hour */
	long	 login_max_addr_failures;	/* per address per hour */
	/* keystone-spooler */
	long	 spooler_workers;	/* operations run at once, in all */
	long	 build_concurrency;	/* operations per build node at once */
	long	 lease_seconds;		/* a claim lasts this long unrenewed */
	long	 poll_seconds;		/* queue check when no notification */
	long	 step_output_max_kb;	/* stored output per step */
	long	 spooler_grace_seconds;	/* after SIGTERM, before cancelling */
	long	 step_fanout;		/* a step group's members at once */
	char	*ssh_key_file;		/* Keystone's management key (ed25519) */
	long	 ssh_connect_timeout;	/* seconds */
	long	 ssh_idle_timeout;	/* seconds a blocking SSH call may wait */
	/* The managed registry (NULL: the defaults in lib/domain/reg.c). */
	char	*registry_host;		/* host[:port] of its HTTPS site */
	char	*registry_storage;	/* image data (a mounted volume, say) */
	char	*registry_listen;	/* registry:2's own loopback address */
	char	*registry_conf_dir;	/* its config.yml and htpasswd */
	char	*registry_tls;		/* "acme" (default) or "internal" */
	char	*registry_ca_file;	/* CA the nodes must trust (internal) */
	char	*registry_image;	/* default registry:2 */
	char	*registry_container;	/* its container's name */
	long	 registry_check_minutes; /* scheduled health check; 0: off */
	char	*caddy_sites_dir;	/* Caddy imports *.caddy from here */
	char	*caddy_admin_socket;	/* Caddy's admin API (unix socket) */
	char	*caddyfile;		/* the main Caddyfile, for reloads */
	char	*docker_config;		/* the control node's docker config dir */
	/* Builds: the user a control-node build clones as (and owns its
	 * directory), where builds work (a fresh directory each), the free
	 * space below which a build node takes no build, and whether git://
	 * and file:// repositories are accepted (local development). */
	char	*build_user;
	char	*build_dir;
	long	 build_min_free_mb;
	long	 allow_local_sources;
	/* Provisioning scripts: the CA of base_url to trust (local mode), and
	 * a daemon.json to write before Docker is installed. NULL: none;
	 * when base_url is on loopback it defaults to CONFIG_NO_BRIDGE_JSON
	 * (such servers share this machine's network). */
	char	*provision_ca_file;
	char	*provision_daemon_json;
};

/* Docker without its default bridge (172.17.0.0/16), iptables rules or
 * forwarding. */
#define CONFIG_NO_BRIDGE_JSON \
	"{\"bridge\": \"none\", \"iptables\": false, \"ip-forward\": false}"

void	config_init(struct config *);
void	config_release(struct config *);
/* Loads path (NULL: $KEYSTONE_CONFIG, else CONFIG_DEFAULT_PATH), then the
 * environment. On error returns -1 and writes a message to err (errsz). */
int	config_load(struct config *, const char *path, char *err, size_t errsz);
/* Parses text as a config file body (for tests); no environment. */
int	config_parse(struct config *, const char *text, char *err, size_t errsz);

#endif
