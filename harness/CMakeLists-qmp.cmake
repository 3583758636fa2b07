# SPDX-License-Identifier: GPL-2.0-or-later
#
# gauntlet_qmp: the QMP client library (harness/qmp.h, qmp_*.c), shared by
# the qtest client (qemu-device/tests/qtest) and the harness.  include()d from
# the top-level CMakeLists.txt before add_subdirectory(qemu-device), so the
# target exists for both.  Its test program (gauntlet_qmp_tests, CTest
# "harness.qmp") is defined in harness/CMakeLists.txt (it needs
# GAUNTLET_QEMU, set by qemu-device/).
#
# -DGAUNTLET_HARNESS_SANITIZE=ON builds it with ASan+UBSan (PUBLIC, so its
# users are linked accordingly).

find_package(PkgConfig REQUIRED)
pkg_check_modules(GQ_JSONC REQUIRED IMPORTED_TARGET json-c)
option(GAUNTLET_HARNESS_SANITIZE "Build the harness with ASan+UBSan" OFF)

add_library(gauntlet_qmp STATIC ${CMAKE_CURRENT_LIST_DIR}/qmp_io.c
    ${CMAKE_CURRENT_LIST_DIR}/qmp_cmd.c ${CMAKE_CURRENT_LIST_DIR}/qmp_conn.c)
target_include_directories(gauntlet_qmp PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(gauntlet_qmp PUBLIC PkgConfig::GQ_JSONC)
target_compile_options(gauntlet_qmp PRIVATE -Wall -Wextra)
set_target_properties(gauntlet_qmp PROPERTIES
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS ON
    POSITION_INDEPENDENT_CODE ON)
if(GAUNTLET_HARNESS_SANITIZE)
    target_compile_options(gauntlet_qmp PUBLIC
        -fsanitize=address,undefined -fno-sanitize-recover=all
        -fno-omit-frame-pointer)
    target_link_options(gauntlet_qmp PUBLIC
        -fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
