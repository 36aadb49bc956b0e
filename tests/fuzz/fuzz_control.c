// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the control socket's request decoder and argument checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctl_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_req q;
	struct err e = { 0 };
	int rc = ctl_parse_request(data, size, &q, &e);

	if (rc == 0) {
		if (strlen(q.arg) >= CTL_ARG_MAX)
			abort();
		if (q.prefix.family && q.prefix.len > (q.prefix.family == 2 ? 32u : 128u))
			abort();
	} else if (!e.msg[0] || rc != -e.code || rc >= 0) {
		abort(); /* a refusal always says why, and returns its -errno */
	}
	return 0;
}
