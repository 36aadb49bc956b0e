/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcpd's one way to fail: a function that can fail returns 0 (or what it made), or -errno,
 * and says what went wrong in the struct err its caller passed: one sentence an operator can
 * act on. The caller logs it, answers with it (an ERROR frame, a control reply), or gives up
 * with it. Header only: the protocol library, the daemon and the tools share it.
 */
#ifndef MCP_ERR_H
#define MCP_ERR_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MSG_MAX 512

struct err {
	int code; /* the errno of the failure, positive; 0 when none */
	char msg[ERR_MSG_MAX];
};

/* Say what went wrong; returns -code (a code of 0 is taken as EINVAL), for `return err_set(..)`. */
__attribute__((format(printf, 3, 4))) static inline int err_set(struct err *e, int code,
								 const char *fmt, ...)
{
	va_list ap;

	if (code < 0)
		code = -code;
	if (!code)
		code = EINVAL;
	if (e) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

#endif
