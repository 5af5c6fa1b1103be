#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

char *
tu_slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*p = NULL;
	long	 sz;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	if ((p = malloc((size_t)sz + 1)) == NULL)
		goto out;
	if (fread(p, 1, (size_t)sz, f) != (size_t)sz) {
		free(p);
		p = NULL;
		goto out;
	}
	p[sz] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)sz;
out:
	fclose(f);
	return p;
}

int
tu_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
tu_children(pid_t parent, pid_t *out, int max)
{
	char		 path[64], st[8];
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		long	 pid = atol(e->d_name), ppid = 0;
		FILE	*f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* pid (comm) state ppid: comm has no ')' here. Zombies are
		 * dead already. */
		if (fscanf(f, "%*d (%*[^)]) %7s %ld", st, &ppid) == 2 &&
		    ppid == (long)parent && strcmp(st, "Z") != 0)
			out[n++] = (pid_t)pid;
		fclose(f);
	}
	closedir(d);
	return n;
}

int
tu_wait_exit(pid_t pid, int ms, int *status)
{
	for (int waited = 0; ; waited += 20) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		if (waited >= ms)
			return 0;
		usleep(20000);
	}
}
