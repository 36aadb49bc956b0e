/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable byte queue: appended at the tail, consumed from the head. */
#ifndef MCP_BUF_H
#define MCP_BUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	uint8_t *data;
	size_t head, len, cap; /* bytes [head, head + len) are queued */
	uint64_t *account;     /* when set, every change of cap is added there (mcpd's budget) */
};

/* Room for `n` more bytes at the tail; returns the tail pointer or NULL. */
static inline uint8_t *buf_reserve(struct buf *b, size_t n)
{
	if (b->head + b->len + n > b->cap) {
		if (b->head) {
			memmove(b->data, b->data + b->head, b->len);
			b->head = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			uint8_t *d;

			while (cap < b->len + n)
				cap *= 2;
			d = realloc(b->data, cap);
			if (!d)
				return NULL;
			if (b->account)
				*b->account += cap - b->cap;
			b->data = d;
			b->cap = cap;
		}
	}
	return b->data + b->head + b->len;
}

static inline int buf_append(struct buf *b, const void *p, size_t n)
{
	uint8_t *t = buf_reserve(b, n);

	if (!t)
		return -1;
	memcpy(t, p, n);
	b->len += n;
	return 0;
}

static inline void buf_consume(struct buf *b, size_t n)
{
	b->head += n;
	b->len -= n;
	if (!b->len)
		b->head = 0;
}

/* The memory goes; the buffer stays usable (and accounted, if it was). */
static inline void buf_free(struct buf *b)
{
	uint64_t *account = b->account;

	if (account)
		*account -= b->cap;
	free(b->data);
	memset(b, 0, sizeof(*b));
	b->account = account;
}

#endif
