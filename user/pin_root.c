// SPDX-License-Identifier: GPL-2.0-only
/* The pin root (config `pin_root`): a directory on bpffs for the maps, made and removed. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "pin_root.h"

int pin_root_prepare(const char *root, char *why, size_t len)
{
	struct statfs st;

	if (!strncmp(root, "/sys/fs/bpf/", 12) &&
	    (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			snprintf(why, len, "bpffs is not mounted on /sys/fs/bpf and cannot be: %s",
				 strerror(errno));
			return -1;
		}
	}
	if (mkdir(root, 0700) && errno != EEXIST) {
		snprintf(why, len, "cannot create %s: %s", root, strerror(errno));
		return -1;
	}
	if (statfs(root, &st) || st.f_type != BPF_FS_MAGIC) {
		snprintf(why, len, "pin_root %s is not on a bpf filesystem", root);
		return -1;
	}
	chmod(root, 0700); /* the maps steer sessions: root only */
	return 0;
}

int pin_root_remove(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char path[PATH_MAX];
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	closedir(d);
	if (rmdir(root) && errno != ENOENT)
		err = -errno;
	return err;
}

void pin_map_clear(int fd)
{
	uint8_t key[64];

	/* Always the first key: deleting while iterating loses the place. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
}
