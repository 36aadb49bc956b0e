// SPDX-License-Identifier: GPL-2.0-only
/* The error convention (user/err.h): -errno back, the code and the sentence kept, whatever
 * sign or size they come in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "err.h"

static void test_code_and_message(void **state)
{
	struct err e = { 0 };

	(void)state;
	assert_int_equal(err_set(&e, ENOENT, "%s: %s", "/etc/mcpd.ini", "gone"), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.msg, "/etc/mcpd.ini: gone");
	/* A negative code (a libbpf return) is the same failure. */
	assert_int_equal(err_set(&e, -EPERM, "no"), -EPERM);
	assert_int_equal(e.code, EPERM);
	/* No code is still a failure: never 0, which would read as success. */
	assert_int_equal(err_set(&e, 0, "why"), -EINVAL);
	assert_int_equal(e.code, EINVAL);
}

static void test_long_message_cut_and_no_struct(void **state)
{
	char big[ERR_MSG_MAX * 2];
	struct err e;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(err_set(&e, E2BIG, "%s", big), -E2BIG);
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	/* A caller that does not want the reason passes NULL. */
	assert_int_equal(err_set(NULL, EBUSY, "ignored"), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_and_message),
		cmocka_unit_test(test_long_message_cut_and_no_struct),
	};

	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
