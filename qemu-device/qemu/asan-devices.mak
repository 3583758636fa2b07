# Devices of the asan flavour of QEMU (build-qemu.sh --flavour asan):
# configure --without-default-devices --with-devices-x86_64=gauntlet-asan.
# Only what the device tests use: q35, a PCIe root port and Kestrel (each
# board selects what it needs).  Fewer objects to compile with ASan.
CONFIG_Q35=y
CONFIG_PCIE_PORT=y
CONFIG_KESTREL=y
