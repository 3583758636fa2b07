/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copy files out of the guest through the agent, byte for byte (the agent
 * carries binary output).  The harness uses it for the kernel's gcov data
 * (/sys/kernel/debug/gcov), but nothing here is gcov-specific.
 */
#ifndef GAUNTLET_GUESTFILES_H
#define GAUNTLET_GUESTFILES_H

#include <stddef.h>

#include "agent_client.h"

/* Copy every regular file under guest_dir whose name ends in suffix to
 * host_dir/<its path below guest_dir> (directories created).  A guest path
 * with a ".." component, a newline or no room in PATH_MAX is refused; at
 * most 4096 files and 256 MiB in all.  Each agent call waits at most
 * timeout_ms.  Returns the number of files copied (0 when guest_dir does
 * not exist), or -1 with a reason in err. */
int gf_fetch(ga_client *c, const char *guest_dir, const char *suffix,
             const char *host_dir, int timeout_ms, char *err, size_t errlen);

/* The same from a listing the caller ran (`find GUEST_DIR -type f`, at
 * most GF_LIST_LIMIT bytes kept): a run of commands lists in the same
 * round trip as the others. */
#define GF_LIST_LIMIT (4u << 20)
int gf_fetch_listed(ga_client *c, const ga_result *listing, const char *guest_dir,
                    const char *suffix, const char *host_dir, int timeout_ms,
                    char *err, size_t errlen);

#endif /* GAUNTLET_GUESTFILES_H */
