/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/faults.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

void interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* let the step in progress finish */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool interrupted(void)
{
    return got_signal != 0;
}

struct hook {
    char action[8], point[16];
    long at, seen;
};

static struct hook hooks[8];
static size_t n_hooks;
static char *hooks_text; /* the value the hooks were read from */

/* Reads the hooks again whenever the variable changed (a test process may
 * set it for each run it forks), counting from zero. */
static void read_hooks(void)
{
    const char *env = getenv("PROVISION_TEST_HOOK");
    if (!env)
        env = "";
    if (hooks_text && !strcmp(hooks_text, env))
        return;
    free(hooks_text);
    hooks_text = xstrdup(env);
    n_hooks = 0;
    if (!*env)
        return;
    char *copy = xstrdup(env), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && n_hooks < 8;
         item = strtok_r(NULL, ",", &save)) {
        char *p1 = strchr(item, ':'), *p2 = p1 ? strchr(p1 + 1, ':') : NULL;
        if (!p1 || !p2)
            continue;
        struct hook *h = &hooks[n_hooks];
        memset(h, 0, sizeof *h);
        snprintf(h->action, sizeof h->action, "%.*s", (int)(p1 - item), item);
        snprintf(h->point, sizeof h->point, "%.*s", (int)(p2 - p1 - 1), p1 + 1);
        h->at = strtol(p2 + 1, NULL, 10);
        if (h->at > 0)
            n_hooks++;
    }
    free(copy);
}

int fault_point(const char *point, struct diag *d)
{
    read_hooks();
    for (size_t i = 0; i < n_hooks; i++) {
        struct hook *h = &hooks[i];
        if (strcmp(h->point, point) != 0 || ++h->seen != h->at)
            continue;
        if (!strcmp(h->action, "crash"))
            kill(getpid(), SIGKILL);
        if (!strcmp(h->action, "signal"))
            raise(SIGINT); /* as if Ctrl-C was pressed now */
        if (!strcmp(h->action, "stop"))
            raise(SIGSTOP); /* a test does something meanwhile, then SIGCONT */
        if (!strcmp(h->action, "fail") && d) {
            diag_add(d, "injected fault at %s (PROVISION_TEST_HOOK)", point);
            return -1;
        }
    }
    return 0;
}
