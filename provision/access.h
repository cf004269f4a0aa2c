/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The seed scenario guard: before anything is written, the template's grants
 * must let the site's identities read what IIS serves.
 *   - The anonymous identity (IUSR, or the pool identity when anonymous =
 *     pool) must read the content files, else static files such as CSS/JS
 *     answer 401 (the IIS_IUSRS-vs-IUSR question this project grew from).
 *   - The pool identity must read its root (web.config), else 500.19.
 * Only sites whose template manages a folder holding the site's physical
 * path are checked: the tool cannot see ACLs it does not manage. */
#ifndef PROVISION_ACCESS_H
#define PROVISION_ACCESS_H

#include "provision/site.h"

/* Returns 0 when both can read, else -1 with a message naming the site, the
 * identity, the path and the grant to add. */
int access_check_site(const struct site_model *m, struct diag *d);

#endif
