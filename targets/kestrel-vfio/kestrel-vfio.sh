#!/bin/sh
# kestrel-vfio's guest side (targets/kestrel-vfio/target.yaml):
#   kestrel-vfio.sh load     vfio-pci claims every Kestrel by ID (1af4:10f0),
#                            also functions plugged in later
#   kestrel-vfio.sh ready    the function is bound to vfio-pci and its group
#                            node is there: libkvfio can open it
#   kestrel-vfio.sh unload   vfio-pci goes; this fails while a process still
#                            holds the device (vfio keeps the module busy)
# The function is $KVFIO_BDF (default 0000:01:00.0: behind root port rp1).
set -eu
bdf="${KVFIO_BDF:-0000:01:00.0}"
sys="/sys/bus/pci/devices/$bdf"
case "${1:-}" in
load)
    gauntlet-modload vfio_iommu_type1
    gauntlet-modload vfio-pci
    echo 1af4 10f0 >/sys/bus/pci/drivers/vfio-pci/new_id
    ;;
ready)
    drv="$(readlink "$sys/driver")" || exit 1
    [ "${drv##*/}" = vfio-pci ] || exit 1
    grp="$(readlink "$sys/iommu_group")" || exit 1
    test -c "/dev/vfio/${grp##*/}"
    ;;
unload)
    rmmod vfio_pci
    ;;
*)
    echo "usage: kestrel-vfio.sh load|ready|unload" >&2
    exit 2
    ;;
esac
