/* SPDX-License-Identifier: MIT */
/*
 * Host side of the Gauntlet guest agent (harness/agent/gauntlet-agent.c):
 * connect to the agent's transport (the QEMU chardev unix socket of the
 * guest's second UART), wait for it, run commands with deadlines.
 *
 * Every call that waits takes a bound in milliseconds and returns GA_ETIMEOUT
 * when it passes; nothing blocks forever.  One ga_client is not thread-safe:
 * use it from one thread (background workloads are ga_start + ga_wait).
 *
 *   ga_client *c = ga_new();
 *   ga_set_transcript_file(c, f);               // optional artifact
 *   if (ga_connect_unix(c, "agent.sock", 5000) || ga_wait_ready(c, 60000))
 *       fprintf(stderr, "%s\n", ga_last_error(c));
 *   ga_result r;
 *   if (ga_run(c, "uname -r", 10000, &r) == GA_OK && ga_result_ok(&r))
 *       printf("%s", r.out);
 *   ga_result_free(&r);
 *   ga_close(c);
 *
 * The wire protocol is harness/agent/agent_proto.h.
 */
#ifndef GAUNTLET_AGENT_CLIENT_H
#define GAUNTLET_AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes (negative = error; ga_last_error() has the details). */
enum ga_status {
	GA_OK = 0,
	GA_ETIMEOUT = -1,  /* the bound passed (the command may still run) */
	GA_EGONE = -2,     /* transport closed, or the agent restarted (READY) */
	GA_EPROTO = -3,    /* unexpected/garbled data from the agent */
	GA_EAGENT = -4,    /* the agent refused the request (ERROR message) */
	GA_EINVAL = -5,    /* bad arguments, unknown id */
	GA_ESYS = -6,      /* a host system call failed */
};

typedef struct ga_client ga_client;

/* A command to run.  Exactly one of argv (NULL-terminated) or shell
 * (/bin/sh -c). */
typedef struct ga_cmd {
	const char *const *argv;
	const char *shell;
	const char *const *env;     /* NULL-terminated "K=V" additions, or NULL */
	const char *cwd;            /* or NULL */
	const void *stdin_data;     /* bytes for the command's stdin (else EOF) */
	size_t stdin_len;
	uint32_t timeout_ms;        /* agent-side deadline; 0 = none */
	uint32_t kill_grace_ms;     /* SIGTERM -> SIGKILL; 0 = default 2000 */
	uint32_t output_limit;      /* bytes kept per stream; 0 = default 1 MiB */
	uint32_t after;             /* start once this command (an id of this
	                             * client) has ended; 0 = at once.  Needs
	                             * an agent with GA_FEAT_AFTER, else
	                             * GA_EINVAL: see ga_agent_features() */
	int if_ok;                  /* with after: only if that one succeeded;
	                             * else this one and all queued after it
	                             * are cancelled (GA_EAGENT, r->error
	                             * starts with GA_CANCELLED) */
} ga_cmd;

typedef struct ga_result {
	uint32_t id;
	int started;          /* STARTED received (pid valid) */
	int pid;
	int exited;           /* EXIT received: the fields below are valid */
	int exit_kind;        /* GA_EXIT_CODE/SIGNAL/UNREAPED/EXEC (agent_proto.h) */
	int exit_code;        /* GA_EXIT_CODE / GA_EXIT_EXEC (127) */
	int signal;           /* GA_EXIT_SIGNAL */
	int timed_out;        /* the agent's deadline fired (SIGTERM/SIGKILL) */
	double duration_ms;   /* fork to reap, measured in the guest */
	double wall_ms;       /* request sent (a queued command: the one it was
	                       * queued after ended) to EXIT received, on the host */
	char *out, *err;      /* output, NUL-terminated (may hold NULs: use _len) */
	size_t out_len, err_len;
	uint64_t out_total, err_total;     /* bytes the command produced */
	uint64_t out_dropped, err_dropped; /* not kept (agent limit + host limit) */
	char *error;          /* the agent's ERROR message for this id, or NULL */
} ga_result;

ga_client *ga_new(void);
/* Close the transport and free everything (pending results too). */
void ga_close(ga_client *c);

/* Connect to a unix socket, retrying until it accepts or timeout_ms passes
 * (QEMU creates it at start-up). */
int ga_connect_unix(ga_client *c, const char *path, int timeout_ms);
/* Use an open bidirectional descriptor (socketpair, pty master); the client
 * owns it afterwards. */
int ga_attach_fd(ga_client *c, int fd);

/* Wait until the agent answers: sends HELLO every 500 ms until HELLO_ACK (or a
 * READY banner) arrives; checks the protocol version.  The guest's kernel
 * release is then in ga_agent_uname(). */
int ga_wait_ready(ga_client *c, int timeout_ms);
const char *ga_agent_uname(const ga_client *c);
int ga_agent_pid(const ga_client *c);
/* GA_FEAT_* (agent_proto.h) the agent announced; 0 before it answered. */
uint32_t ga_agent_features(const ga_client *c);

/* One PING/PONG; *rtt_ms (optional) gets the round trip. */
int ga_ping(ga_client *c, int timeout_ms, double *rtt_ms);

/* Synchronous run of a shell command (/bin/sh -c): the agent kills it at
 * timeout_ms (0 = no agent deadline); the host waits at most timeout_ms +
 * the kill grace + 30 s, as output crosses a ~100 KiB/s UART (24 h when
 * timeout_ms is 0 -- use ga_run_cmd with a wait bound instead).  GA_OK means an EXIT arrived: check r->timed_out,
 * r->exit_kind, r->exit_code (ga_result_ok()).  On GA_ETIMEOUT the command
 * is sent SIGKILL.  *r must be freed with ga_result_free() in every case. */
int ga_run(ga_client *c, const char *shell_cmd, uint32_t timeout_ms, ga_result *r);
int ga_run_cmd(ga_client *c, const ga_cmd *cmd, int wait_ms, ga_result *r);
/* ga_run_cmd's wait for a started command: at most wait_ms, then SIGKILL
 * and 3 s for its post-mortem (partial output), GA_ETIMEOUT. */
int ga_wait_or_kill(ga_client *c, uint32_t id, int wait_ms, ga_result *r);

/* Background: start, then wait (bounded, repeatable) and/or kill.
 * Commands in order with one round trip: start each with .after = the id
 * of the one before it, then wait for each in turn (its bound counted from
 * the previous one's end). */
int ga_start(ga_client *c, const char *shell_cmd, uint32_t timeout_ms, uint32_t *id);
int ga_start_cmd(ga_client *c, const ga_cmd *cmd, uint32_t *id);
/* GA_OK with *r filled once the command's EXIT arrived (the id is then
 * forgotten); GA_ETIMEOUT if not yet (r untouched, wait again or kill);
 * GA_EAGENT if the agent refused the RUN (r->error says why). */
int ga_wait(ga_client *c, uint32_t id, int timeout_ms, ga_result *r);
/* Signal the command's process group (sig 0 = SIGKILL). */
int ga_kill(ga_client *c, uint32_t id, int sig);
/* Read and dispatch whatever arrives for up to timeout_ms (keeps background
 * output flowing while the caller does something else). */
int ga_poll(ga_client *c, int timeout_ms);

/* Host-side cap on kept output per stream (default 16 MiB). */
void ga_set_output_limit(ga_client *c, size_t bytes);

/* fn(opaque) != 0 once the machine behind the link has ended although the
 * link stays open (QEMU stopped at the guest's reset keeps its chardevs):
 * every wait then ends within GA_ENDED_POLL_MS as if the link had closed
 * (GA_EGONE, pending commands failed).  NULL: only the link's end counts. */
#define GA_ENDED_POLL_MS 250
void ga_set_ended_cb(ga_client *c, int (*fn)(void *opaque), void *opaque);

/* Transcript: one line per message sent (">") or received ("<"), and per
 * event ("!": garbage skipped, timeouts, errors), with a UTC wall-clock
 * timestamp and the seconds since ga_new().  Either or both. */
typedef void (*ga_transcript_fn)(void *opaque, const char *line);
void ga_set_transcript_file(ga_client *c, FILE *f);
void ga_set_transcript_cb(ga_client *c, ga_transcript_fn fn, void *opaque);

/* The last error, e.g. "timeout after 5000 ms waiting for EXIT of id 3". */
const char *ga_last_error(const ga_client *c);
const char *ga_status_name(int status);

/* exited with code 0, not timed out */
int ga_result_ok(const ga_result *r);
/* A one-line description: "exit 0 in 12.3 ms", "killed by signal 9 (timed
 * out) ..." into buf. */
const char *ga_result_describe(const ga_result *r, char *buf, size_t len);
void ga_result_free(ga_result *r);

#ifdef __cplusplus
}
#endif
#endif /* GAUNTLET_AGENT_CLIENT_H */
