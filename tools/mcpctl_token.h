/* SPDX-License-Identifier: GPL-2.0-only */
/* mcpctl token issue | inspect (mcpctl_token.c). */
#ifndef MCPCTL_TOKEN_H
#define MCPCTL_TOKEN_H

/* argv[0] is "issue" or "inspect". The exit status. */
int mcpctl_token(int argc, char **argv, int json);

#endif
