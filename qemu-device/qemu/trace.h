/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QEMU-side trace header: tracetool output for qemu-device/qemu/trace-events */
#include "trace/trace-hw_kestrel.h"
