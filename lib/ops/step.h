/*
 * What every executor shares when it runs a step: the wrapper script sent
 * to `bash -s`, the redaction of secrets from output, and the cap on stored
 * output.
 *
 * The wrapper (no secret in it; built from the stored script and the names
 * of the step's secrets):
 *
 *	__ks_main() {
 *	<stored script>
 *	}
 *	__ks_run() {
 *	IFS= read -r NAME1 ...          one line per secret, in order
 *	set -m                          the step gets its own process group
 *	__ks_main </dev/null & ...      runs; stdin stays with the wrapper
 *	watcher: any input or EOF on stdin kills the step's process group
 *	printf '__KS_STATUS__=%d' "$rc" >&2   the in-band exit status
 *	}
 *	__ks_run                        the last line: then stdin is ours
 *
 * The executor writes the wrapper, then each secret value and a newline,
 * and keeps stdin open: closing it (or writing to it) cancels the step, on
 * the control node and over SSH alike. Secret values travel only on stdin:
 * never in argv, the environment, the stored script or a file. Scripts use
 * them through builtins (printf '%s' "$NAME" | docker login --password-stdin).
 */
#ifndef KS_STEP_H
#define KS_STEP_H

#include <stddef.h>

#include "buf.h"

#define STEP_STATUS_MARK	"__KS_STATUS__="
#define STEP_MAX_SECRETS	16

struct secret {
	const char	*name;	/* [A-Z][A-Z0-9_]*, becomes a shell variable */
	const char	*value;	/* one line: no newline, no NUL */
};

/* Monotonic milliseconds, for the executors' timeouts and ticks. */
long long	 step_now_ms(void);

/* Appends the wrapper for script to out. -1 on a bad secret name or
 * allocation failure. */
int	step_wrapper(struct buf *out, const char *script,
	    const struct secret *, size_t nsecrets);
/* Appends what follows the wrapper on stdin: each value and a newline.
 * -1 when a value holds a newline or NUL (it could not be read back). */
int	step_secret_input(struct buf *out, const struct secret *, size_t n);

/*
 * Output filter: redacts secrets, caps what is stored, and pulls the
 * in-band status line off the end. Feed it raw output; it hands finished
 * chunks to emit(). Memory stays bounded by the cap and the longest secret,
 * whatever the volume of output.
 */
struct outfilter {
	const struct secret *secrets;
	size_t		 nsecrets;
	size_t		 hold;		/* longest secret, or the marker line */
	size_t		 cap;		/* bytes stored at most */
	size_t		 stored;
	unsigned long long total;	/* bytes produced (after redaction) */
	int		 truncated;
	struct buf	 pending;	/* not yet safe to emit */
	int		(*emit)(void *arg, const char *p, size_t n);
	void		*arg;
	int		 have_status;
	int		 status;	/* from the marker, when have_status */
};

void	outfilter_init(struct outfilter *, const struct secret *, size_t n,
	    size_t cap, int (*emit)(void *, const char *, size_t), void *arg);
int	outfilter_feed(struct outfilter *, const char *p, size_t n);
/* Flushes what is held, parses the trailing status line, and emits the
 * truncation marker if output was dropped. */
int	outfilter_finish(struct outfilter *);
void	outfilter_release(struct outfilter *);

#endif
