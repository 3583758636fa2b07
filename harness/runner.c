/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-runner: run scenarios, each in its own VM, and write the
 * reports.  `./gauntlet run` and `./gauntlet shell` call it.
 *
 *   gauntlet-runner [OPTIONS] [SCENARIO.yaml | DIR ...]
 *
 * With no scenario, the default suite (--suite, one path per line) runs.
 * Every scenario file is parsed and checked before any VM starts; one bad
 * file fails the whole run with file:line:col.  Each scenario runs in a
 * child process (-j N at once) with its own VM and artifact folder; the
 * parent prints one progress line per scenario and writes JUnit XML, JSON
 * and TAP.  Exit status: 0 all passed (or skipped), 1 a scenario failed or
 * errored, 2 bad usage or a bad scenario/target file.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"
#include "target.h"
#include "vm.h"
#include "junit.h"
#include "report_html.h"

typedef struct Item {
    char *path;
    GsScenario *s;
    GtTarget *t;
    char *image;                /* the composed guest image (gt_image) */
    char dir[4096];
    pid_t pid;
    double start, end;
    GrStatus status;
    char *reason, *kind;
    bool done, killed;
} Item;

static void usage(FILE *f)
{
    fprintf(f,
"usage: gauntlet-runner [OPTIONS] [SCENARIO.yaml | DIR ...]\n"
"  --qemu PATH            our qemu-system-x86_64 (required)\n"
"  --stock-kernel PATH --stock-initrd PATH  the stock guest kernel and image\n"
"  --debug-kernel PATH --debug-initrd PATH  the debug kernel and its image\n"
"  --kernel-version STR / --debug-kernel-version STR   shown in reports\n"
"  --kernel stock|debug   run every scenario on this kernel (default: the\n"
"                         one each scenario names)\n"
"  --targets DIR, --target-dir DIR   the folder of targets (NAME/target.yaml;\n"
"                         the last one given wins)\n"
"  --target NAME|DIR      run the scenarios against this target instead of\n"
"                         the one they name\n"
"  --default-target NAME  the target of scenarios that name none\n"
"  --stock-modules DIR / --debug-modules DIR   each kernel's lib/modules/<release>\n"
"                         (for targets' guest_kmods)\n"
"  --mkinitramfs PATH     harness/guest/mkinitramfs.sh (composes target images)\n"
"  --image-cache DIR      composed guest images (default: images/ next to the\n"
"                         results folder)\n"
"  --build DIR            Gauntlet's build folder ({build} in target files;\n"
"                         default: $GAUNTLET_BUILD)\n"
"  --suite FILE           the default suite: scenario paths, one per line\n"
"  --host-tool PATH       the host data tool (backing-file verification)\n"
"  --ledger-tool PATH     the write ledger's checker (default: gauntlet-ledger\n"
"                         next to the host data tool)\n"
"  --out DIR              results (default results/<time>); a 'latest'\n"
"                         symlink is kept next to it\n"
"  -j N                   scenarios in parallel, one VM each (default 1)\n"
"  --accel auto|kvm|tcg   (default auto: KVM when usable, else TCG)\n"
"  --seed N               seed of the integrity data (default 1)\n"
"  --repro-prefix STR     how the repro line starts (default './gauntlet run')\n"
"  --known-issues FILE    kernel reports that do not fail a scenario: one\n"
"                         extended regex per line on a report's signature\n"
"                         (blank lines and # comments ignored)\n"
"  --snapshot             fast reset: scenarios that start with boot + load\n"
"                         restore a VM saved after the same boot and load\n"
"                         (the first such scenario saves it) instead of\n"
"                         booting (docs/scenarios.md, \"Fast reset\")\n"
"  --snapshot-dir DIR     where snapshots live (default: snapshots/ next to\n"
"                         the results folder); delete it to start afresh\n"
"  --snapshot-ram file|stream   how a snapshot keeps guest RAM: a file the\n"
"                         restore maps copy-on-write (default), or in the\n"
"                         migration stream (the slower layout before it)\n"
"  --list                 check and list the scenarios, run nothing\n"
"  --shell                boot the first scenario's VM with the console on\n"
"                         this terminal (gauntlet shell)\n");
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");

    if (!d) {
        abort();
    }
    return d;
}

/* The known-issues file: one ERE per line, matched against a kernel-log
 * finding's signature ("LOCKDEP: ... in func") or header line; '#' starts
 * a comment line.  Every regex is compiled here, so a bad one stops the
 * run before any VM with file:line. */
static int read_known_issues(const char *path, GrConfig *cfg)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, **v = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    unsigned no = 0;

    if (!f) {
        fprintf(stderr, "gauntlet: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        regex_t re;
        int rc;

        no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ')) {
            line[--len] = 0;
        }
        if (!len || line[0] == '#') {
            continue;
        }
        rc = regcomp(&re, line, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char msg[256];

            regerror(rc, &re, msg, sizeof(msg));
            fprintf(stderr, "%s:%u: bad regex: %s\n", path, no, msg);
            fclose(f);
            free(line);
            return -1;
        }
        regfree(&re);
        v = realloc(v, sizeof(*v) * (n + 1));
        if (!v) {
            abort();
        }
        v[n++] = xstrdup(line);
    }
    free(line);
    fclose(f);
    cfg->kernel_allow = (const char *const *)v;
    cfg->n_kernel_allow = n;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory expands to its *.yaml files, sorted. */
static void add_path(char ***v, size_t *n, const char *p)
{
    struct stat sb;

    if (!stat(p, &sb) && S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *e;
        char **tmp = NULL;
        size_t m = 0;

        while (d && (e = readdir(d))) {
            size_t l = strlen(e->d_name);

            if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml")) {
                tmp = realloc(tmp, (m + 1) * sizeof(*tmp));
                if (asprintf(&tmp[m++], "%s/%s", p, e->d_name) < 0) {
                    abort();
                }
            }
        }
        if (d) {
            closedir(d);
        }
        qsort(tmp, m, sizeof(*tmp), cmp_str);
        for (size_t i = 0; i < m; i++) {
            *v = realloc(*v, (*n + 1) * sizeof(**v));
            (*v)[(*n)++] = tmp[i];
        }
        free(tmp);
        return;
    }
    *v = realloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(p);
}

static int read_suite(const char *file, char ***v, size_t *n)
{
    FILE *f = fopen(file, "r");
    char line[4096], dir[4096];
    char *slash;

    if (!f) {
        fprintf(stderr, "gauntlet: suite %s: %s\n", file, strerror(errno));
        return -1;
    }
    /* paths in a suite are relative to the repository (the suite's
     * directory's parent's parent: scenarios/suites/x.txt) */
    if (!realpath(file, dir)) {
        fprintf(stderr, "gauntlet: suite %s: %s\n", file, strerror(errno));
        fclose(f);
        return -1;
    }
    for (int i = 0; i < 3 && (slash = strrchr(dir, '/')); i++) {
        *slash = 0;
    }
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *e, full[8300];

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        e = p + strcspn(p, "#\r\n");
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        *e = 0;
        if (!*p) {
            continue;
        }
        if (*p == '/') {
            snprintf(full, sizeof(full), "%s", p);
        } else {
            snprintf(full, sizeof(full), "%s/%s", dir, p);
        }
        add_path(v, n, full);
    }
    fclose(f);
    return 0;
}

/* The path of name beside the results folder out (its sibling), in buf.
 * Returns out's own last component (what a link there points to). */
static const char *beside(const char *out, const char *name, char *buf,
                          size_t len)
{
    static char base[4096];
    char *slash;

    snprintf(base, sizeof(base), "%s", out);
    while (strlen(base) > 1 && base[strlen(base) - 1] == '/') {
        base[strlen(base) - 1] = 0;
    }
    slash = strrchr(base, '/');
    snprintf(buf, len, "%.*s%s", slash ? (int)(slash - base + 1) : 0, base, name);
    return slash ? slash + 1 : base;
}

static bool repro_snapshot;    /* --snapshot: the repro line says so too */

static void repro_line(char *buf, size_t len, const char *prefix, const Item *it,
                       const char *target_override, const char *flavour)
{
    snprintf(buf, len, "%s %s%s%s%s%s%s", prefix, it->path,
             target_override ? " --target " : "", target_override ? target_override : "",
             flavour ? " --kernel " : "", flavour ? flavour : "",
             repro_snapshot ? " --snapshot" : "");
}

static void write_reports(const char *out, Item *items, size_t n, double wall,
                          const char *prefix, const char *target_override,
                          const char *flavour, const char *kver)
{
    char path[4200];
    FILE *f;
    size_t counts[4] = { 0 };
    json_object *root = json_object_new_object(), *arr = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        counts[items[i].status]++;
    }

    /* JSON: the run, then each scenario's own result.json inlined */
    json_object_object_add(root, "tool", json_object_new_string("gauntlet"));
    json_object_object_add(root, "kernel_version", json_object_new_string(kver ? kver : ""));
    json_object_object_add(root, "wall_s", json_object_new_double(wall));
    json_object_object_add(root, "pass", json_object_new_int((int)counts[GR_PASS]));
    json_object_object_add(root, "fail", json_object_new_int((int)counts[GR_FAIL]));
    json_object_object_add(root, "skip", json_object_new_int((int)counts[GR_SKIP]));
    json_object_object_add(root, "error", json_object_new_int((int)counts[GR_ERROR]));
    for (size_t i = 0; i < n; i++) {
        char rp[4200], repro[8600];
        json_object *o;

        snprintf(rp, sizeof(rp), "%s/result.json", items[i].dir);
        o = json_object_from_file(rp);
        if (!o) {
            o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(items[i].s->name));
            json_object_object_add(o, "file", json_object_new_string(items[i].path));
            json_object_object_add(o, "status", json_object_new_string(
                                       gr_status_name(items[i].status)));
            json_object_object_add(o, "reason", json_object_new_string(
                                       items[i].reason ? items[i].reason : ""));
        }
        repro_line(repro, sizeof(repro), prefix, &items[i], target_override, flavour);
        json_object_object_add(o, "repro", json_object_new_string(repro));
        json_object_array_add(arr, o);
    }
    json_object_object_add(root, "scenarios", arr);
    snprintf(path, sizeof(path), "%s/report.json", out);
    json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY);
    json_object_put(root);

    /* JUnit XML */
    snprintf(path, sizeof(path), "%s/junit.xml", out);
    {
        char err[600];
        GjCounts cnt = { (double)n, (double)counts[GR_FAIL], (double)counts[GR_ERROR],
                         (double)counts[GR_SKIP], wall };
        GjWriter *w = gj_open(path, err, sizeof(err));

        if (w) {
            gj_begin(w, "testsuites", "gauntlet", &cnt);
            gj_begin(w, "testsuite", "gauntlet", &cnt);
            for (size_t i = 0; i < n; i++) {
                Item *it = &items[i];
                char repro[8600], classname[300];

                repro_line(repro, sizeof(repro), prefix, it, target_override, flavour);
                snprintf(classname, sizeof(classname), "gauntlet.%s", it->t->name);
                gj_case(w, classname, it->s->name, it->path, it->end - it->start);
                if (it->status != GR_PASS) {
                    const char *tag = it->status == GR_FAIL ? "failure" :
                                      it->status == GR_SKIP ? "skipped" : "error";
                    const char *body[] = { it->reason, "\nrepro: ", repro,
                                           "\nartifacts: ", it->dir, NULL };

                    gj_outcome(w, tag, it->reason, it->kind, body);
                }
                gj_system_out(w, (const char *const[]){ "artifacts: ", it->dir, NULL });
                gj_end(w);
            }
            gj_end(w);
            gj_end(w);
        }
        if (!w || gj_close(w, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-runner: %s: %s\n", path, err);
        }
    }

    /* TAP 13 */
    snprintf(path, sizeof(path), "%s/report.tap", out);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "TAP version 13\n1..%zu\n", n);
        for (size_t i = 0; i < n; i++) {
            Item *it = &items[i];
            char repro[8600];

            repro_line(repro, sizeof(repro), prefix, it, target_override, flavour);
            fprintf(f, "%s %zu - %s%s%s\n",
                    it->status == GR_PASS || it->status == GR_SKIP ? "ok" : "not ok",
                    i + 1, it->s->name, it->status == GR_SKIP ? " # SKIP " : "",
                    it->status == GR_SKIP ? it->reason : "");
            if (it->status == GR_FAIL || it->status == GR_ERROR) {
                fprintf(f, "  ---\n  status: %s\n  reason: \"", gr_status_name(it->status));
                for (const char *p = it->reason; p && *p; p++) {
                    if (*p == '"' || *p == '\\') {
                        fputc('\\', f);
                    }
                    fputc(*p == '\n' ? ' ' : *p, f);
                }
                fprintf(f, "\"\n  repro: \"%s\"\n  artifacts: \"%s\"\n  ...\n",
                        repro, it->dir);
            }
        }
        fclose(f);
    }
}

/* Collect a finished child's result. */
static void collect(Item *it, int wstatus)
{
    char rp[4200];
    json_object *o, *v;

    it->end = gvm_now();
    it->done = true;
    snprintf(rp, sizeof(rp), "%s/result.json", it->dir);
    o = json_object_from_file(rp);
    if (!o) {
        it->status = GR_ERROR;
        it->kind = xstrdup("error");
        if (asprintf(&it->reason, "%s (%s %d) without a result; see %s/steps.log",
                     it->killed ? "killed after overrunning its timeout by 300 s" :
                     "the runner process for this scenario died",
                     WIFSIGNALED(wstatus) ? "signal" : "status",
                     WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) :
                     WEXITSTATUS(wstatus), it->dir) < 0) {
            abort();
        }
        return;
    }
    it->status = GR_ERROR;
    if (json_object_object_get_ex(o, "status", &v)) {
        const char *s = json_object_get_string(v);

        for (int k = GR_PASS; k <= GR_ERROR; k++) {
            if (!strcmp(s, gr_status_name((GrStatus)k))) {
                it->status = (GrStatus)k;
            }
        }
    }
    it->reason = xstrdup(json_object_object_get_ex(o, "reason", &v) ?
                         json_object_get_string(v) : "");
    it->kind = xstrdup(json_object_object_get_ex(o, "kind", &v) ?
                       json_object_get_string(v) : "");
    json_object_put(o);
}

int main(int argc, char **argv)
{
    enum {
        O_QEMU = 256, O_KERNEL, O_INITRD, O_DKERNEL, O_DINITRD, O_KVER, O_DKVER,
        O_FLAVOUR, O_TARGETS, O_TARGET, O_SUITE, O_HOST_TOOL, O_LEDGER_TOOL, O_OUT, O_ACCEL,
        O_SEED, O_LIST, O_SHELL, O_REPRO, O_KNOWN, O_SNAPSHOT, O_SNAPSHOT_DIR,
        O_DEFAULT_TARGET, O_SMODULES, O_DMODULES, O_MKINITRAMFS, O_IMAGE_CACHE,
        O_BUILD, O_SNAPSHOT_RAM,
    };
    static const struct option lopts[] = {
        { "qemu", required_argument, NULL, O_QEMU },
        { "stock-kernel", required_argument, NULL, O_KERNEL },
        { "stock-initrd", required_argument, NULL, O_INITRD },
        { "debug-kernel", required_argument, NULL, O_DKERNEL },
        { "debug-initrd", required_argument, NULL, O_DINITRD },
        { "kernel-version", required_argument, NULL, O_KVER },
        { "debug-kernel-version", required_argument, NULL, O_DKVER },
        { "kernel", required_argument, NULL, O_FLAVOUR },
        { "targets", required_argument, NULL, O_TARGETS },
        { "target-dir", required_argument, NULL, O_TARGETS },
        { "default-target", required_argument, NULL, O_DEFAULT_TARGET },
        { "stock-modules", required_argument, NULL, O_SMODULES },
        { "debug-modules", required_argument, NULL, O_DMODULES },
        { "mkinitramfs", required_argument, NULL, O_MKINITRAMFS },
        { "image-cache", required_argument, NULL, O_IMAGE_CACHE },
        { "build", required_argument, NULL, O_BUILD },
        { "target", required_argument, NULL, O_TARGET },
        { "suite", required_argument, NULL, O_SUITE },
        { "host-tool", required_argument, NULL, O_HOST_TOOL },
        { "ledger-tool", required_argument, NULL, O_LEDGER_TOOL },
        { "out", required_argument, NULL, O_OUT },
        { "accel", required_argument, NULL, O_ACCEL },
        { "seed", required_argument, NULL, O_SEED },
        { "list", no_argument, NULL, O_LIST },
        { "shell", no_argument, NULL, O_SHELL },
        { "repro-prefix", required_argument, NULL, O_REPRO },
        { "known-issues", required_argument, NULL, O_KNOWN },
        { "snapshot", no_argument, NULL, O_SNAPSHOT },
        { "snapshot-dir", required_argument, NULL, O_SNAPSHOT_DIR },
        { "snapshot-ram", required_argument, NULL, O_SNAPSHOT_RAM },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    GrConfig cfg = { .accel = "auto", .seed = 1 };
    const char *targets_dir = "targets", *target_override = NULL;
    const char *default_target = NULL;
    GtImageConfig img = { .mkinitramfs = NULL };
    char imgbuf[4200];
    const char *suite = NULL, *out = NULL, *flavour = NULL;
    const char *repro = "./gauntlet run", *known = NULL;
    const char *snapshot_dir = NULL;
    char snapbuf[4200];
    char **paths = NULL;
    size_t npaths = 0;
    int jobs = 1, opt, bad = 0;
    bool list = false;
    Item *items;
    char outbuf[4096];
    double t0 = gvm_now();
    size_t counts[4] = { 0 };

    setvbuf(stdout, NULL, _IOLBF, 0);
    cfg.build = getenv("GAUNTLET_BUILD");
    while ((opt = getopt_long(argc, argv, "j:h", lopts, NULL)) != -1) {
        switch (opt) {
        case O_QEMU: cfg.qemu = optarg; break;
        case O_KERNEL: cfg.kernel[GS_KERNEL_STOCK] = optarg; break;
        case O_INITRD: cfg.initrd[GS_KERNEL_STOCK] = optarg; break;
        case O_DKERNEL: cfg.kernel[GS_KERNEL_DEBUG] = optarg; break;
        case O_DINITRD: cfg.initrd[GS_KERNEL_DEBUG] = optarg; break;
        case O_KVER: cfg.kernel_version[GS_KERNEL_STOCK] = optarg; break;
        case O_DKVER: cfg.kernel_version[GS_KERNEL_DEBUG] = optarg; break;
        case O_FLAVOUR: flavour = optarg; break;
        case O_TARGETS: targets_dir = optarg; break;
        case O_TARGET: target_override = optarg; break;
        case O_DEFAULT_TARGET: default_target = optarg; break;
        case O_SMODULES: img.kmod_dir[GT_KERNEL_STOCK] = optarg; break;
        case O_DMODULES: img.kmod_dir[GT_KERNEL_DEBUG] = optarg; break;
        case O_MKINITRAMFS: img.mkinitramfs = optarg; break;
        case O_IMAGE_CACHE: img.cache_dir = optarg; break;
        case O_BUILD: cfg.build = optarg; break;
        case O_SUITE: suite = optarg; break;
        case O_HOST_TOOL: cfg.host_tool = optarg; break;
        case O_LEDGER_TOOL: cfg.ledger_tool = optarg; break;
        case O_OUT: out = optarg; break;
        case O_ACCEL: cfg.accel = optarg; break;
        case O_SEED: cfg.seed = strtoull(optarg, NULL, 0); break;
        case O_KNOWN: known = optarg; break;
        case O_LIST: list = true; break;
        case O_SHELL: cfg.shell = true; break;
        case O_REPRO: repro = optarg; break;
        case O_SNAPSHOT: cfg.snapshot = true; break;
        case O_SNAPSHOT_DIR: snapshot_dir = optarg; break;
        case O_SNAPSHOT_RAM: cfg.snapshot_ram = optarg; break;
        case 'j':
            jobs = atoi(optarg);
            if (jobs < 1 || jobs > 64) {
                fprintf(stderr, "gauntlet: -j wants 1..64\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (cfg.snapshot_ram && strcmp(cfg.snapshot_ram, "file") &&
        strcmp(cfg.snapshot_ram, "stream")) {
        fprintf(stderr, "gauntlet: --snapshot-ram wants file or stream, got "
                "'%s'\n", cfg.snapshot_ram);
        return 2;
    }
    if (flavour && strcmp(flavour, "stock") && strcmp(flavour, "debug")) {
        fprintf(stderr, "gauntlet: --kernel wants stock or debug, got '%s'\n",
                flavour);
        return 2;
    }
    if (strcmp(cfg.accel, "auto") && strcmp(cfg.accel, "kvm") &&
        strcmp(cfg.accel, "tcg")) {
        fprintf(stderr, "gauntlet: --accel wants auto, kvm or tcg, got '%s'\n",
                cfg.accel);
        return 2;
    }
    if (known && read_known_issues(known, &cfg) < 0) {
        return 2;
    }
    for (int i = optind; i < argc; i++) {
        add_path(&paths, &npaths, argv[i]);
    }
    if (!npaths && suite && read_suite(suite, &paths, &npaths) < 0) {
        return 2;
    }
    if (!npaths) {
        fprintf(stderr, "gauntlet: no scenarios (give files, or --suite)\n");
        return 2;
    }

    /* Parse and check everything before any VM starts. */
    items = calloc(npaths, sizeof(*items));
    for (size_t i = 0; i < npaths; i++) {
        GsError e;
        char terr[2048];
        const char *tname;

        items[i].path = paths[i];
        if (gs_parse_file(paths[i], &items[i].s, &e) < 0) {
            fprintf(stderr, "%s\n", e.text);
            bad++;
            continue;
        }
        if (flavour) {
            items[i].s->kernel = !strcmp(flavour, "debug") ? GS_KERNEL_DEBUG :
                                 GS_KERNEL_STOCK;
        }
        tname = target_override ? target_override : items[i].s->target[0] ?
                items[i].s->target : default_target;
        if (!tname) {
            fprintf(stderr, "%s: the scenario names no target (add 'target: "
                    "NAME', or run it with --target NAME)\n", paths[i]);
            bad++;
            continue;
        }
        items[i].t = gt_find(targets_dir, tname, terr, sizeof(terr));
        if (!items[i].t) {
            fprintf(stderr, "%s: target '%s': %s\n", paths[i], tname, terr);
            bad++;
            continue;
        }
        if (gr_validate(items[i].s, items[i].t, &cfg, terr, sizeof(terr)) < 0) {
            fprintf(stderr, "%s\n", terr);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "gauntlet: %d bad scenario file(s); nothing was run\n", bad);
        return 2;
    }
    /* Each target's guest image per kernel, composed once (cached by
     * content) before any VM starts, --list included: a missing guest file
     * is an error of the whole run, with the target file's line. */
    if (!img.cache_dir) {
        beside(out ? out : "results/x", "images", imgbuf, sizeof(imgbuf));
        img.cache_dir = imgbuf;
    }
    img.build = cfg.build;
    for (int k = 0; k < 2; k++) {
        img.base[k] = cfg.initrd[k];
        img.kver[k] = cfg.kernel_version[k];
    }
    for (size_t i = 0; i < npaths; i++) {
        int k = items[i].s->kernel;
        char ierr[4096];

        for (size_t j = 0; j < i && !items[i].image; j++) {
            if (items[j].image && items[j].s->kernel == items[i].s->kernel &&
                !strcmp(items[j].t->file, items[i].t->file)) {
                items[i].image = xstrdup(items[j].image);
            }
        }
        if (items[i].image || !cfg.initrd[k]) {
            continue;   /* no image for that kernel: the scenario skips */
        }
        items[i].image = gt_image(items[i].t, &img, (GtKernel)k, ierr, sizeof(ierr));
        if (!items[i].image) {
            fprintf(stderr, "gauntlet: %s\n", ierr);
            return 2;
        }
    }

    if (list) {
        for (size_t i = 0; i < npaths; i++) {
            printf("%-32s %-8s %-6s %s\n", items[i].s->name, items[i].t->name,
                   items[i].s->kernel == GS_KERNEL_DEBUG ? "debug" : "stock",
                   items[i].path);
        }
        return 0;
    }
    if (!cfg.qemu) {
        fprintf(stderr, "gauntlet: --qemu is required\n");
        return 2;
    }

    /* results/<time>/ and a latest symlink */
    if (!out) {
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        mkdir("results", 0755);
        strftime(outbuf, sizeof(outbuf), "results/%Y%m%d-%H%M%S", &tm);
        out = outbuf;
    }
    if (mkdir(out, 0755) && errno != EEXIST) {
        fprintf(stderr, "gauntlet: cannot create %s: %s\n", out, strerror(errno));
        return 2;
    }
    {
        char link[4200];
        const char *name = beside(out, "latest", link, sizeof(link));

        unlink(link);
        if (symlink(name, link)) {
            /* not fatal */
        }
    }
    if (cfg.snapshot) {
        /* default: beside the results folder, shared by later runs */
        if (!snapshot_dir) {
            beside(out, "snapshots", snapbuf, sizeof(snapbuf));
            snapshot_dir = snapbuf;
        }
        if (mkdir(snapshot_dir, 0755) && errno != EEXIST) {
            fprintf(stderr, "gauntlet: cannot create snapshot dir %s: %s\n",
                    snapshot_dir, strerror(errno));
            return 2;
        }
        if (strchr(snapshot_dir, '\'')) {
            fprintf(stderr, "gauntlet: --snapshot-dir %s: a single quote is not "
                    "supported\n", snapshot_dir);
            return 2;
        }
        /* absolute: QEMU's migration command runs it through a shell */
        cfg.snapshot_dir = realpath(snapshot_dir, NULL);
        repro_snapshot = true;
        if (!cfg.snapshot_dir) {
            fprintf(stderr, "gauntlet: snapshot dir %s: %s\n", snapshot_dir,
                    strerror(errno));
            return 2;
        }
    }
    for (size_t i = 0; i < npaths; i++) {
        int dup = 0;

        for (size_t j = 0; j < i; j++) {
            dup += !strcmp(items[j].s->name, items[i].s->name);
        }
        if (dup) {
            snprintf(items[i].dir, sizeof(items[i].dir), "%s/%s-%d", out,
                     items[i].s->name, dup + 1);
        } else {
            snprintf(items[i].dir, sizeof(items[i].dir), "%s/%s", out,
                     items[i].s->name);
        }
    }

    if (cfg.shell) {
        cfg.initrd[items[0].s->kernel] = items[0].image;
        return gr_run_scenario(&cfg, items[0].s, items[0].t, items[0].dir) ==
               GR_PASS ? 0 : 1;
    }

    printf("gauntlet: %zu scenario(s), -j %d, results in %s\n", npaths, jobs, out);
    signal(SIGPIPE, SIG_IGN);
    {
        size_t next = 0, running = 0, finished = 0;

        while (finished < npaths) {
            while (running < (size_t)jobs && next < npaths) {
                Item *it = &items[next++];

                it->start = gvm_now();
                it->pid = fork();
                if (it->pid == 0) {
                    GrStatus st;

                    setpgid(0, 0);
                    cfg.initrd[it->s->kernel] = it->image;
                    st = gr_run_scenario(&cfg, it->s, it->t, it->dir);
                    _exit(st == GR_PASS ? 0 : 1);
                }
                if (it->pid < 0) {
                    it->status = GR_ERROR;
                    it->reason = xstrdup("fork failed");
                    it->done = true;
                    finished++;
                    continue;
                }
                running++;
            }
            {
                int ws;
                pid_t p = waitpid(-1, &ws, WNOHANG);

                if (p == 0) {
                    /* Belt and braces: a scenario process that outlives its
                     * own timeout by 5 minutes is killed with its VM. */
                    for (size_t i = 0; i < npaths; i++) {
                        Item *it = &items[i];

                        if (it->pid > 0 && !it->done && !it->killed &&
                            gvm_now() > it->start + (double)it->s->timeout + 300) {
                            kill(-it->pid, SIGKILL);
                            it->killed = true;
                        }
                    }
                    /* short: the next scenario starts as soon as one
                     * ends (200 ms here cost -j 1 runs 0.1 s each) */
                    usleep(10000);
                    continue;
                }
                if (p < 0) {
                    if (errno == EINTR) {
                        continue;
                    }
                    break;
                }
                for (size_t i = 0; i < npaths; i++) {
                    Item *it = &items[i];

                    if (it->pid == p && !it->done) {
                        char rl[8600];

                        collect(it, ws);
                        running--;
                        finished++;
                        counts[it->status]++;
                        printf("[%2zu/%zu] %-5s %-34s %6.1f s%s%s\n", finished, npaths,
                               gr_status_name(it->status), it->s->name,
                               it->end - it->start, it->reason[0] ? "  " : "",
                               it->reason);
                        if (it->status == GR_FAIL || it->status == GR_ERROR) {
                            repro_line(rl, sizeof(rl), repro, it, target_override,
                                       flavour);
                            printf("        artifacts: %s\n        repro: %s\n",
                                   it->dir, rl);
                        }
                    }
                }
            }
        }
    }
    write_reports(out, items, npaths, gvm_now() - t0, repro, target_override, flavour,
                  cfg.kernel_version[GS_KERNEL_STOCK]);
    {
        char err[1024];

        /* report.html, from the files just written (gauntlet-report DIR) */
        if (ghr_write(out, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-runner: report.html: %s\n", err);
        }
    }
    printf("gauntlet: %zu passed, %zu failed, %zu skipped, %zu errors in %.0f s; "
           "reports: %s/{junit.xml,report.json,report.tap,report.html}\n",
           counts[GR_PASS], counts[GR_FAIL], counts[GR_SKIP], counts[GR_ERROR],
           gvm_now() - t0, out);
    return counts[GR_FAIL] || counts[GR_ERROR] ? 1 : 0;
}
