// SPDX-License-Identifier: GPL-2.0-only
/* The session table (user/session_table.c) without a daemon: ids, the list and the list of
 * sessions without a HELLO, what is freed when, the flush list, pools in use, and what it
 * counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "session.h"
#include "session_table.h"

static struct session *new_session(uint32_t id)
{
	struct session *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->id = id;
	s->client.s = s;
	return s;
}

static int setup(void **state)
{
	*state = session_table_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct session_table *t = *state;

	while (t->head)
		session_table_remove(t, t->head);
	session_table_free(t); /* frees what is dead: valgrind sees the rest */
	return 0;
}

static void test_ids_skip_zero(void **state)
{
	struct session_table *t = *state;

	assert_int_equal(session_table_next_id(t), 1);
	assert_int_equal(session_table_next_id(t), 2);
	t->next_id = UINT32_MAX - 1;
	assert_int_equal(session_table_next_id(t), UINT32_MAX);
	assert_int_equal(session_table_next_id(t), 1); /* never 0, which means "none" */
}

static void test_list_newest_first_and_removal(void **state)
{
	struct session_table *t = *state;
	struct session *a = new_session(1), *b = new_session(2), *c = new_session(3), *s;
	uint32_t seen[3], n = 0;

	session_table_add(t, a);
	session_table_add(t, b);
	session_table_add(t, c);
	assert_int_equal(t->n, 3);
	session_table_for_each(t, s)
		seen[n++] = s->id;
	assert_int_equal(n, 3);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[2], 1);

	/* The middle one goes: its neighbours meet, it waits on the dead list. */
	session_table_remove(t, b);
	assert_int_equal(t->n, 2);
	assert_ptr_equal(c->next, a);
	assert_ptr_equal(a->prev, c);
	assert_ptr_equal(t->dead_sessions, b);
	/* The head goes. */
	session_table_remove(t, c);
	assert_ptr_equal(t->head, a);
	assert_null(a->prev);
	session_table_reap(t);
	assert_null(t->dead_sessions);
	assert_int_equal(t->n, 1);
}

static void test_without_hello_oldest_first(void **state)
{
	struct session_table *t = *state;
	struct session *a = new_session(1), *b = new_session(2), *c = new_session(3);

	assert_null(session_table_oldest_unnegotiated(t));
	session_table_add(t, a);
	session_table_unnegotiated(t, a);
	session_table_add(t, b);
	session_table_unnegotiated(t, b);
	session_table_add(t, c);
	session_table_unnegotiated(t, c);
	assert_int_equal(t->unneg.n, 3);
	assert_ptr_equal(session_table_oldest_unnegotiated(t), a);

	session_table_negotiated(t, a); /* said HELLO */
	assert_ptr_equal(session_table_oldest_unnegotiated(t), b);
	session_table_negotiated(t, a); /* twice is harmless */
	assert_int_equal(t->unneg.n, 2);

	session_table_remove(t, b); /* closed before its HELLO: off that list too */
	assert_ptr_equal(session_table_oldest_unnegotiated(t), c);
	assert_int_equal(t->unneg.n, 1);
}

static void test_buried_sockets_freed_at_reap(void **state)
{
	struct session_table *t = *state;
	struct conn *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));

	assert_non_null(x);
	assert_non_null(y);
	session_table_bury(t, x);
	session_table_bury(t, y);
	assert_ptr_equal(t->dead_conns, y);
	assert_ptr_equal(y->next_dead, x);
	session_table_reap(t);
	assert_null(t->dead_conns);
}

static void test_flush_list_once_each(void **state)
{
	struct session_table *t = *state;
	struct session *a = new_session(1), *b = new_session(2);
	struct conn *list;
	int n = 0;

	session_table_add(t, a);
	session_table_add(t, b);
	session_table_mark_dirty(t, &a->client);
	session_table_mark_dirty(t, &b->client);
	session_table_mark_dirty(t, &a->client); /* already listed */
	list = session_table_take_dirty(t);
	assert_null(t->dirty);
	for (struct conn *c = list; c; c = c->next_dirty)
		n++;
	assert_int_equal(n, 2);
	assert_true(a->client.dirty);
	/* The caller clears the mark as it flushes; then a socket can be listed again. */
	a->client.dirty = false;
	session_table_mark_dirty(t, &a->client);
	assert_ptr_equal(t->dirty, &a->client);
}

static void test_pools_in_use(void **state)
{
	struct session_table *t = *state;
	struct session *a = new_session(1), *b = new_session(2);
	struct conn backend = { 0 };

	session_table_add(t, a);
	session_table_add(t, b);
	assert_int_equal(session_table_pools_in_use(t), 0);
	a->backends[1] = &backend; /* pool 0 */
	b->backends[3] = &backend; /* pool 2 */
	assert_int_equal(session_table_pools_in_use(t), 0x5);
	a->backends[1] = b->backends[3] = NULL;
}

struct sample {
	char name[40], label[16];
	uint64_t value;
};

static struct sample samples[16];
static int n_samples;

static void keep(void *ctx, const struct metric *m, const struct label *l, int n, uint64_t v)
{
	(void)ctx;
	assert_true(n_samples < 16);
	snprintf(samples[n_samples].name, sizeof(samples[0].name), "%s", m->name);
	snprintf(samples[n_samples].label, sizeof(samples[0].label), "%s", n ? l[0].value : "");
	samples[n_samples++].value = v;
}

static uint64_t sample(const char *name, const char *label)
{
	for (int i = 0; i < n_samples; i++)
		if (!strcmp(samples[i].name, name) && !strcmp(samples[i].label, label))
			return samples[i].value;
	fail_msg("no sample %s{%s}", name, label);
	return 0;
}

static void test_collect(void **state)
{
	struct session_table *t = *state;
	struct session *a = new_session(1), *b = new_session(2), *c = new_session(3);

	a->path = SESSION_PATH_INLINE;
	b->path = SESSION_PATH_INLINE;
	c->path = SESSION_PATH_KERNEL;
	session_table_add(t, a);
	session_table_add(t, b);
	session_table_add(t, c);
	t->opened = 7;
	t->illegal_transitions = 2;
	n_samples = 0;
	session_table_collect(t, keep, NULL);
	assert_int_equal(sample("sessions", ""), 3);
	assert_int_equal(sample("sessions_by_path", "inline"), 2);
	assert_int_equal(sample("sessions_by_path", "kernel"), 1);
	assert_int_equal(sample("sessions_by_path", "mcpd"), 0);
	assert_int_equal(sample("sessions_opened_total", ""), 7);
	assert_int_equal(sample("illegal_transitions_total", ""), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_skip_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_newest_first_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_hello_oldest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buried_sockets_freed_at_reap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_list_once_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pools_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
	};

	return cmocka_run_group_tests_name("session_table", tests, NULL, NULL);
}
