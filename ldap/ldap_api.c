/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "ldap/ldap_api.h"

#include "provision/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static struct ldap_api table;
static bool loaded;
static char failure[512]; /* why the load failed, when it did */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Once per process (several threads may open connections). */
static void load(void)
{
    /* RTLD_LOCAL: libldap's and GnuTLS's symbols stay out of the global
     * namespace. */
    void *lib = dlopen(LDAP_API_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "ldap: cannot load %s (install the %s package): %s",
                 LDAP_API_SONAME, LDAP_API_PACKAGE, why ? why : "unknown error");
        return;
    }
    struct ldap_api t;
    const char *missing = NULL;
    /* dlsym on libldap's handle also searches its dependencies: the ber_*
     * symbols come from liblber-2.5.so.0 that way. */
#define LDAP_API_LOOKUP(name)                                                                      \
    if (!missing) {                                                                                \
        *(void **)&t.name = dlsym(lib, #name);                                                     \
        if (!t.name)                                                                               \
            missing = #name;                                                                       \
    }
    LDAP_API_FUNCTIONS(LDAP_API_LOOKUP)
    LDAP_API_DATA(LDAP_API_LOOKUP)
#undef LDAP_API_LOOKUP
    if (missing) {
        snprintf(failure, sizeof failure,
                 "ldap: %s has no %s: another version of libldap than this tool needs (install "
                 "the %s package)",
                 LDAP_API_SONAME, missing, LDAP_API_PACKAGE);
        dlclose(lib);
        return;
    }
    table = t; /* the library stays loaded for the process's life */
    loaded = true;
}

const struct ldap_api *ldap_api_load(struct diag *d)
{
    pthread_once(&once, load);
    if (loaded)
        return &table;
    if (d)
        diag_add(d, "%s", failure);
    return NULL;
}

const struct ldap_api *ldap_lib(void)
{
    const struct ldap_api *api = ldap_api_load(NULL);
    if (!api) {
        fprintf(stderr, "provision: %s\n", failure);
        abort();
    }
    return api;
}
