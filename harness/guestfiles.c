/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Copy files out of the guest through the agent (guestfiles.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guestfiles.h"

#define GF_MAX_FILES 4096
#define GF_MAX_BYTES (256ull << 20)

static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);

    if (n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

/* rel is safe to append to a host directory: relative, no "..", no empty
 * or "." components. */
static bool safe_rel(const char *rel)
{
    const char *p = rel;

    if (!*rel || *rel == '/') {
        return false;
    }
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.')) {
            return false;
        }
        p += n;
        if (*p == '/') {
            p++;
        }
    }
    return true;
}

static int write_file(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX + 8];
    int fd;
    size_t off = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int gf_fetch(ga_client *c, const char *guest_dir, const char *suffix,
             const char *host_dir, int timeout_ms, char *err, size_t errlen)
{
    const char *list_argv[] = { "find", guest_dir, "-type", "f", NULL };
    ga_cmd cmd = { 0 };
    ga_result lr;
    int n;

    /* "[ -d DIR ] || exit 0" without a shell: find fails on a missing dir */
    cmd.argv = list_argv;
    cmd.timeout_ms = (uint32_t)timeout_ms;
    cmd.output_limit = GF_LIST_LIMIT;
    if (ga_run_cmd(c, &cmd, timeout_ms + 5000, &lr) != GA_OK) {
        snprintf(err, errlen, "listing %s: %s", guest_dir, ga_last_error(c));
        ga_result_free(&lr);
        return -1;
    }
    n = gf_fetch_listed(c, &lr, guest_dir, suffix, host_dir, timeout_ms, err, errlen);
    ga_result_free(&lr);
    return n;
}

int gf_fetch_listed(ga_client *c, const ga_result *listing, const char *guest_dir,
                    const char *suffix, const char *host_dir, int timeout_ms,
                    char *err, size_t errlen)
{
    ga_cmd cmd = { 0 };
    char *names, *save = NULL, *line;
    size_t dlen = strlen(guest_dir), slen = strlen(suffix);
    unsigned long long total = 0;
    int n = 0, rc = 0;

    while (dlen > 1 && guest_dir[dlen - 1] == '/') {
        dlen--;
    }
    if (!ga_result_ok(listing)) {
        bool missing = listing->err && strstr(listing->err, "No such file");

        if (!missing) {
            snprintf(err, errlen, "listing %s failed: %.200s", guest_dir,
                     listing->err ? listing->err : "");
        }
        return missing ? 0 : -1;
    }
    if (listing->out_dropped) {
        snprintf(err, errlen, "listing %s: more than 4 MiB of names", guest_dir);
        return -1;
    }
    names = strdup(listing->out ? listing->out : "");
    if (!names) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (line = strtok_r(names, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t ln = strlen(line);
        const char *rel;
        const char *cat_argv[] = { "cat", line, NULL };
        ga_result fr;
        char host[PATH_MAX], *slash;

        if (ln < slen || strcmp(line + ln - slen, suffix)) {
            continue;
        }
        if (strncmp(line, guest_dir, dlen) || line[dlen] != '/') {
            continue;
        }
        rel = line + dlen + 1;
        if (!safe_rel(rel)) {
            snprintf(err, errlen, "refusing guest path '%.200s'", line);
            rc = -1;
            break;
        }
        if (n >= GF_MAX_FILES) {
            snprintf(err, errlen, "more than %d files under %s", GF_MAX_FILES,
                     guest_dir);
            rc = -1;
            break;
        }
        if (snprintf(host, sizeof(host), "%s/%s", host_dir, rel) >=
            (int)sizeof(host)) {
            snprintf(err, errlen, "host path too long for '%.200s'", line);
            rc = -1;
            break;
        }
        memset(&cmd, 0, sizeof(cmd));
        cmd.argv = cat_argv;
        cmd.timeout_ms = (uint32_t)timeout_ms;
        cmd.output_limit = 64u << 20;
        if (ga_run_cmd(c, &cmd, timeout_ms + 5000, &fr) != GA_OK ||
            !ga_result_ok(&fr) || fr.out_dropped) {
            snprintf(err, errlen, "reading %.200s: %s", line,
                     fr.exited ? (fr.out_dropped ? "over 64 MiB" :
                                  (fr.err ? fr.err : "failed")) :
                     ga_last_error(c));
            ga_result_free(&fr);
            rc = -1;
            break;
        }
        total += fr.out_len;
        if (total > GF_MAX_BYTES) {
            snprintf(err, errlen, "more than 256 MiB under %s", guest_dir);
            ga_result_free(&fr);
            rc = -1;
            break;
        }
        slash = strrchr(host, '/');
        *slash = 0;
        if (mkdirs(host) < 0) {
            snprintf(err, errlen, "mkdir %s: %s", host, strerror(errno));
            ga_result_free(&fr);
            rc = -1;
            break;
        }
        *slash = '/';
        if (write_file(host, fr.out ? fr.out : "", fr.out_len) < 0) {
            snprintf(err, errlen, "writing %s: %s", host, strerror(errno));
            ga_result_free(&fr);
            rc = -1;
            break;
        }
        ga_result_free(&fr);
        n++;
    }
    free(names);
    return rc < 0 ? -1 : n;
}
