/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The back-end registry of the test builds (prov_acl_fake in
 * tests/CMakeLists.txt), in place of provision/ntfs/backend_registry.c: the
 * real back ends plus the in-memory one (backend_mem.h). The mem back end
 * is asked first: besides mem://PATH it takes absolute paths ending in
 * .memfs, which would otherwise go to the ntfs-3g back end. */
#include "provision/ntfs/backend.h"

#include "backend_mem.h"

extern const struct acl_backend_type acl_backend_smb;    /* backend_smb.c */
extern const struct acl_backend_type acl_backend_ntfs3g; /* backend_ntfs3g.c */
extern const struct acl_backend_type acl_backend_script; /* backend_script.c */

const struct acl_backend_type *const acl_backend_types[] = {
    &acl_backend_mem, &acl_backend_smb, &acl_backend_ntfs3g, &acl_backend_script, NULL,
};
