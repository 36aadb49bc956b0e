/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcpctl as the e2e tests drive it: run it against one mcpd's control socket, read its JSON
 * answers and counters. A field that is not there fails the test with what mcpctl printed.
 */
#ifndef MCP_E2E_CTL_CLIENT_H
#define MCP_E2E_CTL_CLIENT_H

#include <stdint.h>
#include <stddef.h>
#include <json-c/json.h>

/* The control socket the calls below ask. */
void hc_use(const char *sock);
/* mcpctl -s SOCK ARGS... (NULL-terminated): its exit status; its output in out. */
int hc_run(char *out, size_t len, ...);
/* mcpctl -j CMD, parsed (the caller puts it). */
json_object *hc_json(const char *cmd);
int64_t hc_int(json_object *o, const char *key);
const char *hc_str(json_object *o, const char *key);
/* The value of counter `name` with label `label` ("key=value", "" for none), from mcpctl -j
 * stats; -1 when it is not listed. */
int64_t hc_counter(const char *name, const char *label);

#endif
