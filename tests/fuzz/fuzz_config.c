// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the config parser, on whatever bytes a file might hold. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_config cfg;
	char path[64];
	int fd = memfd_create("mcpd.ini", 0);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct err e = { 0 };
	int rc = mcp_config_load(path, &cfg, &e);

	if (rc == 0) {
		/* What loads is within bounds. */
		if (cfg.n_listen < 1 || cfg.n_listen > MCP_MAX_LISTEN || cfg.n_pools > MCP_MAX_POOLS ||
		    cfg.max_frame > MCP_MAX_FRAME_LIMIT || cfg.idle_timeout_ms < cfg.heartbeat_ms)
			abort();
		for (int op = 0; op < 256; op++)
			if (cfg.routes[op] > cfg.n_pools)
				abort();
	} else if (!strstr(e.msg, ":") || rc != -e.code) {
		abort(); /* a refusal names where, and returns its -errno */
	}
	close(fd);
	return 0;
}
