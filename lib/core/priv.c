#define _GNU_SOURCE	/* setresuid, setresgid */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

int
priv_drop(const char *user, char *err, size_t errsz)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() == uid && getuid() == uid && getegid() == gid)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errsz, "cannot become %s: not started as root", user);
		return -1;
	}
	if (initgroups(user, gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errsz, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	/* For good: a later bug must not be able to switch back. */
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errsz, "became %s but could regain root", user);
		return -1;
	}
	return 0;
}
