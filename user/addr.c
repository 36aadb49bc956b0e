// SPDX-License-Identifier: GPL-2.0-only
/* Addresses and prefixes as operators and tools write them: "1.2.3.4:80", "[::1]:80",
 * "10.0.0.0/8", "2001:db8::/32". */
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "addr.h"

int mcp_parse_addr(const char *text, struct mcp_addr *out)
{
	char host[MCP_ADDR_TEXT_MAX];
	const char *colon;
	char *end;
	long port;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(out->text))
		return -1;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -1;
		hl = (size_t)(close - text - 1);
		colon = close + 1;
		memcpy(host, text + 1, hl);
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - text);
		memcpy(host, text, hl);
	}
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	if (text[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		out->len = sizeof(*a);
	}
	strcpy(out->text, text);
	return 0;
}

int mcp_prefix_parse(const char *text, struct mcp_prefix *out, struct err *e)
{
	char addr[64], *slash, *end;
	long len;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(addr))
		return err_set(e, EINVAL, "'%.64s...' is too long for an address or prefix", text);
	strcpy(addr, text);
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		len = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		len = 128;
	} else {
		return err_set(e, EINVAL,
			       "'%s' is not an address or prefix (10.0.0.0/8, 2001:db8::/32)", text);
	}
	if (slash) {
		long max = len;

		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || slash[1] == '\0' || len < 0 || len > max)
			return err_set(e, EINVAL, "'%s': a prefix length is 0 to %ld", text, max);
	}
	out->len = (uint32_t)len;
	/* Clear the host bits, so 10.1.2.3/16 and 10.1.0.0/16 are one prefix. */
	for (uint32_t bit = out->len; bit < (out->family == AF_INET ? 32u : 128u); bit++)
		out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

void mcp_prefix_format(const struct mcp_prefix *p, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(p->family, p->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, p->len);
}

bool mcp_prefix_match(const struct mcp_prefix *p, const struct sockaddr *sa)
{
	const uint8_t *a;
	uint32_t full, rest;

	if (sa->sa_family == AF_INET && p->family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 && p->family == AF_INET6)
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return false;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(a, p->addr, full))
		return false;
	return !rest || ((a[full] ^ p->addr[full]) & (uint8_t)(0xFF00u >> rest)) == 0;
}

int mcp_addr_bind(const struct mcp_addr *a, int type, bool v6only)
{
	int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, err;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (a->ss.ss_family == AF_INET6 && v6only &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) ||
	    (type == SOCK_STREAM && listen(fd, 4096))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int unix_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int mcp_unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, err = unix_address(path, &sa);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int mcp_unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	int fd, err = unix_address(path, &sa);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket file is there: if something answers on it, it belongs to someone. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, mode) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
