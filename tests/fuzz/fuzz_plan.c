/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: any bytes as the lines of a saved plan
 * (provision/planfile.h; the signature check comes before this parse in
 * planfile_read), then compared with itself. Nothing may crash or leak. */
#include "provision/planfile.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag d;
    diag_init(&d);
    struct planfile p;
    if (planfile_parse(&p, (const char *)data, size, "fuzz.plan", &d) == 0) {
        if (planfile_compare(&p, &p, &d) != 0)
            abort(); /* a plan always equals itself */
        planfile_free(&p);
    }
    diag_free(&d);
    return 0;
}
