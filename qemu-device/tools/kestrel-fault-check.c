/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kestrel-fault-check: the fault-rule checker of the targets with a
 * Gauntlet fault engine (targets/kestrel/target.yaml fault_check;
 * docs/targets.md "Fault-rule checkers").  It runs the devices' own rule
 * parser, gfault.c with the vocabulary of kestrel_fault.c or
 * gport_fault.c, exactly as the devices build it, so a scenario's rules
 * are judged before any VM starts by the code that will run them.
 *
 *   kestrel-fault-check [--vocab kestrel|port] < RULES
 *
 * --vocab picks the vocabulary: kestrel (the default: the Kestrel device)
 * or port (the Gauntlet fault port, docs/fault-port.md).  Reads one rule
 * text (a faults step's value, rules separated by ';') on standard input.
 * Exit 0 and print the number of rules when the device would accept it;
 * exit 1 and print "column C: message" (C: 1-based byte column in the
 * text) when it would refuse it; exit 2 on a usage or I/O problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gport_fault.h"
#include "kestrel_fault.h"

#define RULES_MAX (64 * 1024)

static const struct {
    const char *name;
    const GFaultVocab *vocab;
} vocabs[] = {
    { "kestrel", &kestrel_fault_vocab },
    { "port", &gport_fault_vocab },
};

static int usage(void)
{
    fprintf(stderr, "usage: kestrel-fault-check [--vocab kestrel|port] "
            "< RULES\n");
    return 2;
}

int main(int argc, char **argv)
{
    static char text[RULES_MAX + 1];
    static GFaultEngine e;
    const GFaultVocab *vocab = &kestrel_fault_vocab;
    char err[GFAULT_ERR_MAX];
    const char *name = NULL;
    size_t len, i;
    int n;

    if (argc == 3 && strcmp(argv[1], "--vocab") == 0) {
        name = argv[2];
    } else if (argc == 2 && strncmp(argv[1], "--vocab=", 8) == 0) {
        name = argv[1] + 8;
    } else if (argc != 1) {
        return usage();
    }
    if (name) {
        for (i = 0; i < sizeof(vocabs) / sizeof(vocabs[0]); i++) {
            if (strcmp(name, vocabs[i].name) == 0) {
                break;
            }
        }
        if (i == sizeof(vocabs) / sizeof(vocabs[0])) {
            fprintf(stderr, "kestrel-fault-check: unknown vocabulary '%s' "
                    "(expected kestrel or port)\n", name);
            return 2;
        }
        vocab = vocabs[i].vocab;
    }
    len = fread(text, 1, RULES_MAX + 1, stdin);
    if (ferror(stdin)) {
        fprintf(stderr, "kestrel-fault-check: cannot read standard input\n");
        return 2;
    }
    if (len > RULES_MAX) {
        printf("column %d: the rule text is longer than %d bytes\n",
               RULES_MAX + 1, RULES_MAX);
        return 1;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        printf("column %zu: found a NUL byte, expected rule text\n",
               strlen(text) + 1);
        return 1;
    }
    gfault_init(&e, vocab, 0);
    err[0] = '\0';
    n = gfault_set(&e, text, err, sizeof(err));
    if (n < 0) {
        err[sizeof(err) - 1] = '\0';
        printf("%s\n", err);
        return 1;
    }
    printf("%d\n", n);
    return 0;
}
