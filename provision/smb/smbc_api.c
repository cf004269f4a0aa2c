/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/smb/smbc_api.h"

#include <dlfcn.h>

static struct smbc_api table;
static bool loaded;

const struct smbc_api *smbc_api_load(struct diag *d)
{
    if (loaded)
        return &table;
    /* RTLD_LOCAL: Samba's symbols stay out of the global namespace. */
    void *lib = dlopen(SMBC_API_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        diag_add(d, "smb: cannot load %s (install the libsmbclient package): %s", SMBC_API_SONAME,
                 why ? why : "unknown error");
        return NULL;
    }
    struct smbc_api t;
    const char *missing = NULL;
#define SMBC_API_LOOKUP(name)                                                                      \
    if (!missing) {                                                                                \
        *(void **)&t.name = dlsym(lib, "smbc_" #name);                                             \
        if (!t.name)                                                                               \
            missing = "smbc_" #name;                                                               \
    }
    SMBC_API_FUNCTIONS(SMBC_API_LOOKUP)
#undef SMBC_API_LOOKUP
    if (missing) {
        diag_add(d, "smb: %s has no %s: another version of libsmbclient than this tool needs",
                 SMBC_API_SONAME, missing);
        dlclose(lib);
        return NULL;
    }
    table = t; /* the library stays loaded for the process's life */
    loaded = true;
    return &table;
}
