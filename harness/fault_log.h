/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scenario's fault log (gfl_): what the fault engines injected, merged
 * from every reading of their fault-log properties into one list.
 *
 * A fault engine keeps the last firings in a ring, each with a sequence
 * number counted over the engine's life (seq), the virtual time, the rule
 * and the event's detail.  The run reads the ring wherever it harvests
 * fire counts (before rules change, before an unplug, a reboot or a power
 * cut, at the end), so one firing may be read several times, and a firing
 * the ring overwrote before a reading is lost.  The merged log holds every
 * firing once: an entry is known by (qemu, plug, object, seq), qemu being
 * the index of the QEMU process of the run (a power cut's second boot
 * starts new engines whose seq starts again) and plug the plug-in of a
 * fault object that an unplug destroys (a device plugged in again is a
 * new engine; a root port never goes).  It is kept in the order (qemu,
 * time-ns, seq, object): one engine's entries in seq order, and the
 * engines of one QEMU interleaved on their shared virtual clock.
 *
 * Pure json-c, no QMP: the runner reads, this merges (tests/harness's
 * suite "fault_log").
 */
#ifndef GAUNTLET_FAULT_LOG_H
#define GAUNTLET_FAULT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* How many of the newest entries result.json carries. */
#define GFL_LAST 10

/*
 * Merge one reading (read: a list of {seq, time-ns, id, rule, point,
 * action, detail} as the fault-log property gives it) of the fault object
 * at QOM path object, which holds device's faults, in QEMU number qemu,
 * plug-in number plug, into acc (a json array: the merged log).  Entries
 * not in acc yet are copied with "device", "object", "qemu" and "plug"
 * added; acc stays in order.
 * *lost grows by the firings the ring dropped between the newest entry
 * acc held for this object and the oldest of this reading.
 * Returns the number of entries added, or -1 with a message in err when
 * read is not a list of objects each with a non-negative integer "seq"
 * (acc and *lost are then unchanged).
 */
int gfl_merge(json_object *acc, json_object *read, const char *device,
              const char *object, int qemu, int plug, uint64_t *lost,
              char *err, size_t errlen);

/* result.json's "fault_log": {"entries": N, "path": path, "lost": lost,
 * "last": [the last GFL_LAST entries]}.  A new object. */
json_object *gfl_summary(json_object *acc, const char *path, uint64_t lost);

/* One line for the step log: "N entries, last: RULE DETAIL" (or "0
 * entries"), with the device and time of the last. */
void gfl_describe(json_object *acc, uint64_t lost, char *buf, size_t len);

#endif /* GAUNTLET_FAULT_LOG_H */
