// SPDX-License-Identifier: MIT
/*
 * harness.agent_proto: the guest agent against the host client, on the host,
 * without a VM: once over a socketpair (--fd) and once over a pty in raw mode
 * (the agent's termios path, like /dev/ttyS1 in the guest).
 *
 *   test_agent_proto PATH/TO/gauntlet-agent [TRANSCRIPT]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"
#include "agent_proto.h"
#include "agent_test.h"

static const char *agent_path;
static FILE *transcript;


/* Zombie children of pid (state Z, ppid == pid). */
static int count_zombies(pid_t ppid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], buf[512];
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *rp = strrchr(buf, ')');
			char st;
			int pp;

			if (rp && sscanf(rp + 2, "%c %d", &st, &pp) == 2 && pp == ppid && st == 'Z')
				n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static void raw_frame(int fd, uint8_t type, uint32_t id, const void *pl, uint32_t len)
{
	uint8_t hdr[GA_HDR_SIZE];

	ga_frame_header(hdr, type, id, pl, len);
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    (len && write(fd, pl, len) != (ssize_t)len))
		perror("raw_frame write");
}

/* Commands queued AFTER one another (GA_FEAT_AFTER): sent at once, they
 * run in order, each with its own deadline, output and EXIT. */
static void chain_suite(ga_client *c)
{
	char dir[] = "/tmp/agent-chain-XXXXXX", cmdline[512];
	ga_result r;
	uint32_t id[4];
	int rc;

	CHECK(ga_agent_features(c) & GA_FEAT_AFTER, "features 0x%x",
	      ga_agent_features(c));
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}

	/* order: the second sees what the first wrote after its sleep; the
	 * control without AFTER runs at once and does not */
	{
		ga_cmd a = { .shell = cmdline, .timeout_ms = 20000 };
		ga_cmd ctl = { .shell = NULL, .timeout_ms = 20000 };
		char ctlcmd[600], bcmd[600];

		snprintf(cmdline, sizeof(cmdline), "sleep 0.5; echo first > %s/f", dir);
		snprintf(ctlcmd, sizeof(ctlcmd), "cat %s/f 2>/dev/null || echo none", dir);
		snprintf(bcmd, sizeof(bcmd), "cat %s/f; exit 4", dir);
		rc = ga_start_cmd(c, &a, &id[0]);
		CHECK(rc == GA_OK, "start a: %s", ga_last_error(c));
		ctl.shell = ctlcmd;
		rc = ga_start_cmd(c, &ctl, &id[3]);
		ga_cmd b = { .shell = bcmd, .timeout_ms = 20000, .after = id[0] };

		rc |= ga_start_cmd(c, &b, &id[1]);
		ga_cmd d = { .shell = "echo third", .timeout_ms = 20000, .after = id[1] };

		rc |= ga_start_cmd(c, &d, &id[2]);
		CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
		rc = ga_wait(c, id[3], 20000, &r);
		CHECK(rc == GA_OK && !strcmp(r.out, "none\n"), "control: rc %d out '%s'", rc,
		      r.out);
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, id[0], 20000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r), "first: rc %d", rc);
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, id[1], 20000, &r);
		CHECK(rc == GA_OK && r.exit_code == 4 && !strcmp(r.out, "first\n"),
		      "second: rc %d code %d out '%s'", rc, r.exit_code, r.out);
		CHECK(r.wall_ms < 400, "second: wall %.0f ms counts from the first's end",
		      r.wall_ms);
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, id[2], 20000, &r);
		CHECK(rc == GA_OK && !strcmp(r.out, "third\n"), "third: rc %d out '%s'", rc,
		      r.out);
		ga_result_free(&r);
	}

	/* a queued command's deadline counts from its own start */
	{
		ga_cmd a = { .shell = "sleep 0.6", .timeout_ms = 20000 };

		rc = ga_start_cmd(c, &a, &id[0]);
		ga_cmd b = { .shell = "sleep 0.1; echo in-time", .timeout_ms = 400,
			     .after = id[0] };

		rc |= ga_start_cmd(c, &b, &id[1]);
		ga_cmd t = { .shell = "sleep 30", .timeout_ms = 300, .kill_grace_ms = 200,
			     .after = id[1] };

		rc |= ga_start_cmd(c, &t, &id[2]);
		CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
		rc = ga_wait_or_kill(c, id[0], 20000, &r);
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, id[1], 20000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r) && !strcmp(r.out, "in-time\n"),
		      "rc %d timed out %d out '%s'", rc, r.timed_out, r.out);
		ga_result_free(&r);
		/* and a hung one in the list is still ended at its deadline */
		rc = ga_wait_or_kill(c, id[2], 20000, &r);
		CHECK(rc == GA_OK && r.timed_out && r.duration_ms < 5000,
		      "hung: rc %d timed out %d %.0f ms", rc, r.timed_out, r.duration_ms);
		ga_result_free(&r);
	}

	/* a queued command killed before it starts is dropped (a refusal),
	 * and one refused when its turn comes: the list goes on after both */
	{
		const char *env[] = { "NOEQUALS", NULL };
		ga_cmd a = { .shell = "sleep 0.5", .timeout_ms = 20000 };

		rc = ga_start_cmd(c, &a, &id[0]);
		ga_cmd b = { .shell = "echo never", .timeout_ms = 20000, .after = id[0] };

		rc |= ga_start_cmd(c, &b, &id[1]);
		ga_cmd bad = { .shell = "echo never", .env = env, .timeout_ms = 20000,
			       .after = id[1] };

		rc |= ga_start_cmd(c, &bad, &id[2]);
		ga_cmd d = { .shell = "echo last", .timeout_ms = 20000, .after = id[2] };

		rc |= ga_start_cmd(c, &d, &id[3]);
		CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
		rc = ga_kill(c, id[1], SIGKILL);
		CHECK(rc == GA_OK, "kill: %s", ga_last_error(c));
		rc = ga_wait(c, id[1], 5000, &r);
		CHECK(rc == GA_EAGENT && r.error && strstr(r.error, "queued") && !r.out_len,
		      "dropped: rc %d: %s", rc, ga_last_error(c));
		ga_result_free(&r);
		rc = ga_wait(c, id[2], 5000, &r);
		CHECK(rc == GA_EAGENT && r.error && strstr(r.error, "K=V"), "refused: rc %d: %s",
		      rc, ga_last_error(c));
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, id[3], 20000, &r);
		CHECK(rc == GA_OK && !strcmp(r.out, "last\n"), "last: rc %d out '%s'", rc, r.out);
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, id[0], 20000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r), "first: rc %d", rc);
		ga_result_free(&r);
	}
	/* IF_OK: a gate that fails cancels the gated command and everything
	 * queued after it; one that succeeds lets it run; also when the gate
	 * ended before the RUN arrived (the agent remembers outcomes) */
	{
		ga_cmd gate = { .shell = "sleep 0.3; exit 1", .timeout_ms = 20000 };
		uint32_t g, more[3];

		rc = ga_start_cmd(c, &gate, &g);
		ga_cmd x = { .shell = "echo never", .timeout_ms = 20000, .after = g,
			     .if_ok = 1 };

		rc |= ga_start_cmd(c, &x, &more[0]);
		ga_cmd y = { .shell = "echo never", .timeout_ms = 20000, .after = more[0] };

		rc |= ga_start_cmd(c, &y, &more[1]);
		ga_cmd z = { .shell = "echo never", .timeout_ms = 20000, .after = more[1] };

		rc |= ga_start_cmd(c, &z, &more[2]);
		CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
		rc = ga_wait_or_kill(c, g, 20000, &r);
		CHECK(rc == GA_OK && r.exit_code == 1, "gate: rc %d code %d", rc, r.exit_code);
		ga_result_free(&r);
		for (int i = 0; i < 3; i++) {
			rc = ga_wait(c, more[i], 5000, &r);
			CHECK(rc == GA_EAGENT && r.error && !strncmp(r.error, GA_CANCELLED,
								   strlen(GA_CANCELLED)) && !r.out_len,
			      "cancelled %d: rc %d: %s", i, rc, ga_last_error(c));
			ga_result_free(&r);
		}

		ga_cmd okgate = { .shell = "sleep 0.3", .timeout_ms = 20000 };

		rc = ga_start_cmd(c, &okgate, &g);
		ga_cmd w = { .shell = "echo gated", .timeout_ms = 20000, .after = g,
			     .if_ok = 1 };

		rc |= ga_start_cmd(c, &w, &more[0]);
		CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
		rc = ga_wait_or_kill(c, g, 20000, &r);
		ga_result_free(&r);
		rc = ga_wait_or_kill(c, more[0], 20000, &r);
		CHECK(rc == GA_OK && !strcmp(r.out, "gated\n"), "open gate: rc %d out '%s'", rc,
		      r.out);
		ga_result_free(&r);

		/* the gate has ended before the gated RUN is sent */
		for (int code = 0; code < 2; code++) {
			ga_cmd early = { .shell = code ? "exit 2" : "true", .timeout_ms = 20000 };

			rc = ga_run_cmd(c, &early, 20000, &r);
			uint32_t eid = r.id;

			ga_result_free(&r);
			ga_cmd late = { .shell = "echo late", .timeout_ms = 20000,
					.after = eid, .if_ok = 1 };

			rc = ga_start_cmd(c, &late, &more[0]);
			rc = ga_wait_or_kill(c, more[0], 20000, &r);
			if (code)
				CHECK(rc == GA_EAGENT && r.error &&
				      !strncmp(r.error, GA_CANCELLED, strlen(GA_CANCELLED)),
				      "late after a failure: rc %d: %s", rc, ga_last_error(c));
			else
				CHECK(rc == GA_OK && !strcmp(r.out, "late\n"),
				      "late after a success: rc %d out '%s'", rc, r.out);
			ga_result_free(&r);
		}
	}

	/* ENV_KEEP: the variables go once, later RUNs say ENV_KEPT (a few
	 * bytes) and their commands still see them; another set is sent and
	 * kept anew; an agent restart forgets (READY: the client resends) */
	if (ga_agent_features(c) & GA_FEAT_ENV_KEEP) {
		const char *e1[] = { "GA_A=one", "GA_B=two words", NULL };
		const char *e2[] = { "GA_A=other", NULL };
		const char *want[] = { "one:two words\n", "one:two words\n", "other:\n",
				       "one:two words\n" };
		const char *const *envs[] = { e1, e1, e2, e1 };

		for (int i = 0; i < 4; i++) {
			ga_cmd e = { .shell = "echo \"$GA_A:$GA_B\"", .env = envs[i],
				     .timeout_ms = 20000 };

			rc = ga_run_cmd(c, &e, 20000, &r);
			CHECK(rc == GA_OK && !strcmp(r.out, want[i]), "env %d: rc %d out '%s'", i,
			      rc, r.out);
			ga_result_free(&r);
		}
		/* queued RUNs count on the kept set from when the first arrived */
		{
			ga_cmd a = { .shell = "sleep 0.3", .env = e2, .timeout_ms = 20000 };
			uint32_t q1, q2;

			rc = ga_start_cmd(c, &a, &q1);
			ga_cmd b = { .shell = "echo \"$GA_A\"", .env = e2, .timeout_ms = 20000,
				     .after = q1 };

			rc |= ga_start_cmd(c, &b, &q2);
			CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
			rc = ga_wait_or_kill(c, q1, 20000, &r);
			ga_result_free(&r);
			rc = ga_wait_or_kill(c, q2, 20000, &r);
			CHECK(rc == GA_OK && !strcmp(r.out, "other\n"), "queued, kept env: rc %d "
			      "out '%s'", rc, r.out);
			ga_result_free(&r);
		}
	} else {
		CHECK(0, "the agent does not announce GA_FEAT_ENV_KEEP (0x%x)",
		      ga_agent_features(c));
	}

	snprintf(cmdline, sizeof(cmdline), "rm -rf %s", dir);
	if (system(cmdline) != 0)
		printf("     could not remove %s\n", dir);
}

static void full_suite(ga_client *c, int rawfd, pid_t agent_pid)
{
	ga_result r;
	int rc;
	double rtt = 0, t0;

	rc = ga_ping(c, 2000, &rtt);
	CHECK(rc == GA_OK, "ping: %s", ga_last_error(c));
	printf("     ping rtt %.3f ms\n", rtt);

	/* exit code, stdout, stderr */
	rc = ga_run(c, "echo hello; echo oops >&2; exit 3", 60000, &r);
	CHECK(rc == GA_OK && r.exited && r.exit_kind == GA_EXIT_CODE && r.exit_code == 3,
	      "rc %d code %d: %s", rc, r.exit_code, ga_last_error(c));
	CHECK(!strcmp(r.out, "hello\n") && !strcmp(r.err, "oops\n"), "out '%s' err '%s'", r.out,
	      r.err);
	show("exit 3", &r);
	ga_result_free(&r);

	/* trivial round trip */
	double best = 1e9, sum = 0;

	for (int i = 0; i < 20; i++) {
		rc = ga_run(c, "true", 60000, &r);
		if (rc == GA_OK) {
			sum += r.wall_ms;
			if (r.wall_ms < best)
				best = r.wall_ms;
		}
		ga_result_free(&r);
	}
	printf("     trivial command round trip: best %.2f ms, mean %.2f ms\n", best, sum / 20);

	/* argv + env + cwd */
	{
		const char *argv[] = { "sh", "-c", "echo \"$FOO:$(pwd)\"", NULL };
		const char *env[] = { "FOO=bar baz", NULL };
		/* generous bounds: this checks argv, env and cwd, not speed (a
		 * loaded CI host took over 5 s for this shell once) */
		ga_cmd cmd = { .argv = argv, .env = env, .cwd = "/tmp", .timeout_ms = 60000 };

		rc = ga_run_cmd(c, &cmd, 90000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r) && !strcmp(r.out, "bar baz:/tmp\n"),
		      "rc %d exit kind %d code %d timed out %d out '%s'", rc,
		      r.exit_kind, r.exit_code, r.timed_out, r.out);
		ga_result_free(&r);
	}

	/* stdin */
	{
		const char *argv[] = { "cat", NULL };
		ga_cmd cmd = { .argv = argv, .stdin_data = "abc\0def", .stdin_len = 7,
			       .timeout_ms = 60000 };

		rc = ga_run_cmd(c, &cmd, 10000, &r);
		CHECK(rc == GA_OK && r.out_len == 7 && !memcmp(r.out, "abc\0def", 7),
		      "rc %d len %zu", rc, r.out_len);
		ga_result_free(&r);
	}

	/* binary-safe output */
	rc = ga_run(c, "printf 'a\\000b\\377\\033[0m\\r\\n'", 60000, &r);
	CHECK(rc == GA_OK && r.out_len == 10 && !memcmp(r.out, "a\0b\377\033[0m\r\n", 10),
	      "len %zu", r.out_len);
	ga_result_free(&r);

	/* deadline: SIGTERM */
	t0 = now_ms();
	rc = ga_run(c, "sleep 30", 300, &r);
	CHECK(rc == GA_OK && r.timed_out && r.exit_kind == GA_EXIT_SIGNAL && r.signal == SIGTERM,
	      "rc %d timed_out %d kind %d sig %d", rc, r.timed_out, r.exit_kind, r.signal);
	CHECK(now_ms() - t0 < 20000, "took %.0f ms", now_ms() - t0);
	show("sleep 30 with timeout 300 ms", &r);
	ga_result_free(&r);

	/* deadline: a group that ignores SIGTERM gets SIGKILL after the grace */
	{
		ga_cmd cmd = { .shell = "trap '' TERM; sleep 30; echo not-reached",
			       .timeout_ms = 200, .kill_grace_ms = 300 };

		t0 = now_ms();
		rc = ga_run_cmd(c, &cmd, 60000, &r);
		CHECK(rc == GA_OK && r.timed_out && r.exit_kind == GA_EXIT_SIGNAL &&
		      r.signal == SIGKILL, "rc %d kind %d sig %d", rc, r.exit_kind, r.signal);
		CHECK(now_ms() - t0 < 20000, "took %.0f ms", now_ms() - t0);
		show("TERM-ignoring group", &r);
		ga_result_free(&r);
	}

	/* huge output, capped by the agent */
	{
		ga_cmd cmd = { .shell = "head -c 20000000 /dev/zero; echo tail >&2",
			       .timeout_ms = 30000, .output_limit = 1 << 20 };

		t0 = now_ms();
		rc = ga_run_cmd(c, &cmd, 40000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r) && r.out_len == (1u << 20) &&
		      r.out_total == 20000000 && r.out_dropped == 20000000 - (1u << 20) &&
		      !strcmp(r.err, "tail\n"),
		      "rc %d len %zu total %llu dropped %llu", rc, r.out_len,
		      (unsigned long long)r.out_total, (unsigned long long)r.out_dropped);
		show("20 MB of output, 1 MiB kept", &r);
		ga_result_free(&r);
	}

	/* a slow host: the agent's queue fills (back-pressure), the command exits
	 * with output still in its pipe; nothing may be lost */
	{
		ga_cmd cmd = { .shell = "head -c 3000000 /dev/zero", .timeout_ms = 30000,
			       .output_limit = 4 << 20 };
		uint32_t id;

		rc = ga_start_cmd(c, &cmd, &id);
		usleep(1500000); /* do not read */
		rc = ga_wait(c, id, 30000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r) && r.out_len == 3000000 && !r.out_dropped,
		      "rc %d len %zu total %llu", rc, r.out_len, (unsigned long long)r.out_total);
		ga_result_free(&r);
	}

	/* a child that closes stdout/stderr early */
	rc = ga_run(c, "exec 1>&- 2>&-; sleep 0.2; exit 5", 60000, &r);
	CHECK(rc == GA_OK && r.exit_code == 5, "rc %d code %d", rc, r.exit_code);
	ga_result_free(&r);

	/* a grandchild that keeps the pipe open must not hold the EXIT */
	t0 = now_ms();
	rc = ga_run(c, "sleep 30 & echo started", 60000, &r);
	CHECK(rc == GA_OK && ga_result_ok(&r) && !strcmp(r.out, "started\n") &&
	      now_ms() - t0 < 20000, "rc %d out '%s' %.0f ms", rc, r.out, now_ms() - t0);
	ga_result_free(&r);

	/* exec failure */
	{
		const char *argv[] = { "/nonexistent/prog", NULL };
		ga_cmd cmd = { .argv = argv, .timeout_ms = 60000 };

		rc = ga_run_cmd(c, &cmd, 60000, &r);
		CHECK(rc == GA_OK && r.exit_kind == GA_EXIT_EXEC && r.error &&
		      strstr(r.error, "No such file"), "rc %d kind %d error %s", rc, r.exit_kind,
		      r.error ? r.error : "(none)");
		ga_result_free(&r);
	}

	/* concurrency: three background commands, waited in reverse order */
	{
		uint32_t ids[3];
		char cmdline[64];

		t0 = now_ms();
		for (int i = 0; i < 3; i++) {
			snprintf(cmdline, sizeof(cmdline), "sleep %d; echo job%d", 6 - i, i);
			rc = ga_start(c, cmdline, 60000, &ids[i]);
			CHECK(rc == GA_OK, "start: %s", ga_last_error(c));
		}
		rc = ga_wait(c, ids[0], 50, &r);
		CHECK(rc == GA_ETIMEOUT, "early wait: rc %d", rc);
		printf("     %s\n", ga_last_error(c));
		for (int i = 2; i >= 0; i--) {
			char want[16];

			snprintf(want, sizeof(want), "job%d\n", i);
			rc = ga_wait(c, ids[i], 60000, &r);
			CHECK(rc == GA_OK && !strcmp(r.out, want), "rc %d out '%s'", rc, r.out);
			ga_result_free(&r);
		}
		/* 6 + 5 + 4 s one after the other */
		CHECK(now_ms() - t0 < 12000, "concurrent took %.0f ms", now_ms() - t0);
		rc = ga_wait(c, ids[0], 10, &r);
		CHECK(rc == GA_EINVAL, "second wait: rc %d", rc);
	}

	/* kill */
	{
		uint32_t id;

		rc = ga_start(c, "sleep 30", 0, &id);
		CHECK(rc == GA_OK, "start");
		ga_poll(c, 100);
		rc = ga_kill(c, id, SIGTERM);
		CHECK(rc == GA_OK, "kill: %s", ga_last_error(c));
		rc = ga_wait(c, id, 3000, &r);
		CHECK(rc == GA_OK && r.exit_kind == GA_EXIT_SIGNAL && r.signal == SIGTERM &&
		      !r.timed_out, "rc %d kind %d sig %d", rc, r.exit_kind, r.signal);
		ga_result_free(&r);
	}

	/* host-side bound shorter than the command: ga_run_cmd kills it */
	{
		ga_cmd cmd = { .shell = "echo partial; sleep 30", .timeout_ms = 0 };

		t0 = now_ms();
		rc = ga_run_cmd(c, &cmd, 300, &r);
		CHECK(rc == GA_ETIMEOUT && now_ms() - t0 < 20000 && r.out &&
		      !strcmp(r.out, "partial\n"), "rc %d %.0f ms out '%s'", rc, now_ms() - t0,
		      r.out ? r.out : "(null)");
		printf("     %s\n", ga_last_error(c));
		ga_result_free(&r);
	}

	chain_suite(c);

	if (rawfd >= 0) {
		/* garbage, a bad CRC, an oversized length, a malformed RUN, an unknown
		 * type, a KILL for an unknown id: the agent says ERROR and carries on */
		uint8_t junk[300];
		uint8_t hdr[GA_HDR_SIZE];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		junk[17] = 'G'; junk[18] = 'A'; junk[19] = 'G'; junk[20] = '1';
		if (write(rawfd, junk, sizeof(junk)) < 0)
			perror("write");
		ga_frame_header(hdr, GA_MSG_PING, 77, "xy", 2);
		hdr[16] ^= 1; /* bad CRC */
		if (write(rawfd, hdr, sizeof(hdr)) < 0 || write(rawfd, "xy", 2) < 0)
			perror("write");
		ga_frame_header(hdr, GA_MSG_RUN, 78, NULL, 0);
		ga_put_u32(hdr + 12, 0x7fffffff); /* oversized */
		if (write(rawfd, hdr, sizeof(hdr)) < 0)
			perror("write");
		raw_frame(rawfd, GA_MSG_RUN, 1000, "\x0b\x00\xff\xff\x00\x00", 6); /* overrun */
		raw_frame(rawfd, GA_MSG_RUN, 1001, "", 0);                            /* empty */
		raw_frame(rawfd, 0x55, 1002, "zz", 2);                                /* unknown */
		raw_frame(rawfd, GA_MSG_KILL, 1003, "", 0);                           /* no such id */
		rc = ga_ping(c, 3000, &rtt);
		CHECK(rc == GA_OK, "ping after garbage: %s", ga_last_error(c));
		rc = ga_run(c, "echo still-alive", 60000, &r);
		CHECK(rc == GA_OK && !strcmp(r.out, "still-alive\n"), "rc %d", rc);
		ga_result_free(&r);
		/* a RUN refused by the agent reaches ga_wait as GA_EAGENT */
		{
			const char *env[] = { "NOEQUALS", NULL };
			ga_cmd cmd = { .shell = "true", .env = env };
			uint32_t id;

			rc = ga_start_cmd(c, &cmd, &id);
			rc = ga_wait(c, id, 3000, &r);
			CHECK(rc == GA_EAGENT && r.error && strstr(r.error, "K=V"), "rc %d: %s", rc,
			      ga_last_error(c));
			printf("     %s\n", ga_last_error(c));
			ga_result_free(&r);
		}
	}

	/* no zombies once everything is done (the `sleep 3 &` orphan may live) */
	ga_poll(c, 200);
	CHECK(count_zombies(agent_pid) == 0, "%d zombies", count_zombies(agent_pid));
}

static pid_t spawn_agent(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		perror("exec agent");
		_exit(127);
	}
	return pid;
}

static int wait_agent(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void over_socketpair(void)
{
	int sv[2];
	char fdarg[16];
	ga_client *c = ga_new();
	int rc;

	printf("== socketpair\n");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		exit(1);
	}
	fcntl(sv[1], F_SETFD, 0); /* only the agent's end is inherited */
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	char *argv[] = { (char *)agent_path, "--fd", fdarg, NULL };
	pid_t pid = spawn_agent(argv);

	close(sv[1]);
	ga_set_transcript_file(c, transcript);
	int rawfd = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);

	ga_attach_fd(c, sv[0]);
	rc = ga_wait_ready(c, 5000);
	CHECK(rc == GA_OK && ga_agent_pid(c) == pid && ga_agent_uname(c)[0],
	      "ready: %s (pid %d)", ga_last_error(c), ga_agent_pid(c));
	full_suite(c, rawfd, pid);
	close(rawfd);
	ga_close(c);
	int st = wait_agent(pid, 3000);

	CHECK(st == 0, "agent did not exit cleanly when the host closed (status %d)", st);
}

static void over_pty(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios tio;
	ga_client *c = ga_new();
	ga_result r;
	int rc;

	printf("== pty\n");
	if (m < 0 || grantpt(m) || unlockpt(m)) {
		perror("pty");
		exit(1);
	}
	tcgetattr(m, &tio);
	cfmakeraw(&tio);
	tcsetattr(m, TCSANOW, &tio);
	char *argv[] = { (char *)agent_path, "-d", ptsname(m), NULL };
	pid_t pid = spawn_agent(argv);

	ga_set_transcript_file(c, transcript);
	ga_attach_fd(c, m);
	rc = ga_wait_ready(c, 5000);
	CHECK(rc == GA_OK, "ready over pty: %s", ga_last_error(c));
	rc = ga_run(c, "printf 'a\\000b\\377\\021\\023\\r\\n'", 60000, &r);
	CHECK(rc == GA_OK && r.out_len == 8 && !memcmp(r.out, "a\0b\377\021\023\r\n", 8),
	      "binary over the pty: rc %d len %zu", rc, r.out_len);
	ga_result_free(&r);
	{
		ga_cmd cmd = { .shell = "head -c 3000000 /dev/urandom | od -An -tx1 | tail -c 100000; echo",
			       .timeout_ms = 30000, .output_limit = 2 << 20 };

		rc = ga_run_cmd(c, &cmd, 40000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r) && r.out_len == 100001, "rc %d len %zu", rc,
		      r.out_len);
		ga_result_free(&r);
	}
	full_suite(c, -1, pid);
	ga_close(c);
	kill(pid, SIGTERM);
	wait_agent(pid, 3000);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s GAUNTLET-AGENT [TRANSCRIPT]\n", argv[0]);
		return 2;
	}
	agent_path = argv[1];
	transcript = fopen(argc > 2 ? argv[2] : "agent_proto-transcript.txt", "w");
	signal(SIGPIPE, SIG_IGN);
	alarm(240); /* the whole test is bounded */
	over_socketpair();
	over_pty();
	if (transcript)
		fclose(transcript);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
