/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An in-memory content back end (ntfs/backend.h) whose whole state lives in
 * a text file, for the run, crash and recovery tests without the lab. Test
 * builds only: tests/unit/fake/registry_fake.c registers it next to the
 * real back ends (prov_acl_fake in tests/CMakeLists.txt).
 *
 * Locations: "mem://" followed by the state file's absolute path
 * (mem:///tmp/x/content.state), or the absolute path of a state file
 * ending in ".memfs" (/tmp/x/content.memfs): [content] location in
 * provision.ini accepts only smb://, script: and absolute paths (conf.c),
 * so the provision runs of the tests use the second form. The registry asks
 * this back end first, so such a path never reaches the ntfs-3g back end.
 *
 * Behaviour: an SMB share through libsmbclient on Samba, as the grant
 * engine's own tests fake it (tests/unit/acl/test_engine.c): kind SMB,
 * capabilities ACL_CAP_DESCRIPTORS only (no control bits, not exact):
 * - a descriptor written loses its control bits (only SELF_RELATIVE and
 *   DACL_PRESENT stay) and its ACEs are sorted (non-inherited first, deny
 *   before allow, then SID, flags, mask) with exact duplicates dropped;
 * - a new folder gets its parent's inheritable ACEs, computed with
 *   ntfs_sd_inherit, but without the INHERITED flag (the parent never has
 *   AUTO_INHERITED, since no control bit is stored), then stored as above;
 * - names compare ASCII case-insensitively, as on Windows;
 * - rmdir of a folder with children: -ENOTEMPTY; mkdir of an existing
 *   object: -EEXIST; of an object whose parent is missing: -ENOENT.
 *
 * Persistence: the state file is read at open and again before every
 * operation, and rewritten (a temp file in the same folder renamed over
 * it) after every change, so that it is always whole: a process killed
 * with SIGKILL at any moment leaves exactly the effects done so far, for
 * another process to read (not fsync'ed: a power cut is not simulated).
 * Opening a location whose state file does not exist fails, as a missing
 * share does; mem_fs_create makes one. Format (text, objects sorted by
 * path, the root first):
 *   provision-memfs 1
 *   d<TAB>REL<TAB>SDDL      a folder ("" is the root)
 *   f<TAB>REL<TAB>SDDL      a file
 * REL uses '/' between components; SDDL as ntfs_sddl_format writes it. */
#ifndef PROVISION_TESTS_BACKEND_MEM_H
#define PROVISION_TESTS_BACKEND_MEM_H

#include "provision/ntfs/backend.h"

#include <stdbool.h>
#include <stddef.h>

#define MEM_FS_SCHEME "mem://"
#define MEM_FS_SUFFIX ".memfs"
/* The root of a fresh share: the default of a Samba AD DC's file shares
 * (Administrators and SYSTEM full control, Everyone read, all inherited
 * below). */
#define MEM_FS_SHARE_ROOT                                                                          \
    "O:BAG:SYD:(A;OICI;0x1f01ff;;;BA)(A;OICI;0x1f01ff;;;SY)(A;OICI;0x1200a9;;;WD)"

extern const struct acl_backend_type acl_backend_mem;

/* The state file a location names (heap), or NULL when the location is not
 * this back end's. */
char *mem_fs_state_path(const char *location);

/* Helpers for the tests, working on the state file directly (no back end
 * open); each returns -1 (or NULL) with a message on stderr on a problem. */

/* Writes a new state holding only the root with root_sddl (NULL: the share
 * default). 0 or -1. */
int mem_fs_create(const char *state, const char *root_sddl);
/* Adds a folder or file rel under an existing parent, inheriting as mkdir
 * does. 0 or -1. */
int mem_fs_add(const char *state, const char *rel, bool is_dir);
/* 1 when rel exists (*is_dir set if not NULL), 0 when not, -1 error. */
int mem_fs_exists(const char *state, const char *rel, bool *is_dir);
/* The SDDL of rel (heap), or NULL when it does not exist. */
char *mem_fs_sddl(const char *state, const char *rel);
/* Every path in the store, sorted, the root ("") first; *n set. Heap array
 * of heap strings (mem_fs_free_list). NULL on error. */
char **mem_fs_paths(const char *state, size_t *n);
void mem_fs_free_list(char **list, size_t n);

#endif
