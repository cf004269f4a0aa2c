/* SPDX-License-Identifier: GPL-3.0-or-later */
/* provision.ini: where the IIS configuration is, the Windows content root,
 * where templates live, and the defaults for new pools and sites. Documented
 * key by key in conf/provision.ini. */
#ifndef PROVISION_CONF_H
#define PROVISION_CONF_H

#include "provision/util.h"

struct conf {
    char *path;                 /* the file read */
    char *iis_config;           /* applicationHost.config path */
    char *iis_auth_file;        /* smb:// config: smbclient -A style credentials */
    bool iis_kerberos;          /* smb:// config: the caller's Kerberos ticket */
    int iis_timeout_ms;         /* smb:// config: per request; 0 = the default */
    unsigned backups;           /* timestamped copies kept next to it */
    bool plain_passwords;       /* accept writing SpecificUser passwords unencrypted */
    char *content_root;         /* Windows path: ${root} */
    char *content_location;     /* where folders and grants are applied, or NULL */
    char *content_auth_file;    /* SMB credentials (smbclient -A format) */
    bool content_kerberos;      /* SMB with the caller's Kerberos ticket */
    int content_timeout_ms;     /* SMB: per request; 0 = the default */
    char *content_operator_sid; /* kept with full control in isolated folders, or NULL */
    char *templates_dir;        /* absolute, or relative to the conf file's folder */
    char *state_dir;            /* [state] dir, or NULL: $PROVISION_STATE_DIR or the default */
    char *netbios_domain;       /* [directory] netbios: DOMAIN of DOMAIN\IUSR_x */
    struct conf_directory {
        bool configured; /* [directory] has a uri */
        char *uri, *ca_file, *bind_dn, *password_file, *password_env, *base_dn;
        char *upn_suffix, *secrets_file;
        bool tls_insecure, sasl_gssapi, gssapi_seal, create_ou, adopt_unmarked;
        int timeout_seconds;
        unsigned password_length;
        char **groups;
        size_t n_groups;
        char **adopt_groups; /* adopt_group: what an adopted account may belong to */
        size_t n_adopt_groups;
        char **wait_for; /* wait_for: DCs (URIs) new accounts must reach before the write */
        size_t n_wait_for;
        int wait_timeout_seconds; /* wait_timeout; 0 = the default (60) */
        unsigned line;            /* of [directory], for messages */
    } dir;
    /* [defaults] */
    char *runtime, *pipeline, *start_mode, *identity, *anonymous;
    int auto_start;
};

/* Loads path; relative paths inside are taken from the file's folder.
 * Returns 0, or -1 with messages naming file, line and key; on failure
 * nothing is left allocated and *c is zeroed (conf_free on it is harmless). */
int conf_load(const char *path, struct conf *c, struct diag *d);
/* Frees and zeroes *c; safe on a zeroed struct, and so twice. */
void conf_free(struct conf *c);

/* Resolves a path written in the conf file relative to its folder. */
char *conf_relative(const struct conf *c, const char *p);

/* Value checks shared with templates. Each returns NULL or a reason. */
const char *check_runtime(const char *v);    /* v4.0, v2.0, none */
const char *check_pipeline(const char *v);   /* Integrated, Classic */
const char *check_start_mode(const char *v); /* OnDemand, AlwaysRunning */
int parse_bool(const char *v);               /* 1, 0, or -1 */

#endif
