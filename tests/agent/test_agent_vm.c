// SPDX-License-Identifier: MIT
/*
 * harness.agent: boot the real guest (our QEMU, the pinned Debian kernel, an
 * initramfs with gauntlet-agent and its init hook) and drive it through the
 * host client over the second UART.
 *
 *   test_agent_vm --qemu QEMU --kernel VMLINUZ --initrd IMAGE --workdir DIR
 *                 [--qemu-args "ARGS"] [--accel tcg|kvm]
 *                 [--expect-release R | --expect-release-file GUEST/kernel-version]
 *
 * QEMU wiring (what a runner needs; the console stays on ttyS0):
 *   -serial file:serial.log
 *   -chardev socket,id=agent,path=DIR/agent.sock,server=on,wait=off
 *   -device isa-serial,chardev=agent,index=1          (guest /dev/ttyS1)
 * Artifacts in DIR: serial.log, qemu.log, agent-transcript.txt, disk.img.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"
#include "agent_proto.h"
#include "agent_test.h"

static pid_t qemu_pid;

static void stop_qemu(void)
{
	int st;

	if (qemu_pid <= 0)
		return;
	for (int i = 0; i < 100; i++) {
		if (waitpid(qemu_pid, &st, WNOHANG) == qemu_pid) {
			qemu_pid = 0;
			return;
		}
		if (i == 30)
			kill(qemu_pid, SIGTERM);
		usleep(100000);
	}
	kill(qemu_pid, SIGKILL);
	waitpid(qemu_pid, &st, 0);
	qemu_pid = 0;
}

static void on_alarm(int sig)
{
	(void)sig;
	if (qemu_pid > 0)
		kill(qemu_pid, SIGKILL);
	static const char m[] = "FAIL: harness.agent: overall time bound exceeded\n";
	if (write(1, m, sizeof(m) - 1) < 0) { /* nothing */ }
	_exit(1);
}

int main(int argc, char **argv)
{
	const char *qemu = NULL, *kernel = NULL, *initrd = NULL, *workdir = NULL;
	const char *qemu_args = "-L /usr/share/seabios -L /usr/share/qemu";
	const char *accel = "tcg", *expect = NULL;
	char sock[512], serial[600], qlog[512], tpath[512], disk[512], cmdline[4096];
	ga_client *c;
	ga_result r;
	int rc;
	double t0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--qemu")) qemu = argv[i + 1];
		else if (!strcmp(argv[i], "--kernel")) kernel = argv[i + 1];
		else if (!strcmp(argv[i], "--initrd")) initrd = argv[i + 1];
		else if (!strcmp(argv[i], "--workdir")) workdir = argv[i + 1];
		else if (!strcmp(argv[i], "--qemu-args")) qemu_args = argv[i + 1];
		else if (!strcmp(argv[i], "--accel")) accel = argv[i + 1];
		else if (!strcmp(argv[i], "--expect-release")) expect = argv[i + 1];
		else if (!strcmp(argv[i], "--expect-release-file")) {
			/* first line of the guest dir's kernel-version file */
			static char rel[128];
			FILE *f = fopen(argv[i + 1], "r");

			if (f && fgets(rel, sizeof(rel), f)) {
				rel[strcspn(rel, "\n")] = 0;
				expect = rel;
			}
			if (f)
				fclose(f);
		}
		else {
			fprintf(stderr, "unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!qemu || !kernel || !initrd || !workdir) {
		fprintf(stderr, "usage: test_agent_vm --qemu Q --kernel K --initrd I --workdir D "
				"[--qemu-args A] [--accel tcg|kvm] [--expect-release R]\n");
		return 2;
	}
	if (getenv("GAUNTLET_ACCEL") && !strcmp(getenv("GAUNTLET_ACCEL"), "kvm"))
		accel = "kvm";
	mkdir(workdir, 0755);
	snprintf(sock, sizeof(sock), "%s/agent.sock", workdir);
	snprintf(serial, sizeof(serial), "file:%s/serial.log", workdir);
	snprintf(qlog, sizeof(qlog), "%s/qemu.log", workdir);
	snprintf(tpath, sizeof(tpath), "%s/agent-transcript.txt", workdir);
	snprintf(disk, sizeof(disk), "%s/disk.img", workdir);
	unlink(sock);
	{
		int fd = open(disk, O_CREAT | O_TRUNC | O_WRONLY, 0644);

		if (fd < 0 || ftruncate(fd, 64 << 20)) {
			perror(disk);
			return 1;
		}
		close(fd);
	}
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(420);

	/* argv for QEMU: the extra args are split on spaces */
	char *qv[64];
	int qn = 0;
	char *extra = strdup(qemu_args);
	char chardev[600], drive[600], accel_arg[32];

	qv[qn++] = (char *)qemu;
	for (char *tok = strtok(extra, " "); tok && qn < 30; tok = strtok(NULL, " "))
		qv[qn++] = tok;
	snprintf(chardev, sizeof(chardev), "socket,id=agent,path=%s,server=on,wait=off", sock);
	snprintf(drive, sizeof(drive), "file=%s,if=none,format=raw,id=d0,cache=writeback", disk);
	snprintf(accel_arg, sizeof(accel_arg), "%s", accel);
	char *rest[] = {
		"-machine", "q35", "-nodefaults", "-accel", accel_arg, "-m", "512", "-smp", "1",
		"-no-reboot", "-display", "none", "-serial", serial,
		"-chardev", chardev, "-device", "isa-serial,chardev=agent,index=1",
		"-kernel", (char *)kernel, "-initrd", (char *)initrd, "-append",
		"console=ttyS0 panic=-1 gauntlet.run=\"exec sleep 100000\"",
		"-drive", drive, "-device", "kestrel,drive=d0,id=k0", NULL,
	};
	if (!strcmp(accel, "kvm"))
		qv[qn++] = "-cpu", qv[qn++] = "host";
	for (int i = 0; rest[i]; i++)
		qv[qn++] = rest[i];
	qv[qn] = NULL;
	{
		size_t o = 0;

		for (int i = 0; i < qn && o < sizeof(cmdline) - 2; i++)
			o += (size_t)snprintf(cmdline + o, sizeof(cmdline) - o, "%s ", qv[i]);
		printf("qemu: %s\n", cmdline);
	}

	t0 = now_ms();
	qemu_pid = fork();
	if (qemu_pid == 0) {
		int fd = open(qlog, O_CREAT | O_TRUNC | O_WRONLY, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(qemu, qv);
		perror("exec qemu");
		_exit(127);
	}

	FILE *tf = fopen(tpath, "w");

	c = ga_new();
	ga_set_transcript_file(c, tf);
	rc = ga_connect_unix(c, sock, 10000);
	CHECK(rc == GA_OK, "connect: %s", ga_last_error(c));
	if (rc)
		goto out;
	double t_conn = now_ms() - t0;

	rc = ga_wait_ready(c, 180000);
	CHECK(rc == GA_OK, "wait_ready: %s", ga_last_error(c));
	if (rc)
		goto out;
	printf("     agent ready %.0f ms after QEMU start (socket up after %.0f ms), "
	       "agent pid %d, uname %s, accel %s\n", now_ms() - t0, t_conn, ga_agent_pid(c),
	       ga_agent_uname(c), accel);

	/* uname -r */
	rc = ga_run(c, "uname -r", 10000, &r);
	CHECK(rc == GA_OK && ga_result_ok(&r), "uname: %s", ga_last_error(c));
	show("uname -r", &r);
	if (expect) {
		char want[160];

		snprintf(want, sizeof(want), "%s\n", expect);
		CHECK(r.out && !strcmp(r.out, want), "uname -r said '%s'", r.out ? r.out : "");
	}
	printf("     -> %s", r.out ? r.out : "(none)\n");
	ga_result_free(&r);

	/* the driver is loaded */
	rc = ga_run(c, "cat /proc/modules | grep kestrel", 10000, &r);
	CHECK(rc == GA_OK && ga_result_ok(&r) && strstr(r.out, "kestrel "), "modules: rc %d '%s'",
	      rc, r.out ? r.out : "");
	printf("     -> %s", r.out ? r.out : "(none)\n");
	ga_result_free(&r);

	/* round trip of a trivial command, and of PING */
	{
		double best = 1e9, sum = 0, pbest = 1e9, psum = 0, rtt;
		int n = 20;

		for (int i = 0; i < n; i++) {
			rc = ga_run(c, "true", 10000, &r);
			if (rc == GA_OK) {
				sum += r.wall_ms;
				best = r.wall_ms < best ? r.wall_ms : best;
			}
			ga_result_free(&r);
			if (ga_ping(c, 5000, &rtt) == GA_OK) {
				psum += rtt;
				pbest = rtt < pbest ? rtt : pbest;
			}
		}
		printf("     round trip: `true` best %.1f ms mean %.1f ms; PING best %.2f ms mean %.2f ms\n",
		       best, sum / n, pbest, psum / n);
	}

	/* deadline */
	t0 = now_ms();
	rc = ga_run(c, "echo before; sleep 30; echo after", 2000, &r);
	CHECK(rc == GA_OK && r.timed_out && r.exit_kind == GA_EXIT_SIGNAL &&
	      !strcmp(r.out, "before\n"), "rc %d timed_out %d: %s", rc, r.timed_out,
	      ga_last_error(c));
	CHECK(now_ms() - t0 < 6000, "took %.0f ms", now_ms() - t0);
	show("sleep 30 with a 2 s deadline", &r);
	ga_result_free(&r);

	/* background stress, with foreground commands meanwhile */
	{
		uint32_t id;
		double ts = now_ms();

		rc = ga_start(c, "kestrelctl -d /dev/kestrel0 stress --lba 128 --blocks 8192 "
			      "--prefill --threads 2 --qd 16 --duration 5 --verify", 60000, &id);
		CHECK(rc == GA_OK, "start stress: %s", ga_last_error(c));
		double fg_sum = 0;
		int fg_n = 0;

		for (int i = 0; i < 5; i++) {
			rc = ga_run(c, "cat /sys/class/kestrel/kestrel0/dev 2>/dev/null || ls /dev/kestrel0", 10000, &r);
			if (rc == GA_OK && ga_result_ok(&r)) {
				fg_sum += r.wall_ms;
				fg_n++;
			}
			ga_result_free(&r);
		}
		CHECK(fg_n == 5, "foreground commands during stress: %d/5", fg_n);
		printf("     foreground command during stress: mean %.1f ms\n", fg_n ? fg_sum / fg_n : 0);
		rc = ga_wait(c, id, 90000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r), "stress: rc %d %s", rc, ga_last_error(c));
		show("kestrelctl stress --duration 5 --verify (background)", &r);
		printf("     stress output (tail): %s\n",
		       r.out && r.out_len > 300 ? r.out + r.out_len - 300 : r.out ? r.out : "");
		printf("     stress wall %.0f ms\n", now_ms() - ts);
		ga_result_free(&r);
	}

	/* UART throughput: 1 MiB streamed */
	rc = ga_run(c, "head -c 1048576 /dev/urandom", 120000, &r);
	CHECK(rc == GA_OK && ga_result_ok(&r) && r.out_len == 1048576, "1 MiB: rc %d len %zu %s",
	      rc, r.out_len, ga_last_error(c));
	if (rc == GA_OK)
		printf("     1 MiB streamed in %.0f ms = %.0f KiB/s\n", r.wall_ms,
		       1024.0 / (r.wall_ms / 1000.0));
	ga_result_free(&r);

	/* large output: 4 MiB of zeros through od, and 4 MiB raw with a 256 KiB cap */
	rc = ga_run(c, "dd if=/dev/zero bs=1M count=4 2>/dev/null | od", 60000, &r);
	CHECK(rc == GA_OK && ga_result_ok(&r) && strstr(r.out, "20000000"), "od: rc %d '%s'", rc,
	      r.out ? r.out : "");
	show("dd 4 MiB | od", &r);
	ga_result_free(&r);
	{
		ga_cmd cmd = { .shell = "dd if=/dev/zero bs=1M count=4 2>/dev/null; echo done >&2",
			       .timeout_ms = 60000, .output_limit = 256 << 10 };

		rc = ga_run_cmd(c, &cmd, 90000, &r);
		CHECK(rc == GA_OK && ga_result_ok(&r) && r.out_len == (256u << 10) &&
		      r.out_total == (4u << 20) && r.out_dropped == (4u << 20) - (256u << 10) &&
		      !strcmp(r.err, "done\n"), "rc %d len %zu total %llu", rc, r.out_len,
		      (unsigned long long)r.out_total);
		show("4 MiB raw, 256 KiB kept", &r);
		ga_result_free(&r);
	}

	/* the agent is still healthy, no zombies under it */
	rc = ga_run(c, "ps -o pid,ppid,stat,comm | awk '$3 ~ /Z/' ", 10000, &r);
	CHECK(rc == GA_OK && ga_result_ok(&r) && r.out_len == 0, "zombies: '%s'", r.out ? r.out : "");
	ga_result_free(&r);
	rc = ga_run(c, "dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace' || true", 10000, &r);
	CHECK(rc == GA_OK && r.out_len == 0, "kernel warnings: %s", r.out ? r.out : "");
	ga_result_free(&r);

	/* power off: the command never reports; QEMU exits (-no-reboot) */
	{
		uint32_t id;

		ga_start(c, "sync; poweroff -f", 0, &id);
	}
out:
	ga_close(c);
	if (tf)
		fclose(tf);
	stop_qemu();
	printf("transcript: %s\nserial log: %s/serial.log\n", tpath, workdir);
	if (failures) {
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "tail -n 30 %s/serial.log; tail -n 5 %s", workdir, qlog);
		if (system(cmd) < 0) { /* nothing */ }
	}
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
