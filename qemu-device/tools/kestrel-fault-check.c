/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kestrel-fault-check: the Kestrel target's fault-rule checker
 * (targets/kestrel/target.yaml fault_check; docs/targets.md "Fault-rule
 * checkers").  It runs the device's own rule parser, kestrel_fault.c,
 * exactly as the device builds it, so a scenario's rules are judged
 * before any VM starts by the code that will run them.
 *
 *   kestrel-fault-check < RULES
 *
 * Reads one rule text (a faults step's value, rules separated by ';') on
 * standard input.  Exit 0 and print the number of rules when the device
 * would accept it; exit 1 and print "column C: message" (C: 1-based byte
 * column in the text) when it would refuse it; exit 2 on a usage or I/O
 * problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_fault.h"

#define RULES_MAX (64 * 1024)

int main(int argc, char **argv)
{
    static char text[RULES_MAX + 1];
    static KestrelFaultEngine e;
    char err[KESTREL_FAULT_ERR_MAX];
    size_t len;
    int n;

    if (argc > 1) {
        fprintf(stderr, "usage: kestrel-fault-check < RULES\n");
        return 2;
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
    kestrel_fault_init(&e, 0);
    err[0] = '\0';
    n = kestrel_fault_set(&e, text, err, sizeof(err));
    if (n < 0) {
        err[sizeof(err) - 1] = '\0';
        printf("%s\n", err);
        return 1;
    }
    printf("%d\n", n);
    return 0;
}
