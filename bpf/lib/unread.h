/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a socket on the inline path has been given and not read yet: the bytes other sockets'
 * verdicts redirected into its ingress queue (the kernel's sk_psock.msg_tot_len, read through
 * BTF with CO-RE). An ingress redirect has no flow control of its own (docs/kernel-notes.md,
 * note 18); this is what lets the verdict see a client that sends and never reads.
 */
#ifndef MCP_BPF_LIB_UNREAD_H
#define MCP_BPF_LIB_UNREAD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Only the fields read, by the kernel's names (CO-RE finds them wherever they are). */
struct sock___mcp {
	void *sk_user_data;
} __attribute__((preserve_access_index));

struct sk_psock___mcp {
	__u32 msg_tot_len;
} __attribute__((preserve_access_index));

/* A typed view of a kernel pointer the verifier only knows as a number; the verifier turns
 * it into nothing, and loads through it into plain loads that cannot fault. */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;

/* The low bits of sk_user_data are the kernel's flags (SK_USER_DATA_NOCOPY, _BPF, _PSOCK). */
#define MCP_SK_USER_DATA_FLAGS 7ul

/* Whether this kernel says how much waits in a socket's ingress queue (its sk_psock has
 * msg_tot_len: 6.18 here). */
static __always_inline int mcp_unread_known(void)
{
	return bpf_core_field_exists(struct sk_psock___mcp, msg_tot_len);
}

/* Bytes redirected into this socket and not read yet by its process; 0 where the kernel
 * does not say (mcpd tells the operator at start: inline_max_unread is not enforced there).
 * No helper call but the cast to a TCP socket: this runs on every write of every client. */
static __always_inline __u32 mcp_unread(struct bpf_sock *sk)
{
	struct sock___mcp *s;
	struct sk_psock___mcp *psock;
	unsigned long data;

	if (!sk || !mcp_unread_known())
		return 0;
	s = (struct sock___mcp *)bpf_skc_to_tcp_sock(sk);
	if (!s)
		return 0;
	data = (unsigned long)s->sk_user_data & ~MCP_SK_USER_DATA_FLAGS;
	if (!data)
		return 0;
	psock = bpf_rdonly_cast((void *)data, bpf_core_type_id_kernel(struct sk_psock___mcp));
	return psock->msg_tot_len;
}

#endif
