// SPDX-License-Identifier: GPL-2.0-only
/* The data paths' dispatch (user/datapath.c) over paths made up for the test: which path a
 * session goes to, how the paths' answers combine, which hooks a path without them skips,
 * and what mcpd calls itself by the paths it has. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "mcpd.h"

/* What each made-up path was asked, and what it answers. */
struct fake {
	struct datapath dp;
	int install_answer;
	int installs, uninstalls, lingers, forgets, reads, publishes, configs, ticks, destroyed;
	uint64_t last_active, partial_since, held;
	int can_write;
	struct conn *slowest;
	uint64_t frames;
};

static struct fake *me(struct mcpd *r, const char *name)
{
	for (int i = 0; i < DATAPATH__COUNT; i++)
		if (r->paths[i] && !strcmp(r->paths[i]->name, name))
			return r->paths[i]->priv;
	fail_msg("no path %s", name);
	return NULL;
}

/* Each hook finds its own path by the name the session's test gave it. */
#define HOOK_SESSION(field, name)                                                                  \
	static uint64_t field##_##name(struct mcpd *r, struct session *s)                          \
	{                                                                                          \
		(void)s;                                                                           \
		return me(r, #name)->field;                                                        \
	}

static int install_of(struct mcpd *r, const char *name, struct session *s)
{
	struct fake *f = me(r, name);

	f->installs++;
	if (!f->install_answer)
		s->path = !strcmp(name, "a") ? SESSION_PATH_INLINE : SESSION_PATH_KERNEL;
	return f->install_answer;
}

static int install_a(struct mcpd *r, struct session *s)
{
	return install_of(r, "a", s);
}

static int install_b(struct mcpd *r, struct session *s)
{
	return install_of(r, "b", s);
}

static void uninstall_a(struct mcpd *r, struct session *s)
{
	(void)s;
	me(r, "a")->uninstalls++;
}

static void uninstall_b(struct mcpd *r, struct session *s)
{
	(void)s;
	me(r, "b")->uninstalls++;
}

static void linger_b(struct mcpd *r, struct session *s)
{
	(void)s;
	me(r, "b")->lingers++;
}

static void forget_b(struct mcpd *r, struct conn *c)
{
	(void)c;
	me(r, "b")->forgets++;
}

static int can_write_b(struct mcpd *r, struct conn *c)
{
	(void)c;
	return me(r, "b")->can_write;
}

static void on_read_b(struct mcpd *r, struct conn *c, size_t n)
{
	(void)c;
	me(r, "b")->reads += (int)n;
}

static void publish_b(struct mcpd *r, struct conn *c)
{
	(void)c;
	me(r, "b")->publishes++;
}

HOOK_SESSION(last_active, a)
HOOK_SESSION(last_active, b)
HOOK_SESSION(partial_since, a)
HOOK_SESSION(partial_since, b)
static uint64_t held_b(struct mcpd *r, struct session *s, struct conn **slowest)
{
	(void)s;
	*slowest = me(r, "b")->slowest;
	return me(r, "b")->held;
}

static void counters_a(struct mcpd *r, struct session *s, struct session_counters *out)
{
	(void)s;
	out->frames_in += me(r, "a")->frames;
}

static void counters_b(struct mcpd *r, struct session *s, struct session_counters *out)
{
	(void)s;
	out->frames_in += me(r, "b")->frames;
}

static void config_x(struct mcpd *r)
{
	me(r, "x")->configs++;
}

static void tick_x(struct mcpd *r, uint64_t now)
{
	(void)now;
	me(r, "x")->ticks++;
}

static void describe_x(struct mcpd *r, char *out, size_t len)
{
	(void)r;
	snprintf(out, len, "eth0 native");
}

static void destroy_x(struct mcpd *r)
{
	me(r, "x")->destroyed++;
	r->paths[DATAPATH_XDP] = NULL;
}

static struct fake a = {.dp = {.name = "a",
			       .install = install_a,
			       .uninstall = uninstall_a,
			       .last_active_ms = last_active_a,
			       .partial_since_ms = partial_since_a,
			       .counters = counters_a}},
		   b = {.dp = {.name = "b",
			       .install = install_b,
			       .uninstall = uninstall_b,
			       .linger = linger_b,
			       .forget = forget_b,
			       .can_write = can_write_b,
			       .on_read = on_read_b,
			       .publish = publish_b,
			       .last_active_ms = last_active_b,
			       .partial_since_ms = partial_since_b,
			       .kernel_held = held_b,
			       .counters = counters_b}},
		   x = {.dp = {.name = "x",
			       .apply_config = config_x,
			       .tick = tick_x,
			       .describe = describe_x,
			       .destroy = destroy_x}};

static struct mcpd r;
static struct session s;

static int setup(void **state)
{
	struct fake *all[] = {&a, &b, &x};

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct datapath dp = all[i]->dp;

		memset(all[i], 0, sizeof(*all[i]));
		all[i]->dp = dp;
		all[i]->dp.priv = all[i];
		all[i]->can_write = 1;
	}
	return 0;
}

static void load(bool inline_path, bool sockmap, bool xdp)
{
	r.paths[DATAPATH_INLINE] = inline_path ? &a.dp : NULL;
	r.paths[DATAPATH_SOCKMAP] = sockmap ? &b.dp : NULL;
	r.paths[DATAPATH_XDP] = xdp ? &x.dp : NULL;
}

static void test_mode_names_what_is_loaded(void **state)
{
	(void)state;
	load(false, false, false);
	assert_string_equal(datapath_mode(&r), "user");
	assert_false(datapath_carries_sessions(&r));
	load(false, false, true); /* the guard alone carries no session */
	assert_string_equal(datapath_mode(&r), "user");
	assert_false(datapath_carries_sessions(&r));
	load(false, true, true);
	assert_string_equal(datapath_mode(&r), "bpf");
	assert_true(datapath_carries_sessions(&r));
	load(true, false, false); /* auto, remote sessions on mcpd's path */
	assert_string_equal(datapath_mode(&r), "auto");
	assert_true(datapath_carries_sessions(&r));
	load(true, true, false);
	assert_string_equal(datapath_mode(&r), "auto");
}

static void test_a_session_goes_to_the_first_path_that_takes_it(void **state)
{
	(void)state;
	load(false, false, true);
	assert_int_equal(datapath_install(&r, &s), -ENOENT); /* none carries sessions */
	assert_int_equal(s.path, SESSION_PATH_MCPD);

	load(true, true, true);
	assert_int_equal(datapath_install(&r, &s), 0); /* the inline path first */
	assert_int_equal(s.path, SESSION_PATH_INLINE);
	assert_int_equal(a.installs, 1);
	assert_int_equal(b.installs, 0);

	s.path = SESSION_PATH_MCPD;
	a.install_answer = -ENOENT; /* not local: the verdict takes it */
	assert_int_equal(datapath_install(&r, &s), 0);
	assert_int_equal(s.path, SESSION_PATH_KERNEL);
	assert_int_equal(b.installs, 1);

	s.path = SESSION_PATH_MCPD;
	a.install_answer = -ENOSPC; /* the inline maps are full: the verdict still may */
	b.install_answer = -ENOSPC;
	assert_int_equal(datapath_install(&r, &s), -ENOSPC);
	assert_int_equal(s.path, SESSION_PATH_MCPD);
	assert_int_equal(b.installs, 2);
}

static void test_every_path_hears_of_a_session_s_end(void **state)
{
	struct conn c = {0};

	(void)state;
	load(true, true, true);
	datapath_uninstall(&r, &s);
	assert_int_equal(a.uninstalls, 1);
	assert_int_equal(b.uninstalls, 1);
	datapath_linger(&r, &s); /* only the path with a linger hook */
	assert_int_equal(b.lingers, 1);
	assert_int_equal(a.uninstalls, 1);
	datapath_forget(&r, &c);
	datapath_on_read(&r, &c, 100);
	datapath_publish(&r, &c);
	assert_int_equal(b.forgets, 1);
	assert_int_equal(b.reads, 100);
	assert_int_equal(b.publishes, 1);
	/* With the verdict not loaded, nothing is asked of it. */
	load(true, false, false);
	datapath_forget(&r, &c);
	datapath_linger(&r, &s);
	assert_int_equal(b.forgets, 1);
	assert_int_equal(b.lingers, 1);
}

static void test_answers_combine(void **state)
{
	struct conn c = {0}, *slowest = &c;
	struct session_counters k = {.frames_in = 1};

	(void)state;
	load(true, true, false);
	/* Last active: the latest; 0 from a path means "not mine". */
	a.last_active = 500;
	b.last_active = 0;
	assert_int_equal(datapath_last_active_ms(&r, &s), 500);
	b.last_active = 700;
	assert_int_equal(datapath_last_active_ms(&r, &s), 700);
	/* Partial since: the earliest that is not 0. */
	a.partial_since = 0;
	b.partial_since = 0;
	assert_int_equal(datapath_partial_since_ms(&r, &s), 0);
	b.partial_since = 300;
	assert_int_equal(datapath_partial_since_ms(&r, &s), 300);
	a.partial_since = 200;
	assert_int_equal(datapath_partial_since_ms(&r, &s), 200);
	/* Can write: every path must agree. */
	assert_true(datapath_can_write(&r, &c));
	b.can_write = 0;
	assert_false(datapath_can_write(&r, &c));
	/* Kernel held, with the socket that holds it. */
	assert_int_equal(datapath_kernel_held(&r, &s, &slowest), 0);
	assert_null(slowest);
	b.held = 4096;
	b.slowest = &c;
	assert_int_equal(datapath_kernel_held(&r, &s, &slowest), 4096);
	assert_ptr_equal(slowest, &c);
	/* Counters add to what mcpd counted itself. */
	a.frames = 10;
	b.frames = 5;
	datapath_counters(&r, &s, &k);
	assert_int_equal(k.frames_in, 16);
}

static void test_the_whole_path_hooks(void **state)
{
	char out[64] = "stale";

	(void)state;
	load(true, true, false);
	datapath_describe(&r, DATAPATH_XDP, out, sizeof(out));
	assert_string_equal(out, ""); /* not loaded */
	datapath_describe(&r, DATAPATH_INLINE, out, sizeof(out));
	assert_string_equal(out, ""); /* loaded, nothing to say */
	load(true, true, true);
	datapath_describe(&r, DATAPATH_XDP, out, sizeof(out));
	assert_string_equal(out, "eth0 native");
	datapath_apply_config(&r);
	datapath_tick(&r, 100);
	datapath_tick(&r, 200);
	assert_int_equal(x.configs, 1);
	assert_int_equal(x.ticks, 2);
	datapath_destroy_all(&r);
	assert_int_equal(x.destroyed, 1);
	assert_null(r.paths[DATAPATH_XDP]);
	datapath_tick(&r, 300); /* gone: not asked again */
	assert_int_equal(x.ticks, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mode_names_what_is_loaded, setup),
		cmocka_unit_test_setup(test_a_session_goes_to_the_first_path_that_takes_it, setup),
		cmocka_unit_test_setup(test_every_path_hears_of_a_session_s_end, setup),
		cmocka_unit_test_setup(test_answers_combine, setup),
		cmocka_unit_test_setup(test_the_whole_path_hooks, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
