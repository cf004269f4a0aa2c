/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as a journal (provision/journal.h), then the
 * lookups recovery makes on its records. Nothing may crash or leak. */
#include "provision/journal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag d;
    diag_init(&d);
    struct journal_file f = {.fd = -1};
    f.path = xstrdup("fuzz.journal");
    if (journal_parse(&f, (const char *)data, size, &d) == 0) {
        struct journal_targets t = {"c", "l", NULL};
        (void)journal_same_targets(&f, &t);
        for (size_t i = 0; i < f.n; i++) {
            (void)journal_get(&f.records[i], "rel");
            (void)journal_get(&f.records[i], "old");
        }
    }
    journal_file_free(&f);
    diag_free(&d);
    return 0;
}
