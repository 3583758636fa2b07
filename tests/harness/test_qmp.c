/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet_qmp_tests [SUITE]: the QMP client (harness/qmp.h)
 *   qemu  against a real QEMU (GAUNTLET_QEMU, GAUNTLET_QEMU_FIRMWARE_ARGS)
 *   peer  against scripted / hostile peers on a socketpair (no QEMU)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "qmp.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define OKQ(q, expr)                                                       \
    do {                                                                   \
        int rc_ = (expr);                                                  \
        ck_assert_msg(rc_ == GQ_OK, "%s -> %d (%s): %s", #expr, rc_,      \
                      gq_strerr(rc_), gq_error(q));                        \
    } while (0)

/* ------------------------------------------------------------------ */
/* a real QEMU                                                          */
/* ------------------------------------------------------------------ */

typedef struct Vm {
    pid_t pid;
    char dir[64];
    char sock[128];
    char log[128];
    GqQmp *q;
} Vm;

static void vm_start(Vm *vm, const char *extra)
{
    const char *qemu = getenv("GAUNTLET_QEMU");
#ifdef GQ_TEST_QEMU
    if (!qemu || !*qemu) {
        qemu = GQ_TEST_QEMU;
    }
#endif
    ck_assert_msg(qemu && *qemu, "GAUNTLET_QEMU is not set");
    const char *fw = getenv("GAUNTLET_QEMU_FIRMWARE_ARGS");
    if (!fw) {
        fw = "-L /usr/share/seabios -L /usr/share/qemu";
    }
    memset(vm, 0, sizeof(*vm));
    snprintf(vm->dir, sizeof(vm->dir), "/tmp/gqt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(vm->dir));
    snprintf(vm->sock, sizeof(vm->sock), "%s/qmp.sock", vm->dir);
    snprintf(vm->log, sizeof(vm->log), "%s/qemu.log", vm->dir);

    char *cmd = NULL;
    ck_assert_int_ge(asprintf(&cmd, "%s -machine q35 -nodefaults -display "
                              "none -accel tcg -S -qmp unix:%s,server=on,"
                              "wait=off %s %s", qemu, vm->sock, fw,
                              extra ? extra : ""), 0);
    char *argv[64];
    int n = 0;
    for (char *sp, *t = strtok_r(cmd, " ", &sp); t && n < 63;
         t = strtok_r(NULL, " ", &sp)) {
        argv[n++] = t;
    }
    argv[n] = NULL;
    int logfd = open(vm->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(logfd, 0);
    vm->pid = fork();
    ck_assert_int_ge(vm->pid, 0);
    if (vm->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    free(cmd);
    char err[1024];
    vm->q = gq_connect_unix(vm->sock, 20000, err, sizeof(err));
    ck_assert_msg(vm->q != NULL, "connect: %s", err);
}

static void vm_stop(Vm *vm)
{
    gq_close(vm->q);
    vm->q = NULL;
    if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, NULL, 0);
    }
    unlink(vm->sock);
    unlink(vm->log);
    rmdir(vm->dir);
}

START_TEST(t_vm_basic)
{
    Vm vm;
    vm_start(&vm, NULL);
    char *buf = NULL;
    size_t blen = 0;
    FILE *tr = open_memstream(&buf, &blen);
    gq_set_transcript(vm.q, tr);
    ck_assert_int_eq(gq_get_timeout(vm.q), 10000);
    gq_set_timeout(vm.q, 5000);
    ck_assert_int_eq(gq_get_timeout(vm.q), 5000);
    ck_assert_int_ge(gq_fd(vm.q), 0);

    GqReply *r = gq_cmd(vm.q, "{'execute': 'query-status'}");
    ck_assert_msg(r && r->rc == GQ_OK, "%s", gq_error(vm.q));
    json_object *st;
    ck_assert(json_object_object_get_ex(r->ret, "status", &st));
    ck_assert_str_eq(json_object_get_string(st), "prelaunch");
    ck_assert_ptr_nonnull(strstr(r->sent, "\"execute\":\"query-status\""));
    ck_assert_ptr_nonnull(strstr(r->sent, "\"id\":"));
    ck_assert_ptr_nonnull(strstr(r->received, "prelaunch"));
    ck_assert_ptr_null(r->err_class);
    gq_reply_free(r);

    json_object *args = json_object_new_object();
    r = gq_execute(vm.q, "query-version", NULL, 0);
    ck_assert_msg(r->rc == GQ_OK, "%s", gq_error(vm.q));
    ck_assert(json_object_object_get_ex(r->ret, "qemu", NULL));
    gq_reply_free(r);
    json_object_put(args);

    /* a long reply (the schema is hundreds of KiB) */
    r = gq_execute(vm.q, "query-qmp-schema", NULL, 0);
    ck_assert_msg(r->rc == GQ_OK, "%s", gq_error(vm.q));
    ck_assert(json_object_is_type(r->ret, json_type_array));
    ck_assert_int_gt(json_object_array_length(r->ret), 100);
    ck_assert_int_gt(strlen(r->received), 65536);
    gq_reply_free(r);

    gq_set_transcript(vm.q, NULL);
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'query-name'}"));
    fclose(tr);
    ck_assert_ptr_nonnull(strstr(buf, "> {\"execute\":\"query-status\""));
    ck_assert_ptr_nonnull(strstr(buf, "< {\"return\""));
    ck_assert_ptr_nonnull(strstr(buf, "Z +"));
    ck_assert_ptr_null(strstr(buf, "{\"execute\":\"query-name\""));
    free(buf);
    vm_stop(&vm);
}
END_TEST

START_TEST(t_vm_errors)
{
    Vm vm;
    vm_start(&vm, NULL);
    GqReply *r = gq_cmd(vm.q, "{'execute': 'no-such-command-%d'}", 42);
    ck_assert_int_eq(r->rc, GQ_ERR_QMP);
    ck_assert_str_eq(r->err_class, "CommandNotFound");
    ck_assert_ptr_nonnull(r->err_desc);
    ck_assert_ptr_nonnull(strstr(r->received, "CommandNotFound"));
    ck_assert_msg(strstr(gq_error(vm.q), "QMP 'no-such-command-42' failed: "
                                         "CommandNotFound") &&
                  strstr(gq_error(vm.q), "(sent {\"execute\":"
                                         "\"no-such-command-42\""),
                  "%s", gq_error(vm.q));
    gq_reply_free(r);

    json_object *args = json_object_new_object();
    json_object_object_add(args, "id", json_object_new_string("k9"));
    r = gq_execute(vm.q, "device_del", args, 0);
    json_object_put(args);
    ck_assert_int_eq(r->rc, GQ_ERR_QMP);
    ck_assert_msg(strstr(gq_error(vm.q), "QMP 'device_del' failed: "
                         "DeviceNotFound: Device 'k9' not found (sent "
                         "{\"execute\":\"device_del\",\"arguments\":"
                         "{\"id\":\"k9\"},\"id\":"), "%s", gq_error(vm.q));
    gq_reply_free(r);

    /* malformed text never reaches QEMU */
    r = gq_cmd(vm.q, "{'execute': ");
    ck_assert_int_eq(r->rc, GQ_ERR_INVAL);
    gq_reply_free(r);
    r = gq_cmd(vm.q, "[1, 2]");
    ck_assert_int_eq(r->rc, GQ_ERR_INVAL);
    gq_reply_free(r);
    ck_assert_int_eq(gq_ok(vm.q, "{'execute':'query-status'} x"),
                     GQ_ERR_INVAL);
    /* the connection is still fine */
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'query-status'}"));
    vm_stop(&vm);
}
END_TEST

START_TEST(t_vm_qom)
{
    Vm vm;
    vm_start(&vm, "-object memory-backend-ram,id=m,size=1M");
    int64_t size = 0;
    OKQ(vm.q, gq_qom_get_int(vm.q, "/objects/m", "size", &size));
    ck_assert_int_eq(size, 1 << 20);
    char type[64];
    OKQ(vm.q, gq_qom_get_str(vm.q, "/machine", "type", type, sizeof(type)));
    ck_assert_ptr_nonnull(strstr(type, "q35"));

    json_object *v = NULL;
    OKQ(vm.q, gq_qom_get(vm.q, "/machine", "dump-guest-core", &v));
    bool old = json_object_get_boolean(v);
    json_object_put(v);
    OKQ(vm.q, gq_qom_set_bool(vm.q, "/machine", "dump-guest-core", !old));
    OKQ(vm.q, gq_qom_get(vm.q, "/machine", "dump-guest-core", &v));
    ck_assert_int_eq(json_object_get_boolean(v), !old);
    json_object_put(v);
    OKQ(vm.q, gq_qom_set_str(vm.q, "/machine", "dumpdtb", "/dev/null"));
    char s[64];
    OKQ(vm.q, gq_qom_get_str(vm.q, "/machine", "dumpdtb", s, sizeof(s)));
    ck_assert_str_eq(s, "/dev/null");

    ck_assert_int_eq(gq_qom_get_int(vm.q, "/machine", "no-such-prop", NULL),
                     GQ_ERR_QMP);
    ck_assert_msg(strstr(gq_error(vm.q), "no-such-prop"), "%s",
                  gq_error(vm.q));
    ck_assert_int_eq(gq_qom_get_int(vm.q, "/machine", "type", NULL),
                     GQ_ERR_PROTO);
    ck_assert_int_eq(gq_qom_set_int(vm.q, "/machine", "type", 5), GQ_ERR_QMP);
    ck_assert_int_eq(gq_qom_get(vm.q, NULL, "x", NULL), GQ_ERR_INVAL);
    vm_stop(&vm);
}
END_TEST

START_TEST(t_vm_events)
{
    Vm vm;
    vm_start(&vm, NULL);
    json_object *ev = NULL;
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'cont'}"));
    OKQ(vm.q, gq_wait_event(vm.q, "RESUME", 5000, &ev));
    ck_assert(json_object_object_get_ex(ev, "timestamp", NULL));
    json_object_put(ev);
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'stop'}"));
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'query-status'}"));  /* STOP queued */
    OKQ(vm.q, gq_wait_event(vm.q, "STOP", 5000, NULL));

    /* an event that never comes: TIMEOUT, bounded */
    long long t0 = mono_ms();
    int rc = gq_wait_event(vm.q, "GAUNTLET_NEVER", 300, NULL);
    long long dt = mono_ms() - t0;
    ck_assert_int_eq(rc, GQ_ERR_TIMEOUT);
    ck_assert_int_ge(dt, 250);
    ck_assert_int_lt(dt, 1500);
    ck_assert_msg(strstr(gq_error(vm.q), "GAUNTLET_NEVER"), "%s",
                  gq_error(vm.q));
    /* events queued, then dropped */
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'cont'}"));
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'stop'}"));
    OKQ(vm.q, gq_wait_event(vm.q, NULL, 5000, &ev));   /* any: RESUME */
    ck_assert_str_eq(json_object_get_string(
                         json_object_object_get(ev, "event")), "RESUME");
    json_object_put(ev);
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'query-status'}"));
    gq_drop_events(vm.q);
    ck_assert_int_eq(gq_wait_event(vm.q, "STOP", 200, NULL), GQ_ERR_TIMEOUT);
    vm_stop(&vm);
}
END_TEST

static int diag_calls;
static void test_diag(void *opaque, char *buf, size_t len)
{
    GqQmp *q = *(GqQmp **)opaque;
    diag_calls++;
    snprintf(buf, len, "DIAG-MARK(%s)", gq_is_closed(q) ? "closed" : "open");
}

START_TEST(t_vm_killed)
{
    Vm vm;
    vm_start(&vm, NULL);
    gq_set_diag(vm.q, test_diag, &vm.q);
    OKQ(vm.q, gq_ok(vm.q, "{'execute':'query-status'}"));

    /* a frozen QEMU: bounded, and the connection stays usable */
    gq_set_timeout(vm.q, 300);
    ck_assert_int_eq(kill(vm.pid, SIGSTOP), 0);
    long long t0 = mono_ms();
    ck_assert_int_eq(gq_ok(vm.q, "{'execute':'query-status'}"),
                     GQ_ERR_TIMEOUT);
    ck_assert_int_lt(mono_ms() - t0, 1500);
    ck_assert_msg(strstr(gq_error(vm.q), "no reply within 300 ms") &&
                  strstr(gq_error(vm.q), "query-status") &&
                  strstr(gq_error(vm.q), "DIAG-MARK(open)"), "%s",
                  gq_error(vm.q));
    ck_assert_int_eq(kill(vm.pid, SIGCONT), 0);
    gq_set_timeout(vm.q, 10000);
    GqReply *r = gq_cmd(vm.q, "{'execute':'query-name'}");   /* late reply
                                                                skipped */
    ck_assert_msg(r->rc == GQ_OK, "%s", gq_error(vm.q));
    ck_assert(json_object_is_type(r->ret, json_type_object));
    gq_reply_free(r);

    ck_assert_int_eq(kill(vm.pid, SIGKILL), 0);
    waitpid(vm.pid, NULL, 0);
    vm.pid = -1;
    t0 = mono_ms();
    ck_assert_int_eq(gq_ok(vm.q, "{'execute':'query-status'}"),
                     GQ_ERR_CLOSED);
    ck_assert_int_lt(mono_ms() - t0, 2000);
    ck_assert(gq_is_closed(vm.q));
    ck_assert_msg(strstr(gq_error(vm.q), "query-status") &&
                  strstr(gq_error(vm.q), "closed") &&
                  strstr(gq_error(vm.q), "DIAG-MARK(closed)"), "%s",
                  gq_error(vm.q));
    t0 = mono_ms();
    ck_assert_int_eq(gq_ok(vm.q, "{'execute':'query-status'}"),
                     GQ_ERR_CLOSED);
    ck_assert_int_eq(gq_wait_event(vm.q, "STOP", 5000, NULL), GQ_ERR_CLOSED);
    ck_assert_int_lt(mono_ms() - t0, 500);
    vm_stop(&vm);
}
END_TEST

START_TEST(t_connect_fails)
{
    char err[512];
    long long t0 = mono_ms();
    GqQmp *q = gq_connect_unix("/tmp/gq-no-such-dir/qmp.sock", 300, err,
                               sizeof(err));
    long long dt = mono_ms() - t0;
    ck_assert_ptr_null(q);
    ck_assert_int_ge(dt, 250);
    ck_assert_int_lt(dt, 1500);
    ck_assert_msg(strstr(err, "/tmp/gq-no-such-dir/qmp.sock"), "%s", err);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    ck_assert_ptr_null(gq_connect_unix(longp, 100, err, sizeof(err)));
    ck_assert_msg(strstr(err, "too long"), "%s", err);
    ck_assert_ptr_null(gq_attach_fd(-1, 100, err, sizeof(err)));
    gq_close(NULL);
    ck_assert_int_eq(gq_fd(NULL), -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* scripted peers on a socketpair                                       */
/* ------------------------------------------------------------------ */

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, " \
                 "\"minor\": 2, \"major\": 8}, \"package\": \"\"}, "  \
                 "\"capabilities\": [\"oob\"]}}\r\n"

typedef void (*PeerFn)(int fd);

typedef struct Peer {
    pid_t pid;
    int fd;     /* our end */
} Peer;

static void peer_start(Peer *p, PeerFn fn)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        close(sv[0]);
        signal(SIGPIPE, SIG_DFL);
        fn(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    p->fd = sv[0];
}

static void peer_end(Peer *p)
{
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
}

static void wr(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            _exit(3);
        }
        s += w;
        n -= (size_t)w;
    }
}

static void wrs(int fd, const char *s)
{
    wr(fd, s, strlen(s));
}

/* Read a command line; returns its id (-1 if none). */
static long long rd_cmd(int fd)
{
    char line[4096];
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t g = read(fd, &ch, 1);
        if (g <= 0) {
            _exit(4);
        }
        if (ch == '\n') {
            break;
        }
        if (n < sizeof(line) - 1) {
            line[n++] = ch;
        }
    }
    line[n] = 0;
    char *id = strstr(line, "\"id\":");
    return id ? atoll(id + 5) : -1;
}

static void reply(int fd, long long id, const char *ret)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"return\": %s, \"id\": %lld}\r\n", ret, id);
    wrs(fd, buf);
}

static void handshake(int fd)
{
    wrs(fd, GREETING);
    reply(fd, rd_cmd(fd), "{}");
}

static GqQmp *attach(Peer *p, int timeout_ms, char *err, size_t errlen)
{
    return gq_attach_fd(p->fd, timeout_ms, err, errlen);
}

static void p_garbage(int fd)
{
    wrs(fd, "hello there, I am not QEMU\n");
    sleep(5);
}

static void p_truncated_close(int fd)
{
    wrs(fd, "{\"QMP\": {\"version\"");
}

static void p_silent(int fd)
{
    sleep(5);
}

static void p_truncated_hang(int fd)
{
    wrs(fd, "{\"QMP\": {\"version\"");
    sleep(5);
}

static void p_wrong_greeting(int fd)
{
    wrs(fd, "{\"hello\": 1}\n");
    sleep(5);
}

static void p_caps_error(int fd)
{
    wrs(fd, GREETING);
    long long id = rd_cmd(fd);
    char buf[256];
    snprintf(buf, sizeof(buf), "{\"error\": {\"class\": \"GenericError\", "
             "\"desc\": \"nope\"}, \"id\": %lld}\n", id);
    wrs(fd, buf);
    sleep(5);
}

START_TEST(t_peer_handshake)
{
    static const struct {
        PeerFn fn;
        const char *expect;
        const char *expect2;
    } cases[] = {
        { p_garbage, "unparsable", "hello there" },
        { p_truncated_close, "closed", "{\"QMP\": {\"version\"" },
        { p_silent, "no QMP greeting within 300 ms", NULL },
        { p_truncated_hang, "no QMP greeting within 300 ms", NULL },
        { p_wrong_greeting, "unexpected QMP greeting", "hello" },
        { p_caps_error, "QMP handshake", "nope" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Peer p;
        char err[2048];
        peer_start(&p, cases[i].fn);
        long long t0 = mono_ms();
        GqQmp *q = attach(&p, 300, err, sizeof(err));
        ck_assert_int_lt(mono_ms() - t0, 1500);
        ck_assert_ptr_null(q);
        ck_assert_msg(strstr(err, cases[i].expect) &&
                      (!cases[i].expect2 || strstr(err, cases[i].expect2)),
                      "case %zu: %s", i, err);
        /* the fd was taken over and closed */
        ck_assert_int_eq(fcntl(p.fd, F_GETFD), -1);
        peer_end(&p);
    }
}
END_TEST

/* event + stale reply + event + long reply + event in one write; then a
 * reply split over several writes. */
static void p_multi(int fd)
{
    handshake(fd);
    long long id = rd_cmd(fd);
    size_t big = 3u << 20;
    char *s = malloc(big + 1024);
    int n = sprintf(s, "{\"event\": \"E1\", \"data\": {}}\n"
                       "{\"return\": {}, \"id\": 999}\n"
                       "{\"event\": \"E2\"}\r\n"
                       "{\"return\": \"");
    memset(s + n, 'x', big);
    n += (int)big;
    n += sprintf(s + n, "\", \"id\": %lld}\n{\"event\": \"E3\"}\n", id);
    wr(fd, s, (size_t)n);
    free(s);
    id = rd_cmd(fd);
    char buf[256];
    n = snprintf(buf, sizeof(buf), "{\"return\": {\"a\": 1}, \"id\": %lld}\n",
                 id);
    for (int i = 0; i < n; i += 7) {
        wr(fd, buf + i, (size_t)(n - i < 7 ? n - i : 7));
        usleep(20000);
    }
    sleep(5);
}

START_TEST(t_peer_multi)
{
    Peer p;
    char err[2048];
    peer_start(&p, p_multi);
    GqQmp *q = attach(&p, 2000, err, sizeof(err));
    ck_assert_msg(q != NULL, "%s", err);
    GqReply *r = gq_cmd(q, "{'execute':'big'}");
    ck_assert_msg(r->rc == GQ_OK, "%s", gq_error(q));
    ck_assert(json_object_is_type(r->ret, json_type_string));
    ck_assert_int_eq(json_object_get_string_len(r->ret), 3u << 20);
    gq_reply_free(r);
    OKQ(q, gq_wait_event(q, "E2", 100, NULL));
    OKQ(q, gq_wait_event(q, "E3", 100, NULL));   /* still in the buffer */
    OKQ(q, gq_wait_event(q, "E1", 100, NULL));
    r = gq_cmd(q, "{'execute':'split'}");
    ck_assert_msg(r->rc == GQ_OK, "%s", gq_error(q));
    gq_reply_free(r);
    gq_close(q);
    peer_end(&p);
}
END_TEST

/* huge line, then its proper reply; then a normal command */
static void p_huge(int fd)
{
    handshake(fd);
    long long id = rd_cmd(fd);
    size_t big = (16u << 20) + 4096;
    char *s = malloc(big);
    memset(s, 'a', big);
    memcpy(s, "{\"return\": \"", 12);
    wr(fd, s, big);
    free(s);
    wrs(fd, "\"}\n");
    reply(fd, id, "{}");       /* late, skipped */
    id = rd_cmd(fd);
    reply(fd, id, "{\"ok\": true}");
    sleep(5);
}

START_TEST(t_peer_huge)
{
    Peer p;
    char err[2048];
    peer_start(&p, p_huge);
    GqQmp *q = attach(&p, 2000, err, sizeof(err));
    ck_assert_msg(q != NULL, "%s", err);
    gq_set_timeout(q, 10000);
    ck_assert_int_eq(gq_ok(q, "{'execute':'huge'}"), GQ_ERR_PROTO);
    ck_assert_msg(strstr(gq_error(q), "longer than") &&
                  strstr(gq_error(q), "'huge'"), "%s", gq_error(q));
    GqReply *r = gq_cmd(q, "{'execute':'after'}");
    ck_assert_msg(r->rc == GQ_OK, "%s", gq_error(q));
    ck_assert(json_object_object_get_ex(r->ret, "ok", NULL));
    gq_reply_free(r);
    gq_close(q);
    peer_end(&p);
}
END_TEST

/* 1100 events before the reply: the queue keeps the newest 1024 */
static void p_flood(int fd)
{
    handshake(fd);
    long long id = rd_cmd(fd);
    char buf[128];
    for (int i = 0; i < 1100; i++) {
        snprintf(buf, sizeof(buf), "{\"event\": \"EV\", \"data\": {\"n\": "
                 "%d}}\n", i);
        wrs(fd, buf);
    }
    reply(fd, id, "{}");
    sleep(5);
}

START_TEST(t_peer_flood)
{
    Peer p;
    char err[2048];
    char *buf = NULL;
    size_t blen = 0;
    peer_start(&p, p_flood);
    GqQmp *q = attach(&p, 2000, err, sizeof(err));
    ck_assert_msg(q != NULL, "%s", err);
    FILE *tr = open_memstream(&buf, &blen);
    gq_set_transcript(q, tr);
    OKQ(q, gq_ok(q, "{'execute':'x'}"));
    for (int i = 1100 - GQ_MAX_EVENTS; i < 1100; i++) {
        json_object *ev = NULL, *d, *n;
        OKQ(q, gq_wait_event(q, "EV", 100, &ev));
        ck_assert(json_object_object_get_ex(ev, "data", &d) &&
                  json_object_object_get_ex(d, "n", &n));
        ck_assert_int_eq(json_object_get_int(n), i);
        json_object_put(ev);
    }
    ck_assert_int_eq(gq_wait_event(q, "EV", 100, NULL), GQ_ERR_TIMEOUT);
    gq_set_transcript(q, NULL);
    fclose(tr);
    ck_assert_ptr_nonnull(strstr(buf, "dropped the oldest event, EV"));
    ck_assert_ptr_nonnull(strstr(buf, " ! {\"event\": \"EV\""));
    free(buf);
    gq_close(q);
    peer_end(&p);
}
END_TEST

/* odd replies, then the peer closes in the middle of a command */
static void p_odd(int fd)
{
    handshake(fd);
    rd_cmd(fd);   /* error reply without id */
    wrs(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON "
            "parse error\"}}\n");
    long long id = rd_cmd(fd);   /* neither return nor error */
    char buf[128];
    snprintf(buf, sizeof(buf), "{\"id\": %lld}\n", id);
    wrs(fd, buf);
    rd_cmd(fd);   /* not an object */
    wrs(fd, "[1, 2, 3]\n");
    rd_cmd(fd);   /* too deep */
    for (int i = 0; i < 1000; i++) {
        wrs(fd, "[");
    }
    wrs(fd, "\n");
    id = rd_cmd(fd);  /* still fine */
    reply(fd, id, "{}");
    rd_cmd(fd);   /* then close */
    wrs(fd, "{\"return\": {}, \"i");
}

START_TEST(t_peer_odd)
{
    Peer p;
    char err[2048];
    peer_start(&p, p_odd);
    GqQmp *q = attach(&p, 2000, err, sizeof(err));
    ck_assert_msg(q != NULL, "%s", err);
    GqReply *r = gq_cmd(q, "{'execute':'a'}");
    ck_assert_int_eq(r->rc, GQ_ERR_QMP);
    ck_assert_str_eq(r->err_class, "GenericError");
    ck_assert_msg(strstr(gq_error(q), "without id"), "%s", gq_error(q));
    gq_reply_free(r);
    ck_assert_int_eq(gq_ok(q, "{'execute':'b'}"), GQ_ERR_PROTO);
    ck_assert_msg(strstr(gq_error(q), "neither"), "%s", gq_error(q));
    ck_assert_int_eq(gq_ok(q, "{'execute':'c'}"), GQ_ERR_PROTO);
    ck_assert_msg(strstr(gq_error(q), "not a JSON object"), "%s",
                  gq_error(q));
    ck_assert_int_eq(gq_ok(q, "{'execute':'d'}"), GQ_ERR_PROTO);
    OKQ(q, gq_ok(q, "{'execute':'e'}"));
    long long t0 = mono_ms();
    ck_assert_int_eq(gq_ok(q, "{'execute':'f'}"), GQ_ERR_CLOSED);
    ck_assert_int_lt(mono_ms() - t0, 1000);
    ck_assert_msg(strstr(gq_error(q), "QMP 'f'") &&
                  strstr(gq_error(q), "closed") &&
                  strstr(gq_error(q), "{\"return\": {}, \"i") &&
                  strstr(gq_error(q), "(sent {\"execute\":\"f\""), "%s",
                  gq_error(q));
    ck_assert_int_eq(gq_ok(q, "{'execute':'g'}"), GQ_ERR_CLOSED);
    ck_assert_msg(strstr(gq_error(q), "closed earlier"), "%s", gq_error(q));
    gq_close(q);
    peer_end(&p);
}
END_TEST

/* a peer that stops reading: sending is bounded too */
static void p_deaf(int fd)
{
    handshake(fd);
    sleep(10);
}

START_TEST(t_peer_deaf)
{
    Peer p;
    char err[2048];
    peer_start(&p, p_deaf);
    GqQmp *q = attach(&p, 2000, err, sizeof(err));
    ck_assert_msg(q != NULL, "%s", err);
    GqQmp *qq = q;
    diag_calls = 0;
    gq_set_diag(q, test_diag, &qq);
    size_t big = 32u << 20;
    char *s = malloc(big + 1);
    memset(s, 'z', big);
    s[big] = 0;
    json_object *args = json_object_new_object();
    json_object_object_add(args, "blob", json_object_new_string(s));
    free(s);
    long long t0 = mono_ms();
    GqReply *r = gq_execute(q, "blob", args, 300);
    json_object_put(args);
    ck_assert_int_lt(mono_ms() - t0, 1500);
    ck_assert_int_eq(r->rc, GQ_ERR_TIMEOUT);
    ck_assert_msg(strstr(gq_error(q), "QMP 'blob'") &&
                  strstr(gq_error(q), "DIAG-MARK(open)"), "%s", gq_error(q));
    ck_assert_int_eq(diag_calls, 1);
    gq_reply_free(r);
    gq_close(q);
    peer_end(&p);
}
END_TEST

static Suite *qemu_suite(void)
{
    Suite *s = suite_create("qemu");
    TCase *tc = tcase_create("qemu");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_vm_basic);
    tcase_add_test(tc, t_vm_errors);
    tcase_add_test(tc, t_vm_qom);
    tcase_add_test(tc, t_vm_events);
    tcase_add_test(tc, t_vm_killed);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *peer_suite(void)
{
    Suite *s = suite_create("peer");
    TCase *tc = tcase_create("peer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_connect_fails);
    tcase_add_test(tc, t_peer_handshake);
    tcase_add_test(tc, t_peer_multi);
    tcase_add_test(tc, t_peer_huge);
    tcase_add_test(tc, t_peer_flood);
    tcase_add_test(tc, t_peer_odd);
    tcase_add_test(tc, t_peer_deaf);
    suite_add_tcase(s, tc);
    return s;
}

GAUNTLET_SUITES(
    { "peer", peer_suite },
    { "qemu", qemu_suite },
);
