/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Which SIDs the token of each identity IIS uses holds: the well-known
 * groups, kept as data in one table (tokens.c), each row with the fact
 * behind it, so that a fact found wrong on a real host is corrected in one
 * place. The ground truth is `whoami /groups` run inside the worker process
 * (or, for the anonymous identity, in a page served anonymously). An AD
 * account's own groups (tokenGroups) come from the directory, not from
 * here. */
#ifndef PROVISION_TOKENS_H
#define PROVISION_TOKENS_H

#include "provision/ntfs/effective.h"
#include "provision/ntfs/sid.h"

#include <stddef.h>

enum token_kind {
    TOKEN_IUSR,            /* the anonymous identity IUSR */
    TOKEN_APPPOOL,         /* IIS AppPool\NAME (ApplicationPoolIdentity) */
    TOKEN_NETWORK_SERVICE, /* a pool running as NetworkService */
    TOKEN_LOCAL_SERVICE,   /* a pool running as LocalService */
    TOKEN_LOCAL_SYSTEM,    /* a pool running as LocalSystem */
    TOKEN_POOL_ACCOUNT,    /* a pool running as a SpecificUser account */
    TOKEN_USER_ACCOUNT,    /* an account used as the anonymous identity */
    TOKEN_GROUP,           /* a group on its own (Users, IIS_IUSRS, ...) */
};

struct token_fact {
    const char *sid;  /* S-1-... */
    const char *name; /* as Windows names it */
    const char *why;  /* where the membership comes from */
};

/* The well-known groups a token of kind holds besides the identity's own
 * SID (none for TOKEN_GROUP). Static. */
const struct token_fact *token_facts(enum token_kind kind, size_t *n);

/* A token built from an identity SID, the table's groups and extra SIDs
 * (an account's tokenGroups). */
struct token {
    struct ntfs_sid *sids; /* heap; sids[0] the identity */
    size_t count;
    struct ntfs_token view; /* points at sids, for ntfs_access_check */
};
void token_build(struct token *t, enum token_kind kind, const struct ntfs_sid *identity,
                 const struct ntfs_sid *extra, size_t n_extra);
void token_free(struct token *t);

/* The Windows name of a well-known SID ("Everyone", "BUILTIN\Users", ...),
 * or NULL. */
const char *token_wellknown_name(const struct ntfs_sid *sid);

#endif
