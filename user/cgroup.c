// SPDX-License-Identifier: GPL-2.0-only
/* Finding the cgroup v2 mount (cgroup.h). */
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include "cgroup.h"

int mcp_cgroup2_root(char *out, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(out, len, "%s", m->mnt_dir);
			rc = 0;
			break;
		}
	endmntent(f);
	return rc;
}
