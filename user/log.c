// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging: one line per event to stderr (journald under systemd), below a level set at
 * start or at run time. Interface: log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "log.h"

static const char *log_prog = "mcp";
static int log_level = MCP_LOG_INFO;

void mcp_log_init(const char *prog, int level)
{
	log_prog = prog;
	log_level = level;
}

void mcp_log_set_level(int level)
{
	log_level = level;
}

int mcp_log_level(void)
{
	return log_level;
}

void mcp_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%s]: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, log_prog, names[level], line);
}

void mcp_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mcp_vlog(level, fmt, ap);
	va_end(ap);
}

int mcp_log_due(uint64_t *last_ms, uint64_t now_ms, uint64_t interval_ms)
{
	if (*last_ms && now_ms < *last_ms + interval_ms)
		return 0;
	*last_ms = now_ms;
	return 1;
}
