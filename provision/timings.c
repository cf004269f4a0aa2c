/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/timings.h"

#include <stdbool.h>
#include <time.h>

static bool enabled;
static uint64_t run_started;
static uint64_t spent[TIMING_COUNT], calls[TIMING_COUNT];

static const char *const names[TIMING_COUNT] = {
    [TIMING_CONFIG_READ] = "config read",
    [TIMING_CONFIG_INDEX] = "config checked and indexed",
    [TIMING_DIRECTORY_READ] = "directory reads (LDAP)",
    [TIMING_CONTENT_READ] = "content reads (folders, descriptors)",
    [TIMING_DIRECTORY_WRITE] = "directory writes (LDAP)",
    [TIMING_CONTENT_WRITE] = "content writes (folders, descriptors)",
    [TIMING_CONFIG_WRITE] = "config write (beside, compare, swap)",
    [TIMING_JOURNAL] = "journal (writes, fsyncs)",
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void timings_enable(void)
{
    enabled = true;
    run_started = now_ns();
}

uint64_t timing_start(void)
{
    return enabled ? now_ns() : 0;
}

void timing_stop(enum timing t, uint64_t started)
{
    if (!enabled || !started || t >= TIMING_COUNT)
        return;
    spent[t] += now_ns() - started;
    calls[t]++;
}

void timing_pause(enum timing t, uint64_t *started)
{
    if (!enabled || !*started || t >= TIMING_COUNT)
        return;
    spent[t] += now_ns() - *started;
    *started = 0;
}

void timing_resume(uint64_t *started)
{
    if (enabled)
        *started = now_ns();
}

void timings_print(FILE *out)
{
    if (!enabled)
        return;
    uint64_t total = now_ns() - run_started, covered = 0;
    fprintf(out, "timings: %-38s %10s %8s\n", "step", "ms", "calls");
    for (int t = 0; t < TIMING_COUNT; t++) {
        covered += spent[t];
        fprintf(out, "timings: %-38s %10.1f %8llu\n", names[t], (double)spent[t] / 1e6,
                (unsigned long long)calls[t]);
    }
    fprintf(out, "timings: %-38s %10.1f\n", "everything else (planning, output)",
            (double)(total > covered ? total - covered : 0) / 1e6);
    fprintf(out, "timings: %-38s %10.1f\n", "whole run", (double)total / 1e6);
}
