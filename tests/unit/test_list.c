// SPDX-License-Identifier: GPL-2.0-only
/* The intrusive list (user/list.h): order kept, unlink anywhere, touch moves to the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "list.h"

struct item {
	int v;
	struct list_node node;
};

/* The values from oldest to newest, as a number (1,2,3 -> 123), and the count is right. */
static int order(const struct list *l)
{
	int n = 0, seen = 0;

	for (struct list_node *x = l->oldest; x; x = x->next, seen++)
		n = n * 10 + list_entry(x, struct item, node)->v;
	assert_int_equal(seen, l->n);
	return n;
}

static void test_append_unlink_touch(void **state)
{
	struct item it[4] = { { .v = 1 }, { .v = 2 }, { .v = 3 }, { .v = 4 } };
	struct list l = { 0 };

	(void)state;
	assert_null(list_entry(l.oldest, struct item, node));
	for (int i = 0; i < 4; i++)
		list_append(&l, &it[i].node);
	assert_int_equal(order(&l), 1234);
	list_append(&l, &it[2].node); /* already in: nothing changes */
	assert_int_equal(order(&l), 1234);
	list_unlink(&l, &it[1].node); /* middle */
	assert_int_equal(order(&l), 134);
	list_unlink(&l, &it[1].node); /* not in: nothing changes */
	assert_int_equal(order(&l), 134);
	list_touch(&l, &it[0].node); /* oldest to newest */
	assert_int_equal(order(&l), 341);
	list_touch(&l, &it[0].node); /* already newest */
	assert_int_equal(order(&l), 341);
	list_unlink(&l, &it[2].node); /* oldest */
	list_unlink(&l, &it[0].node); /* newest */
	assert_int_equal(order(&l), 4);
	assert_ptr_equal(l.oldest, l.newest);
	list_unlink(&l, &it[3].node);
	assert_null(l.oldest);
	assert_null(l.newest);
	assert_int_equal(l.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_unlink_touch),
	};

	return cmocka_run_group_tests_name("list", tests, NULL, NULL);
}
