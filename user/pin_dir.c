// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "mcp/maps.h"
#include "pin_dir.h"
#include "router.h"

int pin_dir_prepare(char *why, size_t len)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			snprintf(why, len, "bpffs is not mounted on /sys/fs/bpf and cannot be: %s",
				 strerror(errno));
			return -1;
		}
	}
	if (mkdir(MCP_PIN_DIR, 0700) && errno != EEXIST) {
		snprintf(why, len, "cannot create %s: %s", MCP_PIN_DIR, strerror(errno));
		return -1;
	}
	chmod(MCP_PIN_DIR, 0700); /* the maps steer sessions: root only */
	return 0;
}

int pin_dir_lock(struct router *r, bool wait, char *why, size_t len)
{
	int fd, tries = wait ? 500 : 1;

	if (r->pin_lock_fd >= 0)
		return 0;
	if (pin_dir_prepare(why, len))
		return -1;
	fd = open(MCP_PIN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot open %s: %s", MCP_PIN_DIR, strerror(errno));
		return -1;
	}
	for (int i = 0; i < tries; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			r->pin_lock_fd = fd;
			return 0;
		}
		if (errno != EWOULDBLOCK)
			break;
		if (i + 1 < tries)
			usleep(10000);
	}
	snprintf(why, len, "%s is in use by another mcpd (%s)", MCP_PIN_DIR, strerror(errno));
	close(fd);
	return -1;
}

void pin_dir_unlock(struct router *r)
{
	if (r->pin_lock_fd >= 0)
		close(r->pin_lock_fd);
	r->pin_lock_fd = -1;
}
