/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placeholder: filled in by issue 15 (the fault engine library and port). */
typedef int gauntlet_placeholder_t;
