/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicationHost.config: the application pools, sites and per-site
 * anonymous identities of one IIS host.
 *
 * apphost_load() indexes the file; apphost_ensure_site() and
 * apphost_remove_site() queue edits, each site all-or-nothing; the edits are
 * spliced into the original bytes by apphost_render(). Everything a change
 * does not touch keeps its bytes (xmldoc.h). Writing the result to
 * disk is configfile.h's job. */
#ifndef PROVISION_IIS_APPHOST_H
#define PROVISION_IIS_APPHOST_H

#include "provision/change.h"
#include "provision/iis/names.h"
#include "provision/util.h"

#include <stddef.h>
#include <sys/uio.h>

enum iis_identity {
    IIS_IDENTITY_APPPOOL,        /* ApplicationPoolIdentity (IIS AppPool\NAME) */
    IIS_IDENTITY_NETWORKSERVICE, /* NetworkService */
    IIS_IDENTITY_LOCALSERVICE,   /* LocalService */
    IIS_IDENTITY_LOCALSYSTEM,    /* LocalSystem */
    IIS_IDENTITY_SPECIFICUSER,   /* SpecificUser: userName + password */
};
const char *iis_identity_name(enum iis_identity id); /* the identityType value */

struct iis_pool_spec {
    const char *name;
    const char *runtime;    /* "v4.0", "v2.0" or "" (No Managed Code) */
    const char *pipeline;   /* "Integrated" or "Classic" */
    const char *start_mode; /* "OnDemand" or "AlwaysRunning" */
    int auto_start;         /* 0 or 1 */
    enum iis_identity identity;
    const char *user_name;    /* SpecificUser only: DOMAIN\user */
    const char *password;     /* SpecificUser only; NULL leaves the stored one */
    const char *idle_timeout; /* hh:mm:ss, or NULL: not managed */
    int load_user_profile;    /* 0, 1, or -1: not managed */
};

struct iis_site_spec {
    const char *name;
    unsigned long id; /* 0: keep the current id, or the next free one */
    int auto_start;   /* serverAutoStart */
    const char *pool;
    const char *physical_path;
    const char *vdir_user;     /* NULL: connect as the application user (pass-through) */
    const char *vdir_password; /* with vdir_user; NULL leaves the stored one */
    const struct iis_binding *bindings;
    size_t n_bindings;
    const char *anonymous_user; /* "" = the pool identity, "IUSR", NULL = not managed */
};

struct apphost;

/* Loads and indexes; `name` is used in messages. Refuses files without
 * system.applicationHost/sites and applicationPools. Takes ownership of text. */
struct apphost *apphost_load(char *text, size_t len, const char *name, struct diag *d);
void apphost_free(struct apphost *ah);

/* Makes the site and its pool match the specs. All checks come first: on any
 * error nothing is queued, messages go to d, and -1 is returned. Changes
 * found are appended to out (none when the config already matches). */
int apphost_ensure_site(struct apphost *ah, const struct iis_pool_spec *pool,
                        const struct iis_site_spec *site, struct changes *out, struct diag *d);

/* The checks of apphost_ensure_site alone: 0 when ensure would succeed
 * now, else -1 with the same messages. Queues nothing. */
int apphost_check_site(struct apphost *ah, const struct iis_pool_spec *pool,
                       const struct iis_site_spec *site, struct diag *d);

/* Removes the site, its <location> anonymous identity, and the pool
 * `pool_name` (may be NULL) when no other application uses it; refuses,
 * naming the users, when one does. A site that is not there is no change. */
int apphost_remove_site(struct apphost *ah, const char *site_name, const char *pool_name,
                        struct changes *out, struct diag *d);

/* True when pool exists, runs as SpecificUser user_name and stores a
 * password (plain or encrypted by IIS). */
bool apphost_pool_has_password(const struct apphost *ah, const char *pool, const char *user_name);
/* The password the file stores in clear for that pool and user (heap:
 * free_secret it), or NULL (none, another identity, or encrypted by IIS). */
char *apphost_pool_plain_password(const struct apphost *ah, const char *pool,
                                  const char *user_name);

/* The bytes of one object as the file was loaded: kind "site", "pool" or
 * "location" with its name, or "defaults" with "site", "application" or
 * "pool". False when the file has none. For saved plans: what a plan
 * relies on. */
bool apphost_object_bytes(const struct apphost *ah, const char *kind, const char *name,
                          const char **p, size_t *len);

/* True once something is queued. */
bool apphost_dirty(const struct apphost *ah);
/* The original bytes (as loaded). */
const char *apphost_original(const struct apphost *ah, size_t *len);
/* The file with all queued edits spliced in; caller frees (and wipes: it
 * may hold passwords). NULL when two queued edits overlap: an internal
 * error, never guessed around; nothing should then be written. */
char *apphost_render(const struct apphost *ah, size_t *len);
/* The same without building it: the pieces to write in order (spans of
 * the original and the edits' texts, valid until the next edit or
 * apphost_free), *n of them, *total bytes in all; the caller frees the
 * array. NULL as above. */
struct iovec *apphost_render_pieces(const struct apphost *ah, size_t *n, size_t *total);
/* The SHA-256 of the original bytes (64 hex digits into out[65]), for the
 * journal. apphost_digest_start begins computing it on another core (a run
 * that will write calls it right after loading); apphost_original_sha256
 * waits for it, or computes it then. */
void apphost_digest_start(struct apphost *ah);
void apphost_original_sha256(struct apphost *ah, char out[65]);

/* One row of `provision list`. */
struct iis_site_info {
    const char *name;
    unsigned long id;
    const char *pool;          /* effective pool of the root application */
    const char *identity;      /* identityType of that pool */
    const char *identity_user; /* userName when SpecificUser */
    const char *physical_path;
    const char *anonymous_user; /* effective userName ("" = pool identity) */
    char **bindings;            /* "protocol/information" */
    size_t n_bindings;
};
/* An existing site in the terms of a site list (`import`): the values as
 * IIS reads them (the attribute, else the collection default, else the
 * schema default), and what provision does not manage. Strings are heap. */
struct iis_site_desc {
    char *name;
    unsigned long id;
    bool auto_start;
    char *pool;                     /* root application's pool */
    bool pool_exists;               /* the pool is defined in applicationPools */
    char *runtime;                  /* managedRuntimeVersion: "v4.0", "v2.0", "" */
    char *pipeline, *start_mode;    /* managedPipelineMode, startMode */
    bool pool_auto_start;           /* autoStart */
    char *identity, *identity_user; /* identityType; userName (or NULL) */
    char *idle_timeout;             /* processModel idleTimeout */
    bool load_user_profile;         /* processModel loadUserProfile */
    char *physical_path;            /* root virtual directory's, or NULL */
    char *vdir_user;                /* the root's connect-as user, or NULL (pass-through) */
    char *anonymous_user;           /* effective: "" = the pool identity */
    bool anonymous_own;             /* set by the site's own <location>, not server-wide */
    char **bindings;                /* "PROTO/IP:PORT:HOST[;sni]", as site lists write them */
    size_t n_bindings;
    char *bindings_problem; /* why they cannot be written so, or NULL */
    char **unmanaged;       /* what provision leaves alone (applications, virtual
                               directories but the root), for comments */
    size_t n_unmanaged;
};
/* 0 and *out, or -1 when the config has no such site. */
int apphost_describe_site(const struct apphost *ah, const char *name, struct iis_site_desc *out);

/* Every virtual directory of a site (`check`): of which application, where,
 * and whom it connects as. Pointers are valid during the call only; the
 * password is wiped after it. */
struct iis_vdir_info {
    const char *app_path;      /* "/" or "/api" */
    const char *app_pool;      /* the application's effective pool */
    const char *vdir_path;     /* "/" or "/img" */
    const char *physical_path; /* "" when missing */
    const char *user;          /* connect-as userName, or NULL: pass-through */
    bool has_password;         /* a password is stored (in clear or encrypted) */
    const char *password;      /* in clear, or NULL (none, or encrypted by IIS) */
};
typedef void (*iis_vdir_visitor)(const struct iis_vdir_info *v, void *arg);
/* The identity pool runs as: *type its identityType (as IIS reads it),
 * *user its userName or NULL (heap). 0, or -1 when no such pool. */
int apphost_pool_identity(const struct apphost *ah, const char *pool, char **type, char **user);
/* -1 when the config has no such site, else 0 after visiting. */
int apphost_site_vdirs(const struct apphost *ah, const char *site, iis_vdir_visitor visit,
                       void *arg);
void iis_site_desc_free(struct iis_site_desc *d);

typedef void (*iis_site_visitor)(const struct iis_site_info *info, void *arg);
void apphost_list(const struct apphost *ah, iis_site_visitor visit, void *arg);
size_t apphost_site_count(const struct apphost *ah);

#endif
