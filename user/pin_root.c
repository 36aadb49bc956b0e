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
#include <bpf/libbpf.h>
#include "pin_root.h"
#include "err.h"

int pin_root_prepare(const char *root, struct err *e)
{
	struct statfs st;

	if (!strncmp(root, "/sys/fs/bpf/", 12) &&
	    (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			return err_set(e, errno, "bpffs is not mounted on /sys/fs/bpf and cannot be: %s",
				       strerror(errno));
	}
	if (mkdir(root, 0700) && errno != EEXIST)
		return err_set(e, errno, "cannot create %s: %s", root, strerror(errno));
	if (statfs(root, &st) || st.f_type != BPF_FS_MAGIC)
		return err_set(e, EINVAL, "pin_root %s is not on a bpf filesystem", root);
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

/* Whether the map pinned at m's pin path is one m can reuse (libbpf's own test). */
static bool pinned_map_fits(const struct bpf_map *m)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(bpf_map__pin_path(m));
	bool fits;

	if (fd < 0)
		return true; /* nothing there to be in the way */
	fits = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(m) &&
	       info.key_size == bpf_map__key_size(m) && info.value_size == bpf_map__value_size(m) &&
	       info.max_entries == bpf_map__max_entries(m) && info.map_flags == bpf_map__map_flags(m);
	close(fd);
	return fits;
}

bool pin_retry_fresh(struct bpf_object *obj, const char *what, int err, bool taking_over,
		     int attempt, struct err *e)
{
	struct bpf_map *m;

	err_set(e, -err, "cannot load the %s programs: %s (%d)", what, strerror(-err), err);
	if (taking_over) {
		/* The running mcpd uses those maps: never remove them under it. */
		err_set(e, -err,
			"cannot load the %s programs: %s (%d); a build that cannot use the running "
			"one's maps cannot take over", what, strerror(-err), err);
		return false;
	}
	if (attempt)
		return false;
	/* Another build pinned maps of another shape: those go, and the next load pins new ones.
	 * Maps this build can use stay (another object of this mcpd may use them already). */
	bpf_object__for_each_map(m, obj)
		if (bpf_map__pin_path(m) && !pinned_map_fits(m))
			unlink(bpf_map__pin_path(m));
	return true;
}
