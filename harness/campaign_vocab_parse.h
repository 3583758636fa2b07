/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vocabulary loader's own tools (campaign_vocab_parse.c), private to
 * campaign_vocab.c: libyaml document nodes checked one kind at a time,
 * templates and their variables, weighted lists.  Every check that fails
 * writes "file:line:col: message" and leaves through P->fail (longjmp);
 * everything is allocated in P's arena.
 */
#ifndef GAUNTLET_CAMPAIGN_VOCAB_PARSE_H
#define GAUNTLET_CAMPAIGN_VOCAB_PARSE_H

#include <setjmp.h>
#include <stddef.h>
#include <yaml.h>

#include "campaign_vocab.h"

#define CV_MAX_LIST  256            /* entries of any list */
#define CV_MAX_VARS  8              /* variables of one template */

typedef struct Block { struct Block *next; max_align_t data[]; } Block;

typedef struct Parser {
    const char *path;
    yaml_document_t doc;
    Block *arena;
    jmp_buf fail;
    char *err;
    size_t errlen;
} Parser;

/* the arena */
void *cvp_alloc(Parser *P, size_t n);
char *cvp_strdup(Parser *P, const char *s);
void cvp_arena_free(Block *b);

/* "file:line:col: message" at node n (or "file: message"), then longjmp */
void cvp_fail(Parser *P, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* nodes: a mapping's keys must be among allowed (NULL-terminated), each
 * once; map_need fails when the key is missing */
yaml_node_t *cvp_node(Parser *P, int id);
const char *cvp_type_name(const yaml_node_t *n);
const char *cvp_scalar(Parser *P, const yaml_node_t *n, const char *what);
void cvp_map_check(Parser *P, const yaml_node_t *m, const char *what,
                   const char *const *allowed);
yaml_node_t *cvp_map_get(Parser *P, const yaml_node_t *m, const char *key);
yaml_node_t *cvp_map_need(Parser *P, const yaml_node_t *m, const char *key,
                          const char *what);
yaml_node_t *cvp_map_key_node(Parser *P, const yaml_node_t *m, const char *key);
int cvp_seq_len(Parser *P, const yaml_node_t *n, const char *what);
yaml_node_t *cvp_seq_at(Parser *P, const yaml_node_t *n, int i);

/* values (docs/campaigns.md, "Values") */
unsigned cvp_uint(Parser *P, const yaml_node_t *n, const char *what,
                  unsigned lo, unsigned hi);
bool cvp_bool(Parser *P, const yaml_node_t *n, const char *what);
CvRange cvp_range(Parser *P, const yaml_node_t *n, const char *what,
                  long long lo, long long hi);
CvSecs cvp_secs(Parser *P, const yaml_node_t *n, const char *what);

/* templates: vars (a `vars` mapping), and a text checked against its own
 * variables (vn, may be NULL) and the scope's; sets t->maxlen */
CvVar *cvp_vars(Parser *P, const yaml_node_t *m, int *n);
void cvp_template(Parser *P, CvText *t, const yaml_node_t *tn, const char *text,
                  const yaml_node_t *vn, const CvVar *scope, int nscope);

/* weighted lists of entries: a plain string, or a mapping {KEY: text,
 * vars, and the keys flags allows} */
enum {
    IT_WEIGHT = 1 << 0, IT_CHANCE = 1 << 1, IT_DROP = 1 << 2, IT_BENIGN = 1 << 3,
    IT_TRIGGERS = 1 << 4, IT_SURE = 1 << 5, IT_BENIGN_ONLY = 1 << 6,
    IT_STARVES = 1 << 7,    /* an action's `starves` (points: parse_faults reads it) */
};
#define IT_TRIGGER (IT_WEIGHT | IT_SURE | IT_BENIGN_ONLY)

void cvp_list(Parser *P, CvList *l, const yaml_node_t *n, const char *what,
              const char *key, unsigned flags, bool drop_default,
              const CvVar *scope, int nscope);
/* a list that must be able to give something: some entry weighs > 0 */
void cvp_need_weight(Parser *P, const CvList *l, const yaml_node_t *n, const char *what);
/* the longest expansion of any entry (its `otherwise` included) */
size_t cvp_list_maxlen(const CvList *l);

#endif /* GAUNTLET_CAMPAIGN_VOCAB_PARSE_H */
