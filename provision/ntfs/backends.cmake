# SPDX-License-Identifier: GPL-3.0-or-later
# NTFS grants on real systems: the SMB module (libsmbclient), the back-end
# interface (backend.c: dispatch and generic operations; acl_paths.c: path
# rules; acl_compare.c: read-back comparison), the three back ends (SMB,
# ntfs-3g, scripts) registered in backend_registry.c, and the grant engine
# (grants.c). Included by the top level after prov_base and prov_ntfs exist
# (and, with PROVISION_TESTS, after PkgConfig::CMOCKA and enable_testing()).

# Repository root, computed from this file so that a scratch top-level
# project can include it too.
get_filename_component(PROV_ACL_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

find_package(PkgConfig REQUIRED)
pkg_check_modules(SMBCLIENT REQUIRED IMPORTED_TARGET smbclient)

add_library(prov_acl STATIC
  ${PROV_ACL_ROOT}/provision/smb/smbtext.c
  ${PROV_ACL_ROOT}/provision/smb/smb.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend.c
  ${PROV_ACL_ROOT}/provision/ntfs/acl_paths.c
  ${PROV_ACL_ROOT}/provision/ntfs/acl_compare.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_registry.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_smb.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_ntfs3g.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_script.c
  ${PROV_ACL_ROOT}/provision/ntfs/grants.c)
target_include_directories(prov_acl PUBLIC ${CMAKE_SOURCE_DIR} ${PROV_ACL_ROOT})
target_link_libraries(prov_acl PUBLIC prov_ntfs prov_base PkgConfig::SMBCLIENT)

if(PROVISION_TESTS)
  enable_testing()
  # Unit tests (no network, no root): descriptor text, auth files, URLs,
  # paths, comparison, the engine on an in-memory back end, script goldens.
  foreach(t smbtext paths engine script)
    add_executable(test_acl_${t} ${PROV_ACL_ROOT}/tests/unit/acl/test_${t}.c)
    target_link_libraries(test_acl_${t} PRIVATE prov_acl PkgConfig::CMOCKA)
    add_test(NAME unit_acl_${t} COMMAND test_acl_${t})
    set_tests_properties(unit_acl_${t} PROPERTIES WORKING_DIRECTORY ${PROV_ACL_ROOT}
      ENVIRONMENT "LSAN_OPTIONS=suppressions=${PROV_ACL_ROOT}/tests/unit/acl/lsan.supp")
  endforeach()

  # Driven by tests/integration/acl/run.sh inside the lab (not ctests).
  add_executable(acl_it ${PROV_ACL_ROOT}/tests/integration/acl/acl_it.c)
  target_link_libraries(acl_it PRIVATE prov_acl)
  # Driven by tests/bench/bench_acl.sh inside the lab.
  add_executable(bench_acl ${PROV_ACL_ROOT}/tests/bench/bench_acl.c)
  target_link_libraries(bench_acl PRIVATE prov_acl)
endif()
