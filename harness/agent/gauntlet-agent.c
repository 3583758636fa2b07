// SPDX-License-Identifier: MIT
/*
 * gauntlet-agent: the Gauntlet guest agent.  A small static program that
 * runs inside the guest, reads requests from a byte stream (the second UART,
 * /dev/ttyS1, by default) and runs commands with deadlines, streaming their
 * output back.  Protocol: agent_proto.h.
 *
 *   gauntlet-agent [-d DEVICE] [--fd N] [--stdio] [-v]
 *
 *   -d DEVICE  serial device (default /dev/ttyS1), set to raw 8N1, no flow
 *              control, no echo
 *   --fd N     use the already open descriptor N (unit tests: a socketpair)
 *   --stdio    read requests on fd 0, write on fd 1
 *   -v         log every request on stderr
 *
 * One process, one poll() loop: the transport, every child's stdout/stderr
 * pipe, its stdin pipe, a SIGCHLD self-pipe and the nearest deadline.  Each
 * command runs in its own session/process group; at its deadline the group
 * gets SIGTERM and, after the grace period, SIGKILL.  Output beyond the
 * per-command limit is read and dropped (counted).  The agent is a child
 * subreaper so daemons started by commands are reaped too.  A RUN with
 * AFTER waits in a queue until the command it names has ended, so that
 * the host can send a list of commands at once (agent_proto.h).  When the output
 * queue to the host is long (slow UART), children's pipes are not read
 * (back-pressure) but deadlines still fire.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"

#define MAX_CMDS 64
#define MAX_QUEUED 32                    /* RUNs waiting for their AFTER */
#define OUTQ_HIGH (64u * 1024)          /* stop reading children above this */
#define UNREAPED_MS 5000                 /* after SIGKILL */
#define DRAIN_MS 500                     /* pipes kept open by grandchildren */
#define DRAIN_HARD_MS 5000

extern char **environ;

enum cstate { C_FREE = 0, C_RUNNING, C_TERM, C_KILLED };

struct stream {
	int fd;              /* -1 when closed */
	uint64_t bytes;      /* produced */
	uint64_t dropped;    /* beyond the limit */
};

struct cmd {
	enum cstate state;
	uint32_t id;
	pid_t pid;
	int exited;          /* reaped */
	int wstatus;
	int timed_out;
	int unreaped;
	int exec_failed;
	struct stream out, err;
	int in_fd;           /* stdin pipe while data remains */
	uint8_t *in_data;
	size_t in_len, in_off;
	uint32_t limit;
	uint32_t grace_ms;
	int64_t t_start;     /* ms, monotonic */
	int64_t t_start_us;
	int64_t deadline;    /* ms, 0 = none */
	int64_t kill_at;     /* SIGKILL time after SIGTERM */
	int64_t give_up_at;  /* report UNREAPED */
	int64_t drain_until; /* after exit: wait for EOF until then */
	int64_t drain_hard;  /* ... and never past this (unless back-pressured) */
	int64_t t_end_us;
};

static struct cmd cmds[MAX_CMDS];

/* A RUN waiting for the command it names in AFTER to end: its request as
 * it came, started by handle_run() once that one is gone. */
struct queued {
	uint32_t id;         /* 0: free */
	uint32_t after;
	int if_ok;           /* cancelled unless `after` succeeded */
	uint8_t *payload;
	uint32_t len;
};

static struct queued queue[MAX_QUEUED];

/* ENV_KEEP's variables, for the RUNs with ENV_KEPT. */
static char **kept_env;
static size_t nkept;

/* Keep the ENV fields of a RUN (already checked: K=V, no NUL). */
static void keep_env(const uint8_t *pl, uint32_t plen)
{
	struct ga_tlv t;
	uint32_t off = 0;
	size_t n = 0;

	for (size_t i = 0; i < nkept; i++)
		free(kept_env[i]);
	free(kept_env);
	nkept = 0;
	while (ga_tlv_next(pl, plen, &off, &t) == 1)
		n += t.tag == GA_T_ENV;
	kept_env = calloc(n + 1, sizeof(*kept_env));
	if (!kept_env)
		return;
	off = 0;
	while (ga_tlv_next(pl, plen, &off, &t) == 1)
		if (t.tag == GA_T_ENV && (kept_env[nkept] = strndup((const char *)t.val, t.len)))
			nkept++;
}

/* How the last commands ended, for a RUN whose AFTER has already ended:
 * ok (exit 0, in time), cancelled (an IF_OK gate dropped it). */
static struct ended {
	uint32_t id;
	uint8_t ok, cancelled;
} ended[GA_ENDED_KEPT];
static unsigned ended_next;

static void note_ended(uint32_t id, int ok, int cancelled)
{
	ended[ended_next % GA_ENDED_KEPT] = (struct ended){ id, (uint8_t)ok, (uint8_t)cancelled };
	ended_next++;
}

static const struct ended *find_ended(uint32_t id)
{
	for (unsigned i = 0; i < GA_ENDED_KEPT; i++)
		if (ended[i].id && ended[i].id == id)
			return &ended[i];
	return NULL;
}
static int link_rfd = -1, link_wfd = -1;
static int sig_pipe[2] = { -1, -1 };
static int verbose;
static struct ga_buf outq;   /* bytes waiting for the transport */
static size_t outq_off;
static uint8_t *inbuf;
static struct ga_parser parser;

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gauntlet-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return now_us() / 1000;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void set_cloexec(int fd)
{
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* ---- sending ---------------------------------------------------------------------- */
static void flush_out(int block);

static void send_msg(uint8_t type, uint32_t id, const void *payload, size_t len)
{
	uint8_t hdr[GA_HDR_SIZE];

	if (len > GA_MAX_PAYLOAD)
		len = GA_MAX_PAYLOAD; /* never happens: callers chunk */
	ga_frame_header(hdr, type, id, payload, (uint32_t)len);
	ga_buf_put(&outq, hdr, sizeof(hdr));
	ga_buf_put(&outq, payload, len);
	if (outq.oom) {
		/* out of memory: drop the queue rather than die */
		outq.oom = 0;
		outq.len = outq_off = 0;
	}
	flush_out(0);
}

static void send_tlv(uint8_t type, uint32_t id, struct ga_buf *b)
{
	send_msg(type, id, b->data, b->len);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static void send_error(uint32_t id, const char *fmt, ...)
{
	char msg[512];
	struct ga_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (verbose)
		logmsg("error id %u: %s", id, msg);
	ga_tlv_put_str(&b, GA_T_MESSAGE, msg);
	send_tlv(GA_MSG_ERROR, id, &b);
}

static void flush_out(int block)
{
	while (outq_off < outq.len) {
		ssize_t n = write(link_wfd, outq.data + outq_off, outq.len - outq_off);

		if (n > 0) {
			outq_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!block)
				return;
			struct pollfd p = { .fd = link_wfd, .events = POLLOUT };

			poll(&p, 1, 1000);
			continue;
		}
		/* transport error (socket closed in the unit test) */
		logmsg("write to the host failed: %s", n < 0 ? strerror(errno) : "0 bytes");
		exit(n < 0 && errno == EPIPE ? 0 : 3);
	}
	outq.len = outq_off = 0;
}

static void hello_payload(struct ga_buf *b)
{
	struct utsname u;

	ga_tlv_put_u32(b, GA_T_VERSION, GA_PROTO_VERSION);
	ga_tlv_put_u32(b, GA_T_AGENT_PID, (uint32_t)getpid());
	ga_tlv_put_u32(b, GA_T_FEATURES, GA_FEAT_AFTER | GA_FEAT_ENV_KEEP);
	if (uname(&u) == 0)
		ga_tlv_put_str(b, GA_T_UNAME, u.release);
}

/* ---- commands ------------------------------------------------------------------ */
static struct cmd *find_cmd(uint32_t id)
{
	for (int i = 0; i < MAX_CMDS; i++)
		if (cmds[i].state != C_FREE && cmds[i].id == id)
			return &cmds[i];
	return NULL;
}

static struct queued *find_queued(uint32_t id)
{
	for (int i = 0; i < MAX_QUEUED; i++)
		if (queue[i].id && queue[i].id == id)
			return &queue[i];
	return NULL;
}

static void handle_run(uint32_t id, const uint8_t *pl, uint32_t plen, int arrival);

static void start_successors(uint32_t id);

/* An IF_OK gate failed before id: it never starts, nor does anything
 * queued after it (start_successors() cascades). */
static void cancel_run(uint32_t id, uint32_t after)
{
	send_error(id, GA_CANCELLED "command %u did not succeed", after);
	note_ended(id, 0, 1);
	start_successors(id);
}

/* Whether a RUN after `after` (ended: e) with if_ok must be cancelled. */
static int gate_closed(const struct ended *e, int if_ok)
{
	return e && (e->cancelled || (if_ok && !e->ok));
}

/* The command id has ended (or was refused, cancelled, or dropped while
 * queued): start the RUNs queued after it, in the order they came, or
 * cancel them (gate_closed()).  One that is refused in turn lets its own
 * successors go (depth <= MAX_QUEUED). */
static void start_successors(uint32_t id)
{
	const struct ended *e = find_ended(id);

	for (;;) {
		struct queued *q = NULL;

		/* the oldest first: the lowest id among those after this one */
		for (int i = 0; i < MAX_QUEUED; i++)
			if (queue[i].id && queue[i].after == id &&
			    (!q || queue[i].id < q->id))
				q = &queue[i];
		if (!q)
			return;

		struct queued take = *q;

		memset(q, 0, sizeof(*q));
		if (gate_closed(e, take.if_ok)) {
			free(take.payload);
			cancel_run(take.id, id);
			continue;
		}
		if (verbose)
			logmsg("id %u: its AFTER %u has ended, starting", take.id, id);
		handle_run(take.id, take.payload, take.len, 0);
		free(take.payload);
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void finish_cmd(struct cmd *c)
{
	struct ga_buf b = { 0 };
	int64_t end = c->t_end_us ? c->t_end_us : now_us();

	if (c->unreaped) {
		ga_tlv_put_u32(&b, GA_T_EXIT_KIND, GA_EXIT_UNREAPED);
	} else if (c->exec_failed) {
		ga_tlv_put_u32(&b, GA_T_EXIT_KIND, GA_EXIT_EXEC);
		ga_tlv_put_u32(&b, GA_T_EXIT_CODE, 127);
	} else if (WIFSIGNALED(c->wstatus)) {
		ga_tlv_put_u32(&b, GA_T_EXIT_KIND, GA_EXIT_SIGNAL);
		ga_tlv_put_u32(&b, GA_T_SIGNAL, (uint32_t)WTERMSIG(c->wstatus));
	} else {
		ga_tlv_put_u32(&b, GA_T_EXIT_KIND, GA_EXIT_CODE);
		ga_tlv_put_u32(&b, GA_T_EXIT_CODE, (uint32_t)WEXITSTATUS(c->wstatus));
	}
	ga_tlv_put_u32(&b, GA_T_TIMED_OUT, (uint32_t)c->timed_out);
	ga_tlv_put_u64(&b, GA_T_DURATION_US, (uint64_t)(end - c->t_start_us));
	ga_tlv_put_u64(&b, GA_T_STDOUT_BYTES, c->out.bytes);
	ga_tlv_put_u64(&b, GA_T_STDOUT_DROPPED, c->out.dropped);
	ga_tlv_put_u64(&b, GA_T_STDERR_BYTES, c->err.bytes);
	ga_tlv_put_u64(&b, GA_T_STDERR_DROPPED, c->err.dropped);
	if (verbose)
		logmsg("exit id %u status 0x%x timed_out %d", c->id, c->wstatus, c->timed_out);
	send_tlv(GA_MSG_EXIT, c->id, &b);
	close_fd(&c->out.fd);
	close_fd(&c->err.fd);
	close_fd(&c->in_fd);
	free(c->in_data);

	uint32_t id = c->id;
	int ok = !c->unreaped && !c->exec_failed && !c->timed_out &&
		 WIFEXITED(c->wstatus) && WEXITSTATUS(c->wstatus) == 0;

	memset(c, 0, sizeof(*c));
	c->out.fd = c->err.fd = c->in_fd = -1;
	note_ended(id, ok, 0);
	start_successors(id);
}

/* Read what a child's pipe has (bounded per call); 1 at EOF/error. */
static int read_stream(struct cmd *c, struct stream *s, uint8_t type)
{
	uint8_t buf[GA_CHUNK_MAX];

	for (int rounds = 0; rounds < 4; rounds++) {
		ssize_t n = read(s->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			close_fd(&s->fd);
			return 1;
		}
		uint64_t kept = s->bytes - s->dropped;
		size_t send = 0;

		if (kept < c->limit)
			send = (size_t)n < c->limit - kept ? (size_t)n : (size_t)(c->limit - kept);
		s->bytes += (uint64_t)n;
		s->dropped += (uint64_t)n - send;
		if (send)
			send_msg(type, c->id, buf, send);
		if (outq.len - outq_off > OUTQ_HIGH)
			return 0;
	}
	return 0;
}

static void child_exec(const char *const *argv, const char *const *env, size_t nenv,
		       const char *cwd, int in_r, int out_w, int err_w, int status_w)
{
	sigset_t none;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	dup2(in_r, 0);
	dup2(out_w, 1);
	dup2(err_w, 2);
	/* everything else except the status pipe (close-on-exec) goes */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != status_w)
			close(fd);
	for (size_t i = 0; i < nenv; i++)
		putenv((char *)env[i]);
	if (cwd && chdir(cwd) != 0) {
		int e = errno;
		char msg[300];

		snprintf(msg, sizeof(msg), "chdir %s: %s", cwd, strerror(e));
		if (write(status_w, msg, strlen(msg)) < 0) { /* nothing to do */ }
		_exit(127);
	}
	execvp(argv[0], (char *const *)argv);
	{
		int e = errno;
		char msg[300];

		snprintf(msg, sizeof(msg), "exec %s: %s", argv[0], strerror(e));
		if (write(status_w, msg, strlen(msg)) < 0) { /* nothing to do */ }
	}
	_exit(127);
}

static void run_request(uint32_t id, const uint8_t *pl, uint32_t plen, int arrival)
{
	struct ga_tlv t;
	uint32_t off = 0;
	int r;
	size_t nargv = 0, nenv = 0;
	const char **argv = NULL, **env = NULL;
	char **strs = NULL;
	size_t nstrs = 0;
	char *cwd = NULL;
	const char *shell = NULL;
	uint64_t timeout_ms = 0, grace = GA_DEFAULT_KILL_GRACE_MS, limit = GA_DEFAULT_OUTPUT_LIMIT;
	const uint8_t *in_data = NULL;
	uint32_t in_len = 0;
	int have_stdin = 0;
	struct cmd *c = NULL;
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, st_p[2] = { -1, -1 };

	if (id == 0) {
		send_error(0, "RUN needs a non-zero id");
		return;
	}
	if (find_cmd(id) || find_queued(id)) {
		send_error(id, "RUN: id %u is already running", id);
		return;
	}
	/* count fields first, then copy strings (NUL-terminated) */
	size_t nfields = 0;
	uint64_t after = 0, if_ok = 0, env_keep = 0, env_kept = 0;

	while ((r = ga_tlv_next(pl, plen, &off, &t)) == 1) {
		nfields++;
		if ((t.tag == GA_T_AFTER && ga_tlv_uint(&t, &after)) ||
		    (t.tag == GA_T_IF_OK && ga_tlv_uint(&t, &if_ok)) ||
		    (t.tag == GA_T_ENV_KEEP && ga_tlv_uint(&t, &env_keep)) ||
		    (t.tag == GA_T_ENV_KEPT && ga_tlv_uint(&t, &env_kept))) {
			send_error(id, "RUN: field %u must be 4 or 8 bytes (got %u)", t.tag, t.len);
			return;
		}
		if (t.tag == GA_T_ENV && (memchr(t.val, 0, t.len) || !memchr(t.val, '=', t.len))) {
			send_error(id, "RUN: ENV '%.*s' is not K=V", (int)(t.len > 200 ? 200 : t.len),
				   (const char *)t.val);
			return;
		}
	}
	if (r < 0) {
		send_error(id, "RUN: malformed field list at offset %u", off);
		return;
	}
	/* kept when it arrives, also when it is queued: the RUNs after it
	 * count on it */
	if (env_keep && arrival)
		keep_env(pl, plen);
	if (env_kept)
		nfields += nkept;
	if (after == id) {
		send_error(id, "RUN: AFTER names the command itself (%u)", id);
		return;
	}
	if (after && (find_cmd((uint32_t)after) || find_queued((uint32_t)after))) {
		struct queued *q = NULL;

		for (int i = 0; i < MAX_QUEUED && !q; i++)
			if (!queue[i].id)
				q = &queue[i];
		if (!q) {
			send_error(id, "RUN: too many queued commands (%d)", MAX_QUEUED);
			return;
		}
		q->payload = malloc(plen ? plen : 1);
		if (!q->payload) {
			send_error(id, "RUN: out of memory");
			return;
		}
		memcpy(q->payload, pl, plen);
		q->len = plen;
		q->after = (uint32_t)after;
		q->if_ok = if_ok != 0;
		q->id = id;
		if (verbose)
			logmsg("run id %u queued after id %u", id, q->after);
		return;
	}
	if (after && gate_closed(find_ended((uint32_t)after), if_ok != 0)) {
		cancel_run(id, (uint32_t)after);
		return;
	}
	argv = calloc(nfields + 4, sizeof(*argv));
	env = calloc(nfields + 1, sizeof(*env));
	if (env && env_kept)
		for (size_t i = 0; i < nkept; i++)
			env[nenv++] = kept_env[i];
	strs = calloc(nfields + 1, sizeof(*strs));
	if (!argv || !env || !strs) {
		send_error(id, "RUN: out of memory");
		goto out;
	}
	off = 0;
	while (ga_tlv_next(pl, plen, &off, &t) == 1) {
		char *s = NULL;

		if (t.tag == GA_T_ARGV || t.tag == GA_T_SHELL || t.tag == GA_T_ENV || t.tag == GA_T_CWD) {
			if (memchr(t.val, 0, t.len)) {
				send_error(id, "RUN: field %u contains a NUL byte", t.tag);
				goto out;
			}
			s = strndup((const char *)t.val, t.len);
			if (!s) {
				send_error(id, "RUN: out of memory");
				goto out;
			}
			strs[nstrs++] = s;
		}
		switch (t.tag) {
		case GA_T_ARGV: argv[nargv++] = s; break;
		case GA_T_SHELL: shell = s; break;
		case GA_T_ENV:
			if (!strchr(s, '=')) {
				send_error(id, "RUN: ENV '%s' is not K=V", s);
				goto out;
			}
			env[nenv++] = s;
			break;
		case GA_T_CWD: cwd = s; break;
		case GA_T_TIMEOUT_MS:
		case GA_T_KILL_GRACE_MS:
		case GA_T_OUTPUT_LIMIT: {
			uint64_t v;

			if (ga_tlv_uint(&t, &v)) {
				send_error(id, "RUN: field %u must be 4 or 8 bytes (got %u)", t.tag, t.len);
				goto out;
			}
			if (t.tag == GA_T_TIMEOUT_MS) timeout_ms = v;
			else if (t.tag == GA_T_KILL_GRACE_MS) grace = v;
			else limit = v;
			break;
		}
		case GA_T_STDIN:
			in_data = t.val;
			in_len = t.len;
			have_stdin = 1;
			break;
		default:
			break; /* unknown: ignored */
		}
	}
	if (shell && nargv) {
		send_error(id, "RUN: give ARGV or SHELL, not both");
		goto out;
	}
	if (!shell && !nargv) {
		send_error(id, "RUN: no ARGV and no SHELL");
		goto out;
	}
	if (shell) {
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = shell;
		nargv = 3;
	}
	argv[nargv] = NULL;
	if (limit > 0xffffffffu)
		limit = 0xffffffffu;
	if (grace > 600000)
		grace = 600000;
	for (int i = 0; i < MAX_CMDS; i++)
		if (cmds[i].state == C_FREE) {
			c = &cmds[i];
			break;
		}
	if (!c) {
		send_error(id, "RUN: too many commands (%d running)", MAX_CMDS);
		goto out;
	}
	if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) || pipe2(in_p, O_CLOEXEC) ||
	    pipe2(st_p, O_CLOEXEC)) {
		send_error(id, "RUN: pipe: %s", strerror(errno));
		goto out_pipes;
	}
	int64_t t0 = now_us();
	pid_t pid = fork();

	if (pid < 0) {
		send_error(id, "RUN: fork: %s", strerror(errno));
		goto out_pipes;
	}
	if (pid == 0)
		child_exec(argv, env, nenv, cwd, in_p[0], out_p[1], err_p[1], st_p[1]);
	close_fd(&st_p[1]);
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);

	/* exec status: EOF = exec succeeded; a message = it failed */
	char emsg[320];
	ssize_t en;

	do
		en = read(st_p[0], emsg, sizeof(emsg) - 1);
	while (en < 0 && errno == EINTR);
	close_fd(&st_p[0]);

	memset(c, 0, sizeof(*c));
	c->state = C_RUNNING;
	c->id = id;
	c->pid = pid;
	c->out.fd = out_p[0];
	c->err.fd = err_p[0];
	c->in_fd = -1;
	c->limit = (uint32_t)limit;
	c->grace_ms = (uint32_t)grace;
	c->t_start_us = t0;
	c->t_start = t0 / 1000;
	c->deadline = timeout_ms ? c->t_start + (int64_t)timeout_ms : 0;
	set_nonblock(c->out.fd);
	set_nonblock(c->err.fd);
	{
		struct ga_buf b = { 0 };

		ga_tlv_put_u32(&b, GA_T_PID, (uint32_t)pid);
		send_tlv(GA_MSG_STARTED, id, &b);
	}
	if (en > 0) {
		/* STARTED, ERROR, then EXIT (GA_EXIT_EXEC) once reaped */
		emsg[en] = 0;
		send_error(id, "%s", emsg);
		c->exec_failed = 1;
		close_fd(&in_p[1]);
	} else {
		if (have_stdin && in_len) {
			c->in_data = malloc(in_len);
			if (c->in_data) {
				memcpy(c->in_data, in_data, in_len);
				c->in_len = in_len;
				c->in_fd = in_p[1];
				in_p[1] = -1;
				set_nonblock(c->in_fd);
			}
		}
		close_fd(&in_p[1]); /* no stdin data: the child reads EOF */
	}
	if (verbose)
		logmsg("run id %u pid %d %s%s timeout %llu ms", id, pid, shell ? "sh -c " : "",
		       shell ? shell : argv[0], (unsigned long long)timeout_ms);
	goto out;

out_pipes:
	close_fd(&in_p[0]); close_fd(&in_p[1]);
	close_fd(&out_p[0]); close_fd(&out_p[1]);
	close_fd(&err_p[0]); close_fd(&err_p[1]);
	close_fd(&st_p[0]); close_fd(&st_p[1]);
out:
	for (size_t i = 0; i < nstrs; i++)
		free(strs[i]);
	free(strs);
	free(argv);
	free(env);
}

/* A RUN: started, queued, cancelled, or refused; a refused one counts as
 * failed for the RUNs after it. */
static void handle_run(uint32_t id, const uint8_t *pl, uint32_t plen, int arrival)
{
	run_request(id, pl, plen, arrival);
	if (id && !find_cmd(id) && !find_queued(id) && !find_ended(id)) {
		note_ended(id, 0, 0);
		start_successors(id);
	}
}

static void handle_kill(uint32_t id, const uint8_t *pl, uint32_t plen)
{
	struct ga_tlv t;
	uint32_t off = 0;
	uint64_t sig = SIGKILL;
	int r;

	while ((r = ga_tlv_next(pl, plen, &off, &t)) == 1)
		if (t.tag == GA_T_SIGNAL && ga_tlv_uint(&t, &sig)) {
			send_error(id, "KILL: bad SIGNAL field");
			return;
		}
	if (r < 0) {
		send_error(id, "KILL: malformed field list");
		return;
	}
	struct queued *q = find_queued(id);

	if (q) {
		free(q->payload);
		memset(q, 0, sizeof(*q));
		send_error(id, "KILL: dropped before it started (it was queued)");
		note_ended(id, 0, 0);
		start_successors(id);
		return;
	}
	struct cmd *c = find_cmd(id);

	if (!c) {
		send_error(id, "KILL: no command with id %u", id);
		return;
	}
	if (sig < 1 || sig > 64) {
		send_error(id, "KILL: bad signal %llu", (unsigned long long)sig);
		return;
	}
	if (c->exited)
		return; /* only its pipes are draining */
	if (kill(-c->pid, (int)sig) != 0 && kill(c->pid, (int)sig) != 0)
		send_error(id, "KILL: kill(%d, %d): %s", c->pid, (int)sig, strerror(errno));
	if (sig == SIGKILL && !c->give_up_at) {
		c->state = C_KILLED;
		c->give_up_at = now_ms() + UNREAPED_MS;
	}
}

static void handle_frame(const struct ga_frame *f)
{
	struct ga_buf b = { 0 };

	if (verbose)
		logmsg("< %s id %u len %u", ga_msg_name(f->type), f->id, f->len);
	switch (f->type) {
	case GA_MSG_HELLO:
		hello_payload(&b);
		send_tlv(GA_MSG_HELLO_ACK, f->id, &b);
		break;
	case GA_MSG_PING:
		send_msg(GA_MSG_PONG, f->id, f->payload, f->len);
		break;
	case GA_MSG_RUN:
		handle_run(f->id, f->payload, f->len, 1);
		break;
	case GA_MSG_KILL:
		handle_kill(f->id, f->payload, f->len);
		break;
	default:
		send_error(f->id, "unknown message type 0x%02x", f->type);
		break;
	}
}

/* ---- reaping, deadlines ---------------------------------------------------------------- */
static void on_sigchld(int sig)
{
	int e = errno;
	char x = 0;

	(void)sig;
	if (write(sig_pipe[1], &x, 1) < 0) { /* full: a wakeup is pending anyway */ }
	errno = e;
}

static void reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < MAX_CMDS; i++) {
			struct cmd *c = &cmds[i];

			if (c->state != C_FREE && c->pid == pid && !c->exited) {
				c->exited = 1;
				c->wstatus = st;
				c->t_end_us = now_us();
				c->drain_until = now_ms() + DRAIN_MS;
				c->drain_hard = now_ms() + DRAIN_HARD_MS;
				close_fd(&c->in_fd);
			}
		}
		/* other pids: orphans of commands (we are a subreaper): just reaped */
	}
}

/* Does a pipe of c hold unread data? */
static int pipes_readable(struct cmd *c)
{
	struct pollfd p[2];
	int n = 0;

	if (c->out.fd >= 0)
		p[n++] = (struct pollfd){ .fd = c->out.fd, .events = POLLIN };
	if (c->err.fd >= 0)
		p[n++] = (struct pollfd){ .fd = c->err.fd, .events = POLLIN };
	if (poll(p, (nfds_t)n, 0) <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (p[i].revents & POLLIN)
			return 1;
	return 0;
}

static void check_timers(void)
{
	int64_t t = now_ms();

	for (int i = 0; i < MAX_CMDS; i++) {
		struct cmd *c = &cmds[i];

		if (c->state == C_FREE)
			continue;
		if (c->exited) {
			/* Output still flowing to the host (back-pressure) is the
			 * command's own: keep draining.  Otherwise give pipes that a
			 * grandchild keeps open DRAIN_MS of silence, DRAIN_HARD_MS in all. */
			if (c->out.fd >= 0 || c->err.fd >= 0) {
				if (outq.len - outq_off > OUTQ_HIGH) {
					c->drain_until = t + DRAIN_MS;
					if (c->drain_hard < t + DRAIN_HARD_MS)
						c->drain_hard = t + DRAIN_HARD_MS;
					continue;
				}
				if (t < c->drain_until)
					continue;
				if (t < c->drain_hard && pipes_readable(c)) {
					c->drain_until = t + DRAIN_MS;
					continue;
				}
			}
			finish_cmd(c);
			continue;
		}
		if (c->state == C_RUNNING && c->deadline && t >= c->deadline) {
			c->timed_out = 1;
			kill(-c->pid, SIGTERM);
			kill(c->pid, SIGTERM);
			c->state = C_TERM;
			c->kill_at = t + c->grace_ms;
			if (verbose)
				logmsg("id %u: deadline, SIGTERM", c->id);
		}
		if (c->state == C_TERM && t >= c->kill_at) {
			kill(-c->pid, SIGKILL);
			kill(c->pid, SIGKILL);
			c->state = C_KILLED;
			c->give_up_at = t + UNREAPED_MS;
			if (verbose)
				logmsg("id %u: grace over, SIGKILL", c->id);
		}
		if (c->state == C_KILLED && c->give_up_at && t >= c->give_up_at) {
			/* D state or similar: report and forget (reaped later as an orphan) */
			c->unreaped = 1;
			finish_cmd(c);
		}
	}
}

static int64_t next_timer(void)
{
	int64_t next = 0;

	for (int i = 0; i < MAX_CMDS; i++) {
		struct cmd *c = &cmds[i];
		int64_t w = 0;

		if (c->state == C_FREE)
			continue;
		if (c->exited)
			w = c->drain_until;
		else if (c->state == C_RUNNING)
			w = c->deadline;
		else if (c->state == C_TERM)
			w = c->kill_at;
		else if (c->state == C_KILLED)
			w = c->give_up_at;
		if (w && (!next || w < next))
			next = w;
	}
	return next;
}

/* ---- transport ----------------------------------------------------------------------- */
static int open_tty(const char *dev)
{
	int fd = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct termios tio;

	if (fd < 0) {
		logmsg("open %s: %s", dev, strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tio.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS | HUPCL);
		tio.c_cflag |= CS8 | CLOCAL | CREAD;
		tio.c_iflag &= ~(IXON | IXOFF | IXANY);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		cfsetispeed(&tio, B115200);
		cfsetospeed(&tio, B115200);
		if (tcsetattr(fd, TCSANOW, &tio) != 0)
			logmsg("tcsetattr %s: %s", dev, strerror(errno));
		tcflush(fd, TCIOFLUSH);
	}
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: gauntlet-agent [-d DEVICE] [--fd N] [--stdio] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/ttyS1";
	int fd_arg = -1, stdio_mode = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-d") && i + 1 < argc)
			dev = argv[++i];
		else if (!strcmp(argv[i], "--fd") && i + 1 < argc)
			fd_arg = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--stdio"))
			stdio_mode = 1;
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else
			usage();
	}
	if (stdio_mode) {
		link_rfd = 0;
		link_wfd = 1;
	} else if (fd_arg >= 0) {
		link_rfd = link_wfd = fd_arg;
		set_cloexec(fd_arg);
	} else {
		link_rfd = link_wfd = open_tty(dev);
		if (link_rfd < 0)
			return 1;
	}
	set_nonblock(link_rfd);
	set_nonblock(link_wfd);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		logmsg("pipe: %s", strerror(errno));
		return 1;
	}
	struct sigaction sa = { 0 };

	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	for (int i = 0; i < MAX_CMDS; i++)
		cmds[i].out.fd = cmds[i].err.fd = cmds[i].in_fd = -1;
	size_t incap = GA_HDR_SIZE + GA_MAX_PAYLOAD + 64 * 1024;

	inbuf = malloc(incap);
	if (!inbuf) {
		logmsg("out of memory");
		return 1;
	}
	ga_parser_init(&parser, inbuf, incap);

	struct ga_buf b = { 0 };

	hello_payload(&b);
	send_tlv(GA_MSG_READY, 0, &b);
	logmsg("ready on %s (protocol %d, pid %d)",
	       stdio_mode ? "stdio" : fd_arg >= 0 ? "fd" : dev, GA_PROTO_VERSION, getpid());

	uint64_t reported_skipped = 0, reported_bad = 0;

	for (;;) {
		struct pollfd pfd[2 + 3 * MAX_CMDS];
		struct cmd *owner[2 + 3 * MAX_CMDS];
		int kind[2 + 3 * MAX_CMDS]; /* 0 link, 1 sig, 2 out, 3 err, 4 in */
		int n = 0;
		int backpressure = outq.len - outq_off > OUTQ_HIGH;

		pfd[n] = (struct pollfd){ .fd = link_rfd, .events = POLLIN };
		if (outq_off < outq.len && link_wfd == link_rfd)
			pfd[n].events |= POLLOUT;
		kind[n] = 0; owner[n++] = NULL;
		if (outq_off < outq.len && link_wfd != link_rfd) {
			pfd[n] = (struct pollfd){ .fd = link_wfd, .events = POLLOUT };
			kind[n] = 0; owner[n++] = NULL;
		}
		pfd[n] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		kind[n] = 1; owner[n++] = NULL;
		for (int i = 0; i < MAX_CMDS; i++) {
			struct cmd *c = &cmds[i];

			if (c->state == C_FREE)
				continue;
			if (!backpressure && c->out.fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = c->out.fd, .events = POLLIN };
				kind[n] = 2; owner[n++] = c;
			}
			if (!backpressure && c->err.fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = c->err.fd, .events = POLLIN };
				kind[n] = 3; owner[n++] = c;
			}
			if (c->in_fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = c->in_fd, .events = POLLOUT };
				kind[n] = 4; owner[n++] = c;
			}
		}
		int64_t nt = next_timer();
		int timeout = -1;

		if (nt) {
			int64_t d = nt - now_ms();

			timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
		}
		int r = poll(pfd, (nfds_t)n, timeout);

		if (r < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			sleep(1);
		}
		if (r > 0) {
			for (int i = 0; i < n; i++) {
				if (!pfd[i].revents)
					continue;
				struct cmd *c = owner[i];

				switch (kind[i]) {
				case 0:
					if (pfd[i].revents & POLLOUT)
						flush_out(0);
					if (pfd[i].fd == link_rfd &&
					    (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
						size_t room;
						uint8_t *sp = ga_parser_space(&parser, &room);
						ssize_t got = read(link_rfd, sp, room);

						if (got > 0) {
							struct ga_frame f;

							ga_parser_commit(&parser, (size_t)got);
							while (ga_parse_next(&parser, &f))
								handle_frame(&f);
						} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
							if (stdio_mode || fd_arg >= 0) {
								logmsg("host closed the link: exiting");
								return 0;
							}
							/* a tty hang-up: keep going, but do not spin */
							usleep(100000);
						}
					}
					break;
				case 1: {
					char drain[64];

					while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
						;
					break;
				}
				case 2:
					if (c->state != C_FREE && c->out.fd == pfd[i].fd)
						read_stream(c, &c->out, GA_MSG_STDOUT);
					break;
				case 3:
					if (c->state != C_FREE && c->err.fd == pfd[i].fd)
						read_stream(c, &c->err, GA_MSG_STDERR);
					break;
				case 4:
					if (c->state != C_FREE && c->in_fd == pfd[i].fd) {
						ssize_t w = write(c->in_fd, c->in_data + c->in_off,
								  c->in_len - c->in_off);

						if (w > 0)
							c->in_off += (size_t)w;
						if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
						    c->in_off >= c->in_len)
							close_fd(&c->in_fd);
					}
					break;
				}
			}
		}
		/* garbage on the link: tell the host once per burst */
		if (parser.skipped != reported_skipped || parser.bad_frames != reported_bad) {
			if (!parser.in_garbage || parser.end == parser.start) {
				send_error(0, "skipped %llu garbage bytes (%llu bad headers) on the link",
					   (unsigned long long)(parser.skipped - reported_skipped),
					   (unsigned long long)(parser.bad_frames - reported_bad));
				reported_skipped = parser.skipped;
				reported_bad = parser.bad_frames;
			}
		}
		reap();
		check_timers();
	}
}
