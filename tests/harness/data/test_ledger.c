/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the write ledger: its writer (ledger.h: the record format, the
 * counters, one line a record under concurrency, errors) and its checker
 * (ledger_check.h: the parser's errors with line numbers, partial lines,
 * and every rule of docs/ledger.md on hand-made ledgers over a small
 * backing file).  Each rule has a case where the checker must find a
 * violation, beside one where it must not.
 *
 * Suite "ledger": Suite *ledger_suite(void).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <check.h>

#include "ledger.h"
#include "ledger_check.h"
#include "pattern.h"

#define BS      512u
#define NBLK    16u
#define SEED    7u
#define SID     "00000000000000aa"
#define SID2    "00000000000000bb"

/* ---- fixture: a temporary folder, a backing file, a ledger's text ------- */

static char dir[64], backing[96], ledger_path[96];
static char *text;
static size_t text_len;
static FILE *text_f;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/gd-ledger-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(backing, sizeof(backing), "%s/disk.img", dir);
    snprintf(ledger_path, sizeof(ledger_path), "%s/ledger", dir);
    int fd = open(backing, O_RDWR | O_CREAT | O_TRUNC, 0644);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)NBLK * BS), 0);
    close(fd);
    text_f = open_memstream(&text, &text_len);
}

static void teardown(void)
{
    fclose(text_f);
    free(text);
    text = NULL;
    unlink(backing);
    unlink(ledger_path);
    rmdir(dir);
}

static void __attribute__((format(printf, 1, 2))) line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(text_f, fmt, ap);
    va_end(ap);
    fputc('\n', text_f);
}

static void session(const char *sid, const char *dev, uint64_t seed)
{
    line(GL_MAGIC " S %s tool=test dev=%s seed=%" PRIu64 " bs=%u lba=0 blocks=%u "
         "threads=2", sid, dev, seed, BS, NBLK);
}

static uint64_t csum_of(uint64_t seed, uint32_t thread, uint64_t lba, uint64_t nb,
                        uint64_t gen)
{
    uint8_t *b = malloc(nb * BS);
    uint64_t c;

    for (uint64_t j = 0; j < nb; j++) {
        gd_block_fill(b + j * BS, BS, lba + j, gen, seed, thread);
    }
    c = gl_write_csum(b, nb, BS);
    free(b);
    return c;
}

/* A W record of session SID (seed SEED). */
static void w_rec(uint64_t seq, uint32_t thread, uint64_t lba, uint64_t nb, uint64_t gen)
{
    line("W " SID " %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %016" PRIx64,
         seq, thread, lba, nb, gen, csum_of(SEED, thread, lba, nb, gen));
}

static void put_block(const char *path, uint64_t lba, const uint8_t *b)
{
    int fd = open(path, O_WRONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, BS, (off_t)(lba * BS)), (ssize_t)BS);
    close(fd);
}

/* The backing file's block lba holds write (thread, gen) of seed. */
static void put_gen(uint64_t lba, uint64_t seed, uint32_t thread, uint64_t gen)
{
    uint8_t b[BS];

    gd_block_fill(b, BS, lba, gen, seed, thread);
    put_block(backing, lba, b);
}

static void put_zero(uint64_t lba)
{
    uint8_t b[BS] = { 0 };

    put_block(backing, lba, b);
}

static void flip_byte(uint64_t lba, uint32_t off)
{
    uint8_t b[BS];
    int fd = open(backing, O_RDWR);

    ck_assert_int_eq(pread(fd, b, BS, (off_t)(lba * BS)), (ssize_t)BS);
    b[off] ^= 0x5a;
    ck_assert_int_eq(pwrite(fd, b, BS, (off_t)(lba * BS)), (ssize_t)BS);
    close(fd);
}

/* Parse the text and check it: gl_check's status, r filled (free it). */
static int check_text(enum gl_end_mode end, uint32_t unit, struct gl_result *r,
                      char *err, size_t errlen)
{
    struct gl_check_opts o = { .backing = backing, .end = end, .atomic_unit = unit,
                               .max_violations = 20 };
    struct gl_log *log;
    int ret;

    fflush(text_f);
    log = gl_log_parse(text, text_len, "L", err, errlen);
    ck_assert_msg(log != NULL, "parse: %s", err);
    ret = gl_check(log, &o, r, err, errlen);
    gl_log_free(log);
    return ret;
}

/* Check, expecting success and n violations; returns r (free it). */
static struct gl_result expect(enum gl_end_mode end, uint32_t unit, uint64_t n)
{
    struct gl_result r;
    char err[512];

    ck_assert_msg(check_text(end, unit, &r, err, sizeof(err)) == 0, "check: %s", err);
    ck_assert_msg(r.violations == n, "%" PRIu64 " violations, wanted %" PRIu64 "%s%s%s%s",
                  r.violations, n, r.nlist ? "; first: expected " : "",
                  r.nlist ? r.list[0].expected : "", r.nlist ? "; found " : "",
                  r.nlist ? r.list[0].found : "");
    return r;
}

static char *parse_error(void)
{
    static char err[512];
    struct gl_log *log;

    fflush(text_f);
    err[0] = 0;
    log = gl_log_parse(text, text_len, "L", err, sizeof(err));
    gl_log_free(log);
    return log ? NULL : err;
}

/* ---- the writer ---------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 1 << 20);
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(s, 1, (1 << 20) - 1, f);
    s[n] = 0;
    fclose(f);
    return s;
}

START_TEST(test_writer_format)
{
    struct gl_session_info in = { .tool = "gauntlet-data", .dev = "/dev/vdb",
                                  .seed = 99, .bs = BS, .lba = 8, .blocks = 100,
                                  .threads = 3 };
    struct gl_ledger *l;
    uint8_t buf[3 * BS];
    char err[256], want[512], sid[32];
    uint64_t n1 = 0, n2 = 0;
    char *s;

    l = gl_open(ledger_path, &in, err, sizeof(err));
    ck_assert_msg(l != NULL, "%s", err);
    snprintf(sid, sizeof(sid), "%s", gl_sid(l));
    ck_assert_uint_eq(strlen(sid), GL_SID_LEN);
    ck_assert_uint_eq(strspn(sid, "0123456789abcdef"), GL_SID_LEN);
    for (int j = 0; j < 3; j++) {
        gd_block_fill(buf + j * BS, BS, 10 + j, 4, 99, 2);
    }
    ck_assert_int_eq(gl_flush_begin(l, &n1), 0);
    ck_assert_int_eq(gl_write_acked(l, 2, 10, 3, 4, buf), 0);
    ck_assert_int_eq(gl_write_failed(l, 1, 40, 2, 5), 0);
    ck_assert_int_eq(gl_flush_end(l, n1, true), 0);
    ck_assert_int_eq(gl_flush_begin(l, &n2), 0);
    ck_assert_int_eq(gl_flush_end(l, n2, false), 0);
    ck_assert_int_eq(gl_end(l), 0);
    gl_close(l);
    ck_assert_uint_eq(n1, 1);
    ck_assert_uint_eq(n2, 2);

    s = slurp(ledger_path);
    snprintf(want, sizeof(want),
             "GLEDGER1 S %s tool=gauntlet-data dev=/dev/vdb seed=99 bs=512 lba=8 "
             "blocks=100 threads=3\n"
             "B %s 1\n"
             "W %s 1 2 10 3 4 %016" PRIx64 "\n"
             "X %s 2 1 40 2 5\n"
             "F %s 1\n"
             "B %s 2\n"
             "FX %s 2\n"
             "E %s writes=2 flushes=2\n",
             sid, sid, sid, csum_of(99, 2, 10, 3, 4), sid, sid, sid, sid, sid);
    ck_assert_str_eq(s, want);
    free(s);
}
END_TEST

START_TEST(test_writer_csum_is_the_fold)
{
    uint8_t buf[2 * BS];
    uint64_t c = 0;

    gd_block_fill(buf, BS, 3, 9, 1, 0);
    gd_block_fill(buf + BS, BS, 4, 9, 1, 0);
    c = gd_mix64(c ^ gd_block_csum(buf, BS));
    c = gd_mix64(c ^ gd_block_csum(buf + BS, BS));
    ck_assert_uint_eq(gl_write_csum(buf, 2, BS), c);
    ck_assert_uint_ne(gl_write_csum(buf, 1, BS), c);
}
END_TEST

START_TEST(test_writer_sessions_differ_and_append)
{
    struct gl_session_info in = { .tool = "t", .dev = "d", .seed = 1, .bs = BS,
                                  .lba = 0, .blocks = 8, .threads = 1 };
    char err[256], a[32];
    struct gl_ledger *l1 = gl_open(ledger_path, &in, err, sizeof(err));
    struct gl_ledger *l2 = gl_open(ledger_path, &in, err, sizeof(err));
    struct gl_log *log;
    char *s;

    ck_assert_ptr_nonnull(l1);
    ck_assert_ptr_nonnull(l2);
    snprintf(a, sizeof(a), "%s", gl_sid(l1));
    ck_assert_str_ne(a, gl_sid(l2));
    ck_assert_int_eq(gl_end(l1), 0);
    ck_assert_int_eq(gl_end(l2), 0);
    gl_close(l1);
    gl_close(l2);
    s = slurp(ledger_path);
    log = gl_log_parse(s, strlen(s), "L", err, sizeof(err));
    ck_assert_msg(log != NULL, "%s", err);
    ck_assert_uint_eq(log->nsessions, 2);
    ck_assert(log->sessions[0].ended && log->sessions[1].ended);
    gl_log_free(log);
    free(s);
}
END_TEST

struct hammer {
    struct gl_ledger *l;
    uint32_t thread;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    uint8_t buf[2 * BS];
    uint64_t n;

    for (uint64_t g = 1; g <= 500; g++) {
        gd_block_fill(buf, BS, h->thread * 2, g, 5, h->thread);
        gd_block_fill(buf + BS, BS, h->thread * 2 + 1, g, 5, h->thread);
        ck_assert_int_eq(gl_write_acked(h->l, h->thread, h->thread * 2, 2, g, buf), 0);
        if (g % 50 == 0) {
            ck_assert_int_eq(gl_flush_begin(h->l, &n), 0);
            ck_assert_int_eq(gl_flush_end(h->l, n, true), 0);
        }
    }
    return NULL;
}

/* Eight threads at once: every line is whole, the counters are in order
 * (the parser checks both), and the checker accepts the last generations. */
START_TEST(test_writer_threads_do_not_interleave)
{
    struct gl_session_info in = { .tool = "t", .dev = "dev", .seed = 5, .bs = BS,
                                  .lba = 0, .blocks = NBLK, .threads = 8 };
    struct gl_check_opts o = { .backing = backing, .max_violations = 5 };
    struct hammer h[8];
    pthread_t tid[8];
    struct gl_result r;
    struct gl_log *log;
    char err[256];
    char *s;

    h[0].l = gl_open(ledger_path, &in, err, sizeof(err));
    ck_assert_msg(h[0].l != NULL, "%s", err);
    for (uint32_t i = 0; i < 8; i++) {
        h[i].l = h[0].l;
        h[i].thread = i;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, hammer_main, &h[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
    }
    ck_assert_int_eq(gl_end(h[0].l), 0);
    gl_close(h[0].l);
    s = slurp(ledger_path);
    log = gl_log_parse(s, strlen(s), "L", err, sizeof(err));
    ck_assert_msg(log != NULL, "%s", err);
    ck_assert_uint_eq(log->nrecs, 1 + 8 * 500 + 8 * 10 * 2 + 1);
    for (uint32_t i = 0; i < 16; i++) {
        put_gen(i, 5, i / 2, 500);
    }
    ck_assert_int_eq(gl_check(log, &o, &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(r.violations, 0);
    ck_assert_uint_eq(r.writes_acknowledged, 4000);
    ck_assert_uint_eq(r.writes_flushed, 4000);
    ck_assert_uint_eq(r.blocks_checked, 16);
    gl_result_free(&r);
    gl_log_free(log);
    free(s);
}
END_TEST

START_TEST(test_writer_errors_are_clear)
{
    struct gl_session_info in = { .tool = "t", .dev = "/dev/x", .seed = 1, .bs = BS,
                                  .lba = 0, .blocks = 8, .threads = 1 };
    char err[256];

    ck_assert_ptr_null(gl_open("/nonexistent-dir/ledger", &in, err, sizeof(err)));
    ck_assert_str_eq(err, "ledger /nonexistent-dir/ledger: open: No such file or directory");
    in.dev = "/dev/with blank";
    ck_assert_ptr_null(gl_open(ledger_path, &in, err, sizeof(err)));
    ck_assert_msg(strstr(err, "without blanks"), "%s", err);
}
END_TEST

START_TEST(test_writer_path_choice)
{
    unsetenv(GL_ENV);
    ck_assert_ptr_null(gl_path_choose(NULL, false));
    setenv(GL_ENV, "", 1);
    ck_assert_ptr_null(gl_path_choose(NULL, false));
    setenv(GL_ENV, "/dev/ttyS1", 1);
    ck_assert_str_eq(gl_path_choose(NULL, false), "/dev/ttyS1");
    ck_assert_ptr_null(gl_path_choose(NULL, true));
    ck_assert_str_eq(gl_path_choose("L", true), "L");
    ck_assert_str_eq(gl_path_choose("L", false), "L");
    unsetenv(GL_ENV);
}
END_TEST

/* A tty is set raw with its baud rate kept: records arrive byte for byte
 * (no "\r\n" for "\n"), each drained before the call returns. */
START_TEST(test_writer_tty_is_raw)
{
    struct gl_session_info in = { .tool = "t", .dev = "d", .seed = 1, .bs = BS,
                                  .lba = 0, .blocks = 8, .threads = 1 };
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    struct termios t;
    struct gl_ledger *l;
    char err[256], got[512] = "", want[256], name[128];
    ssize_t n;
    int slave;

    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    ck_assert_int_eq(ptsname_r(master, name, sizeof(name)), 0);
    slave = open(name, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    ck_assert_int_eq(tcgetattr(slave, &t), 0);
    ck_assert(t.c_oflag & OPOST);                       /* cooked to begin with */
    cfsetospeed(&t, B9600);
    cfsetispeed(&t, B9600);
    ck_assert_int_eq(tcsetattr(slave, TCSANOW, &t), 0);

    l = gl_open(name, &in, err, sizeof(err));
    ck_assert_msg(l != NULL, "%s", err);
    ck_assert_int_eq(gl_end(l), 0);
    ck_assert_int_eq(tcgetattr(slave, &t), 0);
    ck_assert(!(t.c_oflag & OPOST) && !(t.c_lflag & (ICANON | ECHO)));
    ck_assert_uint_eq(cfgetospeed(&t), B9600);
    snprintf(want, sizeof(want), "GLEDGER1 S %s tool=t dev=d seed=1 bs=512 lba=0 "
             "blocks=8 threads=1\nE %s writes=0 flushes=0\n", gl_sid(l), gl_sid(l));
    gl_close(l);
    /* a pty hands the bytes over in pieces: read (bounded) until both lines */
    for (size_t have = 0, tries = 0; have < strlen(want) && tries < 100; tries++) {
        struct pollfd pfd = { .fd = master, .events = POLLIN };

        if (poll(&pfd, 1, 20) == 1) {
            n = read(master, got + have, sizeof(got) - 1 - have);
            ck_assert_int_gt(n, 0);
            have += (size_t)n;
            got[have] = 0;
        }
    }
    ck_assert_str_eq(got, want);
    close(slave);
    close(master);
}
END_TEST

/* ---- the parser ---------------------------------------------------------- */

static const struct {
    const char *bad;            /* the third line */
    const char *why;
} bad_lines[] = {
    { "Q " SID " 1", "unknown record" },
    { "W " SID " 2 0 1 1 1 0000000000000000", "sequence number 2 where 1" },
    { "W " SID " 1 0 1 1 1", "8 fields" },
    { "W " SID " 1 0 1 1 1 00000000000000zz", "not a number" },
    { "W " SID " 1 2 1 1 1 0000000000000000", "thread is not one" },
    { "W " SID " 1 0 15 2 1 0000000000000000", "outside its session's range" },
    { "W " SID " 1 0 1 1 0 0000000000000000", "generation 0" },
    { "W 00000000000000cc 1 0 1 1 1 0000000000000000", "no start record" },
    { "W abc 1 0 1 1 1 0000000000000000", "16 hex digits" },
    { "X " SID "  1 0 1 1 1", "empty field" },
    { "F " SID " 1", "not begun" },
    { "B " SID " 2", "flush number 2 where 1" },
    { "E " SID " writes=1 flushes=0", "counts 1 writes" },
    { "", "empty line" },
    { GL_MAGIC " S " SID " tool=t dev=d seed=1 bs=512 lba=0 blocks=16 threads=2",
      "second start" },
    { GL_MAGIC " S 00000000000000cc tool=t dev=d seed=1 bs=12 lba=0 blocks=16 threads=2",
      "bs is not" },
};

START_TEST(test_parse_errors_name_the_line)
{
    char want[64];
    char *err;

    session(SID, "/dev/x", SEED);
    line("C a comment");
    line("%s", bad_lines[_i].bad);
    line("C after");
    err = parse_error();
    ck_assert_msg(err != NULL, "'%s' was accepted", bad_lines[_i].bad);
    snprintf(want, sizeof(want), "L:3: ");
    ck_assert_msg(!strncmp(err, want, strlen(want)) && strstr(err, bad_lines[_i].why),
                  "'%s': error '%s', wanted 'L:3: ...%s...'", bad_lines[_i].bad, err,
                  bad_lines[_i].why);
}
END_TEST

START_TEST(test_parse_after_end_is_an_error)
{
    char *err;

    session(SID, "/dev/x", SEED);
    line("E " SID " writes=0 flushes=0");
    w_rec(1, 0, 1, 1, 1);
    err = parse_error();
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "L:3: a record after its session's end"), "%s", err);
}
END_TEST

START_TEST(test_parse_partial_lines)
{
    struct gl_log *log;
    char err[256];

    /* only a partial line */
    fputs("GLEDGER1 S 0123", text_f);
    fflush(text_f);
    log = gl_log_parse(text, text_len, "L", err, sizeof(err));
    ck_assert_msg(log != NULL, "%s", err);
    ck_assert_uint_eq(log->partial_lines, 1);
    ck_assert_uint_eq(log->nsessions, 0);
    gl_log_free(log);

    /* a record cut by a power cut: the harness ended the line and wrote P */
    fputs("\n", text_f);
    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 1, 1, 1);
    line("W " SID " 2 0 2 1 2 12ab");
    line("P power cut");
    line("C comment");
    w_rec(2, 0, 3, 1, 3);
    fflush(text_f);
    log = gl_log_parse(text + 16, text_len - 16, "L", err, sizeof(err));
    ck_assert_msg(log != NULL, "%s", err);
    ck_assert_uint_eq(log->partial_lines, 1);
    ck_assert_uint_eq(log->power_cuts, 1);
    ck_assert_uint_eq(log->nrecs, 4);           /* S W P W */
    gl_log_free(log);

    /* the harness writes "\nP ..." after whole lines too: an empty line
     * before a P line is no partial record; anywhere else it is an error */
    line("%s", "");
    line("P second cut");
    fflush(text_f);
    log = gl_log_parse(text + 16, text_len - 16, "L", err, sizeof(err));
    ck_assert_msg(log != NULL, "%s", err);
    ck_assert_uint_eq(log->partial_lines, 1);
    ck_assert_uint_eq(log->power_cuts, 2);
    gl_log_free(log);
    line("%s", "");
    line("C not a cut");
    fflush(text_f);
    ck_assert_ptr_null(gl_log_parse(text + 16, text_len - 16, "L", err, sizeof(err)));
    ck_assert_msg(strstr(err, "L:9: an empty line"), "%s", err);
}
END_TEST

/* ---- the checker ----------------------------------------------------------- */

/* A flushed write must be there: present passes, zeroed is "lost". */
START_TEST(test_flushed_write_must_hold)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 2, 2, 1);
    line("B " SID " 1");
    line("F " SID " 1");
    line("P power cut");
    put_gen(2, SEED, 0, 1);
    put_gen(3, SEED, 0, 1);
    r = expect(GL_END_STRICT, 1, 0);
    ck_assert_uint_eq(r.writes_acknowledged, 1);
    ck_assert_uint_eq(r.writes_flushed, 1);
    ck_assert_uint_eq(r.writes_checked, 1);
    ck_assert_uint_eq(r.blocks_checked, 2);
    ck_assert_uint_eq(r.power_cuts, 1);
    gl_result_free(&r);

    put_zero(3);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_uint_eq(r.list[0].lba, 3);
    ck_assert_str_eq(r.list[0].kind, "lost");
    ck_assert_str_eq(r.list[0].device, "/dev/x");
    ck_assert_str_eq(r.list[0].expected,
                     "session " SID " thread 0 gen 1 (flushed at ledger line 2) or later");
    ck_assert_str_eq(r.list[0].found, "zeros");
    gl_result_free(&r);
}
END_TEST

/* Older content than the floor is a violation that names both generations. */
START_TEST(test_rollback_is_lost)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 1, 5, 1, 1);
    w_rec(2, 1, 5, 1, 2);
    line("B " SID " 1");
    line("F " SID " 1");
    put_gen(5, SEED, 1, 2);
    r = expect(GL_END_RELAXED, 1, 0);
    gl_result_free(&r);
    put_gen(5, SEED, 1, 1);
    r = expect(GL_END_RELAXED, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "lost");
    ck_assert_msg(strstr(r.list[0].expected, "gen 2 (flushed"), "%s", r.list[0].expected);
    ck_assert_msg(strstr(r.list[0].found, "gen 1 (session " SID " thread 1, acknowledged "
                         "at ledger line 2: older)"), "%s", r.list[0].found);
    gl_result_free(&r);
}
END_TEST

/* A block of ours whose checksum is wrong is torn, floor or not. */
START_TEST(test_torn_block)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 1, 1, 1);
    put_gen(1, SEED, 0, 1);
    r = expect(GL_END_RELAXED, 1, 0);
    gl_result_free(&r);
    flip_byte(1, 300);
    r = expect(GL_END_RELAXED, 1, 1);           /* no floor: still torn */
    ck_assert_str_eq(r.list[0].kind, "torn");
    ck_assert_msg(strstr(r.list[0].found, "torn (header: seed 7 thread 0 gen 1, checksum bad)"),
                  "%s", r.list[0].found);
    gl_result_free(&r);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "torn");
    gl_result_free(&r);
}
END_TEST

/* After a P line, unflushed writes are old or new: zeros pass; without the
 * P line the strict end holds them; the relaxed end does not. */
START_TEST(test_power_cut_releases_unflushed_writes)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 0, 4, 1);
    put_zero(0);
    put_zero(1);
    put_gen(2, SEED, 0, 1);
    put_gen(3, SEED, 0, 1);
    r = expect(GL_END_STRICT, 1, 2);
    ck_assert_msg(strstr(r.list[0].expected, "gen 1 (acknowledged at ledger line 2)"),
                  "%s", r.list[0].expected);
    gl_result_free(&r);
    r = expect(GL_END_RELAXED, 1, 0);
    ck_assert_uint_eq(r.writes_checked, 0);
    gl_result_free(&r);
    line("P qemu killed");
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    /* old or new, never torn */
    flip_byte(3, 100);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "torn");
    gl_result_free(&r);
}
END_TEST

/* A flush covers the writes before its B record only, never across a P line,
 * and only when its F record says success. */
START_TEST(test_flush_coverage)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 0, 1, 1);               /* before B 1: covered */
    line("B " SID " 1");
    w_rec(2, 0, 1, 1, 2);               /* after B 1: not covered */
    line("F " SID " 1");
    w_rec(3, 0, 2, 1, 3);               /* covered by B 2, which fails */
    line("B " SID " 2");
    line("FX " SID " 2");
    w_rec(4, 0, 3, 1, 4);               /* before a P, then a flush: lost is fine */
    line("P cut");
    line("B " SID " 3");
    line("F " SID " 3");
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_uint_eq(r.list[0].lba, 0);
    ck_assert_uint_eq(r.writes_flushed, 1);
    gl_result_free(&r);
    put_gen(0, SEED, 0, 1);
    r = expect(GL_END_STRICT, 1, 0);
    ck_assert_uint_eq(r.writes_checked, 1);
    gl_result_free(&r);
}
END_TEST

/* A write in flight (never recorded) may have landed, unless its session
 * ended cleanly; a recorded write before the floor may not. */
START_TEST(test_in_flight_write)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 4, 1, 1);
    line("B " SID " 1");
    line("F " SID " 1");
    put_gen(4, SEED, 0, 2);             /* gen 2: in flight at the cut */
    line("P cut");
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    put_gen(4, SEED, 1, 2);             /* another thread's: not this block's */
    r = expect(GL_END_STRICT, 1, 1);
    gl_result_free(&r);

    fclose(text_f);
    free(text);
    text_f = open_memstream(&text, &text_len);
    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 4, 1, 1);
    line("E " SID " writes=1 flushes=0");
    put_gen(4, SEED, 0, 2);
    r = expect(GL_END_STRICT, 1, 1);    /* a clean end: nothing in flight */
    ck_assert_str_eq(r.list[0].kind, "lost");
    gl_result_free(&r);

    /* in flight when power was cut, before a later session's floor: stale */
    fclose(text_f);
    free(text);
    text_f = open_memstream(&text, &text_len);
    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 4, 1, 1);
    line("P cut");
    session(SID2, "/dev/x", 8);
    line("W " SID2 " 1 0 4 1 1 %016" PRIx64, csum_of(8, 0, 4, 1, 1));
    put_gen(4, 8, 0, 1);
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    put_gen(4, SEED, 0, 2);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "lost");
    gl_result_free(&r);
    r = expect(GL_END_RELAXED, 1, 0);   /* no floor: SID's in-flight write is fine */
    gl_result_free(&r);
}
END_TEST

/* A failed write: the old content or the write's, nothing else. */
START_TEST(test_failed_write_old_or_new)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 6, 1, 1);
    line("X " SID " 2 0 6 1 2");
    put_gen(6, SEED, 0, 2);
    r = expect(GL_END_STRICT, 1, 0);
    ck_assert_uint_eq(r.writes_failed, 1);
    gl_result_free(&r);
    put_gen(6, SEED, 0, 1);
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    put_zero(6);
    r = expect(GL_END_STRICT, 1, 1);
    gl_result_free(&r);
}
END_TEST

/* With no floor the original content is fine (anything not claiming to be a
 * ledger session's block of this lba); with a floor it is lost. */
START_TEST(test_original_content)
{
    struct gl_result r;
    struct gd_pattern p = { .kind = GD_PAT_SEQ, .seed = 1 };
    uint8_t b[BS];

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 7, 1, 1);
    gd_pattern_fill(&p, 7, BS, b);
    put_block(backing, 7, b);
    r = expect(GL_END_RELAXED, 1, 0);
    gl_result_free(&r);
    put_gen(7, 12345, 0, 1);            /* a stress block of another seed */
    r = expect(GL_END_RELAXED, 1, 0);
    gl_result_free(&r);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_msg(strstr(r.list[0].found, "foreign data (a stress block of seed 12345"),
                  "%s", r.list[0].found);
    gl_result_free(&r);
    put_gen(7, SEED, 0, 9);             /* ours, but no write of the ledger's */
    line("E " SID " writes=1 flushes=0");
    r = expect(GL_END_RELAXED, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "unexpected");
    gl_result_free(&r);
}
END_TEST

/* The atomic unit: a multi-block write may land partly with a unit of one
 * block, but not inside a larger unit. */
START_TEST(test_atomic_unit)
{
    struct gl_result r;

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 8, 4, 1);
    line("B " SID " 1");
    line("F " SID " 1");
    w_rec(2, 0, 8, 4, 2);
    line("P cut");
    put_gen(8, SEED, 0, 2);
    put_gen(9, SEED, 0, 2);
    put_gen(10, SEED, 0, 1);
    put_gen(11, SEED, 0, 1);
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    r = expect(GL_END_STRICT, 2, 0);    /* units {8,9} and {10,11} are whole */
    gl_result_free(&r);
    r = expect(GL_END_STRICT, 4, 1);
    ck_assert_str_eq(r.list[0].kind, "mixed");
    ck_assert_msg(strstr(r.list[0].found, "older content at lba 10"), "%s", r.list[0].found);
    gl_result_free(&r);
    put_gen(10, SEED, 0, 2);
    put_gen(11, SEED, 0, 2);
    r = expect(GL_END_STRICT, 4, 0);
    gl_result_free(&r);
}
END_TEST

/* A W record whose csum is not its data's: a broken ledger, an error. */
START_TEST(test_bad_csum_is_an_error)
{
    struct gl_result r;
    char err[512];

    session(SID, "/dev/x", SEED);
    line("W " SID " 1 0 1 1 1 %016" PRIx64, csum_of(SEED, 0, 1, 1, 1) ^ 1);
    put_gen(1, SEED, 0, 1);
    ck_assert_int_eq(check_text(GL_END_STRICT, 1, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "L:2: the W record's csum") && strstr(err, "broken ledger"),
                  "%s", err);
}
END_TEST

/* Two block sizes on one backing file: an error, not a guess. */
START_TEST(test_block_sizes_must_agree)
{
    struct gl_result r;
    char err[512];

    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 1, 1, 1);
    line(GL_MAGIC " S " SID2 " tool=t dev=/dev/x seed=8 bs=4096 lba=0 blocks=2 threads=1");
    line("W " SID2 " 1 0 0 1 1 0000000000000000");
    ck_assert_int_eq(check_text(GL_END_STRICT, 1, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "L:3: session " SID2 " writes") &&
                  strstr(err, "4096-byte blocks, an earlier session with 512-byte"), "%s", err);
}
END_TEST

/* Sessions map to backing files by device; a missing one is an error. */
START_TEST(test_device_map)
{
    struct gl_map maps[] = { { "/dev/y", NULL } };
    struct gl_check_opts o = { .maps = maps, .nmaps = 1, .max_violations = 5 };
    char other[128], err[512];
    struct gl_result r;
    struct gl_log *log;
    uint8_t b[BS];
    int fd;

    snprintf(other, sizeof(other), "%s/other.img", dir);
    fd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(ftruncate(fd, (off_t)NBLK * BS), 0);
    close(fd);
    maps[0].file = other;
    session(SID, "/dev/x", SEED);
    w_rec(1, 0, 1, 1, 1);
    session(SID2, "/dev/y", 8);
    line("W " SID2 " 1 0 1 1 3 %016" PRIx64, csum_of(8, 0, 1, 1, 3));
    fflush(text_f);
    log = gl_log_parse(text, text_len, "L", err, sizeof(err));
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(gl_check(log, &o, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "no backing file for device /dev/x"), "%s", err);
    o.backing = backing;
    put_gen(1, SEED, 0, 1);
    gd_block_fill(b, BS, 1, 3, 8, 0);
    put_block(other, 1, b);
    ck_assert_int_eq(gl_check(log, &o, &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(r.violations, 0);
    ck_assert_uint_eq(r.blocks_checked, 2);
    ck_assert_uint_eq(r.sessions, 2);
    gl_result_free(&r);
    put_zero(1);
    ck_assert_int_eq(gl_check(log, &o, &r, err, sizeof(err)), 0);
    ck_assert_uint_eq(r.violations, 1);
    ck_assert_str_eq(r.list[0].device, "/dev/x");
    ck_assert_str_eq(r.list[0].backing, backing);
    gl_result_free(&r);
    gl_log_free(log);
    unlink(other);
}
END_TEST

/* ---- fixed-pattern writes (WP, XP; kestrelctl write/flush, gauntlet-data write) ---- */

#define PSID    "00000000000000cc"
#define PSID2   "00000000000000dd"
#define FSID    "00000000000000ee"

static struct gd_pattern pat_of(const char *name, uint64_t seed)
{
    struct gd_pattern p = { .seed = seed };
    char err[128];

    ck_assert_msg(gd_pattern_parse(name, &p, err, sizeof(err)) == 0, "%s", err);
    return p;
}

/* A kestrelctl-write-like session over blocks [0, NBLK). */
static void pat_session(const char *sid, const char *name, uint64_t seed)
{
    line(GL_MAGIC " S %s tool=kestrelctl-write dev=disk seed=%" PRIu64 " bs=%u lba=0 "
         "blocks=%u threads=1 pattern=%s", sid, seed, BS, NBLK, name);
}

/* A WP record with its true csum. */
static void wp_rec(const char *sid, uint64_t seq, uint64_t lba, uint64_t nb,
                   const char *name, uint64_t seed)
{
    struct gd_pattern p = pat_of(name, seed);
    uint8_t *b = malloc(nb * BS);

    for (uint64_t j = 0; j < nb; j++) {
        gd_pattern_fill(&p, lba + j, BS, b + j * BS);
    }
    line("WP %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s %" PRIu64 " %016" PRIx64, sid,
         seq, lba, nb, name, seed, gl_pattern_csum(b, nb, BS));
    free(b);
}

static void put_pattern(uint64_t lba, uint64_t nb, const char *name, uint64_t seed)
{
    struct gd_pattern p = pat_of(name, seed);
    uint8_t b[BS];

    for (uint64_t j = 0; j < nb; j++) {
        gd_pattern_fill(&p, lba + j, BS, b);
        put_block(backing, lba + j, b);
    }
}

/* A kestrelctl-flush-like session: B, then F (ok) or FX, then E. */
static void flush_session(const char *sid, bool ok)
{
    line(GL_MAGIC " S %s tool=kestrelctl-flush dev=disk seed=0 bs=%u lba=0 blocks=0 "
         "threads=1", sid, BS);
    line("B %s 1", sid);
    line("%s %s 1", ok ? "F" : "FX", sid);
    line("E %s writes=0 flushes=1", sid);
}

START_TEST(test_writer_pattern_format)
{
    struct gl_session_info info = { .tool = "kestrelctl-write", .dev = "/dev/kestrel0",
                                    .seed = 4, .bs = BS, .lba = 8, .blocks = 2,
                                    .threads = 1, .pattern = "random" };
    struct gd_pattern p = pat_of("random", 4);
    uint8_t b[2 * BS];
    char err[400], want[1024];
    struct gl_ledger *l = gl_open(ledger_path, &info, err, sizeof(err));
    char *got;

    ck_assert_msg(l != NULL, "%s", err);
    gd_pattern_fill(&p, 8, BS, b);
    gd_pattern_fill(&p, 9, BS, b + BS);
    ck_assert_int_eq(gl_pattern_acked(l, 8, 2, "random", 4, b), 0);
    ck_assert_int_eq(gl_pattern_failed(l, 9, 1, "random", 4), 0);
    ck_assert_int_eq(gl_end(l), 0);
    snprintf(want, sizeof(want),
             GL_MAGIC " S %s tool=kestrelctl-write dev=/dev/kestrel0 seed=4 bs=512 lba=8 "
             "blocks=2 threads=1 pattern=random\n"
             "WP %s 1 8 2 random 4 %016" PRIx64 "\n"
             "XP %s 2 9 1 random 4\n"
             "E %s writes=2 flushes=0\n", gl_sid(l), gl_sid(l),
             gd_mix64(gd_mix64(gd_bytes_csum(b, BS)) ^ gd_bytes_csum(b + BS, BS)),
             gl_sid(l), gl_sid(l));
    gl_close(l);
    got = slurp(ledger_path);
    ck_assert_str_eq(got, want);
    free(got);
}
END_TEST

START_TEST(test_pattern_write_must_hold)
{
    struct gl_result r;

    pat_session(PSID, "random", 4);
    wp_rec(PSID, 1, 2, 4, "random", 4);
    line("E " PSID " writes=1 flushes=0");
    put_pattern(2, 4, "random", 4);
    r = expect(GL_END_STRICT, 1, 0);
    ck_assert_uint_eq(r.writes_acknowledged, 1);
    ck_assert_uint_eq(r.pattern_writes, 1);
    ck_assert_uint_eq(r.writes_checked, 1);
    ck_assert_uint_eq(r.blocks_checked, 4);
    gl_result_free(&r);
    put_zero(3);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "lost");
    ck_assert_uint_eq(r.list[0].lba, 3);
    ck_assert_ptr_nonnull(strstr(r.list[0].expected, "pattern random seed 4 "
                                 "(acknowledged at ledger line 2) or later"));
    ck_assert_str_eq(r.list[0].found, "zeros");
    gl_result_free(&r);
    /* another pattern, or another seed, is not this write's */
    put_pattern(3, 1, "random", 5);
    r = expect(GL_END_STRICT, 1, 1);
    gl_result_free(&r);
    put_pattern(3, 1, "seq", 4);
    r = expect(GL_END_STRICT, 1, 1);
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_then_stress_and_back)
{
    struct gl_result r;

    pat_session(PSID, "random", 4);             /* line 1 */
    wp_rec(PSID, 1, 2, 4, "random", 4);         /* line 2: blocks 2..5 */
    line("E " PSID " writes=1 flushes=0");
    session(SID, "disk", SEED);                 /* line 4 */
    w_rec(1, 0, 3, 1, 1);                       /* line 5: block 3, gen 1 */
    line("E " SID " writes=1 flushes=0");
    put_pattern(2, 4, "random", 4);
    put_gen(3, SEED, 0, 1);
    r = expect(GL_END_STRICT, 1, 0);
    ck_assert_uint_eq(r.writes_acknowledged, 2);
    ck_assert_uint_eq(r.pattern_writes, 1);
    gl_result_free(&r);
    /* the pattern where the stress write replaced it: older, lost */
    put_pattern(3, 1, "random", 4);
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_str_eq(r.list[0].kind, "lost");
    ck_assert_uint_eq(r.list[0].lba, 3);
    ck_assert_ptr_nonnull(strstr(r.list[0].expected, "thread 0 gen 1"));
    ck_assert_ptr_nonnull(strstr(r.list[0].found, "pattern random seed 4 (session "
                                 PSID ", acknowledged at ledger line 2: older)"));
    gl_result_free(&r);
    /* and back: a later pattern write over the stress block */
    pat_session(PSID2, "0x5a", 9);              /* line 7 */
    wp_rec(PSID2, 1, 3, 1, "0x5a", 9);
    line("E " PSID2 " writes=1 flushes=0");
    r = expect(GL_END_STRICT, 1, 1);            /* still the old pattern: lost */
    ck_assert_ptr_nonnull(strstr(r.list[0].expected, "pattern 0x5a seed 9"));
    gl_result_free(&r);
    put_pattern(3, 1, "0x5a", 9);
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    put_gen(3, SEED, 0, 1);                     /* the stress block: older now */
    r = expect(GL_END_STRICT, 1, 1);
    ck_assert_ptr_nonnull(strstr(r.list[0].found, "gen 1 (session " SID));
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_flush_coverage)
{
    struct gl_result r;

    /* kestrelctl write ... && kestrelctl flush, then a power cut */
    pat_session(PSID, "random", 4);
    wp_rec(PSID, 1, 0, 8, "random", 4);
    line("E " PSID " writes=1 flushes=0");
    flush_session(FSID, true);
    line("P power cut");
    put_zero(5);                                /* the rest: never written */
    r = expect(GL_END_STRICT, 1, 8);            /* flushed: every block must hold */
    ck_assert_uint_eq(r.writes_flushed, 1);
    ck_assert_ptr_nonnull(strstr(r.list[0].expected, "pattern random seed 4 (flushed"));
    gl_result_free(&r);
    put_pattern(0, 8, "random", 4);
    put_zero(5);
    r = expect(GL_END_RELAXED, 1, 1);
    ck_assert_uint_eq(r.list[0].lba, 5);
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_unflushed_before_cut)
{
    struct gl_result r;

    /* the same without a successful flush: old or new, so zeros are fine */
    pat_session(PSID, "random", 4);
    wp_rec(PSID, 1, 0, 8, "random", 4);
    line("E " PSID " writes=1 flushes=0");
    flush_session(FSID, false);                 /* FX covers nothing */
    line("P power cut");
    r = expect(GL_END_STRICT, 1, 0);
    ck_assert_uint_eq(r.writes_flushed, 0);
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_in_flight)
{
    struct gl_result r;

    /* a flushed stress write, then a pattern session cut mid-way: the
     * block may hold the pattern it was writing when power went */
    session(SID, "disk", SEED);
    w_rec(1, 0, 6, 1, 1);
    line("B " SID " 1");
    line("F " SID " 1");
    line("E " SID " writes=1 flushes=1");
    pat_session(PSID, "random", 4);
    wp_rec(PSID, 1, 0, 4, "random", 4);         /* blocks 0..3 recorded; 6 in flight */
    line("P power cut");
    put_pattern(6, 1, "random", 4);
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
    /* not with another seed */
    put_pattern(6, 1, "random", 3);
    r = expect(GL_END_STRICT, 1, 1);
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_in_flight_not_after_end)
{
    struct gl_result r;

    session(SID, "disk", SEED);
    w_rec(1, 0, 6, 1, 1);
    line("B " SID " 1");
    line("F " SID " 1");
    line("E " SID " writes=1 flushes=1");
    pat_session(PSID, "random", 4);
    wp_rec(PSID, 1, 0, 4, "random", 4);
    line("E " PSID " writes=1 flushes=0");      /* ended: nothing in flight */
    line("P power cut");
    put_pattern(6, 1, "random", 4);
    r = expect(GL_END_STRICT, 1, 1);
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_failed_write)
{
    struct gl_result r;

    pat_session(PSID, "random", 4);
    line("XP " PSID " 1 2 2 random 4");
    line("E " PSID " writes=1 flushes=0");
    r = expect(GL_END_STRICT, 1, 0);            /* zeros: the old content */
    ck_assert_uint_eq(r.writes_failed, 1);
    ck_assert_uint_eq(r.pattern_writes, 1);
    gl_result_free(&r);
    put_pattern(2, 1, "random", 4);             /* or the new */
    r = expect(GL_END_STRICT, 1, 0);
    gl_result_free(&r);
}
END_TEST

START_TEST(test_pattern_parse_errors)
{
    static const struct {
        const char *rec, *want;
    } cases[] = {
        { "WP " PSID " 1 2 2 random 4", "L:2: a WP record wants" },
        { "WP " PSID " 1 2 2 random 4 0123456789abcdef 9", "L:2: a WP record wants" },
        { "WP " PSID " 1 2 2 bogus 4 0123456789abcdef", "L:2: the pattern is not" },
        { "WP " PSID " 1 2 x random 4 0123456789abcdef", "L:2: a field is not a number" },
        { "WP " PSID " 1 2 2 random 4 0123", "L:2: a field is not a number" },
        { "WP " PSID " 2 2 2 random 4 0123456789abcdef", "L:2: sequence number 2 where 1" },
        { "WP " PSID " 1 15 2 random 4 0123456789abcdef", "L:2: the blocks are outside" },
        { "XP " PSID " 1 2 2 random", "L:2: an XP record wants" },
        { "WP 00000000000000ff 1 2 2 random 4 0123456789abcdef",
          "L:2: a record of a session that has no start" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err;

        fclose(text_f);
        free(text);
        text = NULL;
        text_f = open_memstream(&text, &text_len);
        pat_session(PSID, "random", 4);
        line("%s", cases[i].rec);
        err = parse_error();
        ck_assert_msg(err && strstr(err, cases[i].want), "'%s': got '%s', wanted '%s'",
                      cases[i].rec, err ? err : "(parsed)", cases[i].want);
    }
    /* a bad session pattern */
    fclose(text_f);
    free(text);
    text = NULL;
    text_f = open_memstream(&text, &text_len);
    line(GL_MAGIC " S " PSID " tool=t dev=disk seed=1 bs=512 lba=0 blocks=4 threads=1 "
         "pattern=nope");
    ck_assert_ptr_nonnull(parse_error());
    ck_assert_ptr_nonnull(strstr(parse_error(), "L:1: the session's pattern="));
}
END_TEST

START_TEST(test_pattern_bad_csum_is_an_error)
{
    struct gl_result r;
    char err[512];

    pat_session(PSID, "random", 4);
    line("WP " PSID " 1 2 2 random 4 0123456789abcdef");
    ck_assert_int_eq(check_text(GL_END_STRICT, 1, &r, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "L:2: the WP record's csum"));
}
END_TEST

Suite *ledger_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = tcase_create("ledger");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_writer_format);
    tcase_add_test(tc, test_writer_csum_is_the_fold);
    tcase_add_test(tc, test_writer_sessions_differ_and_append);
    tcase_add_test(tc, test_writer_threads_do_not_interleave);
    tcase_add_test(tc, test_writer_errors_are_clear);
    tcase_add_test(tc, test_writer_path_choice);
    tcase_add_test(tc, test_writer_tty_is_raw);
    tcase_add_loop_test(tc, test_parse_errors_name_the_line, 0,
                        (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
    tcase_add_test(tc, test_parse_after_end_is_an_error);
    tcase_add_test(tc, test_parse_partial_lines);
    tcase_add_test(tc, test_flushed_write_must_hold);
    tcase_add_test(tc, test_rollback_is_lost);
    tcase_add_test(tc, test_torn_block);
    tcase_add_test(tc, test_power_cut_releases_unflushed_writes);
    tcase_add_test(tc, test_flush_coverage);
    tcase_add_test(tc, test_in_flight_write);
    tcase_add_test(tc, test_failed_write_old_or_new);
    tcase_add_test(tc, test_original_content);
    tcase_add_test(tc, test_atomic_unit);
    tcase_add_test(tc, test_bad_csum_is_an_error);
    tcase_add_test(tc, test_block_sizes_must_agree);
    tcase_add_test(tc, test_device_map);
    tcase_add_test(tc, test_writer_pattern_format);
    tcase_add_test(tc, test_pattern_write_must_hold);
    tcase_add_test(tc, test_pattern_then_stress_and_back);
    tcase_add_test(tc, test_pattern_flush_coverage);
    tcase_add_test(tc, test_pattern_unflushed_before_cut);
    tcase_add_test(tc, test_pattern_in_flight);
    tcase_add_test(tc, test_pattern_in_flight_not_after_end);
    tcase_add_test(tc, test_pattern_failed_write);
    tcase_add_test(tc, test_pattern_parse_errors);
    tcase_add_test(tc, test_pattern_bad_csum_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}
