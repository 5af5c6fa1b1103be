#include <stdio.h>
#include <string.h>

#include "config.h"
#include "hostkey.h"
#include "model.h"
#include "plan.h"
#include "ssh.h"

extern const char script_hostkey_scan[];

int
hk_queue(struct db *db, const struct config *cfg, const struct keys *k,
    const struct server_row *s, long long user_id, char uuid[40])
{
	return hk_queue_at(db, cfg, k, "server", s->id, s->address, s->ssh_port,
	    user_id, uuid);
}

int
hk_queue_at(struct db *db, const struct config *cfg, const struct keys *k,
    const char *subject_type, long long subject_id, const char *host,
    long long sport, long long user_id, char uuid[40])
{
	struct op_in	 in;
	struct op_step_in st;
	struct plan	*pl;
	char		 port[16], tmo[16];
	int		 op, rc = -1;

	memset(&in, 0, sizeof(in));
	in.kind = "hostkey";
	in.subject_type = subject_type;
	in.subject_id = subject_id;
	in.created_by = user_id;
	memset(&st, 0, sizeof(st));
	st.name = "Scan the host keys it offers";
	st.target = "control_node";
	/* Only reads: running it again after a crash is harmless. */
	st.idempotent = 1;
	/* ssh-keyscan tries the types at once within TIMEOUT; the reason
	 * for a failure takes another TIMEOUT at most. */
	st.timeout_s = 3 * cfg->ssh_connect_timeout + 30;
	st.secrets = "";
	snprintf(port, sizeof(port), "%lld", sport);
	snprintf(tmo, sizeof(tmo), "%ld", cfg->ssh_connect_timeout);
	if ((pl = plan_new()) == NULL)
		return -1;
	if ((op = plan_op(pl, &in)) != -1) {
		(void)plan_step(pl, op, &st);
		plan_var(pl, "HOST", host);
		plan_var(pl, "PORT", port);
		plan_var(pl, "TIMEOUT", tmo);
		plan_var(pl, "TYPES", SSH_KEYSCAN_TYPES);
		plan_text(pl, script_hostkey_scan);
	}
	if (plan_commit(db, pl, k) == -1)
		goto out;
	snprintf(uuid, 40, "%s", plan_uuid(pl, 0));
	rc = 0;
out:
	plan_free(pl);
	return rc;
}

/* The last line of out that is not empty, into reason; 0, or -1 if none. */
static int
last_line(const char *out, char *reason, size_t sz)
{
	const char	*l, *e, *best = NULL;
	size_t		 blen = 0;

	for (l = out; l != NULL && *l != '\0'; l = *e == '\n' ? e + 1 : e) {
		e = l + strcspn(l, "\n");
		if (e > l && strncmp(l, "target ", 7) != 0 &&
		    strncmp(l, "hostkey ", 8) != 0) {
			best = l;
			blen = (size_t)(e - l);
		}
	}
	if (best == NULL)
		return -1;
	snprintf(reason, sz, "%.*s", (int)blen, best);
	return 0;
}

void
hk_result(const struct hostkey_scan *h, const struct server_row *s,
    struct hk_result *r)
{
	hk_result_at(h, s->address, s->ssh_port, "address or SSH port than the "
	    "server has now", r);
}

void
hk_result_at(const struct hostkey_scan *h, const char *host, long long port,
    const char *other, struct hk_result *r)
{
	char		 target[600];
	const char	*out = h->output != NULL ? h->output : "";

	memset(r, 0, sizeof(*r));
	r->state = HK_FAILED;
	if (h->active == 1) {
		r->state = HK_WAITING;
		return;
	}
	if (strcmp(h->status, "succeeded") != 0) {
		if (last_line(out, r->reason, sizeof(r->reason)) == -1)
			snprintf(r->reason, sizeof(r->reason), "%s",
			    h->error != NULL ? h->error : h->status);
		return;
	}
	/* The scan's first line names what it scanned: the server (or the
	 * repository URL) may name another host since. */
	snprintf(target, sizeof(target), "target %s %lld\n", host, port);
	if (strncmp(out, target, strlen(target)) != 0) {
		snprintf(r->reason, sizeof(r->reason), "this check was of another "
		    "%s", other);
		return;
	}
	if (h->fresh != 1) {
		snprintf(r->reason, sizeof(r->reason), "this check ended over %d "
		    "minutes ago", HK_FRESH_MIN);
		return;
	}
	if (ssh_hostkey_pick(out, r->key, sizeof(r->key), r->fp,
	    sizeof(r->fp)) == -1) {
		snprintf(r->reason, sizeof(r->reason), "%s port %lld offers no "
		    "host key of a type Keystone accepts", host, port);
		return;
	}
	r->state = HK_FOUND;
}
