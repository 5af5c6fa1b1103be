/*
 * Checking the host key a server offers, for pinning by an explicit act.
 * A web request never connects to a server: hk_queue() queues an
 * operation (kind hostkey, subject the server) whose one step, on the
 * control node, scans the keys the server offers (lib/scripts/
 * hostkey_scan.sh, with ssh-keyscan); hk_result() reads what that scan
 * found back from the stored operation (lib/model.h's m_hostkey_scan), so
 * what is pinned is what the check found, never what a browser sent.
 * (keystonectl, which is no web request, asks the server itself:
 * ssh_offered_hostkey().) An application's Git host is checked the same
 * way (subject the application, host and port of its repository URL).
 */
#ifndef KS_HOSTKEY_H
#define KS_HOSTKEY_H

#include "keys.h"

struct config;
struct db;
struct hostkey_scan;
struct server_row;

/* A check pins only within this many minutes of its end. */
#define HK_FRESH_MIN	30

/* Queues a check of the key server s offers (user_id: who asked, 0 none);
 * the operation's uuid into uuid. 0, or -1 with nothing queued. */
int	hk_queue(struct db *, const struct config *, const struct keys *,
	    const struct server_row *s, long long user_id, char uuid[40]);
/* The same for any SSH host: the one at host port, the operation about
 * subject_type subject_id (an application's Git host: "application"). */
int	hk_queue_at(struct db *, const struct config *, const struct keys *,
	    const char *subject_type, long long subject_id, const char *host,
	    long long port, long long user_id, char uuid[40]);

enum hk_state {
	HK_WAITING,	/* queued or running */
	HK_FAILED,	/* reason says why (in words a user can act on) */
	HK_FOUND	/* key and fp: what a connection would be offered */
};

struct hk_result {
	enum hk_state	 state;
	char		 key[2048];	/* "TYPE BASE64" */
	char		 fp[80];	/* "SHA256:..." */
	char		 reason[512];
};

/* What check h (of server s, as s is now) found. A check of another
 * address or port than s has now, or one that ended over HK_FRESH_MIN
 * minutes ago, found nothing that may be pinned. */
void	hk_result(const struct hostkey_scan *h, const struct server_row *s,
	    struct hk_result *);
/* The same for a check that must be of host port now; other: what the
 * refusal calls them ("address or SSH port than the server has now"). */
void	hk_result_at(const struct hostkey_scan *h, const char *host,
	    long long port, const char *other, struct hk_result *);

#endif
