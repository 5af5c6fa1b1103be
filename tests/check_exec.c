/*
 * The step runtime and the local executor, with real bash: wrapper,
 * secrets on stdin only, redaction across chunk boundaries, capped output,
 * exit codes and signals, timeout, cancel of a whole process tree, and
 * several steps supervised at once.
 */
#define _GNU_SOURCE	/* memmem */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exec.h"
#include "op.h"
#include "step.h"
#include "testutil.h"

struct sink {
	struct buf	 b;
	int		 ticks;
	int		 cancel_after;	/* ticks; 0 = never */
	int		 scan_canary;	/* look for the secret in /proc */
	int		 canary_seen;
	const char	*canary;
};

static int
sink_out(void *arg, const char *p, size_t n)
{
	return buf_put(&((struct sink *)arg)->b, p, n);
}

/* Nonzero when any process's argv or environment holds s. */
static int
proc_has(const char *s)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 path[300], *data;
	size_t		 len;
	int		 found = 0;

	if (d == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		for (int k = 0; k < 2 && !found; k++) {
			snprintf(path, sizeof(path), "/proc/%s/%s", de->d_name,
			    k ? "environ" : "cmdline");
			if ((data = tu_slurp(path, &len)) == NULL)
				continue;
			found = memmem(data, len, s, strlen(s)) != NULL;
			free(data);
		}
	}
	closedir(d);
	return found;
}

static int
sink_tick(void *arg)
{
	struct sink	*s = arg;

	s->ticks++;
	if (s->scan_canary && proc_has(s->canary))
		s->canary_seen = 1;
	return s->cancel_after > 0 && s->ticks >= s->cancel_after;
}

static void
run(const char *script, const struct secret *sec, size_t n, long timeout,
    size_t cap, struct sink *s, struct exec_res *res)
{
	struct exec_req	 rq = { script, sec, n, timeout, cap, sink_out, sink_tick, s };

	ck_assert_int_eq(exec_local(&rq, res), 0);
}

/* A step's report: the last KS_REPORT line at a line's start counts (a
 * line printed before it, or one not at a line's start, does not). */
START_TEST(report_values)
{
	static const char out[] =
	    "remote: KS_REPORT commit=1111\n"
	    "KS_REPORT commit=2222 digest=sha256:aa\n"
	    "building...\n"
	    "KS_REPORT commit=3333 digest= state=running\n"
	    "done\n";
	char	 v[8];

	ck_assert_int_eq(op_report_value(out, "commit", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "3333");
	ck_assert_int_eq(op_report_value(out, "digest", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(op_report_value(out, "state", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "running");
	ck_assert_int_eq(op_report_value(out, "stat", v, sizeof(v)), -1);
	ck_assert_int_eq(op_report_value(out, "arch", v, sizeof(v)), -1);
	ck_assert_int_eq(op_report_value("KS_REPORT x=123456789\n", "x", v,
	    sizeof(v)), -1);
	ck_assert_int_eq(op_report_value("no report\n", "x", v, sizeof(v)), -1);
}
END_TEST

START_TEST(exit_codes_and_order)
{
	struct sink	 s = { 0 };
	struct exec_res	 r;

	buf_init(&s.b);
	run("echo one; echo two >&2; echo three; exit 3", NULL, 0, 30, 1 << 20, &s, &r);
	ck_assert_int_eq(r.exited, 1);
	ck_assert_int_eq(r.status, 3);
	ck_assert_str_eq(buf_cstr(&s.b), "one\ntwo\nthree\n");	/* marker gone */
	buf_reset(&s.b);
	run("true", NULL, 0, 30, 1 << 20, &s, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(buf_cstr(&s.b), "");
	buf_reset(&s.b);
	run("printf 'no newline'; false", NULL, 0, 30, 1 << 20, &s, &r);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(buf_cstr(&s.b), "no newline");
	buf_reset(&s.b);
	/* A step killed by a signal fails; the wrapper reports 128+signal. */
	run("kill -9 $$", NULL, 0, 30, 1 << 20, &s, &r);
	ck_assert_int_ne(r.exited && r.status == 0, 1);
	/* Reading stdin gets nothing: the secrets and the cancel channel are
	 * the wrapper's. */
	buf_reset(&s.b);
	run("cat; echo done", NULL, 0, 30, 1 << 20, &s, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(buf_cstr(&s.b), "done\n");
	buf_release(&s.b);
}
END_TEST

START_TEST(secrets_stdin_only_and_redacted)
{
	const char	*canary = "Sekr1t-canary-9b7c";
	struct secret	 sec[] = { { "REG_PASSWORD", "Sekr1t-canary-9b7c" },
	    { "OTHER", "second-secret-value" } };
	struct sink	 s = { 0 };
	struct exec_res	 r;

	buf_init(&s.b);
	s.scan_canary = 1;
	s.canary = canary;
	/* The step uses the secret through builtins and prints it (a leak the
	 * redactor must catch), also split by a slow writer. */
	run("printf 'pw=%s\\n' \"$REG_PASSWORD\"\n"
	    "printf '%s' \"$REG_PASSWORD\" | wc -c\n"
	    "printf 'Sekr1t-'; sleep 1.2; printf 'canary-9b7c and %s\\n' \"$OTHER\"\n"
	    "test -z \"$(env | grep REG_PASSWORD)\" && echo not-exported\n",
	    sec, 2, 30, 1 << 20, &s, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_null(strstr(buf_cstr(&s.b), canary));
	ck_assert_ptr_null(strstr(buf_cstr(&s.b), "second-secret-value"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.b), "pw=[redacted]\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.b), "18\n"));	/* it arrived whole */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.b), "[redacted] and [redacted]\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.b), "not-exported"));
	ck_assert_msg(s.ticks > 0 && !s.canary_seen,
	    "the secret appeared in a process's argv or environment");
	buf_release(&s.b);
}
END_TEST

START_TEST(huge_output_capped)
{
	struct sink	 s = { 0 };
	struct exec_res	 r;

	buf_init(&s.b);
	/* 50 MB interleaved on stdout and stderr. */
	run("for i in $(seq 1 50); do head -c 524288 /dev/zero | tr '\\0' o; "
	    "head -c 524288 /dev/zero | tr '\\0' e >&2; done; exit 0",
	    NULL, 0, 120, 1 << 20, &s, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.truncated, 1);
	ck_assert_uint_eq(r.output_bytes, 50ULL * 1048576);
	ck_assert_uint_lt(s.b.len, (1 << 20) + 200);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.b), "[output truncated: 52428800 bytes produced"));
	buf_release(&s.b);
}
END_TEST

/* Running (a zombie waiting for its reaper has stopped running). */
static int
alive(pid_t pid)
{
	char	 path[64], *st, *p;
	int	 up;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((st = tu_slurp(path, NULL)) == NULL)
		return 0;
	p = strrchr(st, ')');
	up = p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	free(st);
	return up;
}

START_TEST(timeout_kills_tree)
{
	struct sink	 s = { 0 };
	struct exec_res	 r;
	char		*pids, path[64], script[256];
	time_t		 t0 = time(NULL);

	/* A name of this process's own: runs on one machine do not share it. */
	snprintf(path, sizeof(path), "/tmp/ks-exec-pids.%d", (int)getpid());
	snprintf(script, sizeof(script), "sleep 300 & echo $! > %s; (sleep 301 & "
	    "echo $! >> %s; wait); wait", path, path);
	buf_init(&s.b);
	unlink(path);
	run(script, NULL, 0, 2, 1 << 20, &s, &r);
	ck_assert_int_eq(r.timed_out, 1);
	ck_assert_int_eq(r.exited && r.status == 0, 0);
	ck_assert_int_lt(time(NULL) - t0, 15);
	ck_assert_ptr_nonnull(pids = tu_slurp(path, NULL));
	for (char *p = pids; *p != '\0';) {
		pid_t pid = (pid_t)strtol(p, &p, 10);
		if (pid > 0)
			ck_assert_msg(!alive(pid), "pid %d survived", (int)pid);
		while (*p == '\n')
			p++;
	}
	free(pids);
	unlink(path);
	buf_release(&s.b);
}
END_TEST

START_TEST(cancel_stops_step)
{
	struct sink	 s = { 0 };
	struct exec_res	 r;
	time_t		 t0 = time(NULL);

	buf_init(&s.b);
	s.cancel_after = 2;
	run("echo started; sleep 300; echo never", NULL, 0, 600, 1 << 20, &s, &r);
	ck_assert_int_eq(r.cancelled, 1);
	ck_assert_int_lt(time(NULL) - t0, 10);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&s.b), "started"));
	ck_assert_ptr_null(strstr(buf_cstr(&s.b), "never"));
	/* The wrapper's job control leaves no notice in the output. */
	ck_assert_ptr_null(strstr(buf_cstr(&s.b), "Terminated"));
	ck_assert_int_eq(r.exited && r.status == 0, 0);
	buf_release(&s.b);
}
END_TEST

/* The fourth step of several_at_once is cancelled alone, at the second
 * tick; the others go on. */
struct group {
	struct sup_item	*items;
	int		 ticks;
};

static int
group_tick(void *arg)
{
	struct group	*g = arg;

	if (++g->ticks == 2)
		g->items[3].cancel = 1;
	return 0;
}

/*
 * Several steps supervised at once in one process: each keeps its own
 * output, secrets, exit status, timeout and cancel, and together they take
 * about as long as the longest, not the sum.
 */
START_TEST(several_at_once)
{
	struct secret	 sa[] = { { "PW", "alpha-secret-1" } },
			 sb[] = { { "PW", "bravo-secret-2" } };
	const char	*scripts[] = {
		"echo a-start; sleep 3; printf 'a=%s\\n' \"$PW\"; echo a-end",
		"echo b-start >&2; sleep 4; printf 'b=%s\\n' \"$PW\"; exit 5",
		"echo c-start; sleep 300; echo c-never",
		"echo d-start; sleep 300; echo d-never",
	};
	const char	*want[] = { "a-start\na=[redacted]\na-end\n",
	    "b-start\nb=[redacted]\n", "c-start\n", "d-start\n" };
	long		 timeouts[] = { 30, 30, 2, 30 };
	struct sink	 s[4];
	struct sup_item	 it[4];
	struct group	 g = { it, 0 };
	long long	 t0, took;

	memset(s, 0, sizeof(s));
	memset(it, 0, sizeof(it));
	for (int i = 0; i < 4; i++) {
		buf_init(&s[i].b);
		ck_assert_ptr_nonnull(it[i].ch = chan_local());
		it[i].rq.script = scripts[i];
		it[i].rq.secrets = i == 0 ? sa : i == 1 ? sb : NULL;
		it[i].rq.nsecrets = i < 2;
		it[i].rq.timeout_s = timeouts[i];
		it[i].rq.output_cap = 1 << 20;
		it[i].rq.output = sink_out;
		it[i].rq.arg = &s[i];
	}
	t0 = step_now_ms();
	ck_assert_int_eq(supervise(it, 4, group_tick, &g), 0);
	took = step_now_ms() - t0;
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(it[i].done && it[i].rc == 0 && it[i].ch == NULL,
		    "step %d: done %d rc %d: %s", i, it[i].done, it[i].rc,
		    it[i].res.error);
		ck_assert_msg(strcmp(buf_cstr(&s[i].b), want[i]) == 0,
		    "step %d wrote \"%s\"", i, buf_cstr(&s[i].b));
	}
	ck_assert_int_eq(it[0].res.exited && it[0].res.status == 0, 1);
	ck_assert_int_eq(it[1].res.exited && it[1].res.status == 5, 1);
	ck_assert_int_eq(it[2].res.timed_out, 1);
	ck_assert_int_eq(it[3].res.cancelled, 1);
	ck_assert_int_eq(it[0].res.timed_out + it[0].res.cancelled +
	    it[1].res.timed_out + it[1].res.cancelled + it[2].res.cancelled +
	    it[3].res.timed_out, 0);
	/* Each ended in its own time: the timeout (2 s) and the cancel (2nd
	 * tick) first, then a (3 s), then b (4 s). */
	ck_assert_msg(it[2].ended_ms - t0 < 3000 && it[3].ended_ms - t0 < 3000,
	    "the timed-out step ended after %lld ms, the cancelled one after "
	    "%lld ms", it[2].ended_ms - t0, it[3].ended_ms - t0);
	ck_assert_msg(it[0].ended_ms - t0 >= 3000 && it[0].ended_ms <
	    it[1].ended_ms, "a ended after %lld ms, b after %lld ms",
	    it[0].ended_ms - t0, it[1].ended_ms - t0);
	/* Together: the longest (4 s), far from the sum (over 9 s). */
	ck_assert_msg(took >= 4000 && took < 6500, "four steps took %lld ms", took);
	for (int i = 0; i < 4; i++)
		buf_release(&s[i].b);
}
END_TEST

static int
collect(void *arg, const char *p, size_t n)
{
	return buf_put(arg, p, n);
}

START_TEST(filter_boundaries)
{
	struct secret	 sec[] = { { "A", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH" } };
	const char	*in = "xx abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH yy "
	    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH\n__KS_STATUS__=7\n";
	struct outfilter f;
	struct buf	 out;

	/* Every way of cutting the input into two pieces. */
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		buf_init(&out);
		outfilter_init(&f, sec, 1, 1 << 20, collect, &out);
		ck_assert_int_eq(outfilter_feed(&f, in, cut), 0);
		ck_assert_int_eq(outfilter_feed(&f, in + cut, strlen(in) - cut), 0);
		ck_assert_int_eq(outfilter_finish(&f), 0);
		ck_assert_str_eq(buf_cstr(&out), "xx [redacted] yy [redacted]");
		ck_assert_int_eq(f.have_status, 1);
		ck_assert_int_eq(f.status, 7);
		outfilter_release(&f);
		buf_release(&out);
	}
	/* Without a status line: none reported, all output kept. */
	buf_init(&out);
	outfilter_init(&f, NULL, 0, 1 << 20, collect, &out);
	ck_assert_int_eq(outfilter_feed(&f, "a\0b\n", 4), 0);
	ck_assert_int_eq(outfilter_finish(&f), 0);
	ck_assert_int_eq(f.have_status, 0);
	ck_assert_uint_eq(out.len, 4);
	outfilter_release(&f);
	buf_release(&out);
}
END_TEST

START_TEST(wrapper_refusals)
{
	struct buf	 b;
	struct secret	 bad[] = { { "lower", "x" } }, nl[] = { { "OK", "a\nb" } },
			 own[] = { { "KS_WRAP_PID", "x" } };

	buf_init(&b);
	ck_assert_int_eq(step_wrapper(&b, "true", bad, 1), -1);
	ck_assert_int_eq(step_wrapper(&b, "true", own, 1), -1);
	ck_assert_int_eq(step_secret_input(&b, nl, 1), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(step_wrapper(&b, "true", NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(b.ptr, "\n__ks_run\n"));
	buf_release(&b);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("exec");
	TCase	*tc = tcase_create("exec");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, filter_boundaries);
	tcase_add_test(tc, wrapper_refusals);
	tcase_add_test(tc, report_values);
	tcase_add_test(tc, exit_codes_and_order);
	tcase_add_test(tc, secrets_stdin_only_and_redacted);
	tcase_add_test(tc, huge_output_capped);
	tcase_add_test(tc, timeout_kills_tree);
	tcase_add_test(tc, cancel_stops_step);
	tcase_add_test(tc, several_at_once);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
