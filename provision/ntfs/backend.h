/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One interface for the places where NTFS folders and grants are applied,
 * chosen from a location string:
 *   smb://host/share[/path]   an SMB share through libsmbclient (Windows
 *                             admin shares such as D$, file servers, Samba);
 *   /absolute/path            a folder on an ntfs-3g mount: raw descriptors
 *                             in the "system.ntfs_acl" extended attribute;
 *   script:/path/out.ps1      a PowerShell script for the Windows host,
 *   script:/path/out.cmd      or an icacls batch file: nothing is touched,
 *                             the commands are written when the back end is
 *                             closed.
 * Every path given to a back end is relative to the location's root, uses
 * '\' or '/' between components and is checked by acl_path_check.
 * The back ends live in backend_smb.c, backend_ntfs3g.c and
 * backend_script.c, each described by a struct acl_backend_type (end of
 * this file) listed in backend_registry.c. The location dispatch, the
 * accessors and the generic operations are in backend.c, the path checks
 * in acl_paths.c, the read-back comparison in acl_compare.c. */
#ifndef PROVISION_NTFS_BACKEND_H
#define PROVISION_NTFS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "provision/ntfs/sd.h"
#include "provision/smb/smb.h"
#include "provision/util.h"

enum acl_backend_kind {
    ACL_BACKEND_SMB,
    ACL_BACKEND_NTFS3G,
    ACL_BACKEND_SCRIPT_PS1,
    ACL_BACKEND_SCRIPT_CMD,
};

/* Capabilities (acl_backend_caps). */
#define ACL_CAP_DESCRIPTORS 0x1u /* reads and writes descriptors now (not a script) */
#define ACL_CAP_CONTROL     0x2u /* stores the control bits (DACL_PROTECTED, AUTO_INHERITED) */
#define ACL_CAP_EXACT       0x4u /* stores the descriptor byte for byte (ACE order kept) */

/* Largest descriptor accepted, read or written (self-relative bytes). */
#define ACL_SD_MAX 65536u

struct acl_backend_options {
    /* SMB: the run's session, shared by every SMB back end (borrowed, not
     * closed by the back end). When NULL, the back end opens its own from
     * smb_opts and closes it. */
    struct smb_session *smb;
    const struct smb_options *smb_opts;
    /* Scripts: the Windows folder the relative paths hang under, written as
     * the default of the script's Root parameter (-Root / first argument).
     * NULL: the script requires the parameter. */
    const char *script_root;
};

struct acl_backend;

/* Opens the back end for location. Checks it without changing anything
 * (SMB: syntax only, the first operation connects; ntfs-3g: the folder
 * exists and has system.ntfs_acl; script: the output folder exists and the
 * extension is .ps1 or .cmd). Returns 0, or -1 with a message in d. */
int acl_backend_open(const char *location, const struct acl_backend_options *opt,
                     struct acl_backend **out, struct diag *d);
/* Scripts: writes the file (even with no commands); others: releases.
 * Frees b. Returns 0, or -1 if writing the script failed. NULL is fine. */
int acl_backend_close(struct acl_backend *b, struct diag *d);

enum acl_backend_kind acl_backend_kind(const struct acl_backend *b);
unsigned acl_backend_caps(const struct acl_backend *b);
/* "SMB", "ntfs-3g", "PowerShell script" or "icacls script" (static). */
const char *acl_backend_name(const struct acl_backend *b);
/* The location as given (owned by b). */
const char *acl_backend_location(const struct acl_backend *b);

/* Checks a relative path: no empty, "." or ".." component, not absolute
 * ("\x", "/x"), no UNC ("\\server\x"), no drive or stream (any ':'), no
 * control characters, none of < > " | ? *, no component ending in ' ' or
 * '.', no DOS device name (CON, NUL, COM1, ...), valid UTF-8, components
 * up to 255 bytes, at most 4096 bytes. "" (the root itself) only with
 * allow_root. On success *norm (caller frees) is the path with '/' between
 * components. Returns 0, or -1 with a message naming the path in d. */
int acl_path_check(const char *rel, bool allow_root, char **norm, struct diag *d);
/* The rule of acl_path_check alone: why rel is refused (static text), or
 * NULL. The one rule for folder paths, also applied at validation. */
const char *acl_path_problem(const char *rel);

/* A list of relative paths (heap strings). */
struct acl_pathlist {
    char **items;
    size_t count, cap;
};
void acl_pathlist_add(struct acl_pathlist *l, const char *path);
void acl_pathlist_free(struct acl_pathlist *l);

struct acl_dirent {
    char *name; /* heap */
    bool is_dir;
};
void acl_dirents_free(struct acl_dirent *e, size_t n);

/* ---- effects, announced before they start -------------------------------
 * For a write-ahead journal (and the test hooks), the owner of a back end
 * may watch its effects. The observer is called:
 *   ACL_EFFECT_MKDIR_PLANNED  once per folder the engine is about to
 *                             create, before any of them (rel), then one
 *                             ACL_EFFECT_SYNC;
 *   ACL_EFFECT_MKDIR          before each folder creation (rel; also for
 *                             the planned ones, as they are made);
 *   ACL_EFFECT_MKDIR_EXISTED  after a creation found the folder already there;
 *   ACL_EFFECT_ANNOUNCE_WRITE once per descriptor write of an engine call,
 *                             before any of them (rel, old, new);
 *   ACL_EFFECT_SYNC           after those announcements (one group commit);
 *   ACL_EFFECT_WRITE          just before each write (rel);
 *   ACL_EFFECT_RMDIR          before each folder removal (rel, old: its
 *                             descriptor);
 *   ACL_EFFECT_READ           after a descriptor was read (rel, old: what
 *                             was read), also in dry runs: what a saved plan
 *                             relies on.
 * A non-zero return cancels the effect and fails the call (the engine then
 * undoes it as after any failure); the observer puts the reason in d.
 * The undo itself is not announced. */
enum acl_effect {
    ACL_EFFECT_MKDIR_PLANNED,
    ACL_EFFECT_MKDIR,
    ACL_EFFECT_MKDIR_EXISTED,
    ACL_EFFECT_ANNOUNCE_WRITE,
    ACL_EFFECT_SYNC,
    ACL_EFFECT_WRITE,
    ACL_EFFECT_RMDIR,
    ACL_EFFECT_READ,
};
typedef int (*acl_effect_fn)(void *ctx, enum acl_effect what, const char *rel,
                             const struct ntfs_sd *old, const struct ntfs_sd *new, struct diag *d);
/* Sets (or with fn NULL clears) the observer of b. */
void acl_backend_observe(struct acl_backend *b, acl_effect_fn fn, void *ctx);

/* ---- operations on descriptor back ends (ACL_CAP_DESCRIPTORS) ----------
 * rel must come from acl_path_check (normalised). Messages name the path
 * and the back end. */

/* 1 exists (is_dir set if not NULL), 0 does not, -1 error. */
int acl_exists(struct acl_backend *b, const char *rel, bool *is_dir, struct diag *d);
/* Makes rel a folder, creating missing parents. Appends each folder it
 * created (parents first) to created (may be NULL). An existing non-folder
 * is an error. Returns 0 or -1 (folders created before the error stay and
 * are in created). */
int acl_ensure_folder(struct acl_backend *b, const char *rel, struct acl_pathlist *created,
                      struct diag *d);
/* Reads the descriptor of rel ("" = the root). Over ACL_SD_MAX bytes is an
 * error. out owns heap memory. 0 or -1. */
int acl_read_sd(struct acl_backend *b, const char *rel, struct ntfs_sd *out, struct diag *d);
/* From acl_backend_remember to acl_backend_forget, acl_exists and
 * acl_read_sd ask the back end once per path and answer again from what it
 * said (a descriptor read is still announced to the observer each time);
 * a path under a folder found missing is missing too, without asking; a
 * write through the back end (folder made or removed, descriptor written)
 * forgets what it touched. For one site's call, whose steps read the same
 * folders (orphaned entries, the grant engine): over SMB each read is
 * several round trips. Not across calls: the next call reads afresh,
 * except for the location's root (""), which the tool never changes: its
 * descriptor is read once while the back end is open (each site's top
 * folder inherits from it; 1,000 sites, 1,000 reads less), until a write
 * to the root itself. */
void acl_backend_remember(struct acl_backend *b);
void acl_backend_forget(struct acl_backend *b);
/* Writes sd to rel, reads it back and checks it with acl_sd_equivalent;
 * a difference is an error naming it. 0 or -1. */
int acl_write_sd(struct acl_backend *b, const char *rel, const struct ntfs_sd *sd, struct diag *d);
/* Children of folder rel (without "." and ".."; links and other special
 * entries are left out). *out heap (acl_dirents_free). 0 or -1. */
int acl_list(struct acl_backend *b, const char *rel, struct acl_dirent **out, size_t *n,
             struct diag *d);
/* Removes folder rel if it is empty. Returns 1 removed, 0 kept because it
 * is not empty (no message), -1 error. Which folders may be removed at all
 * (the ones the tool created) is the caller's business. */
int acl_remove_empty_folder(struct acl_backend *b, const char *rel, struct diag *d);

/* Compares what was written (want) with what was read back (got) as far as
 * the back end's capabilities allow:
 * - owner and group when both sides have them;
 * - control bits DACL_PROTECTED and DACL_AUTO_INHERITED only with
 *   ACL_CAP_CONTROL;
 * - the DACL: with ACL_CAP_EXACT, ACE for ACE in order; otherwise as three
 *   groups (explicit deny, explicit allow, inherited), each compared as a
 *   set (order and exact duplicates ignored) with generic rights mapped to
 *   file rights (Samba maps them when storing).
 * Returns true when equivalent; otherwise false with the first difference
 * in why (may be NULL). */
bool acl_sd_equivalent(const struct ntfs_sd *want, const struct ntfs_sd *got, unsigned caps,
                       char *why, size_t whylen);

/* ---- script back ends -----------------------------------------------
 * Each call appends commands for one folder (rel normalised) to the script
 * and returns 1, or 0 when exactly that step is already in the script (so a
 * second identical apply adds nothing). With dry_run nothing is appended;
 * the return value says whether the step would be new. The script is
 * idempotent: running it twice gives the same result. */
int acl_script_folder(struct acl_backend *b, const char *rel, bool dry_run);
/* Allow: icacls /grant:r (replaces the explicit allow ACEs of that SID,
 * as ntfs_dacl_merge_grant does); deny: /remove:d then /deny. */
int acl_script_grant(struct acl_backend *b, const char *rel, const struct ntfs_ace *ace,
                     bool dry_run);
/* icacls /remove:g or /remove:d: removes every explicit ACE of that SID and
 * type (icacls cannot remove one exact ACE). */
int acl_script_revoke(struct acl_backend *b, const char *rel, const struct ntfs_ace *ace,
                      bool dry_run);
/* icacls /inheritance:r (protect, drop inherited) or /inheritance:e. */
int acl_script_protect(struct acl_backend *b, const char *rel, bool protect, bool dry_run);
/* Removes the folder only if it is empty. */
int acl_script_remove_folder(struct acl_backend *b, const char *rel, bool dry_run);
/* The whole script as it would be written now (caller frees). */
char *acl_script_render(const struct acl_backend *b);

/* ---- for the back-end implementations only ---------------------------- */
/* The descriptor operations are NULL in back ends without
 * ACL_CAP_DESCRIPTORS (the scripts): the generic operations refuse such a
 * back end before calling them. */

struct acl_backend_ops {
    /* 1 / 0 / -1 as acl_exists. */
    int (*exists)(struct acl_backend *, const char *rel, bool *is_dir, struct diag *);
    /* 0 created; -EEXIST or -ENOENT (parent missing) without a message;
     * -1 other error with a message. */
    int (*mkdir)(struct acl_backend *, const char *rel, struct diag *);
    /* 0 removed; -ENOTEMPTY without a message; -1 other error. */
    int (*rmdir)(struct acl_backend *, const char *rel, struct diag *);
    int (*get_sd)(struct acl_backend *, const char *rel, struct ntfs_sd *, struct diag *);
    int (*set_sd)(struct acl_backend *, const char *rel, const struct ntfs_sd *, struct diag *);
    int (*list)(struct acl_backend *, const char *rel, struct acl_dirent **, size_t *,
                struct diag *);
    /* Releases impl; scripts write their file. 0 or -1. */
    int (*close)(struct acl_backend *, struct diag *);
};

struct acl_backend {
    enum acl_backend_kind kind;
    unsigned caps;
    char *location; /* heap, as given */
    const struct acl_backend_ops *ops;
    void *impl;
    acl_effect_fn observe; /* see acl_backend_observe */
    void *observe_ctx;
    struct strmap *remembered; /* acl_backend_remember: rel -> what was read */
    bool root_sd_known;        /* root_sd holds the root's descriptor */
    struct ntfs_sd root_sd;
};

/* A back end as acl_backend_open sees it: each back end file defines its
 * own (acl_backend_smb, acl_backend_ntfs3g, acl_backend_script), and
 * backend_registry.c lists them in acl_backend_types. */
struct acl_backend_type {
    /* What a location for it looks like, for the messages about bad
     * locations ("smb://host/share[/path]"). */
    const char *syntax;
    /* Whether location (not empty, no control character) is for this back
     * end, e.g. by its prefix; decides nothing about its validity. */
    bool (*match)(const char *location);
    /* The constructor, called by acl_backend_open with b zeroed but for
     * b->location (a copy of location). Checks location and fills kind,
     * caps, ops and impl; or returns -1 with a message in d (b is then
     * freed without calling ops->close). */
    int (*init)(struct acl_backend *b, const char *location, const struct acl_backend_options *opt,
                struct diag *d);
};

/* The registered back ends, in the order acl_backend_open asks their
 * match functions (the first match is used) and the order the messages
 * list their syntaxes; NULL-terminated. */
extern const struct acl_backend_type *const acl_backend_types[];

/* Whether some registered back end takes this location (syntax only), and
 * "expected A, B, or C" from their syntaxes (caller frees): for the
 * configuration's checks. */
bool acl_location_known(const char *location);
char *acl_expected_locations(void);

#endif
