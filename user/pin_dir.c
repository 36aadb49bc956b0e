// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pin directory's lock: one mcpd per pin root, handed over on an upgrade.
 * Interface: pin_dir.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pin_dir.h"
#include "pin_root.h"
#include "mcpd.h"
#include "err.h"

int pin_dir_lock(struct mcpd *r, bool wait, struct err *e)
{
	int fd, err, tries = wait ? 500 : 1;

	if (r->pin_lock_fd >= 0)
		return 0;
	err = pin_root_prepare(r->cfg.pin_root, e);
	if (err)
		return err;
	fd = open(r->cfg.pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno, "cannot open %s: %s", r->cfg.pin_root, strerror(errno));
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
	err = err_set(e, errno, "%s is in use by another mcpd (%s)", r->cfg.pin_root,
		      strerror(errno));
	close(fd);
	return err;
}

void pin_dir_unlock(struct mcpd *r)
{
	if (r->pin_lock_fd >= 0)
		close(r->pin_lock_fd);
	r->pin_lock_fd = -1;
}
