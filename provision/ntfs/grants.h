/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The grant engine the core calls per site: makes folders exist, merges
 * explicit ACEs into their descriptors and recomputes the inherited ACEs of
 * everything below a changed folder the way Windows propagation does
 * (nothing on the Linux side does it: ntfs-3g, Samba and libsmbclient set
 * one object at a time). It reports what it did (or, in a dry run, would
 * do) as struct changes and undoes a site's changes when a step fails.
 *
 * Tenant isolation: a spec with `protect` set makes its folder's DACL
 * protected ("D:P"): the inherited ACEs are dropped, not copied, and only
 * the explicit ACEs of the specs (plus explicit ACEs already there) stay.
 * The intended use is the site root, with explicit grants for
 * Administrators and SYSTEM (F, OI CI) and the site's identity, so that
 * an "Everyone: Read" inherited from the share root (the default of a
 * Samba AD DC's shares) stops there (MS-DTYP 2.4.6: SE_DACL_PROTECTED).
 * Back ends without ACL_CAP_CONTROL (SMB through libsmbclient) cannot store
 * the PROTECTED bit: the folder then holds exactly its explicit ACEs (which
 * the server enforces) but is not marked protected; this engine recognises
 * such a folder as protected by its shape (no inherited ACE and not holding
 * what its parent passes down). Windows itself would re-add the parent's
 * entries if someone later propagated from the parent on the host.
 *
 * "Inherited" ACEs of a descriptor are the ones with the INHERITED flag,
 * or, on a descriptor that has none (created under a parent without
 * AUTO_INHERITED: Samba and ntfs-3g then copy the inheritable ACEs without
 * the flag), the copies of what the parent passes down; this is the
 * conversion Windows' ConvertToAutoInheritPrivateObjectSecurity makes. */
#ifndef PROVISION_NTFS_GRANTS_H
#define PROVISION_NTFS_GRANTS_H

#include <stdbool.h>
#include <stddef.h>

#include "provision/change.h"
#include "provision/ntfs/backend.h"
#include "provision/ntfs/sd.h"
#include "provision/util.h"

struct acl_grant_spec {
    /* Folder relative to the back end's root, e.g. "shop.example.com\\data"
     * (checked by acl_path_check; "" is refused). */
    const char *folder_rel;
    /* The explicit ACE: resolved SID (not zero), flags from OI CI NP IO
     * (IO and NP need OI or CI; no INHERITED), a mask within
     * NTFS_GRANT_VALID_MASK, allow or deny. */
    struct ntfs_ace ace;
    /* Make folder_rel's DACL protected (see above). Any spec of a folder
     * with protect set protects the folder. */
    bool protect;
    /* acl_apply_site: remove exactly this explicit ACE (same SID, type,
     * flags and mask) instead of adding it, in the same all-or-nothing
     * call: for an entry naming an account deleted by hand. */
    bool remove;
};

/* Makes the folders exist and each listed explicit ACE present (merging:
 * the explicit ACEs of the same SID and type are replaced, everything else
 * is kept, canonical order), protects the folders asked for, then
 * recomputes the inherited ACEs of every existing descendant of a folder
 * whose DACL changed (stopping at protected children). Each write is read
 * back and compared (acl_sd_equivalent). Descriptors over 64 KiB are an
 * error.
 * Appends to out, in order: "+ folder F" per folder it created (parents
 * first), then per folder whose grants changed one "grant F" entry with an
 * attribute per ACE, named by the SID, valued as SDDL ACEs: none -> new
 * (added) or old -> new (replaced); "inheritance": inherited -> protected;
 * "descendants updated": the number of existing objects below F whose
 * inherited ACEs were rewritten. The entry's op is '+' when it only adds,
 * '~' otherwise. F is the path as Windows writes it (with '\'). A second
 * apply of the same specs changes and reports nothing.
 * dry_run: the same reading and computing, nothing written or created
 * (folders that would be created are simulated).
 * Script back ends: the folders and grants are appended to the script
 * (and reported) once; Windows does the propagation when it runs.
 * On failure midway: the descriptors written for this call are restored
 * (as read), the folders it created are removed, the entries it appended
 * to out are dropped; returns -1 with messages in d. Returns 0 on
 * success. */
int acl_apply_site(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                   bool dry_run, struct changes *out, struct diag *d);

/* acl_apply_site, deep: the inherited ACEs of every existing object below
 * the folders are recomputed also where the folders themselves do not
 * change, so that a file or folder that lost what its parent passes down
 * (or kept a stale copy of an old entry) gets it right again. Protected
 * objects stay as they are (Windows propagation stops there too; over SMB
 * an object holding none of its parent's entries counts as protected, see
 * above). Reported on the folder as "descendants repaired": "N: PATH, ..."
 * (the first five paths). Reads every descriptor below the folders: costs
 * as much as the content is large. */
int acl_apply_site_deep(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                        bool dry_run, struct changes *out, struct diag *d);

/* What Windows propagation from parent would make of child (is_dir: a
 * folder): child's explicit ACEs, then what parent passes down; child
 * itself when it is protected (*protected_out). out is heap. 0 or -1. */
int acl_propagated(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                   unsigned caps, struct ntfs_sd *out, bool *protected_out);

/* Over a back end that cannot show the PROTECTED bit (no ACL_CAP_CONTROL),
 * an object whose entries carry no INHERITED flag counts as protected when
 * it holds not all of what its folder passes down. This tells one case
 * apart: it holds some of it, and every entry it lacks names one of ours
 * (the SIDs the caller's own grants name): then it lost them (1, and
 * *repaired is what propagation gives it back, heap). 0 otherwise, -1 on
 * error. A lack of anyone else's entry may be deliberate: never guessed. */
int acl_lost_entries(const struct ntfs_sd *child, const struct ntfs_sd *parent, bool is_dir,
                     unsigned caps, const struct ntfs_sid *ours, size_t n_ours,
                     struct ntfs_sd *repaired);

/* True when a and b hold the same DACL entries, in any order, counting
 * the INHERITED flag and generic-versus-file rights as no difference:
 * what deep checks ask ("is an entry missing or stale?"), where a copy
 * Samba made without the flag is no damage. */
bool acl_sd_same_entries(const struct ntfs_sd *a, const struct ntfs_sd *b);

/* Removes exactly the explicit ACEs listed (same SID, type, flags and
 * mask; others are kept), un-protects folders whose specs have protect set
 * (they inherit from their parent again), and re-propagates to the
 * descendants. Never deletes content: with delete_folders, the listed
 * folders that are then empty are removed (deepest first) and reported as
 * "- folder F"; non-empty ones are kept silently. Folders that do not exist
 * are skipped. Reports per folder a "grant F" entry ('-' when it only
 * removes) with an attribute per removed ACE (old -> none) and the
 * inheritance/descendant attributes as acl_apply_site, then "- folder F"
 * per deleted folder. Script back ends: icacls
 * /remove:g (or :d) removes every explicit ACE of the SID and type.
 * Failure handling as acl_apply_site (removed folders are re-created with
 * their descriptors). Returns 0 or -1. */
int acl_remove_site(struct acl_backend *b, const struct acl_grant_spec *specs, size_t n,
                    bool delete_folders, bool dry_run, struct changes *out, struct diag *d);

#endif
