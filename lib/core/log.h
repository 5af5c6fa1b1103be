/*
 * Logging to stderr (the run script sends it to a file). One line per event.
 * Rule: no secret ever reaches a log call: passwords, tokens, session IDs and
 * keys are never passed as arguments. Functions that take a secret name the
 * parameter `secret_*` and never log it (tests/check_secrets greps for that).
 */
#ifndef KS_LOG_H
#define KS_LOG_H

void	log_setprog(const char *);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));	/* appends strerror(errno) */

#endif
