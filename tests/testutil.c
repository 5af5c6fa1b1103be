#include <check.h>
#include <stdio.h>
#include <stdlib.h>

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
