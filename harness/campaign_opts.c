/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command-line options campaigns and enumerations share
 * (campaign_priv.h: CP_COMMON_LONG_OPTIONS, cp_common_opt).
 */
#include "campaign_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cp_parse_u64(const char *prog, const char *opt, const char *s, uint64_t lo,
                 uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (!s || !*s || *s == '-') {
        goto bad;
    }
    v = strtoull(s, &end, 0);
    if (errno || *end || v < lo || v > hi) {
        goto bad;
    }
    *out = v;
    return 0;
bad:
    fprintf(stderr, "%s: %s wants an integer in %" PRIu64 "..%" PRIu64 ", got '%s'\n",
            prog, opt, lo, hi, s ? s : "");
    return -1;
}

int cp_common_opt(Campaign *c, int opt, const char *arg, const char *prog,
                  bool *batch_given)
{
    uint64_t v;

    switch (opt) {
    case CP_O_SHARD: {
        unsigned k, m;
        char tail;

        if (sscanf(arg, "%u/%u%c", &k, &m, &tail) != 2 || m < 1 || m > 100000 ||
            k < 1 || k > m || arg[0] == '-') {
            fprintf(stderr, "%s: --shard wants K/M with 1 <= K <= M (e.g. 2/8), got '%s'\n",
                    prog, arg);
            return -1;
        }
        c->shard_k = k;
        c->shard_m = m;
        return 1;
    }
    case CP_O_TIME:
        if (cp_parse_u64(prog, "--time", arg, 1, 100000000, &v) < 0) {
            return -1;
        }
        c->time_limit = (double)v;
        return 1;
    case CP_O_KERNEL:
        if (strcmp(arg, "stock") && strcmp(arg, "debug")) {
            fprintf(stderr, "%s: --kernel wants stock or debug, got '%s'\n", prog, arg);
            return -1;
        }
        c->debug = !strcmp(arg, "debug");
        return 1;
    case CP_O_TARGET: {
        bool ok = *arg && strlen(arg) <= 63;

        for (const char *p = arg; *p; p++) {
            ok &= (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  *p == '-' || *p == '_' || *p == '.';
        }
        if (!ok) {
            fprintf(stderr, "%s: --target wants a target name ([a-z0-9._-], 1-63 chars), "
                    "got '%s'\n", prog, arg);
            return -1;
        }
        c->target = arg;
        return 1;
    }
    case CP_O_TARGETS:
        c->targets_dir = arg;
        return 1;
    case CP_O_OUT:
        c->out = arg;
        return 1;
    case CP_O_RUNNER:
        c->runner = arg;
        return 1;
    case CP_O_RUNNER_ARG:
        c->runner_args[c->nrunner_args++] = arg;
        return 1;
    case CP_O_NO_SHRINK:
        c->shrink = false;
        return 1;
    case CP_O_SHRINK_ATTEMPTS:
        if (cp_parse_u64(prog, "--shrink-attempts", arg, 1, 100000, &v) < 0) {
            return -1;
        }
        c->shrink_attempts = (int)v;
        return 1;
    case CP_O_SHRINK_TIME:
        if (cp_parse_u64(prog, "--shrink-time", arg, 1, 10000000, &v) < 0) {
            return -1;
        }
        c->shrink_time = (double)v;
        return 1;
    case CP_O_BATCH:
        if (cp_parse_u64(prog, "--batch", arg, 1, 10000, &v) < 0) {
            return -1;
        }
        c->batch = (int)v;
        *batch_given = true;
        return 1;
    case 'j':
        if (cp_parse_u64(prog, "-j", arg, 1, 64, &v) < 0) {
            return -1;
        }
        c->jobs = (int)v;
        return 1;
    default:
        return 0;
    }
}
