# SPDX-License-Identifier: GPL-3.0-or-later
# NTFS grants on real systems: the back-end interface (backend.c: dispatch
# and generic operations; acl_paths.c: path rules; acl_compare.c: read-back
# comparison), the three back ends (SMB, ntfs-3g, scripts) registered in
# backend_registry.c, and the grant engine (grants.c; its descriptor
# arithmetic in grants_inherit.c); the SMB back end reaches the server
# through prov_smb. Included by the top level, which defines prov_base,
# prov_ntfs and prov_smb.

# Repository root, computed from this file so that a scratch top-level
# project can include it too.
get_filename_component(PROV_ACL_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

add_library(prov_acl STATIC
  ${PROV_ACL_ROOT}/provision/ntfs/backend.c
  ${PROV_ACL_ROOT}/provision/ntfs/acl_paths.c
  ${PROV_ACL_ROOT}/provision/ntfs/acl_compare.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_registry.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_smb.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_ntfs3g.c
  ${PROV_ACL_ROOT}/provision/ntfs/backend_script.c
  ${PROV_ACL_ROOT}/provision/ntfs/grants.c
  ${PROV_ACL_ROOT}/provision/ntfs/grants_inherit.c)
target_include_directories(prov_acl PUBLIC ${CMAKE_SOURCE_DIR} ${PROV_ACL_ROOT})
target_link_libraries(prov_acl PUBLIC prov_ntfs prov_base prov_smb)

# Its tests, the lab driver acl_it and bench_acl are registered in
# tests/CMakeLists.txt.
