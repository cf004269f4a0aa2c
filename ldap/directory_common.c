/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The parts of ldap/directory.h that need no connection, shared by the
 * real module and the in-memory directory of the unit tests
 * (tests/unit/fake/fake_directory.c). */
#include "ldap/directory.h"
#include "provision/util.h"

#include <stdlib.h>
#include <string.h>

void dir_account_free(struct dir_account *a)
{
    if (!a)
        return;
    free(a->dn);
    free(a->sam);
    free(a->sid);
    free(a->guid);
    free(a->upn);
    free(a->description);
    free(a->managed_site);
    memset(a, 0, sizeof *a);
}

int dir_bind_settings_check(const struct dir_config *cfg, struct diag *d)
{
    if (cfg->sasl_gssapi && (cfg->bind_dn || cfg->password_file || cfg->password_env)) {
        diag_add(d, "ldap: sasl_gssapi uses the Kerberos ticket: leave bind_dn and the "
                    "password settings empty");
        return -1;
    }
    if (!cfg->sasl_gssapi && (!cfg->bind_dn || !*cfg->bind_dn)) {
        diag_add(d, "ldap: no bind_dn (or sasl_gssapi) given");
        return -1;
    }
    if (!cfg->sasl_gssapi && !!cfg->password_file == !!cfg->password_env) {
        diag_add(d, "ldap: give exactly one of password_file and password_env for %s",
                 cfg->bind_dn);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_groups; i++)
        if (!cfg->groups[i] || !*cfg->groups[i]) {
            diag_add(d, "ldap: group %zu is empty", i + 1);
            return -1;
        }
    return 0;
}
