/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libsmbclient, loaded when first needed (dlopen) instead of at start: a
 * run whose locations are all local never maps Samba's ~100 shared
 * libraries (about 40 ms and 9 MB a process). Only provision/smb/smb.c
 * calls libsmbclient, through this table. */
#ifndef PROVISION_SMB_SMBC_API_H
#define PROVISION_SMB_SMBC_API_H

#include "provision/util.h"

#include <libsmbclient.h>

/* The library's soname: the ABI these prototypes are for. */
#define SMBC_API_SONAME "libsmbclient.so.0"

/* Every libsmbclient function smb.c uses (X-macro: one list for the
 * table's fields and the symbol look-ups). */
#define SMBC_API_FUNCTIONS(X)                                                                      \
    X(new_context)                                                                                 \
    X(free_context)                                                                                \
    X(init_context)                                                                                \
    X(setDebug)                                                                                    \
    X(setTimeout)                                                                                  \
    X(setUser)                                                                                     \
    X(setWorkgroup)                                                                                \
    X(setOptionUserData)                                                                           \
    X(getOptionUserData)                                                                           \
    X(setFunctionAuthDataWithContext)                                                              \
    X(setOptionNoAutoAnonymousLogin)                                                               \
    X(setOptionUrlEncodeReaddirEntries)                                                            \
    X(setOptionUseKerberos)                                                                        \
    X(setOptionFallbackAfterKerberos)                                                              \
    X(setOptionUseCCache)                                                                          \
    X(getFunctionOpen)                                                                             \
    X(getFunctionRead)                                                                             \
    X(getFunctionWrite)                                                                            \
    X(getFunctionClose)                                                                            \
    X(getFunctionStat)                                                                             \
    X(getFunctionUnlink)                                                                           \
    X(getFunctionRename)                                                                           \
    X(getFunctionMkdir)                                                                            \
    X(getFunctionRmdir)                                                                            \
    X(getFunctionOpendir)                                                                          \
    X(getFunctionReaddirPlus)                                                                      \
    X(getFunctionClosedir)                                                                         \
    X(getFunctionGetxattr)                                                                         \
    X(getFunctionSetxattr)

struct smbc_api {
#define SMBC_API_FIELD(name) __typeof__(&smbc_##name) name;
    SMBC_API_FUNCTIONS(SMBC_API_FIELD)
#undef SMBC_API_FIELD
};

/* The table, loading the library on the first call (later calls return
 * the same table). NULL with a message in d when the library or one of
 * its functions cannot be loaded (the libsmbclient package is missing). */
const struct smbc_api *smbc_api_load(struct diag *d);

#endif
