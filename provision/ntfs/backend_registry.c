/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The registered back ends (acl_backend_types, backend.h): the one place
 * that names them. A new back end defines its struct acl_backend_type in
 * its own file and is added here (and to prov_acl in backends.cmake). */
#include "provision/ntfs/backend.h"

extern const struct acl_backend_type acl_backend_smb;    /* backend_smb.c */
extern const struct acl_backend_type acl_backend_ntfs3g; /* backend_ntfs3g.c */
extern const struct acl_backend_type acl_backend_script; /* backend_script.c */

/* The order of the messages: "expected smb://..., an absolute path ...,
 * or script:...". The prefixes do not overlap, so it does not decide
 * which back end a location goes to. */
const struct acl_backend_type *const acl_backend_types[] = {
    &acl_backend_smb,
    &acl_backend_ntfs3g,
    &acl_backend_script,
    NULL,
};
