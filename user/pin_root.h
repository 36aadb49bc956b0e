/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pin root (pin_root.c): the directory on bpffs where mcpd pins its maps, the config key
 * `pin_root` (default /sys/fs/bpf/mcp). Two routers, or two tests, each have their own.
 */
#ifndef MCP_PIN_ROOT_H
#define MCP_PIN_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include "err.h"

/* The directory `root` on bpffs with mode 0700 (bpffs mounted on /sys/fs/bpf if it is not).
 * 0, or -errno with the reason in e. */
int pin_root_prepare(const char *root, struct err *e);
/* Unpin everything in `root` and remove it (what a test or the demo leaves). 0 or -errno. */
int pin_root_remove(const char *root);
/* Delete every entry of a hash map (keys of up to 64 bytes): what an earlier mcpd left. */
void pin_map_clear(int fd);

struct bpf_object;
/* After `obj` failed to load (err) over the maps pinned in `root`: whether to load it again
 * over fresh maps. Only when not taking over (the running mcpd uses them) and only after a
 * first attempt: then the maps another build pinned are removed, and it says so. e gets the
 * reason of the failure either way. */
bool pin_retry_fresh(struct bpf_object *obj, const char *what, int err, bool taking_over,
		     int attempt, struct err *e);

#endif
