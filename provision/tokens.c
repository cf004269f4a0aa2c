/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/tokens.h"

#include "provision/util.h"

#include <stdlib.h>
#include <string.h>

/* The facts, one row each. */
#define EVERYONE                                                                                   \
    {                                                                                              \
        "S-1-1-0", "Everyone",                                                                     \
            "every token but ANONYMOUS LOGON's holds it (MS-DTYP 2.4.2.4; since Windows Server "   \
            "2003 "                                                                                \
            "anonymous logons are left out)"                                                       \
    }
#define AUTHENTICATED_USERS                                                                        \
    {                                                                                              \
        "S-1-5-11", "NT AUTHORITY\\Authenticated Users",                                           \
            "every logon of an account (not ANONYMOUS LOGON) holds it"                             \
    }
#define USERS                                                                                      \
    {                                                                                              \
        "S-1-5-32-545", "BUILTIN\\Users",                                                          \
            "Authenticated Users is a member of Users on every Windows installation; granting "    \
            "Users "                                                                               \
            "is known to let pools and IUSR read (C:\\inetpub\\wwwroot serves anonymous requests " \
            "through its Users: RX entry)"                                                         \
    }
#define IIS_IUSRS                                                                                  \
    {                                                                                              \
        "S-1-5-32-568", "BUILTIN\\IIS_IUSRS",                                                      \
            "IIS adds it to every worker process token at run time, whatever the pool identity "   \
            "(IIS 7.5 and later); IUSR does not get it: granting IIS_IUSRS leaves static files "   \
            "at 401"                                                                               \
    }
#define ADMINISTRATORS                                                                             \
    {                                                                                              \
        "S-1-5-32-544", "BUILTIN\\Administrators", "LocalSystem's token holds it"                  \
    }
#define SERVICE                                                                                    \
    {                                                                                              \
        "S-1-5-6", "NT AUTHORITY\\SERVICE", "a service logon (the service accounts) holds it"      \
    }

static const struct token_fact iusr_facts[] = {EVERYONE, AUTHENTICATED_USERS, USERS};
static const struct token_fact worker_facts[] = {EVERYONE, AUTHENTICATED_USERS, USERS, IIS_IUSRS};
static const struct token_fact service_facts[] = {EVERYONE, AUTHENTICATED_USERS, USERS, IIS_IUSRS,
                                                  SERVICE};
static const struct token_fact system_facts[] = {EVERYONE, AUTHENTICATED_USERS, ADMINISTRATORS,
                                                 IIS_IUSRS};
static const struct token_fact user_facts[] = {EVERYONE, AUTHENTICATED_USERS, USERS};

#define FACTS(a) a, sizeof a / sizeof *a

static const struct {
    const struct token_fact *facts;
    size_t n;
} by_kind[] = {
    [TOKEN_IUSR] = {FACTS(iusr_facts)},
    [TOKEN_APPPOOL] = {FACTS(worker_facts)},
    [TOKEN_NETWORK_SERVICE] = {FACTS(service_facts)},
    [TOKEN_LOCAL_SERVICE] = {FACTS(service_facts)},
    [TOKEN_LOCAL_SYSTEM] = {FACTS(system_facts)},
    [TOKEN_POOL_ACCOUNT] = {FACTS(worker_facts)},
    [TOKEN_USER_ACCOUNT] = {FACTS(user_facts)},
    [TOKEN_GROUP] = {NULL, 0},
};

const struct token_fact *token_facts(enum token_kind kind, size_t *n)
{
    *n = by_kind[kind].n;
    return by_kind[kind].facts;
}

void token_build(struct token *t, enum token_kind kind, const struct ntfs_sid *identity,
                 const struct ntfs_sid *extra, size_t n_extra)
{
    size_t n_facts;
    const struct token_fact *facts = token_facts(kind, &n_facts);
    t->sids = xcalloc(1 + n_facts + n_extra, sizeof *t->sids);
    t->count = 0;
    t->sids[t->count++] = *identity;
    for (size_t i = 0; i < n_facts; i++)
        if (ntfs_sid_parse(facts[i].sid, &t->sids[t->count]) == 0)
            t->count++;
    for (size_t i = 0; i < n_extra; i++)
        t->sids[t->count++] = extra[i];
    t->view.sids = t->sids;
    t->view.count = t->count;
}

void token_free(struct token *t)
{
    free(t->sids);
    memset(t, 0, sizeof *t);
}

static const struct {
    const char *sid, *name;
} wellknown[] = {
    {"S-1-1-0", "Everyone"},
    {"S-1-3-0", "CREATOR OWNER"},
    {"S-1-3-1", "CREATOR GROUP"},
    {"S-1-3-4", "OWNER RIGHTS"},
    {"S-1-5-4", "NT AUTHORITY\\INTERACTIVE"},
    {"S-1-5-6", "NT AUTHORITY\\SERVICE"},
    {"S-1-5-7", "NT AUTHORITY\\ANONYMOUS LOGON"},
    {"S-1-5-11", "NT AUTHORITY\\Authenticated Users"},
    {"S-1-5-17", "NT AUTHORITY\\IUSR"},
    {"S-1-5-18", "NT AUTHORITY\\SYSTEM"},
    {"S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE"},
    {"S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE"},
    {"S-1-5-32-544", "BUILTIN\\Administrators"},
    {"S-1-5-32-545", "BUILTIN\\Users"},
    {"S-1-5-32-546", "BUILTIN\\Guests"},
    {"S-1-5-32-568", "BUILTIN\\IIS_IUSRS"},
    {"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
     "NT SERVICE\\TrustedInstaller"},
};

const char *token_wellknown_name(const struct ntfs_sid *sid)
{
    char text[NTFS_SID_STRING_MAX];
    ntfs_sid_format(sid, text, sizeof text);
    for (size_t i = 0; i < sizeof wellknown / sizeof *wellknown; i++)
        if (!strcmp(wellknown[i].sid, text))
            return wellknown[i].name;
    return NULL;
}
