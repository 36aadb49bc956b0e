// SPDX-License-Identifier: GPL-2.0-only
/* mcpctl for the e2e tests. Interface: ctl_client.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "ctl_client.h"
#include "harness.h"

static char sock[256];

void hc_use(const char *path)
{
	snprintf(sock, sizeof(sock), "%s", path);
}

int hc_run(char *out, size_t len, ...)
{
	char *argv[16] = { "mcpctl", "-s", sock };
	int argc = 3;
	va_list ap;

	va_start(ap, len);
	for (char *a; argc < 15 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return h_run(out, len, argv);
}

json_object *hc_json(const char *cmd)
{
	static char out[1 << 20];
	json_object *o;

	assert_int_equal(hc_run(out, sizeof(out), "-j", cmd, NULL), 0);
	o = json_tokener_parse(out);
	if (!o)
		fail_msg("mcpctl -j %s printed no JSON: %s", cmd, out);
	return o;
}

int64_t hc_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no '%s' in %s", key, json_object_to_json_string(o));
	return json_object_get_int64(v);
}

const char *hc_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no '%s' in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

int64_t hc_counter(const char *name, const char *label)
{
	json_object *o = hc_json("stats"), *cs;
	int64_t v = -1;

	json_object_object_get_ex(o, "counters", &cs);
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		json_object *c = json_object_array_get_idx(cs, i);

		if (!strcmp(hc_str(c, "name"), name) && !strcmp(hc_str(c, "label"), label))
			v = hc_int(c, "value");
	}
	json_object_put(o);
	return v;
}
