// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "walk_fixture.skel.h"
#include "walk_runner.h"
#include "pin_root.h"
#include "stream_decoder.h"

#define FILLER 14

struct walk_runner {
	struct walk_fixture *skel;
	char pin[64];
};

struct walk_runner *walk_runner_open(struct err *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct walk_runner *r = calloc(1, sizeof(*r));
	int err;

	if (!r) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(r->pin, sizeof(r->pin), "/sys/fs/bpf/mcp-walk-test-%d", getpid());
	if (pin_root_prepare(r->pin, e)) {
		free(r);
		return NULL;
	}
	opts.pin_root_path = r->pin;
	r->skel = walk_fixture__open_opts(&opts);
	err = r->skel ? walk_fixture__load(r->skel) : -errno;
	if (err) {
		err_set(e, -err, "cannot load the walk fixture: %s", strerror(-err));
		walk_runner_close(r);
		return NULL;
	}
	return r;
}

void walk_runner_close(struct walk_runner *r)
{
	if (!r)
		return;
	walk_fixture__destroy(r->skel);
	pin_root_remove(r->pin);
	free(r);
}

int walk_runner_reset(struct walk_runner *r, uint8_t version, int peer, uint32_t max_frame)
{
	struct mcp_sock_state st = { .cur_dest = MCP_DEST_NONE };
	uint32_t zero = 0, none = 0;

	mcp_framer_init(&st.fr, version, peer, max_frame);
	MCP_SOCK_MODE(&st) = MCP_MODE_FAST;
	r->skel->bss->frames_hash = 0;
	for (uint32_t op = 0; op < 256; op++)
		if (bpf_map_update_elem(bpf_map__fd(r->skel->maps.mcp_routes), &op, &none, BPF_ANY))
			return -errno;
	return bpf_map_update_elem(bpf_map__fd(r->skel->maps.walk_state), &zero, &st, BPF_ANY)
		       ? -errno
		       : 0;
}

int walk_runner_route(struct walk_runner *r, uint8_t opcode, uint32_t slot)
{
	uint32_t op = opcode;

	return bpf_map_update_elem(bpf_map__fd(r->skel->maps.mcp_routes), &op, &slot, BPF_ANY)
		       ? -errno
		       : 0;
}

int walk_runner_perms(struct walk_runner *r, const struct mcp_perms *p)
{
	struct mcp_sock_state st;
	uint32_t zero = 0;
	int fd = bpf_map__fd(r->skel->maps.walk_state);

	if (bpf_map_lookup_elem(fd, &zero, &st))
		return -errno;
	st.flags |= MCP_SF_PERMS;
	if (bpf_map_update_elem(bpf_map__fd(r->skel->maps.mcp_perms), &st.key.session, p, BPF_ANY) ||
	    bpf_map_update_elem(fd, &zero, &st, BPF_ANY))
		return -errno;
	return 0;
}

int walk_runner_perms_get(struct walk_runner *r, struct mcp_perms *p)
{
	uint32_t session = 0;

	return bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.mcp_perms), &session, p) ? -errno : 0;
}

int walk_runner_chunk(struct walk_runner *r, const void *chunk, uint32_t len,
		      struct walk_result *out)
{
	uint8_t pkt[FILLER + WALK_CHUNK_MAX] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = FILLER + len);
	uint32_t zero = 0;

	if (len > WALK_CHUNK_MAX)
		return -EMSGSIZE;
	memcpy(pkt + FILLER, chunk, len);
	if (bpf_prog_test_run_opts(bpf_program__fd(r->skel->progs.mcp_walk_fixture), &opts))
		return -errno;
	if (opts.retval != XDP_PASS)
		return -EIO;
	out->dest = r->skel->bss->out_dest;
	out->reason = r->skel->bss->out_reason;
	out->check = r->skel->bss->out_check;
	out->taken = r->skel->bss->out_taken;
	out->bad_at = r->skel->bss->out_bad_at;
	out->frames = r->skel->bss->out_frames;
	out->hash = r->skel->bss->frames_hash;
	return bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.walk_state), &zero, &out->st) ? -errno
											  : 0;
}

uint64_t walk_fold(uint64_t hash, uint8_t opcode, uint16_t length)
{
	return hash * 1000003 + (((uint64_t)opcode << 16) | length);
}

struct user_side {
	uint64_t frames;
	uint64_t hash;
};

static int user_frame(void *ctx, const struct mcp_frame *f)
{
	struct user_side *u = ctx;

	u->frames++;
	u->hash = walk_fold(u->hash, f->opcode, f->length);
	return 0;
}

/* The kernel counts a frame when it takes its header; the decoder delivers it when whole. */
static uint64_t begun(const struct mcp_decoder *d, const struct user_side *u, uint64_t *hash)
{
	*hash = u->hash;
	if (d->fr.hdr_have || !d->fr.skip)
		return u->frames;
	*hash = walk_fold(u->hash, d->fr.hdr[MCP_OFF_OPCODE], mcp_hdr_length(d->fr.hdr));
	return u->frames + 1;
}

#define DIFFER(...) (snprintf(why, why_len, __VA_ARGS__), rc = -1)

int walk_agree(struct walk_runner *r, uint8_t version, int peer, uint32_t max_frame,
	       const uint8_t *stream, size_t len, const uint32_t *cuts, size_t ncuts, char *why,
	       size_t why_len)
{
	struct user_side u = { 0 };
	struct mcp_decoder d;
	struct walk_result k;
	size_t at = 0, i = 0;
	int rc = 0;

	if (walk_runner_reset(r, version, peer, max_frame))
		return DIFFER("cannot reset the walk's state");
	mcp_decoder_init(&d, version, peer, max_frame);
	while (at < len && rc == 0) {
		size_t n = i < ncuts && cuts[i] < len - at ? cuts[i] : len - at;
		uint64_t hash;
		ssize_t used;
		int err;

		if (n == 0)
			n = 1;
		if (n > WALK_CHUNK_MAX)
			n = WALK_CHUNK_MAX;
		i++;
		err = walk_runner_chunk(r, stream + at, (uint32_t)n, &k);
		if (err) {
			DIFFER("the kernel's walk did not run: %s", strerror(-err));
			break;
		}
		used = mcp_decoder_feed(&d, stream + at, n, user_frame, &u);
		if ((used < 0) != (k.reason == MCP_DP_PASS_INVALID))
			DIFFER("chunk at %zu: broken for %s, not for %s", at,
			       used < 0 ? "userspace" : "the kernel", used < 0 ? "the kernel" : "userspace");
		else if (begun(&d, &u, &hash) != k.st.frames || hash != k.hash)
			DIFFER("chunk at %zu: userspace has begun %llu frames, the kernel %llu%s", at,
			       (unsigned long long)begun(&d, &u, &hash),
			       (unsigned long long)k.st.frames, hash != k.hash ? " (or other ones)" : "");
		else if (used < 0 && ((uint32_t)d.error != k.check ||
				      d.error_offset != (uint64_t)((int64_t)at + k.bad_at)))
			DIFFER("chunk at %zu: userspace breaks rule %d at %llu, the kernel %u at %lld",
			       at, d.error, (unsigned long long)d.error_offset, k.check,
			       (long long)at + k.bad_at);
		else if (used >= 0 && (d.fr.hdr_have != k.st.fr.hdr_have || d.fr.skip != k.st.fr.skip))
			DIFFER("chunk at %zu: userspace holds %u header bytes and awaits %u, the "
			       "kernel %u and %u", at, d.fr.hdr_have, d.fr.skip, k.st.fr.hdr_have,
			       k.st.fr.skip);
		if (used < 0)
			break;
		at += n;
	}
	mcp_decoder_free(&d);
	return rc;
}
