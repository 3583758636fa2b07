// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz.ioctl_bigbufs: fuzz_ioctl's kept bounce buffers (fuzz_ioctl_dev.c,
 * KESTREL_ENV_BIG_BUFS) hide nothing from ASan.
 *
 *   test_ioctl_bigbufs ok        a buffer is zeroed and reused: exit 0
 *   test_ioctl_bigbufs overflow  a byte past the request: ASan must abort
 *   test_ioctl_bigbufs uaf       a byte of a buffer given back: ASan must abort
 *
 * run-bigbufs-test.sh runs the three and wants ASan's report for the last two.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

void *kestrel_env_big_zalloc(size_t n);
bool kestrel_env_big_free(void *p);

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    volatile unsigned char *p = kestrel_env_big_zalloc(200000), *q;

    if (!p || kestrel_env_big_zalloc(1000)) {
        puts("FAIL: a large request not taken, or a small one taken");
        return 1;
    }
    p[0] = 1;
    p[199999] = 1;
    if (!strcmp(mode, "overflow")) {
        p[200000] = 1;
    }
    if (!kestrel_env_big_free((void *)p) || kestrel_env_big_free((void *)p)) {
        puts("FAIL: a kept buffer not taken back once");
        return 1;
    }
    if (!strcmp(mode, "uaf")) {
        return p[10];
    }
    q = kestrel_env_big_zalloc(300000);
    if (q != p || q[0] || q[199999] || q[299999]) {
        puts("FAIL: the kept buffer not reused, or not zeroed");
        return 1;
    }
    puts("ok: reused and zeroed");
    return 0;
}
