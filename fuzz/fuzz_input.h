/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny byte reader shared by the Gauntlet fuzz targets: values are taken
 * from the front of the input, and an exhausted input reads as zeros (so
 * every prefix of an input is a valid, shorter input).
 */
#ifndef GAUNTLET_FUZZ_INPUT_H
#define GAUNTLET_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct FuzzIn {
    const uint8_t *p;
    size_t left;
} FuzzIn;

static inline void fin_init(FuzzIn *in, const uint8_t *data, size_t size)
{
    in->p = data;
    in->left = size;
}

static inline int fin_empty(const FuzzIn *in)
{
    return in->left == 0;
}

static inline void fin_bytes(FuzzIn *in, void *dst, size_t n)
{
    size_t k = n < in->left ? n : in->left;

    memcpy(dst, in->p, k);
    memset((uint8_t *)dst + k, 0, n - k);
    in->p += k;
    in->left -= k;
}

/*
 * The scalar readers take bytes directly: under ASan a memcpy() or memset()
 * of one to four bytes is an interceptor call with a shadow check, and the
 * harnesses read thousands of them per input (fuzz speed).
 */
static inline uint8_t fin_u8(FuzzIn *in)
{
    if (!in->left) {
        return 0;
    }
    in->left--;
    return *in->p++;
}

static inline uint16_t fin_u16(FuzzIn *in)
{
    uint16_t lo = fin_u8(in);

    return (uint16_t)(lo | fin_u8(in) << 8);
}

static inline uint32_t fin_u32(FuzzIn *in)
{
    uint32_t lo = fin_u16(in);

    return lo | (uint32_t)fin_u16(in) << 16;
}

static inline uint64_t fin_u64(FuzzIn *in)
{
    uint64_t lo = fin_u32(in);

    return lo | (uint64_t)fin_u32(in) << 32;
}

/* A check the harness makes: a violation is a crash libFuzzer records. */
#define FUZZ_ASSERT(cond) do {                                          \
        if (!(cond)) {                                                  \
            fprintf(stderr, "%s:%d: invariant violated: %s\n",          \
                    __FILE__, __LINE__, #cond);                         \
            __builtin_trap();                                           \
        }                                                               \
    } while (0)

#endif /* GAUNTLET_FUZZ_INPUT_H */
