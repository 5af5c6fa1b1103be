#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "step.h"

#define REDACTED	"[redacted]"

long long
step_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
secret_name_ok(const char *n)
{
	size_t	 len = strlen(n);

	if (len == 0 || len > 64 || !(n[0] >= 'A' && n[0] <= 'Z'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
		    n[i] == '_'))
			return 0;
	/* Names of the wrapper's own variables are reserved. */
	return strncmp(n, "KS_WRAP_", 8) != 0;
}

int
step_wrapper(struct buf *out, const char *script, const struct secret *s,
    size_t n)
{
	size_t	 start = out->len;

	if (n > STEP_MAX_SECRETS)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!secret_name_ok(s[i].name))
			return -1;
	/* Everything is defined before anything runs, and the wrapper's last
	 * line starts it: bash reads stdin unbuffered, so what follows on
	 * stdin (the secret lines, then nothing until a cancel) is only ever
	 * read by the reads below, never parsed as script. */
	if (buf_puts(out, "__ks_main() {\n") == -1 ||
	    buf_puts(out, script) == -1 ||
	    buf_puts(out, "\n}\n__ks_run() {\n") == -1)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (buf_printf(out, "IFS= read -r %s || exit 97\n", s[i].name) == -1)
			goto fail;
	if (buf_puts(out,
	    "set -m\n"
	    "__ks_main </dev/null &\n"
	    "KS_WRAP_PID=$!\n"
	    "{ IFS= read -r KS_WRAP_X; kill -TERM -- \"-$KS_WRAP_PID\" 2>/dev/null;"
	    " sleep 5; kill -KILL -- \"-$KS_WRAP_PID\" 2>/dev/null; } &\n"
	    "KS_WRAP_W=$!\n"
	    /* Off again: the jobs keep their groups, and no "Terminated"
	     * notice lands in the step's output. */
	    "set +m\n"
	    "wait \"$KS_WRAP_PID\"; KS_WRAP_RC=$?\n"
	    "kill -- \"-$KS_WRAP_W\" 2>/dev/null\n"
	    "printf '\\n" STEP_STATUS_MARK "%d\\n' \"$KS_WRAP_RC\" >&2\n"
	    "exit \"$KS_WRAP_RC\"\n"
	    "}\n"
	    "__ks_run\n") == -1)
		goto fail;
	return 0;
fail:
	if (out->ptr != NULL) {
		out->len = start;
		out->ptr[start] = '\0';
	}
	return -1;
}

int
step_secret_input(struct buf *out, const struct secret *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strpbrk(s[i].value, "\n\r") != NULL)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (buf_puts(out, s[i].value) == -1 || buf_putc(out, '\n') == -1)
			return -1;
	return 0;
}

void
outfilter_init(struct outfilter *f, const struct secret *s, size_t n,
    size_t cap, int (*emit)(void *, const char *, size_t), void *arg)
{
	memset(f, 0, sizeof(*f));
	f->secrets = s;
	f->nsecrets = n;
	f->cap = cap;
	f->emit = emit;
	f->arg = arg;
	buf_init(&f->pending);
	/* Hold back enough to see a whole secret or the status line. */
	f->hold = sizeof(STEP_STATUS_MARK) + 24;
	for (size_t i = 0; i < n; i++)
		if (strlen(s[i].value) > f->hold)
			f->hold = strlen(s[i].value);
}

/* Passes n redacted bytes on, within the cap. */
static int
store(struct outfilter *f, const char *p, size_t n)
{
	size_t	 room = f->cap > f->stored ? f->cap - f->stored : 0;

	f->total += n;
	if (n > room) {
		f->truncated = 1;
		n = room;
	}
	if (n == 0)
		return 0;
	f->stored += n;
	return f->emit(f->arg, p, n);
}

/* The length of the secret matching at p (within len bytes), or 0. */
static size_t
match(const struct outfilter *f, const char *p, size_t len)
{
	for (size_t i = 0; i < f->nsecrets; i++) {
		size_t sl = strlen(f->secrets[i].value);
		if (sl > 0 && sl <= len && memcmp(p, f->secrets[i].value, sl) == 0)
			return sl;
	}
	return 0;
}

/*
 * Emits pending output up to where a secret could still be cut in two:
 * every match starting before len - (hold - 1) lies wholly in the buffer.
 * With final set, everything goes.
 */
static int
drain(struct outfilter *f, int final)
{
	char	*p = f->pending.ptr;
	size_t	 len = f->pending.len, i = 0, run = 0, cut, m;

	if (len == 0)
		return 0;
	cut = final ? len : (len > f->hold - 1 ? len - (f->hold - 1) : 0);
	while (i < cut) {
		if ((m = match(f, p + i, len - i)) > 0) {
			if (store(f, p + run, i - run) == -1 ||
			    store(f, REDACTED, sizeof(REDACTED) - 1) == -1)
				return -1;
			i += m;
			run = i;
		} else
			i++;
	}
	if (store(f, p + run, i - run) == -1)
		return -1;
	memmove(p, p + i, len - i);
	f->pending.len = len - i;
	p[f->pending.len] = '\0';
	return 0;
}

int
outfilter_feed(struct outfilter *f, const char *p, size_t n)
{
	while (n > 0) {
		/* Bounded: at most hold bytes stay between calls. */
		size_t chunk = n > 65536 ? 65536 : n;
		if (buf_put(&f->pending, p, chunk) == -1 || drain(f, 0) == -1)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

int
outfilter_finish(struct outfilter *f)
{
	static const char mk[] = "\n" STEP_STATUS_MARK;
	char	*p = f->pending.ptr, *e;
	char	 note[96];
	size_t	 len = f->pending.len, at, ml = sizeof(mk) - 1, num;
	long	 v = -1;

	/* The wrapper's status line is the last thing it writes: find the
	 * last "\n__KS_STATUS__=" (output may hold NUL bytes: no str*). */
	for (at = len >= ml ? len - ml + 1 : 0; at-- > 0;)
		if (memcmp(p + at, mk, ml) == 0)
			break;
	if (len >= ml && at != (size_t)-1) {
		for (num = at + ml, e = p + num; e < p + len && *e >= '0' &&
		    *e <= '9' && v < 1000; e++)
			v = (v < 0 ? 0 : v * 10) + (*e - '0');
		if (e < p + len && *e == '\n' && v >= 0 && v <= 255) {
			f->have_status = 1;
			f->status = (int)v;
			e++;
			memmove(p + at, e, (size_t)(p + len - e));
			f->pending.len = len - (size_t)(e - (p + at));
			p[f->pending.len] = '\0';
		}
	}
	if (drain(f, 1) == -1)
		return -1;
	if (f->truncated) {
		snprintf(note, sizeof(note), "\n[output truncated: %llu bytes "
		    "produced, %zu stored]\n", f->total, f->stored);
		return f->emit(f->arg, note, strlen(note));
	}
	return 0;
}

void
outfilter_release(struct outfilter *f)
{
	if (f->pending.ptr != NULL)
		memset(f->pending.ptr, 0, f->pending.cap);	/* may hold secrets */
	buf_release(&f->pending);
}
