// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user data path: every frame is read, checked by the stream decoder and forwarded by
 * mcpd (session.c). It needs no hooks; this file only names it.
 */
#include <string.h>
#include "mcpd.h"

void dp_user_init(struct datapath *dp)
{
	memset(dp, 0, sizeof(*dp));
	dp->name = "user";
}
