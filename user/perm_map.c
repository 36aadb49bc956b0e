// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pinned mcp_perms map, opened once by its pin path and kept. Interface: perm_map.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "perm_map.h"
#include "pin_root.h"

static int map_fd = -1;
static char map_root[128];

static int open_map(const char *pin_root)
{
	char path[192];

	if (map_fd >= 0 && !strcmp(map_root, pin_root))
		return map_fd;
	perm_map_close();
	snprintf(path, sizeof(path), "%s/%s", pin_root, MCP_MAP_PERMS);
	map_fd = bpf_obj_get(path);
	if (map_fd >= 0)
		snprintf(map_root, sizeof(map_root), "%s", pin_root);
	return map_fd;
}

int perm_map_open(const char *pin_root)
{
	return open_map(pin_root) < 0 ? -errno : 0;
}

int perm_map_put(const char *pin_root, uint32_t session, const struct mcp_perms *p)
{
	int fd = open_map(pin_root);

	if (fd < 0)
		return -errno;
	return bpf_map_update_elem(fd, &session, p, BPF_ANY) ? -errno : 0;
}

int perm_map_get(const char *pin_root, uint32_t session, struct mcp_perms *p)
{
	int fd = open_map(pin_root);

	if (fd < 0)
		return -errno;
	return bpf_map_lookup_elem(fd, &session, p) ? -errno : 0;
}

void perm_map_del(const char *pin_root, uint32_t session)
{
	int fd = open_map(pin_root);

	if (fd >= 0)
		bpf_map_delete_elem(fd, &session);
}

void perm_map_clear(const char *pin_root)
{
	int fd = open_map(pin_root);

	if (fd >= 0)
		pin_map_clear(fd);
}

void perm_map_close(void)
{
	if (map_fd >= 0)
		close(map_fd);
	map_fd = -1;
	map_root[0] = '\0';
}
