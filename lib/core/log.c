#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *prog = "keystone";

void
log_setprog(const char *p)
{
	prog = p;
}

/*
 * Builds the whole line first and writes it with one write(2), so lines from
 * several worker processes sharing the log file never interleave.
 */
static void
vlog(const char *level, const char *suffix, const char *fmt, va_list ap)
{
	char		 line[2048];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n, m;
	size_t		 len;

	gmtime_r(&now, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, prog, (int)getpid(), level);
	if (n < 0)
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	len = strlen(line);
	if (suffix != NULL && len + 2 < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, ": %s", suffix);
	len = strlen(line);
	/* Control characters from user input must not forge log lines. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	if (len + 1 >= sizeof(line))
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("info", NULL, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("warn", NULL, fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog("error", strerror(saved), fmt, ap);
	va_end(ap);
}
