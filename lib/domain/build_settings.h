/*
 * Builds, the settings side: what lib/domain/build_settings.c adds to
 * lib/domain/build.h for the settings forms (cgi/r_apps.c, cgi/r_envs.c).
 *
 * Sealed values are bound to their row (lib/core/keys.h) with the
 * reference build_plan names them by as associated data:
 *   applications.deploy_key_sealed             "application/ID/deploy_key"
 *     (the private key, OpenSSH's file format, no passphrase)
 *   applications.https_token_sealed            "application/ID/token"
 *   environments.ext_registry_password_sealed  "environment/ID/registry"
 * (ID: the row's id), so build_resolve_secret opens a reference's value
 * with the reference itself as the associated data.
 */
#ifndef KS_BUILD_SETTINGS_H
#define KS_BUILD_SETTINGS_H

#include <stddef.h>

struct db;

/* A registry override's host[:port] (an IPv6 address in brackets), and its
 * CA: empty, or PEM certificates. NULL when fine, else a message. */
const char	*build_check_registry_host(const char *);
const char	*build_check_ca(const char *);

/*
 * The Git host an SSH repository URL (ssh://[user@]host[:port]/path or
 * user@host:path) names: its host (without brackets) and port, and the
 * name ssh's known_hosts gives it (host, or [host]:port off port 22).
 * 1 for such a URL, 0 for any other (https://, git://, file://).
 */
int	 build_ssh_host(const char *url, char *host, size_t hostsz, int *port,
	    char *known, size_t knownsz);

/*
 * An application's repository access (repo_auth): "none" (a public
 * repository), "deploy_key" or "token", each only once what it needs is
 * stored. 0; 1 refused (no key or token stored); -1 failure or no such
 * application.
 */
int	 build_set_access(struct db *, const char *app_uuid, const char *mode);

/* Pins the Git host's key of an application (known: as build_ssh_host
 * names the host; key "TYPE BASE64"; fp "SHA256:..."). 0, -1. */
int	 build_pin_git_host(struct db *, const char *app_uuid, const char *known,
	    const char *key, const char *fp);

#endif
