/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An intrusive doubly linked list in arrival order (oldest first): the connections still
 * waiting for their HELLO, the UDP relay sockets by last use. O(1) append and unlink.
 */
#ifndef MCP_LIST_H
#define MCP_LIST_H

#include <stddef.h>
#include <stdint.h>

struct list_node {
	struct list_node *prev, *next;
	int linked;
};

struct list {
	struct list_node *oldest, *newest;
	uint32_t n;
};

#define list_entry(node, type, member) \
	((node) ? (type *)((char *)(node)-offsetof(type, member)) : NULL)

static inline void list_append(struct list *l, struct list_node *x)
{
	if (x->linked)
		return;
	x->prev = l->newest;
	x->next = NULL;
	if (l->newest)
		l->newest->next = x;
	else
		l->oldest = x;
	l->newest = x;
	x->linked = 1;
	l->n++;
}

static inline void list_unlink(struct list *l, struct list_node *x)
{
	if (!x->linked)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else
		l->oldest = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->newest = x->prev;
	x->prev = x->next = NULL;
	x->linked = 0;
	l->n--;
}

/* Used now: to the newest end. */
static inline void list_touch(struct list *l, struct list_node *x)
{
	if (l->newest != x) {
		list_unlink(l, x);
		list_append(l, x);
	}
}

#endif
