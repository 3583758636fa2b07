// SPDX-License-Identifier: MIT
/* Host side of the Gauntlet guest agent: see agent_client.h. */
#define _GNU_SOURCE
#include "agent_client.h"
#include "agent_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HOST_OUTPUT_LIMIT (16u << 20)
#define SEND_BOUND_MS 10000

struct pending {
	uint32_t id;
	int done;          /* EXIT received, or refused, or agent gone */
	int refused;       /* ERROR before STARTED */
	int gone;          /* the agent restarted / link closed */
	uint32_t after;    /* queued in the agent after this command */
	int64_t t_sent_us; /* or when the one it was queued after ended */
	ga_result r;
	struct ga_buf out, err;
	struct pending *next;
};

struct ga_client {
	int fd;
	uint8_t *buf;
	struct ga_parser parser;
	uint64_t reported_skipped, reported_bad;
	struct pending *pending;
	uint32_t next_id;
	char err[1024];
	char garbage_note[600]; /* the latest garbage seen, for error messages */
	FILE *tf;
	ga_transcript_fn tcb;
	void *topaque;
	int64_t t0_us;
	int ready;
	int agent_pid;
	uint32_t features;	/* GA_FEAT_* of the agent's READY/HELLO_ACK */
	char **kept_env;	/* what the agent keeps (ENV_KEEP), NULL: none */
	char uname[128];
	size_t out_limit;
	uint32_t pong_id;
	int eof;
	int (*ended)(void *opaque);	/* ga_set_ended_cb */
	void *ended_opaque;
};

/* ---- time, errors, transcript ----------------------------------------------------- */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int set_err(ga_client *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return status;
}

static void tline(ga_client *c, const char *fmt, ...)
{
	char line[1024];
	char ts[48];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (!c->tf && !c->tcb)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%06ldZ +%.6f ", ts, now.tv_nsec / 1000,
		     (double)(mono_us() - c->t0_us) / 1e6);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (c->tf) {
		fprintf(c->tf, "%s\n", line);
		fflush(c->tf);
	}
	if (c->tcb)
		c->tcb(c->topaque, line);
}

/* Printable, escaped, bounded rendering of bytes. */
static void escape(char *dst, size_t dlen, const uint8_t *p, size_t n, size_t max)
{
	size_t o = 0;

	if (dlen < 8)
		return;
	dst[o++] = '"';
	for (size_t i = 0; i < n && i < max && o + 6 < dlen; i++) {
		uint8_t ch = p[i];

		if (ch == '\n') { dst[o++] = '\\'; dst[o++] = 'n'; }
		else if (ch == '\t') { dst[o++] = '\\'; dst[o++] = 't'; }
		else if (ch == '"' || ch == '\\') { dst[o++] = '\\'; dst[o++] = (char)ch; }
		else if (ch >= 0x20 && ch < 0x7f) dst[o++] = (char)ch;
		else o += (size_t)snprintf(dst + o, dlen - o, "\\x%02x", ch);
	}
	dst[o++] = '"';
	if (n > max && o + 4 < dlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = 0;
}

static void hexdump(char *dst, size_t dlen, const uint8_t *p, size_t n)
{
	size_t o = 0;

	dst[0] = 0;
	for (size_t i = 0; i < n && o + 4 < dlen; i++)
		o += (size_t)snprintf(dst + o, dlen - o, "%s%02x", i ? " " : "", p[i]);
}

/* A readable summary of a TLV payload for the transcript. */
static void describe_tlv(char *dst, size_t dlen, const uint8_t *pl, uint32_t plen)
{
	struct ga_tlv t;
	uint32_t off = 0;
	size_t o = 0;
	int r;

	dst[0] = 0;
	while ((r = ga_tlv_next(pl, plen, &off, &t)) == 1 && o + 32 < dlen) {
		static const struct { uint16_t tag; const char *name; int is_str; } names[] = {
			{ GA_T_VERSION, "version", 0 }, { GA_T_AGENT_PID, "agent_pid", 0 },
			{ GA_T_UNAME, "uname", 1 }, { GA_T_ARGV, "argv", 1 },
			{ GA_T_SHELL, "shell", 1 }, { GA_T_ENV, "env", 1 },
			{ GA_T_CWD, "cwd", 1 }, { GA_T_TIMEOUT_MS, "timeout_ms", 0 },
			{ GA_T_KILL_GRACE_MS, "kill_grace_ms", 0 },
			{ GA_T_OUTPUT_LIMIT, "output_limit", 0 }, { GA_T_STDIN, "stdin", 1 },
			{ GA_T_SIGNAL, "signal", 0 }, { GA_T_PID, "pid", 0 },
			{ GA_T_EXIT_KIND, "exit_kind", 0 }, { GA_T_EXIT_CODE, "exit_code", 0 },
			{ GA_T_TIMED_OUT, "timed_out", 0 }, { GA_T_DURATION_US, "duration_us", 0 },
			{ GA_T_STDOUT_BYTES, "stdout_bytes", 0 },
			{ GA_T_STDOUT_DROPPED, "stdout_dropped", 0 },
			{ GA_T_STDERR_BYTES, "stderr_bytes", 0 },
			{ GA_T_STDERR_DROPPED, "stderr_dropped", 0 }, { GA_T_MESSAGE, "message", 1 },
		};
		const char *name = NULL;
		int is_str = 1;
		char v[400];
		uint64_t u;

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].tag == t.tag) {
				name = names[i].name;
				is_str = names[i].is_str;
			}
		if (!is_str && ga_tlv_uint(&t, &u) == 0)
			snprintf(v, sizeof(v), "%llu", (unsigned long long)u);
		else
			escape(v, sizeof(v), t.val, t.len, 200);
		if (name)
			o += (size_t)snprintf(dst + o, dlen - o, " %s=%s", name, v);
		else
			o += (size_t)snprintf(dst + o, dlen - o, " tag%u=%s", t.tag, v);
	}
	if (r < 0 && o + 16 < dlen)
		snprintf(dst + o, dlen - o, " <malformed fields>");
}

static void trace_frame(ga_client *c, char dir, uint8_t type, uint32_t id, const uint8_t *pl,
			uint32_t len)
{
	char d[900];

	if (!c->tf && !c->tcb)
		return;
	if (type == GA_MSG_STDOUT || type == GA_MSG_STDERR || type == GA_MSG_PING ||
	    type == GA_MSG_PONG)
		escape(d, sizeof(d), pl, len, 160);
	else
		describe_tlv(d, sizeof(d), pl, len);
	tline(c, "%c %s id=%u len=%u%s%s", dir, ga_msg_name(type), id, len,
	      d[0] == ' ' || !d[0] ? "" : " ", d);
}

/* ---- lifecycle --------------------------------------------------------------------- */
ga_client *ga_new(void)
{
	ga_client *c = calloc(1, sizeof(*c));
	size_t cap = GA_HDR_SIZE + GA_MAX_PAYLOAD + 64 * 1024;

	if (!c)
		return NULL;
	c->buf = malloc(cap);
	if (!c->buf) {
		free(c);
		return NULL;
	}
	ga_parser_init(&c->parser, c->buf, cap);
	c->fd = -1;
	c->next_id = 1;
	c->t0_us = mono_us();
	c->out_limit = HOST_OUTPUT_LIMIT;
	return c;
}

static void pending_free(struct pending *p)
{
	free(p->out.data);
	free(p->err.data);
	ga_result_free(&p->r);
	free(p);
}

static void forget_kept_env(ga_client *c);

void ga_close(ga_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		tline(c, "! closed");
		close(c->fd);
	}
	forget_kept_env(c);
	while (c->pending) {
		struct pending *p = c->pending;

		c->pending = p->next;
		pending_free(p);
	}
	free(c->buf);
	free(c);
}

void ga_set_transcript_file(ga_client *c, FILE *f) { c->tf = f; }
void ga_set_transcript_cb(ga_client *c, ga_transcript_fn fn, void *opaque)
{
	c->tcb = fn;
	c->topaque = opaque;
}
void ga_set_output_limit(ga_client *c, size_t bytes) { c->out_limit = bytes; }
void ga_set_ended_cb(ga_client *c, int (*fn)(void *opaque), void *opaque)
{
	c->ended = fn;
	c->ended_opaque = opaque;
}
const char *ga_last_error(const ga_client *c) { return c->err; }
const char *ga_agent_uname(const ga_client *c) { return c->uname; }
int ga_agent_pid(const ga_client *c) { return c->agent_pid; }
uint32_t ga_agent_features(const ga_client *c) { return c->features; }

const char *ga_status_name(int s)
{
	switch (s) {
	case GA_OK: return "ok";
	case GA_ETIMEOUT: return "timeout";
	case GA_EGONE: return "agent gone";
	case GA_EPROTO: return "protocol error";
	case GA_EAGENT: return "refused by the agent";
	case GA_EINVAL: return "invalid argument";
	case GA_ESYS: return "system error";
	default: return "?";
	}
}

int ga_attach_fd(ga_client *c, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return set_err(c, GA_ESYS, "bad descriptor %d: %s", fd, strerror(errno));
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	c->eof = 0;
	tline(c, "! attached fd %d", fd);
	return GA_OK;
}

int ga_connect_unix(ga_client *c, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = mono_us() + (int64_t)timeout_ms * 1000;
	int last = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return set_err(c, GA_EINVAL, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return set_err(c, GA_ESYS, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			tline(c, "! connected to %s", path);
			return ga_attach_fd(c, fd);
		}
		last = errno;
		close(fd);
		if (mono_us() >= deadline)
			return set_err(c, GA_ETIMEOUT, "could not connect to %s within %d ms: %s",
				       path, timeout_ms, strerror(last));
		usleep(20000);
	}
}

/* ---- sending ------------------------------------------------------------------------- */
static int write_all(ga_client *c, const uint8_t *p, size_t n)
{
	int64_t deadline = mono_us() + (int64_t)SEND_BOUND_MS * 1000;

	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == ENOTSOCK)
			w = write(c->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int64_t left = (deadline - mono_us()) / 1000;
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

			if (left <= 0)
				return set_err(c, GA_ETIMEOUT,
					       "could not send to the agent for %d ms (link stalled)",
					       SEND_BOUND_MS);
			poll(&pfd, 1, (int)left);
			continue;
		}
		c->eof = 1;
		return set_err(c, GA_EGONE, "send to the agent failed: %s",
			       w < 0 ? strerror(errno) : "no progress");
	}
	return GA_OK;
}

static int send_frame(ga_client *c, uint8_t type, uint32_t id, const void *pl, size_t len)
{
	uint8_t hdr[GA_HDR_SIZE];
	int rc;

	if (c->fd < 0)
		return set_err(c, GA_EGONE, "not connected");
	if (len > GA_MAX_PAYLOAD)
		return set_err(c, GA_EINVAL, "request of %zu bytes exceeds the %u-byte limit", len,
			       GA_MAX_PAYLOAD);
	ga_frame_header(hdr, type, id, pl, (uint32_t)len);
	trace_frame(c, '>', type, id, pl, (uint32_t)len);
	rc = write_all(c, hdr, sizeof(hdr));
	if (rc == GA_OK && len)
		rc = write_all(c, pl, len);
	return rc;
}

/* ---- receiving ------------------------------------------------------------------------ */
static struct pending *find_pending(ga_client *c, uint32_t id)
{
	for (struct pending *p = c->pending; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static void append_capped(ga_client *c, struct ga_buf *b, uint64_t *dropped, const uint8_t *p,
			  size_t n)
{
	size_t room = b->len < c->out_limit ? c->out_limit - b->len : 0;
	size_t take = n < room ? n : room;

	ga_buf_put(b, p, take);
	*dropped += n - take;
}

static void handle_exit(struct pending *p, const struct ga_frame *f)
{
	struct ga_tlv t;
	uint32_t off = 0;
	uint64_t v;

	while (ga_tlv_next(f->payload, f->len, &off, &t) == 1) {
		if (ga_tlv_uint(&t, &v))
			continue;
		switch (t.tag) {
		case GA_T_EXIT_KIND: p->r.exit_kind = (int)v; break;
		case GA_T_EXIT_CODE: p->r.exit_code = (int)v; break;
		case GA_T_SIGNAL: p->r.signal = (int)v; break;
		case GA_T_TIMED_OUT: p->r.timed_out = v != 0; break;
		case GA_T_DURATION_US: p->r.duration_ms = (double)v / 1000.0; break;
		case GA_T_STDOUT_BYTES: p->r.out_total = v; break;
		case GA_T_STDOUT_DROPPED: p->r.out_dropped += v; break;
		case GA_T_STDERR_BYTES: p->r.err_total = v; break;
		case GA_T_STDERR_DROPPED: p->r.err_dropped += v; break;
		default: break;
		}
	}
	p->r.exited = 1;
	p->r.wall_ms = (double)(mono_us() - p->t_sent_us) / 1000.0;
	p->done = 1;
}

static void fail_all_pending(ga_client *c, const char *why)
{
	for (struct pending *p = c->pending; p; p = p->next) {
		if (p->done)
			continue;
		p->done = 1;
		p->gone = 1;
		free(p->r.error);
		p->r.error = strdup(why);
	}
}

static void forget_kept_env(ga_client *c)
{
	for (size_t i = 0; c->kept_env && c->kept_env[i]; i++)
		free(c->kept_env[i]);
	free(c->kept_env);
	c->kept_env = NULL;
}

/* env is what the agent keeps: send ENV_KEPT instead of the strings. */
static int env_is_kept(const ga_client *c, const char *const *env)
{
	size_t i;

	if (!c->kept_env)
		return 0;
	for (i = 0; env[i] && c->kept_env[i]; i++)
		if (strcmp(env[i], c->kept_env[i]))
			return 0;
	return !env[i] && !c->kept_env[i];
}

/* Remember env as kept (ENV_KEEP sent); 0 when it cannot be (then the
 * strings go with every RUN, as without the feature). */
static int keep_env(ga_client *c, const char *const *env)
{
	size_t n = 0;
	char **k;

	for (; env[n]; n++)
		if (!strchr(env[n], '='))
			return 0;       /* the agent refuses it: never kept */
	k = calloc(n + 1, sizeof(*k));
	if (!k)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(k[i] = strdup(env[i]))) {
			for (size_t j = 0; j < i; j++)
				free(k[j]);
			free(k);
			return 0;
		}
	forget_kept_env(c);
	c->kept_env = k;
	return 1;
}

/* The command id ended: a command queued after it starts now, and its
 * wall time counts from here. */
static void successor_clock(ga_client *c, uint32_t id)
{
	for (struct pending *q = c->pending; q; q = q->next)
		if (q->after == id && !q->done)
			q->t_sent_us = mono_us();
}

static void dispatch(ga_client *c, const struct ga_frame *f)
{
	struct pending *p = f->id ? find_pending(c, f->id) : NULL;
	struct ga_tlv t;
	uint32_t off = 0;
	uint64_t v;

	trace_frame(c, '<', f->type, f->id, f->payload, f->len);
	if (f->version != GA_PROTO_VERSION)
		tline(c, "! frame with protocol version %u (we speak %u)", f->version,
		      GA_PROTO_VERSION);
	switch (f->type) {
	case GA_MSG_READY:
	case GA_MSG_HELLO_ACK:
		if (f->type == GA_MSG_READY && c->ready) {
			tline(c, "! the agent restarted: pending commands are lost");
			fail_all_pending(c, "the agent restarted (new READY)");
		}
		c->features = 0;	/* an agent without the field has none */
		forget_kept_env(c);	/* a new agent, or one we know nothing of */
		while (ga_tlv_next(f->payload, f->len, &off, &t) == 1) {
			if (t.tag == GA_T_UNAME) {
				size_t n = t.len < sizeof(c->uname) - 1 ? t.len : sizeof(c->uname) - 1;

				memcpy(c->uname, t.val, n);
				c->uname[n] = 0;
			} else if (t.tag == GA_T_AGENT_PID && ga_tlv_uint(&t, &v) == 0) {
				c->agent_pid = (int)v;
			} else if (t.tag == GA_T_FEATURES && ga_tlv_uint(&t, &v) == 0) {
				c->features = (uint32_t)v;
			} else if (t.tag == GA_T_VERSION && ga_tlv_uint(&t, &v) == 0 &&
				   v != GA_PROTO_VERSION) {
				tline(c, "! agent speaks protocol %llu, we speak %u",
				      (unsigned long long)v, GA_PROTO_VERSION);
			}
		}
		c->ready = 1;
		break;
	case GA_MSG_PONG:
		c->pong_id = f->id;
		break;
	case GA_MSG_STARTED:
		if (!p)
			break;
		p->r.started = 1;
		while (ga_tlv_next(f->payload, f->len, &off, &t) == 1)
			if (t.tag == GA_T_PID && ga_tlv_uint(&t, &v) == 0)
				p->r.pid = (int)v;
		break;
	case GA_MSG_STDOUT:
		if (p)
			append_capped(c, &p->out, &p->r.out_dropped, f->payload, f->len);
		break;
	case GA_MSG_STDERR:
		if (p)
			append_capped(c, &p->err, &p->r.err_dropped, f->payload, f->len);
		break;
	case GA_MSG_EXIT:
		if (p) {
			handle_exit(p, f);
			successor_clock(c, f->id);
		} else
			tline(c, "! EXIT for unknown id %u (abandoned?)", f->id);
		break;
	case GA_MSG_ERROR: {
		char msg[512] = "";

		while (ga_tlv_next(f->payload, f->len, &off, &t) == 1)
			if (t.tag == GA_T_MESSAGE) {
				size_t n = t.len < sizeof(msg) - 1 ? t.len : sizeof(msg) - 1;

				memcpy(msg, t.val, n);
				msg[n] = 0;
			}
		if (p) {
			if (!p->r.error)
				p->r.error = strdup(msg);
			if (!p->r.started) {
				p->refused = 1;
				p->done = 1;
				successor_clock(c, f->id);
			}
		} else {
			snprintf(c->garbage_note, sizeof(c->garbage_note), "agent reported: %s", msg);
		}
		break;
	}
	default:
		tline(c, "! unexpected message type 0x%02x from the agent", f->type);
		snprintf(c->garbage_note, sizeof(c->garbage_note),
			 "unexpected message type 0x%02x (id %u, len %u)", f->type, f->id, f->len);
		break;
	}
}

static void note_garbage(ga_client *c)
{
	struct ga_parser *ps = &c->parser;

	if (ps->skipped == c->reported_skipped && ps->bad_frames == c->reported_bad)
		return;
	char hex[32 * 3 + 1];

	hexdump(hex, sizeof(hex), ps->garbage, ps->garbage_len);
	snprintf(c->garbage_note, sizeof(c->garbage_note),
		 "skipped %llu bytes of garbage (%llu bad headers), starting: %s",
		 (unsigned long long)(ps->skipped - c->reported_skipped),
		 (unsigned long long)(ps->bad_frames - c->reported_bad), hex);
	tline(c, "! %s", c->garbage_note);
	c->reported_skipped = ps->skipped;
	c->reported_bad = ps->bad_frames;
}

/* Read and dispatch until something arrives or the deadline passes.
 * GA_OK: data was processed; GA_ETIMEOUT; GA_EGONE: EOF. */
static int pump(ga_client *c, int64_t deadline_us)
{
	if (c->fd < 0 || c->eof)
		return set_err(c, GA_EGONE, "the link to the agent is closed");
	for (;;) {
		int64_t left = deadline_us - mono_us();
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int slice, r;

		if (left < 0)
			left = 0;
		slice = (int)((left + 999) / 1000);
		if (c->ended && slice > GA_ENDED_POLL_MS)
			slice = GA_ENDED_POLL_MS;
		r = poll(&pfd, 1, slice);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return set_err(c, GA_ESYS, "poll: %s", strerror(errno));
		if (r == 0 && c->ended && c->ended(c->ended_opaque)) {
			/* the machine is gone, though its end kept the link open */
			c->eof = 1;
			tline(c, "! the machine ended (the agent's link stays open)");
			fail_all_pending(c, "the machine ended");
			return set_err(c, GA_EGONE, "the link to the agent closed "
				       "(the machine ended)");
		}
		if (r == 0 && mono_us() < deadline_us)
			continue;
		if (r == 0)
			return GA_ETIMEOUT;
		size_t room;
		uint8_t *sp = ga_parser_space(&c->parser, &room);
		ssize_t n = read(c->fd, sp, room);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			c->eof = 1;
			tline(c, "! link closed (%s)", n < 0 ? strerror(errno) : "EOF");
			fail_all_pending(c, "the link to the agent closed");
			return set_err(c, GA_EGONE, "the link to the agent closed (%s)",
				       n < 0 ? strerror(errno) : "EOF");
		}
		ga_parser_commit(&c->parser, (size_t)n);
		struct ga_frame f;

		while (ga_parse_next(&c->parser, &f))
			dispatch(c, &f);
		note_garbage(c);
		return GA_OK;
	}
}

int ga_poll(ga_client *c, int timeout_ms)
{
	int64_t deadline = mono_us() + (int64_t)timeout_ms * 1000;
	int rc;

	do
		rc = pump(c, deadline);
	while (rc == GA_OK && mono_us() < deadline);
	return rc == GA_ETIMEOUT ? GA_OK : rc;
}

static const char *garbage_suffix(ga_client *c, char *buf, size_t len)
{
	if (!c->garbage_note[0])
		return "";
	snprintf(buf, len, "; meanwhile %s", c->garbage_note);
	return buf;
}

/* ---- requests ----------------------------------------------------------------------------- */
int ga_wait_ready(ga_client *c, int timeout_ms)
{
	int64_t deadline = mono_us() + (int64_t)timeout_ms * 1000;
	uint8_t pl[10];
	char sfx[700];

	c->garbage_note[0] = 0;
	ga_put_u16(pl, GA_T_VERSION);
	ga_put_u32(pl + 2, 4);
	ga_put_u32(pl + 6, GA_PROTO_VERSION);
	c->ready = 0;
	while (!c->ready) {
		int rc = send_frame(c, GA_MSG_HELLO, 0, pl, sizeof(pl));

		if (rc != GA_OK && rc != GA_ETIMEOUT)
			return rc;
		int64_t next = mono_us() + 500000;

		if (next > deadline)
			next = deadline;
		while (!c->ready) {
			rc = pump(c, next);
			if (rc == GA_ETIMEOUT)
				break;
			if (rc != GA_OK)
				return rc;
		}
		if (!c->ready && mono_us() >= deadline)
			return set_err(c, GA_ETIMEOUT, "the agent did not answer HELLO within %d ms%s",
				       timeout_ms, garbage_suffix(c, sfx, sizeof(sfx)));
	}
	return GA_OK;
}

int ga_ping(ga_client *c, int timeout_ms, double *rtt_ms)
{
	uint32_t id = c->next_id++;
	int64_t t0 = mono_us(), deadline = t0 + (int64_t)timeout_ms * 1000;
	uint8_t pl[8];
	char sfx[700];
	int rc;

	c->garbage_note[0] = 0;
	ga_put_u64(pl, (uint64_t)t0);
	rc = send_frame(c, GA_MSG_PING, id, pl, sizeof(pl));
	if (rc)
		return rc;
	while (c->pong_id != id) {
		rc = pump(c, deadline);
		if (rc == GA_ETIMEOUT)
			return set_err(c, GA_ETIMEOUT, "no PONG within %d ms%s", timeout_ms,
				       garbage_suffix(c, sfx, sizeof(sfx)));
		if (rc)
			return rc;
	}
	if (rtt_ms)
		*rtt_ms = (double)(mono_us() - t0) / 1000.0;
	return GA_OK;
}

int ga_start_cmd(ga_client *c, const ga_cmd *cmd, uint32_t *idp)
{
	struct ga_buf b = { 0 };
	struct pending *p;
	uint32_t id;
	int rc;

	if (!cmd || (!cmd->shell == !(cmd->argv && cmd->argv[0])))
		return set_err(c, GA_EINVAL, "a command needs exactly one of argv or shell");
	if (cmd->shell)
		ga_tlv_put_str(&b, GA_T_SHELL, cmd->shell);
	else
		for (size_t i = 0; cmd->argv[i]; i++)
			ga_tlv_put_str(&b, GA_T_ARGV, cmd->argv[i]);
	if (cmd->env && cmd->env[0] && (c->features & GA_FEAT_ENV_KEEP) &&
	    env_is_kept(c, cmd->env)) {
		ga_tlv_put_u32(&b, GA_T_ENV_KEPT, 1);
	} else if (cmd->env) {
		for (size_t i = 0; cmd->env[i]; i++)
			ga_tlv_put_str(&b, GA_T_ENV, cmd->env[i]);
		if (cmd->env[0] && (c->features & GA_FEAT_ENV_KEEP) && keep_env(c, cmd->env))
			ga_tlv_put_u32(&b, GA_T_ENV_KEEP, 1);
	}
	if (cmd->cwd)
		ga_tlv_put_str(&b, GA_T_CWD, cmd->cwd);
	ga_tlv_put_u32(&b, GA_T_TIMEOUT_MS, cmd->timeout_ms);
	if (cmd->kill_grace_ms)
		ga_tlv_put_u32(&b, GA_T_KILL_GRACE_MS, cmd->kill_grace_ms);
	if (cmd->output_limit)
		ga_tlv_put_u32(&b, GA_T_OUTPUT_LIMIT, cmd->output_limit);
	if (cmd->after) {
		if (!(c->features & GA_FEAT_AFTER)) {
			free(b.data);
			return set_err(c, GA_EINVAL, "the agent cannot queue a command after "
				       "another (it does not announce GA_FEAT_AFTER)");
		}
		ga_tlv_put_u32(&b, GA_T_AFTER, cmd->after);
		if (cmd->if_ok)
			ga_tlv_put_u32(&b, GA_T_IF_OK, 1);
	} else if (cmd->if_ok) {
		free(b.data);
		return set_err(c, GA_EINVAL, "if_ok needs after");
	}
	if (cmd->stdin_data && cmd->stdin_len) {
		if (cmd->stdin_len > GA_MAX_PAYLOAD) {
			free(b.data);
			return set_err(c, GA_EINVAL, "stdin data too large (%zu bytes)", cmd->stdin_len);
		}
		ga_tlv_put(&b, GA_T_STDIN, cmd->stdin_data, (uint32_t)cmd->stdin_len);
	}
	if (b.oom) {
		free(b.data);
		return set_err(c, GA_ESYS, "out of memory");
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		free(b.data);
		return set_err(c, GA_ESYS, "out of memory");
	}
	id = c->next_id++;
	if (id == 0)
		id = c->next_id++;
	p->id = id;
	p->r.id = id;
	p->after = cmd->after;
	p->t_sent_us = mono_us();
	c->garbage_note[0] = 0;
	rc = send_frame(c, GA_MSG_RUN, id, b.data, b.len);
	free(b.data);
	if (rc) {
		forget_kept_env(c);	/* it may not have arrived */
		free(p);
		return rc;
	}
	p->next = c->pending;
	c->pending = p;
	if (idp)
		*idp = id;
	return GA_OK;
}

int ga_start(ga_client *c, const char *shell_cmd, uint32_t timeout_ms, uint32_t *id)
{
	ga_cmd cmd = { .shell = shell_cmd, .timeout_ms = timeout_ms };

	return ga_start_cmd(c, &cmd, id);
}

static void unlink_pending(ga_client *c, struct pending *p)
{
	for (struct pending **pp = &c->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* Move the collected state into *r and forget the id. */
static void take_result(ga_client *c, struct pending *p, ga_result *r)
{
	unlink_pending(c, p);
	*r = p->r;
	ga_buf_put(&p->out, "", 1);
	ga_buf_put(&p->err, "", 1);
	r->out = p->out.data ? (char *)p->out.data : strdup("");
	r->out_len = p->out.len ? p->out.len - 1 : 0;
	r->err = p->err.data ? (char *)p->err.data : strdup("");
	r->err_len = p->err.len ? p->err.len - 1 : 0;
	if (!p->r.exited)
		r->wall_ms = (double)(mono_us() - p->t_sent_us) / 1000.0;
	free(p);
}

int ga_wait(ga_client *c, uint32_t id, int timeout_ms, ga_result *r)
{
	struct pending *p = find_pending(c, id);
	int64_t deadline = mono_us() + (int64_t)timeout_ms * 1000;
	char sfx[700];
	int rc;

	if (!p)
		return set_err(c, GA_EINVAL, "no command with id %u (never started, or already waited for)",
			       id);
	while (!p->done) {
		rc = pump(c, deadline);
		if (rc == GA_ETIMEOUT)
			return set_err(c, GA_ETIMEOUT, "timeout after %d ms waiting for EXIT of id %u%s%s",
				       timeout_ms, id, p->r.started ? "" : " (no STARTED either)",
				       garbage_suffix(c, sfx, sizeof(sfx)));
		if (rc)
			break; /* gone: p is done too (fail_all_pending) */
	}
	int refused = p->refused, gone = p->gone;

	take_result(c, p, r);
	if (refused)
		return set_err(c, GA_EAGENT, "the agent refused command %u: %s", id,
			       r->error ? r->error : "?");
	if (gone)
		return set_err(c, GA_EGONE, "command %u: %s", id, r->error ? r->error : "agent gone");
	return GA_OK;
}

int ga_kill(ga_client *c, uint32_t id, int sig)
{
	uint8_t pl[10];

	if (!find_pending(c, id))
		return set_err(c, GA_EINVAL, "no command with id %u", id);
	ga_put_u16(pl, GA_T_SIGNAL);
	ga_put_u32(pl + 2, 4);
	ga_put_u32(pl + 6, (uint32_t)(sig ? sig : SIGKILL));
	return send_frame(c, GA_MSG_KILL, id, pl, sizeof(pl));
}

int ga_run_cmd(ga_client *c, const ga_cmd *cmd, int wait_ms, ga_result *r)
{
	uint32_t id;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ga_start_cmd(c, cmd, &id);
	if (rc)
		return rc;
	return ga_wait_or_kill(c, id, wait_ms, r);
}

int ga_wait_or_kill(ga_client *c, uint32_t id, int wait_ms, ga_result *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ga_wait(c, id, wait_ms, r);
	if (rc == GA_ETIMEOUT) {
		char saved[sizeof(c->err)];
		struct pending *p;

		memcpy(saved, c->err, sizeof(saved));
		tline(c, "! host bound of %d ms passed for id %u: SIGKILL", wait_ms, id);
		if (ga_kill(c, id, SIGKILL) == GA_OK && ga_wait(c, id, 3000, r) == GA_OK) {
			/* r holds the post-mortem; still report the host timeout */
		} else if ((p = find_pending(c, id)) != NULL) {
			take_result(c, p, r); /* partial output */
		}
		memcpy(c->err, saved, sizeof(saved));
		return GA_ETIMEOUT;
	}
	return rc;
}

int ga_run(ga_client *c, const char *shell_cmd, uint32_t timeout_ms, ga_result *r)
{
	ga_cmd cmd = { .shell = shell_cmd, .timeout_ms = timeout_ms };
	int wait_ms = timeout_ms ? (int)(timeout_ms + GA_DEFAULT_KILL_GRACE_MS + 30000)
				 : 24 * 3600 * 1000;

	return ga_run_cmd(c, &cmd, wait_ms, r);
}

/* ---- results --------------------------------------------------------------------------------- */
int ga_result_ok(const ga_result *r)
{
	return r->exited && !r->timed_out && r->exit_kind == GA_EXIT_CODE && r->exit_code == 0;
}

const char *ga_result_describe(const ga_result *r, char *buf, size_t len)
{
	char what[128];

	if (!r->exited)
		snprintf(what, sizeof(what), "no exit status%s%s", r->error ? ": " : "",
			 r->error ? r->error : "");
	else if (r->exit_kind == GA_EXIT_SIGNAL)
		snprintf(what, sizeof(what), "killed by signal %d", r->signal);
	else if (r->exit_kind == GA_EXIT_UNREAPED)
		snprintf(what, sizeof(what), "did not die after SIGKILL");
	else if (r->exit_kind == GA_EXIT_EXEC)
		snprintf(what, sizeof(what), "could not start: %s", r->error ? r->error : "?");
	else
		snprintf(what, sizeof(what), "exit %d", r->exit_code);
	snprintf(buf, len, "%s%s in %.1f ms (guest) / %.1f ms (host), stdout %zu B%s, stderr %zu B%s",
		 what, r->timed_out ? " (timed out)" : "", r->duration_ms, r->wall_ms, r->out_len,
		 r->out_dropped ? " (truncated)" : "", r->err_len, r->err_dropped ? " (truncated)" : "");
	return buf;
}

void ga_result_free(ga_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	free(r->error);
	r->out = r->err = r->error = NULL;
}
