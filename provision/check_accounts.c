/* SPDX-License-Identifier: GPL-3.0-or-later */
/* check: what is about AD accounts and logons: the state of the accounts
 * pools and the anonymous identity run as, one logon of a stored password,
 * virtual directories that connect as a user, and domain SIDs in entries
 * that the directory does not know. */
#include "provision/check_internal.h"

#include "provision/ntfs/sid.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *filetime_text(long long ft)
{
    time_t t = (time_t)(ft / 10000000LL - 11644473600LL);
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm))
        return xstrdup("(a date out of range)");
    return xstrdup(buf);
}

/* The short name the AD PowerShell cmdlets take: name of DOMAIN\name. */
static const char *sam_of(const char *user)
{
    const char *slash = strrchr(user, '\\');
    return slash ? slash + 1 : user;
}

/* One logon per pool and run: a refused one counts toward the lockout. */
static void try_logon(struct ctx *c, struct site_work *w)
{
    struct check_site *s = w->out;
    const struct check_account *a = w->pool.account;
    if (!strmap_get(&c->logons, s->pool))
        strmap_put(&c->logons, s->pool, (void *)1);
    else
        return; /* another site of the same pool tried it */
    char *password = apphost_pool_plain_password(c->in->ah, s->pool, s->identity_user);
    if (!password) {
        if (!apphost_pool_has_password(c->in->ah, s->pool, s->identity_user)) {
            struct check_finding *fi =
                add_finding(s, "password-missing", "critical", w->pool.label, s->physical_path);
            fi->text = xasprintf("pool '%s' runs as %s but stores no password: the pool cannot "
                                 "start and the site answers 503",
                                 s->pool, w->pool.label);
            fi->fix = xasprintf("provision apply --rotate-passwords with the site's list, or "
                                "appcmd set apppool \"%s\" /processModel.password:...",
                                s->pool);
        } else {
            append_note(s, "the pool's password is stored encrypted by IIS: its logon was not "
                           "tried");
        }
        return;
    }
    char *why = NULL;
    int ok = c->in->logon(c->in->ctx, a->upn, password, &why);
    free_secret(password);
    if (ok == 0) {
        struct check_finding *fi =
            add_finding(s, "password-logon", "critical", w->pool.label, s->physical_path);
        fi->text = xasprintf("the password pool '%s' stores for %s does not log on (%s): the "
                             "pool cannot start and the site answers 503. check tried once: "
                             "each refused logon counts toward the account's lockout",
                             s->pool, w->pool.label, why ? why : "refused");
        fi->fix = xstrdup("provision apply --rotate-passwords with the site's list (sets a new "
                          "password and stores it in the pool)");
    } else if (ok < 0) {
        append_note(s, why ? why : "the logon could not be tried");
    }
    free(why);
}

/* The account a pool or the anonymous identity runs as: can it log on? */
void account_findings(struct ctx *c, struct site_work *w, const struct principal *p, bool is_pool)
{
    const struct check_account *a = p->account;
    if (!a)
        return;
    struct check_site *s = w->out;
    char *role = is_pool ? xasprintf("%s, the identity of pool '%s',", p->label, s->pool)
                         : xasprintf("%s, the anonymous identity,", p->label);
    const char *effect = is_pool ? "the pool cannot start and the site answers 503"
                                 : "anonymous requests fail with 401";
    const char *sam = sam_of(p->label);
    bool usable = true;
    if (a->disabled) {
        struct check_finding *fi =
            add_finding(s, "account-disabled", "critical", p->label, s->physical_path);
        fi->text = xasprintf("%s is disabled: %s", role, effect);
        fi->fix = xasprintf("Enable-ADAccount %s", sam);
        usable = false;
    }
    if (a->locked_out) {
        struct check_finding *fi =
            add_finding(s, "account-locked-out", "critical", p->label, s->physical_path);
        fi->text = xasprintf("%s is locked out (too many wrong passwords): %s", role, effect);
        fi->fix =
            xasprintf("Unlock-ADAccount %s, then find what logs on with an old password", sam);
        usable = false;
    }
    if (a->account_expires && a->account_expires <= c->in->now) {
        char *when = filetime_text(a->account_expires);
        struct check_finding *fi =
            add_finding(s, "account-expired", "critical", p->label, s->physical_path);
        fi->text = xasprintf("%s expired on %s: %s", role, when, effect);
        fi->fix = xasprintf("Clear-ADAccountExpiration %s", sam);
        free(when);
        usable = false;
    }
    if (a->password_expired) {
        struct check_finding *fi =
            add_finding(s, "password-expired", "critical", p->label, s->physical_path);
        fi->text = xasprintf("%s has an expired password (or one that must be changed at the "
                             "next logon): %s",
                             role, effect);
        fi->fix = xstrdup("provision apply --rotate-passwords with the site's list");
        usable = false;
    } else if (a->password_expires && a->password_expires > c->in->now) {
        char *when = filetime_text(a->password_expires);
        struct check_finding *fi =
            add_finding(s, "password-expires", "warning", p->label, s->physical_path);
        fi->text = xasprintf("%s has a password that expires on %s: then %s", role, when, effect);
        fi->fix = xasprintf("Set-ADUser %s -PasswordNeverExpires $true (the pool cannot change "
                            "its own password)",
                            sam);
        free(when);
    }
    if (!a->groups_read)
        append_note(s, "the AD groups (tokenGroups) of an identity could not be read: only its "
                       "own SID and the well-known groups count");
    free(role);
    /* A logon of an unusable account would only add to its bad-password
     * count. */
    if (usable && is_pool && c->in->logon && a->upn && s->identity_user)
        try_logon(c, w);
}

/* Needs no descriptor: said even when the folders cannot be read. */
void localsystem_finding(struct site_work *w)
{
    struct check_site *s = w->out;
    struct check_finding *fi =
        add_finding(s, "pool-localsystem", "warning", w->pool.label, s->physical_path);
    fi->text = xasprintf("pool '%s' runs as LocalSystem: the site's code has full control "
                         "of the server",
                         s->pool);
    fi->fix = xasprintf("appcmd set apppool \"%s\" /processModel.identityType:"
                        "ApplicationPoolIdentity",
                        s->pool);
}

/* ---- virtual directories that connect as a user ----------------------- */

static void vdir_finding(struct vdir_walk *vw, const struct iis_vdir_info *v, const char *id,
                         const char *what)
{
    struct check_site *s = vw->w->out;
    char *where =
        xasprintf("%s%s", strcmp(v->app_path, "/") ? v->app_path : "",
                  strcmp(v->vdir_path, "/") || !strcmp(v->app_path, "/") ? v->vdir_path : "");
    struct check_finding *fi = add_finding(s, id, "critical", v->user, v->physical_path);
    fi->text = xasprintf("virtual directory %s of site '%s' connects as %s, %s: requests there "
                         "fail (500 or 401)",
                         where, s->name, v->user, what);
    fi->fix = xasprintf("appcmd set vdir \"%s%s\" -userName:\"\" -password:\"\" (pass-through), "
                        "or store the account's current password",
                        s->name, where);
    free(where);
}

/* A connect-as user: its account must log on with the stored password
 * (tried once per account and run, as for pools). */
void check_vdir(const struct iis_vdir_info *v, void *arg)
{
    struct vdir_walk *vw = arg;
    struct ctx *c = vw->c;
    struct check_site *s = vw->w->out;
    if (!v->user)
        return;
    if (!v->has_password) {
        vdir_finding(vw, v, "connect-as-no-password", "but stores no password");
        return;
    }
    if (!v->password) {
        append_note(s, "a virtual directory's connect-as password is encrypted by IIS: not tried");
        return;
    }
    struct ntfs_sid sid;
    if (ntfs_sid_resolve_builtin(v->user, &sid) == 0 || !strchr(v->user, '\\') || !c->in->resolve) {
        append_note(s, "a virtual directory connects as a local or unknown account: its logon "
                       "is not tried");
        return;
    }
    const struct looked_up *l = look_up(c, v->user);
    if (l->why) {
        char *what = xasprintf("which the directory does not give (%s)", l->why);
        vdir_finding(vw, v, "connect-as-account", what);
        free(what);
        return;
    }
    const struct check_account *a = &l->account;
    const char *cannot = a->disabled           ? "which is disabled"
                         : a->locked_out       ? "which is locked out"
                         : a->password_expired ? "whose password has expired"
                         : a->account_expires && a->account_expires <= c->in->now
                             ? "which has expired"
                             : NULL;
    if (cannot) {
        vdir_finding(vw, v, "connect-as-account", cannot);
        return;
    }
    char *key = xasprintf("connect-as %s", v->user);
    bool tried = strmap_get(&c->logons, key) != NULL;
    if (!tried)
        strmap_put(&c->logons, key, (void *)1);
    free(key);
    if (tried || !c->in->logon || !a->upn)
        return;
    char *why = NULL;
    int ok = c->in->logon(c->in->ctx, a->upn, v->password, &why);
    if (ok == 0) {
        char *what = xasprintf("whose stored password does not log on (%s; tried once: each "
                               "refusal counts toward the account's lockout)",
                               why ? why : "refused");
        vdir_finding(vw, v, "connect-as-logon", what);
        free(what);
    } else if (ok < 0) {
        append_note(s, why ? why : "a connect-as logon could not be tried");
    }
    free(why);
}

/* Explicit entries of folder f naming a domain SID the directory does not
 * know: an account deleted by hand (or one of another domain). */
void unresolved_sids(struct ctx *c, size_t self, int f)
{
    struct check_site *s = c->work[self].out;
    const struct ntfs_sd *sd = &c->folders[f].sd;
    for (size_t i = 0; i < sd->ace_count; i++) {
        const struct ntfs_ace *a = &sd->aces[i];
        char text[NTFS_SID_STRING_MAX];
        ntfs_sid_format(&a->sid, text, sizeof text);
        if ((a->flags & NTFS_ACE_ID) || strncmp(text, "S-1-5-21-", 9) != 0 ||
            strmap_get(&c->names, text))
            continue;
        /* 1 + the answer, kept for the run */
        intptr_t known = (intptr_t)strmap_get(&c->sids, text);
        if (!known) {
            known = 1 + c->in->sid_exists(c->in->ctx, text);
            strmap_put(&c->sids, text, (void *)known);
        }
        if (known != 1) /* 2: it exists; 0: could not be asked */
            continue;
        struct check_finding *fi =
            add_finding(s, "unresolved-sid", "warning", text, c->folders[f].win);
        fi->text = xasprintf("an entry on %s names %s, which the directory does not know: an "
                             "account deleted by hand (or one of another domain)",
                             c->folders[f].win, text);
        add_evidence(c, fi, f, false, a);
        fi->fix = xasprintf("icacls \"%s\" /remove:%c *%s (provision apply removes it when it "
                            "has exactly the site's own grant)",
                            c->folders[f].win, a->type == NTFS_ACE_DENY ? 'd' : 'g', text);
    }
}
