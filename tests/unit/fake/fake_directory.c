/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ldap/directory.h in memory: see fake_directory.h. The messages are the
 * real module's (directory_connection.c, directory_accounts.c), built with
 * the same helpers (ldap/errors.h, ldap/account.h, ldap/escape.h). */
#include "fake_directory.h"

#include "ldap/account.h"
#include "ldap/directory_common.h"
#include "ldap/errors.h"
#include "ldap/escape.h"
#include "ldap/password.h"
#include "provision/util.h"

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIND_CHUNK 64
#define FIRST_RID  1100
#define DOMAIN_SID "S-1-5-21-1-2-3"
/* pwdLastSet of the first password set (a FILETIME in 2022), then one
 * second more for each. */
#define FIRST_PLS    133000000000000000LL
#define PLS_STEP     10000000LL
#define UAC_USER     66048ul
#define UAC_COMPUTER 4096ul

#define DM_BIND                                                                                    \
    "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data %s, v4563"
#define DM_ACCESS "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"
#define DM_POLICY                                                                                  \
    "0000052D: Constraint violation - check_password_restrictions: the password does not "         \
    "meet the complexity criteria!"
#define DM_EXISTS   "00000524: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0"
#define DM_SAM_USED "00002071: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0"

/* ------------------------------------------------------------------ server */

enum kind { K_USER, K_GROUP, K_COMPUTER };

struct obj {
    enum kind kind;
    char *sam, *dn, *sid, *guid, *upn, *description, *display, *marker, *password;
    bool disabled;
    char **members; /* groups: member DNs */
    size_t n_members;
    unsigned long uac;      /* users and computers */
    long long pwd_last_set; /* 0: no password set */
};

/* A DC for dir_wait_replica that is not simply up to date. */
struct replica {
    char *uri;
    bool unreachable;
    char **lacks; /* sAMAccountNames it does not have as they are now */
    size_t n_lacks;
};

struct planned {
    enum fake_dir_op op;
    int rc;
    char *dm;
};

struct account_failure {
    enum fake_dir_op op;
    char *sam;
};

static struct {
    struct obj *o;
    size_t n;
    unsigned next_rid, next_guid;
    unsigned ops[FAKE_OP_COUNT], calls[FAKE_FN_COUNT];
    struct planned *plan;
    size_t n_plan;
    struct account_failure *acct_fail;
    size_t n_acct_fail;
    bool strict_ous;
    char **ous;
    size_t n_ous;
    unsigned drop_generation;
    int open_handles;
    long long next_pls;
    struct replica *replicas;
    size_t n_replicas;
} S = {.next_rid = FIRST_RID, .next_pls = FIRST_PLS};

/* A handle. */
struct dir {
    char *server, *who, *base, *upn_suffix;
    bool create_ou, adopt_unmarked, broken;
    char **group_names, **group_dns;
    size_t n_groups;
    bool groups_ready;
    char **adopt_names;
    size_t n_adopt;
    unsigned generation;
    char security[96];
    char *warning;
};

static void obj_free(struct obj *o)
{
    free(o->sam);
    free(o->dn);
    free(o->sid);
    free(o->guid);
    free(o->upn);
    free(o->description);
    free(o->display);
    free(o->marker);
    free_secret(o->password);
    for (size_t i = 0; i < o->n_members; i++)
        free(o->members[i]);
    free(o->members);
    memset(o, 0, sizeof *o);
}

/* ------------------------------------------------------------------ persistence */

/* The state file's text as this process last read or wrote it. */
static char *state_text;

static const char *state_file(void)
{
    const char *p = getenv(FAKE_DIR_STATE_ENV);
    return p && *p ? p : NULL;
}

static void field(struct strbuf *sb, const char *key, const char *value)
{
    if (!value)
        return;
    sb_addf(sb, "\t%s=", key);
    sb_add_field(sb, value);
}

static char *state_render(void)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_addf(&sb,
            "fake-directory 1\nserver\tnext_rid=%u\tnext_guid=%u\tstrict_ous=%d\tnext_pls=%lld\n",
            S.next_rid, S.next_guid, S.strict_ous ? 1 : 0, S.next_pls);
    for (size_t i = 0; i < S.n_ous; i++) {
        sb_adds(&sb, "ou");
        field(&sb, "dn", S.ous[i]);
        sb_addc(&sb, '\n');
    }
    static const char *const kinds[] = {"user", "group", "computer"};
    for (size_t i = 0; i < S.n; i++) {
        const struct obj *o = &S.o[i];
        sb_adds(&sb, "obj");
        field(&sb, "kind", kinds[o->kind]);
        field(&sb, "sam", o->sam);
        field(&sb, "dn", o->dn);
        field(&sb, "sid", o->sid);
        field(&sb, "guid", o->guid);
        field(&sb, "upn", o->upn);
        field(&sb, "description", o->description);
        field(&sb, "display", o->display);
        field(&sb, "marker", o->marker);
        field(&sb, "password", o->password);
        field(&sb, "disabled", o->disabled ? "1" : "0");
        if (o->kind != K_GROUP) {
            char num[32];
            snprintf(num, sizeof num, "%lu", o->uac);
            field(&sb, "uac", num);
            snprintf(num, sizeof num, "%lld", o->pwd_last_set);
            field(&sb, "pwdlastset", num);
        }
        for (size_t m = 0; m < o->n_members; m++)
            field(&sb, "member", o->members[m]);
        sb_addc(&sb, '\n');
    }
    return sb_detach(&sb);
}

static void state_fail(const char *path, unsigned line, const char *why)
{
    fprintf(stderr, "fake_directory: %s:%u: %s\n", path, line, why);
    abort();
}

static void clear_objects(void)
{
    for (size_t i = 0; i < S.n; i++)
        obj_free(&S.o[i]);
    free(S.o);
    S.o = NULL;
    S.n = 0;
    for (size_t i = 0; i < S.n_ous; i++)
        free(S.ous[i]);
    free(S.ous);
    S.ous = NULL;
    S.n_ous = 0;
}

/* Replaces the objects, OUs and counters of S with the ones text holds
 * (a malformed file ends the test: it is the fake's own). */
static void state_parse(const char *path, char *text)
{
    clear_objects();
    char *save = NULL;
    unsigned line = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        if (line == 1) {
            if (strcmp(l, "fake-directory 1") != 0)
                state_fail(path, line, "not a fake directory state");
            continue;
        }
        char *tab = strchr(l, '\t');
        const char *type = l;
        if (tab)
            *tab = '\0';
        struct obj *o = NULL;
        if (!strcmp(type, "obj")) {
            S.o = xrealloc(S.o, (S.n + 1) * sizeof *S.o);
            o = &S.o[S.n++];
            memset(o, 0, sizeof *o);
        } else if (strcmp(type, "server") && strcmp(type, "ou")) {
            state_fail(path, line, "unknown record");
        }
        for (char *f = tab ? tab + 1 : NULL; f;) {
            char *next = strchr(f, '\t');
            size_t flen = next ? (size_t)(next - f) : strlen(f);
            char *eq = memchr(f, '=', flen);
            if (!eq)
                state_fail(path, line, "field without '='");
            char *key = xstrndup(f, (size_t)(eq - f));
            char *v = field_unescape(eq + 1, flen - (size_t)(eq + 1 - f));
            char **slot = NULL;
            if (!strcmp(type, "server")) {
                unsigned long n = strtoul(v, NULL, 10);
                if (!strcmp(key, "next_rid"))
                    S.next_rid = (unsigned)n;
                else if (!strcmp(key, "next_guid"))
                    S.next_guid = (unsigned)n;
                else if (!strcmp(key, "strict_ous"))
                    S.strict_ous = n != 0;
                else if (!strcmp(key, "next_pls"))
                    S.next_pls = strtoll(v, NULL, 10);
            } else if (!strcmp(type, "ou")) {
                S.ous = xrealloc(S.ous, (S.n_ous + 1) * sizeof *S.ous);
                S.ous[S.n_ous++] = v;
                v = NULL;
            } else if (!strcmp(key, "kind")) {
                o->kind = !strcmp(v, "group")      ? K_GROUP
                          : !strcmp(v, "computer") ? K_COMPUTER
                                                   : K_USER;
            } else if (!strcmp(key, "disabled")) {
                o->disabled = !strcmp(v, "1");
            } else if (!strcmp(key, "uac")) {
                o->uac = strtoul(v, NULL, 10);
            } else if (!strcmp(key, "pwdlastset")) {
                o->pwd_last_set = strtoll(v, NULL, 10);
            } else if (!strcmp(key, "member")) {
                o->members = xrealloc(o->members, (o->n_members + 1) * sizeof *o->members);
                o->members[o->n_members++] = v;
                v = NULL;
            } else {
                slot = !strcmp(key, "sam")           ? &o->sam
                       : !strcmp(key, "dn")          ? &o->dn
                       : !strcmp(key, "sid")         ? &o->sid
                       : !strcmp(key, "guid")        ? &o->guid
                       : !strcmp(key, "upn")         ? &o->upn
                       : !strcmp(key, "description") ? &o->description
                       : !strcmp(key, "display")     ? &o->display
                       : !strcmp(key, "marker")      ? &o->marker
                       : !strcmp(key, "password")    ? &o->password
                                                     : NULL;
                if (!slot)
                    state_fail(path, line, "unknown field");
                free(*slot);
                *slot = v;
                v = NULL;
            }
            free(key);
            free(v);
            f = next ? next + 1 : NULL;
        }
        if (o && (!o->sam || !o->dn || !o->sid || !o->guid))
            state_fail(path, line, "an object needs sam, dn, sid and guid");
    }
}

/* Reads the state file when persistence is on and the file changed since
 * this process last read or wrote it. */
static void sync_in(void)
{
    const char *path = state_file();
    char *text;
    size_t len;
    if (!path || read_file(path, &text, &len) < 0)
        return;
    if (state_text && !strcmp(state_text, text)) {
        free(text);
        return;
    }
    free(state_text);
    state_text = xstrdup(text);
    state_parse(path, text);
    free(text);
}

/* Writes the state file after a change when persistence is on. */
static void persist(void)
{
    const char *path = state_file();
    if (!path)
        return;
    char *text = state_render();
    char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    size_t len = strlen(text);
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "fake_directory: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
    free(tmp);
    free(state_text);
    state_text = text;
}

void fake_dir_reset(void)
{
    for (size_t i = 0; i < S.n; i++)
        obj_free(&S.o[i]);
    free(S.o);
    for (size_t i = 0; i < S.n_plan; i++)
        free(S.plan[i].dm);
    free(S.plan);
    for (size_t i = 0; i < S.n_acct_fail; i++)
        free(S.acct_fail[i].sam);
    free(S.acct_fail);
    for (size_t i = 0; i < S.n_ous; i++)
        free(S.ous[i]);
    free(S.ous);
    for (size_t i = 0; i < S.n_replicas; i++) {
        free(S.replicas[i].uri);
        for (size_t k = 0; k < S.replicas[i].n_lacks; k++)
            free(S.replicas[i].lacks[k]);
        free(S.replicas[i].lacks);
    }
    free(S.replicas);
    int open_handles = S.open_handles;
    unsigned generation = S.drop_generation;
    memset(&S, 0, sizeof S);
    S.next_rid = FIRST_RID;
    S.next_pls = FIRST_PLS;
    S.open_handles = open_handles;
    S.drop_generation = generation;
    persist();
}

static struct obj *by_sam(const char *sam)
{
    for (size_t i = 0; sam && i < S.n; i++)
        if (ascii_casecmp(S.o[i].sam, sam) == 0)
            return &S.o[i];
    return NULL;
}

static size_t count_sam(const char *sam)
{
    size_t k = 0;
    for (size_t i = 0; sam && i < S.n; i++)
        k += ascii_casecmp(S.o[i].sam, sam) == 0;
    return k;
}

static struct obj *by_dn(const char *dn)
{
    for (size_t i = 0; dn && i < S.n; i++)
        if (ascii_casecmp(S.o[i].dn, dn) == 0)
            return &S.o[i];
    return NULL;
}

static const char *kind_name(enum kind k)
{
    return k == K_USER ? "user" : k == K_GROUP ? "group" : "computer";
}

/* True when dn ends with the RDNs of base (ASCII case-insensitively). */
static bool under_base(const char *dn, const char *base)
{
    size_t n = strlen(dn), b = strlen(base);
    if (n < b || ascii_casecmp(dn + n - b, base) != 0)
        return false;
    return n == b || dn[n - b - 1] == ',';
}

/* A DN relative to base (or already absolute under it), absolute. */
static char *absolute(const char *dn, const char *base)
{
    return under_base(dn, base) ? xstrdup(dn) : xasprintf("%s,%s", dn, base);
}

/* Only the shape the real parser would refuse outright: every RDN is
 * TYPE=VALUE with a non-empty type (a backslash escapes the next byte). */
static bool dn_valid(const char *s)
{
    if (!s || !*s)
        return false;
    bool have_type = false, have_eq = false;
    for (const char *p = s;; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (!*p || *p == ',') {
            if (!have_eq)
                return false;
            if (!*p)
                return true;
            have_type = have_eq = false;
        } else if (*p == '=' && !have_eq) {
            if (!have_type)
                return false;
            have_eq = true;
        } else if (!have_eq) {
            have_type = true;
        }
    }
}

static struct obj *new_obj(enum kind kind, const char *sam, const char *dn)
{
    S.o = xrealloc(S.o, (S.n + 1) * sizeof *S.o);
    struct obj *o = &S.o[S.n++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->sam = xstrdup(sam);
    o->dn = xstrdup(dn);
    o->sid = xasprintf(DOMAIN_SID "-%u", S.next_rid++);
    unsigned g = ++S.next_guid;
    o->guid = xasprintf("%08x-f00d-4ace-8000-%012x", g, g * 7919u);
    o->uac = kind == K_USER ? UAC_USER : kind == K_COMPUTER ? UAC_COMPUTER : 0;
    return o;
}

static void del_obj(struct obj *o)
{
    for (size_t i = 0; i < S.n; i++) /* out of every group */
        for (size_t m = 0; m < S.o[i].n_members;)
            if (ascii_casecmp(S.o[i].members[m], o->dn) == 0) {
                free(S.o[i].members[m]);
                S.o[i].members[m] = S.o[i].members[--S.o[i].n_members];
            } else {
                m++;
            }
    obj_free(o);
    *o = S.o[--S.n];
}

static char *user_dn(const char *sam, const char *ou_abs)
{
    char *cn = dir_escape_dn_value(sam, strlen(sam));
    char *dn = xasprintf("CN=%s,%s", cn ? cn : sam, ou_abs);
    free(cn);
    return dn;
}

static void must_be_new(const char *sam)
{
    if (by_sam(sam)) {
        fprintf(stderr, "fake_directory: %s is seeded twice\n", sam);
        abort();
    }
}

const char *fake_dir_add_user(const char *sam, const char *ou, const char *site,
                              const char *password)
{
    sync_in();
    must_be_new(sam);
    char *ou_abs = absolute(ou ? ou : "OU=Sites", FAKE_DIR_DEFAULT_BASE);
    char *dn = user_dn(sam, ou_abs);
    struct obj *o = new_obj(K_USER, sam, dn);
    free(dn);
    free(ou_abs);
    o->upn = xasprintf("%s@lab.test", sam);
    o->display = xstrdup(sam);
    o->marker = site ? dir_marker_value(site) : NULL;
    o->password = password ? xstrdup(password) : NULL;
    if (password) {
        o->pwd_last_set = S.next_pls;
        S.next_pls += PLS_STEP;
    }
    persist();
    return o->dn;
}

const char *fake_dir_add_marked(const char *sam, const char *site)
{
    return fake_dir_add_user(sam, NULL, site ? site : "", "Old-Pass-123");
}

const char *fake_dir_add_unmarked(const char *sam)
{
    return fake_dir_add_user(sam, NULL, NULL, "Old-Pass-123");
}

const char *fake_dir_add_group(const char *sam)
{
    sync_in();
    must_be_new(sam);
    char *dn = user_dn(sam, "CN=Users," FAKE_DIR_DEFAULT_BASE);
    struct obj *o = new_obj(K_GROUP, sam, dn);
    free(dn);
    persist();
    return o->dn;
}

const char *fake_dir_add_computer(const char *sam)
{
    sync_in();
    must_be_new(sam);
    char *dn = user_dn(sam, "CN=Computers," FAKE_DIR_DEFAULT_BASE);
    struct obj *o = new_obj(K_COMPUTER, sam, dn);
    free(dn);
    persist();
    return o->dn;
}

const char *fake_dir_add_duplicate(const char *sam)
{
    sync_in();
    char *dn = user_dn(sam, "OU=Elsewhere," FAKE_DIR_DEFAULT_BASE);
    struct obj *o = new_obj(K_USER, sam, dn);
    free(dn);
    o->marker = dir_marker_value(NULL);
    persist();
    return o->dn;
}

void fake_dir_disable(const char *sam)
{
    sync_in();
    struct obj *o = by_sam(sam);
    if (o)
        o->disabled = true;
    persist();
}

static struct obj *by_sid(const char *sid)
{
    for (size_t i = 0; sid && i < S.n; i++)
        if (strcmp(S.o[i].sid, sid) == 0)
            return &S.o[i];
    return NULL;
}

static struct obj *by_guid(const char *guid)
{
    for (size_t i = 0; guid && i < S.n; i++)
        if (ascii_casecmp(S.o[i].guid, guid) == 0)
            return &S.o[i];
    return NULL;
}

static struct obj *must_find(const char *sam)
{
    struct obj *o = by_sam(sam);
    if (!o) {
        fprintf(stderr, "fake_directory: no object %s\n", sam);
        abort();
    }
    return o;
}

const char *fake_dir_add_group_sid(const char *sam, const char *sid)
{
    sync_in();
    must_be_new(sam);
    bool builtin = strncmp(sid, "S-1-5-32-", 9) == 0;
    char *dn = user_dn(sam, builtin ? "CN=Builtin," FAKE_DIR_DEFAULT_BASE
                                    : "CN=Users," FAKE_DIR_DEFAULT_BASE);
    unsigned rid = S.next_rid;
    struct obj *o = new_obj(K_GROUP, sam, dn);
    S.next_rid = rid; /* not used up */
    free(dn);
    free(o->sid);
    o->sid = xstrdup(sid);
    persist();
    return o->dn;
}

void fake_dir_add_member(const char *group_sam, const char *member_sam)
{
    sync_in();
    struct obj *g = must_find(group_sam);
    const struct obj *m = must_find(member_sam);
    if (g->kind != K_GROUP) {
        fprintf(stderr, "fake_directory: %s is not a group\n", group_sam);
        abort();
    }
    g->members = xrealloc(g->members, (g->n_members + 1) * sizeof *g->members);
    g->members[g->n_members++] = xstrdup(m->dn);
    persist();
}

void fake_dir_set_rid(const char *sam, unsigned rid)
{
    sync_in();
    struct obj *o = must_find(sam);
    free(o->sid);
    o->sid = xasprintf(DOMAIN_SID "-%u", rid);
    persist();
}

void fake_dir_set_uac(const char *sam, unsigned long uac)
{
    sync_in();
    must_find(sam)->uac = uac;
    persist();
}

long long fake_dir_pwd_last_set(const char *sam)
{
    sync_in();
    const struct obj *o = by_sam(sam);
    return o ? o->pwd_last_set : 0;
}

static struct replica *replica_of(const char *uri, bool add)
{
    for (size_t i = 0; uri && i < S.n_replicas; i++)
        if (strcmp(S.replicas[i].uri, uri) == 0)
            return &S.replicas[i];
    if (!add)
        return NULL;
    S.replicas = xrealloc(S.replicas, (S.n_replicas + 1) * sizeof *S.replicas);
    struct replica *r = &S.replicas[S.n_replicas++];
    memset(r, 0, sizeof *r);
    r->uri = xstrdup(uri);
    return r;
}

void fake_dir_replica_unreachable(const char *uri)
{
    replica_of(uri, true)->unreachable = true;
}

void fake_dir_replica_lacks(const char *uri, const char *sam)
{
    struct replica *r = replica_of(uri, true);
    r->lacks = xrealloc(r->lacks, (r->n_lacks + 1) * sizeof *r->lacks);
    r->lacks[r->n_lacks++] = xstrdup(sam);
}

/* A growable list of strings (SIDs, DNs). */
struct strs {
    char **v;
    size_t n;
};

static bool strs_has(const struct strs *l, const char *x)
{
    for (size_t i = 0; i < l->n; i++)
        if (ascii_casecmp(l->v[i], x) == 0)
            return true;
    return false;
}

static void strs_add(struct strs *l, const char *x)
{
    if (strs_has(l, x))
        return;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(x);
}

static void strs_free(struct strs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* The SIDs of the groups dn is in, directly or through nesting, added to
 * sids (a DC's in-chain search). */
static void groups_of(const char *dn, struct strs *sids)
{
    struct strs todo = {0}, done = {0};
    strs_add(&todo, dn);
    while (todo.n) {
        char *cur = todo.v[--todo.n];
        if (!strs_has(&done, cur)) {
            strs_add(&done, cur);
            for (size_t i = 0; i < S.n; i++) {
                const struct obj *g = &S.o[i];
                for (size_t m = 0; g->kind == K_GROUP && m < g->n_members; m++)
                    if (ascii_casecmp(g->members[m], cur) == 0) {
                        strs_add(sids, g->sid);
                        strs_add(&todo, g->dn);
                    }
            }
        }
        free(cur);
    }
    strs_free(&todo);
    strs_free(&done);
}

/* tokenGroups of o: its primary group (and the groups that is in) and
 * every group it is in, transitively. */
static void token_of(const struct obj *o, struct strs *sids)
{
    if (o->kind != K_GROUP) {
        char *primary = xasprintf(DOMAIN_SID "-%d", o->kind == K_USER ? DIR_RID_DOMAIN_USERS : 515);
        strs_add(sids, primary);
        const struct obj *p = by_sid(primary);
        if (p)
            groups_of(p->dn, sids);
        free(primary);
    }
    groups_of(o->dn, sids);
}

char *fake_dir_token_groups(const char *sam)
{
    sync_in();
    struct strs t = {0};
    token_of(must_find(sam), &t);
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < t.n; i++)
        sb_addf(&sb, "%s%s", i ? " " : "", t.v[i]);
    strs_free(&t);
    return sb_detach(&sb);
}

void fake_dir_strict_ous(bool on)
{
    sync_in();
    S.strict_ous = on;
    persist();
}

static bool ou_known(const char *abs)
{
    if (ascii_casecmp(abs, FAKE_DIR_DEFAULT_BASE) == 0)
        return true;
    for (size_t i = 0; i < S.n_ous; i++)
        if (ascii_casecmp(S.ous[i], abs) == 0)
            return true;
    return false;
}

void fake_dir_add_ou(const char *ou)
{
    sync_in();
    char *abs = absolute(ou, FAKE_DIR_DEFAULT_BASE);
    if (ou_known(abs)) {
        free(abs);
        return;
    }
    S.ous = xrealloc(S.ous, (S.n_ous + 1) * sizeof *S.ous);
    S.ous[S.n_ous++] = abs;
    persist();
}

bool fake_dir_ou_exists(const char *ou)
{
    sync_in();
    char *abs = absolute(ou, FAKE_DIR_DEFAULT_BASE);
    bool r = !S.strict_ous || ou_known(abs);
    free(abs);
    return r;
}

static const char *default_rc_dm(enum fake_dir_op op, int *rc)
{
    switch (op) {
    case FAKE_OP_BIND:
        *rc = LDAP_INVALID_CREDENTIALS;
        return NULL; /* built with data 52e */
    case FAKE_OP_SEARCH:
        *rc = LDAP_BUSY;
        return NULL;
    case FAKE_OP_PASSWORD:
        *rc = LDAP_CONSTRAINT_VIOLATION;
        return DM_POLICY;
    case FAKE_OP_ADD:
    case FAKE_OP_GROUP:
    case FAKE_OP_DELETE:
    case FAKE_OP_COUNT:
        break;
    }
    *rc = LDAP_INSUFFICIENT_ACCESS;
    return DM_ACCESS;
}

void fake_dir_fail_next_with(enum fake_dir_op op, unsigned n, int rc, const char *diagnostic)
{
    for (unsigned i = 0; i < n; i++) {
        S.plan = xrealloc(S.plan, (S.n_plan + 1) * sizeof *S.plan);
        char *dm = NULL;
        if (diagnostic)
            dm = xstrdup(diagnostic);
        else if (op == FAKE_OP_BIND && rc == LDAP_INVALID_CREDENTIALS)
            dm = xasprintf(DM_BIND, "52e");
        S.plan[S.n_plan++] = (struct planned){op, rc, dm};
    }
}

void fake_dir_fail_next(enum fake_dir_op op, unsigned n)
{
    int rc;
    const char *dm = default_rc_dm(op, &rc);
    fake_dir_fail_next_with(op, n, rc, dm);
}

void fake_dir_fail_account(enum fake_dir_op op, const char *sam)
{
    S.acct_fail = xrealloc(S.acct_fail, (S.n_acct_fail + 1) * sizeof *S.acct_fail);
    S.acct_fail[S.n_acct_fail++] = (struct account_failure){op, xstrdup(sam)};
}

void fake_dir_drop_connections(void)
{
    S.drop_generation++;
}

unsigned fake_dir_ops(enum fake_dir_op op)
{
    return op < FAKE_OP_COUNT ? S.ops[op] : 0;
}

unsigned fake_dir_calls(enum fake_dir_fn fn)
{
    return fn < FAKE_FN_COUNT ? S.calls[fn] : 0;
}

int fake_dir_open_handles(void)
{
    return S.open_handles;
}

bool fake_dir_exists(const char *sam)
{
    sync_in();
    return by_sam(sam) != NULL;
}

#define GETTER(name, field)                                                                        \
    const char *fake_dir_##name(const char *sam)                                                   \
    {                                                                                              \
        sync_in();                                                                                 \
        const struct obj *o = by_sam(sam);                                                         \
        return o ? o->field : NULL;                                                                \
    }
GETTER(password, password)
GETTER(dn, dn)
GETTER(sid, sid)
GETTER(upn, upn)
GETTER(description, description)
GETTER(marker, marker)

bool fake_dir_is_member(const char *sam, const char *group_sam)
{
    sync_in();
    const struct obj *u = by_sam(sam), *g = by_sam(group_sam);
    if (!u || !g || g->kind != K_GROUP)
        return false;
    for (size_t i = 0; i < g->n_members; i++)
        if (ascii_casecmp(g->members[i], u->dn) == 0)
            return true;
    return false;
}

size_t fake_dir_count(void)
{
    sync_in();
    return S.n;
}

/* ------------------------------------------------------------------ operations */

/* Sends one operation of kind op about sam: counts it and says whether it
 * fails (1, with *rc and *dm to free) or not (0). */
static int send_op(struct dir *dir, enum fake_dir_op op, const char *sam, int *rc, char **dm)
{
    S.ops[op]++;
    *dm = NULL;
    for (size_t i = 0; sam && i < S.n_acct_fail; i++)
        if (S.acct_fail[i].op == op && ascii_casecmp(S.acct_fail[i].sam, sam) == 0) {
            const char *d = default_rc_dm(op, rc);
            *dm = op == FAKE_OP_BIND ? xasprintf(DM_BIND, "52e") : d ? xstrdup(d) : NULL;
            return 1;
        }
    for (size_t i = 0; i < S.n_plan; i++)
        if (S.plan[i].op == op) {
            *rc = S.plan[i].rc;
            *dm = S.plan[i].dm;
            memmove(&S.plan[i], &S.plan[i + 1], (S.n_plan - i - 1) * sizeof *S.plan);
            S.n_plan--;
            if (dir &&
                (*rc == LDAP_SERVER_DOWN || *rc == LDAP_TIMEOUT || *rc == LDAP_CONNECT_ERROR))
                dir->broken = true;
            return 1;
        }
    return 0;
}

static void report(struct dir *dir, struct diag *d, enum dir_op op, int rc, const char *dm,
                   const char *object)
{
    char *t = dir_error_text(op, rc, dm, object, dir->server);
    diag_add(d, "%s", t);
    free(t);
}

static int alive(struct dir *dir, struct diag *d, enum dir_op op, const char *object)
{
    if (!dir) {
        diag_add(d, "ldap: no directory connection");
        return -1;
    }
    if (dir->generation != S.drop_generation)
        dir->broken = true;
    if (dir->broken) {
        char *t = dir_error_text(op, LDAP_SERVER_DOWN, NULL, object, dir->server);
        diag_add(d, "%s (%s)", t, "the connection was lost earlier; open a new one");
        free(t);
        return -1;
    }
    return 0;
}

static void fill(const struct dir *dir, const struct obj *o, struct dir_account *a)
{
    memset(a, 0, sizeof *a);
    a->dn = xstrdup(o->dn);
    a->sam = xstrdup(o->sam);
    a->sid = xstrdup(o->sid);
    a->guid = xstrdup(o->guid);
    a->upn = o->upn ? xstrdup(o->upn) : NULL;
    a->description = o->description ? xstrdup(o->description) : NULL;
    a->managed = dir_marker_parse(o->marker, &a->managed_site);
    a->adopted = !a->managed && dir && dir->adopt_unmarked;
}

static bool same_site(const char *a, const char *b)
{
    if (!a || !*a || !b || !*b)
        return (!a || !*a) && (!b || !*b);
    return ascii_casecmp(a, b) == 0;
}

/* AD's password policy as the lab DC has it: complexity, 7 characters. */
static bool policy_ok(const char *pw, const char *sam, const char *display)
{
    return pw && strlen(pw) >= 7 && password_ad_complex(pw, sam, display);
}

/* ------------------------------------------------------------------ connection */

/* Server name from the URI as the real module makes it, or NULL with a
 * message. */
static char *server_of(const char *uri, bool *ldaps, struct diag *d)
{
    LDAPURLDesc *lud = NULL;
    if (!uri || ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS) {
        diag_add(d, "ldap: '%s' is not an LDAP URI (want ldaps://host[:port] or ldap://host)",
                 uri ? uri : "");
        return NULL;
    }
    *ldaps = ascii_casecmp(lud->lud_scheme, "ldaps") == 0;
    bool plain = ascii_casecmp(lud->lud_scheme, "ldap") == 0;
    bool bad = (!*ldaps && !plain) || !lud->lud_host || !*lud->lud_host ||
               (lud->lud_dn && *lud->lud_dn) || lud->lud_attrs || lud->lud_filter ||
               strchr(uri, ' ') != NULL;
    char *server = NULL;
    if (!bad) {
        int defport = *ldaps ? 636 : 389;
        server = lud->lud_port && lud->lud_port != defport
                     ? xasprintf("%s:%d", lud->lud_host, lud->lud_port)
                     : xstrdup(lud->lud_host);
    }
    ldap_free_urldesc(lud);
    if (bad)
        diag_add(d,
                 "ldap: URI '%s' is not supported: want exactly one ldaps://host[:port] or "
                 "ldap://host[:port] (StartTLS), without DN or other parts",
                 uri);
    return server;
}

static void handle_free(struct dir *dir)
{
    if (!dir)
        return;
    free(dir->server);
    free(dir->who);
    free(dir->base);
    free(dir->upn_suffix);
    for (size_t i = 0; i < dir->n_groups; i++) {
        free(dir->group_names[i]);
        if (dir->group_dns)
            free(dir->group_dns[i]);
    }
    free(dir->group_names);
    free(dir->group_dns);
    for (size_t i = 0; i < dir->n_adopt; i++)
        free(dir->adopt_names[i]);
    free(dir->adopt_names);
    free(dir->warning);
    free(dir);
}

/* The checks of dir_new and conn_setup. NULL with a message. */
static struct dir *handle_new(const struct dir_config *cfg, struct diag *d)
{
    if (!cfg->base_dn || !dn_valid(cfg->base_dn)) {
        diag_add(d, "ldap: base_dn '%s' is not a valid DN (e.g. DC=example,DC=com)",
                 cfg->base_dn ? cfg->base_dn : "");
        return NULL;
    }
    struct dir *dir = xcalloc(1, sizeof *dir);
    dir->base = xstrdup(cfg->base_dn);
    dir->upn_suffix = cfg->upn_suffix ? xstrdup(cfg->upn_suffix) : NULL;
    dir->create_ou = cfg->create_ou;
    dir->adopt_unmarked = cfg->adopt_unmarked;
    dir->generation = S.drop_generation;
    return dir;
}

static int connect_checks(const struct dir_config *cfg, struct dir *dir, struct diag *d)
{
    bool ldaps = false;
    dir->server = server_of(cfg->uri, &ldaps, d);
    if (!dir->server)
        return -1;
    bool seal = cfg->sasl_gssapi && cfg->gssapi_seal;
    if (dir_transport_check(cfg, ldaps, d) < 0)
        return -1;
    if (seal) {
        snprintf(dir->security, sizeof dir->security, "SASL GSSAPI sealing (SSF 256)");
    } else {
        snprintf(dir->security, sizeof dir->security, "%s, certificate %s",
                 ldaps ? "LDAPS (TLS)" : "StartTLS",
                 cfg->tls_insecure ? "NOT verified (tls_insecure)" : "verified");
        if (cfg->tls_insecure)
            dir->warning = xasprintf("ldap: certificate checks are OFF for %s (tls_insecure): the "
                                     "connection is encrypted but the server is not authenticated",
                                     dir->server);
    }
    return 0;
}

static int check_base(struct dir *dir, struct diag *d)
{
    if (ascii_casecmp(dir->base, FAKE_DIR_DEFAULT_BASE) == 0)
        return 0;
    diag_add(d, "ldap: base_dn %s does not exist on %s (or the bind account cannot see it)",
             dir->base, dir->server);
    return -1;
}

int dir_open(const struct dir_config *cfg, struct dir **out, struct diag *d)
{
    S.calls[FAKE_FN_OPEN]++;
    sync_in();
    *out = NULL;
    struct dir *dir = handle_new(cfg, d);
    if (!dir)
        return -1;
    int r = -1;
    char *pw = NULL;
    if (dir_bind_credentials(cfg, &pw, d) < 0)
        goto done;
    if (connect_checks(cfg, dir, d) < 0)
        goto done;
    dir->who = xstrdup(cfg->sasl_gssapi ? "the Kerberos ticket" : cfg->bind_dn);
    int rc;
    char *dm;
    if (send_op(dir, FAKE_OP_BIND, NULL, &rc, &dm)) {
        report(dir, d, DIR_OP_BIND, rc, dm,
               cfg->sasl_gssapi ? "the Kerberos ticket (SASL GSSAPI)" : cfg->bind_dn);
        free(dm);
        goto done;
    }
    if (check_base(dir, d) < 0)
        goto done;
    dir->n_groups = cfg->n_groups;
    dir->group_names = xcalloc(cfg->n_groups ? cfg->n_groups : 1, sizeof *dir->group_names);
    for (size_t i = 0; i < cfg->n_groups; i++)
        dir->group_names[i] = xstrdup(cfg->groups[i]);
    dir->n_adopt = cfg->n_adopt_groups;
    dir->adopt_names =
        xcalloc(cfg->n_adopt_groups ? cfg->n_adopt_groups : 1, sizeof *dir->adopt_names);
    for (size_t i = 0; i < cfg->n_adopt_groups; i++)
        dir->adopt_names[i] = xstrdup(cfg->adopt_groups[i]);
    r = 0;
done:
    free_secret(pw);
    if (r < 0) {
        handle_free(dir);
    } else {
        S.open_handles++;
        *out = dir;
    }
    return r;
}

void dir_close(struct dir *dir)
{
    S.calls[FAKE_FN_CLOSE]++;
    if (!dir)
        return;
    S.open_handles--;
    handle_free(dir);
}

const char *dir_security(const struct dir *dir)
{
    return dir ? dir->security : "";
}

const char *dir_warning(const struct dir *dir)
{
    return dir ? dir->warning : NULL;
}

/* One "connection" holding the configuration; each check is a
 * dir_check_password (counted there). */
struct dir_logons {
    struct dir_config cfg;
};

int dir_logons_open(const struct dir_config *cfg, struct dir_logons **out)
{
    *out = xcalloc(1, sizeof **out);
    (*out)->cfg = *cfg;
    return 0;
}

int dir_logons_check(struct dir_logons *l, const char *upn, const char *password, struct diag *d)
{
    return dir_check_password(&l->cfg, upn, password, d);
}

void dir_logons_close(struct dir_logons *l)
{
    free(l);
}

int dir_check_password(const struct dir_config *cfg, const char *upn, const char *password,
                       struct diag *d)
{
    S.calls[FAKE_FN_CHECK_PASSWORD]++;
    sync_in();
    struct dir_config c = *cfg;
    c.sasl_gssapi = false;
    c.gssapi_seal = false;
    struct dir *dir = handle_new(&c, d);
    if (!dir)
        return -1;
    int r = -1;
    if (connect_checks(&c, dir, d) < 0)
        goto done;
    if (!upn || !*upn) {
        diag_add(d, "ldap: no bind DN or UPN given for %s", dir->server);
        goto done;
    }
    if (!password || !*password) {
        diag_add(d, "ldap: empty password for %s on %s: refusing (it would bind anonymously)", upn,
                 dir->server);
        goto done;
    }
    int rc;
    char *dm;
    if (send_op(dir, FAKE_OP_BIND, NULL, &rc, &dm)) {
        report(dir, d, DIR_OP_CHECK_PASSWORD, rc, dm, upn);
        free(dm);
        r = rc == LDAP_INVALID_CREDENTIALS ? 0 : -1;
        goto done;
    }
    const struct obj *o = NULL;
    for (size_t i = 0; i < S.n && !o; i++)
        if (S.o[i].kind == K_USER && ((S.o[i].upn && ascii_casecmp(S.o[i].upn, upn) == 0) ||
                                      ascii_casecmp(S.o[i].dn, upn) == 0))
            o = &S.o[i];
    const char *data = NULL;
    if (!o || !o->password || strcmp(o->password, password) != 0)
        data = "52e";
    else if (o->disabled)
        data = "533";
    if (data) {
        char *text = xasprintf(DM_BIND, data);
        report(dir, d, DIR_OP_CHECK_PASSWORD, LDAP_INVALID_CREDENTIALS, text, upn);
        free(text);
        r = 0;
        goto done;
    }
    r = check_base(dir, d) < 0 ? -1 : 1;
done:
    handle_free(dir);
    return r;
}

/* ------------------------------------------------------------------ find */

int dir_find_account(struct dir *dir, const char *sam, struct dir_account *out, struct diag *d)
{
    S.calls[FAKE_FN_FIND]++;
    sync_in();
    memset(out, 0, sizeof *out);
    const char *why = dir_sam_problem(sam);
    if (why) {
        diag_add(d, "ldap: account name '%s' %s (sAMAccountName rules); not looked up",
                 sam ? sam : "", why);
        return -1;
    }
    char *object = xasprintf("account %s", sam);
    int r = -1;
    int rc;
    char *dm;
    if (alive(dir, d, DIR_OP_SEARCH, object) < 0)
        goto done;
    if (send_op(dir, FAKE_OP_SEARCH, sam, &rc, &dm)) {
        report(dir, d, DIR_OP_SEARCH, rc, dm, object);
        free(dm);
        goto done;
    }
    size_t count = count_sam(sam);
    const struct obj *o = by_sam(sam);
    if (!o) {
        r = 0;
    } else if (count > 1) {
        diag_add(d, "ldap: %d objects named %s under %s on %s", (int)count, sam, dir->base,
                 dir->server);
    } else if (o->kind != K_USER) {
        diag_add(d, "ldap: the name %s belongs to a %s (%s) on %s, not to a user account", sam,
                 kind_name(o->kind), o->dn, dir->server);
    } else {
        fill(dir, o, out);
        r = 1;
    }
done:
    free(object);
    return r;
}

int dir_find_accounts(struct dir *dir, const char *const *sams, size_t n, struct dir_account *out,
                      int *found, struct diag *d)
{
    S.calls[FAKE_FN_FIND_MANY]++;
    sync_in();
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        found[i] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = dir_sam_problem(sams[i]);
        if (why) {
            diag_add(d, "ldap: account name '%s' %s (sAMAccountName rules); not looked up",
                     sams[i] ? sams[i] : "", why);
            return -1;
        }
    }
    if (alive(dir, d, DIR_OP_SEARCH, "accounts") < 0)
        return -1;
    int r = 0;
    for (size_t from = 0; from < n && r == 0; from += FIND_CHUNK) {
        size_t to = from + FIND_CHUNK < n ? from + FIND_CHUNK : n;
        int rc;
        char *dm;
        if (send_op(dir, FAKE_OP_SEARCH, NULL, &rc, &dm)) {
            char *object = xasprintf("%zu accounts from %s", to - from, sams[from]);
            report(dir, d, DIR_OP_SEARCH, rc, dm, object);
            free(object);
            free(dm);
            r = -1;
            break;
        }
        for (size_t i = from; i < to; i++) {
            found[i] = 0;
            for (size_t k = 0; k < S.n; k++) {
                const struct obj *o = &S.o[k];
                if (ascii_casecmp(o->sam, sams[i]) != 0)
                    continue;
                if (found[i] == 1 || o->kind != K_USER) {
                    diag_add(d, "ldap: the name %s %s (%s) on %s", sams[i],
                             found[i] == 1 ? "belongs to several objects"
                                           : "does not belong to a user account",
                             o->dn, dir->server);
                    found[i] = -1;
                    r = -1;
                } else if (found[i] == 0) {
                    fill(dir, o, &out[i]);
                    found[i] = 1;
                }
            }
        }
    }
    return r;
}

/* ------------------------------------------------------------------ adoption */

/* The allowed set for an adopted account (directory.h): Domain Users, the
 * adopt_groups groups, and the groups those are in. 0, or -1 reported. */
static int allowed_set(struct dir *dir, struct strs *allowed, struct diag *d)
{
    const char *users = DOMAIN_SID "-513";
    strs_add(allowed, users);
    const struct obj *u = by_sid(users);
    if (u)
        groups_of(u->dn, allowed);
    for (size_t i = 0; i < dir->n_adopt; i++) {
        const char *g = dir->adopt_names[i];
        const struct obj *o = NULL;
        if (strchr(g, '=')) {
            char *abs = absolute(g, dir->base);
            o = by_dn(abs);
            if (!o || o->kind != K_GROUP) {
                diag_add(d, "ldap: adopt_group %s does not exist on %s (or is not a group)", abs,
                         dir->server);
                o = NULL;
            }
            free(abs);
        } else {
            o = by_sam(g);
            if (o && o->kind != K_GROUP)
                o = NULL;
            if (!o)
                diag_add(d, "ldap: adopt_group %s not found under %s on %s", g, dir->base,
                         dir->server);
        }
        if (!o)
            return -1;
        const char *admin = dir_sid_protected_group(o->sid);
        if (admin) {
            diag_add(d,
                     "ldap: adopt_group %s (%s, %s) is an administrative group (%s): its members "
                     "are never adopted; remove it from adopt_group",
                     g, o->dn, o->sid, admin);
            return -1;
        }
        strs_add(allowed, o->sid);
        groups_of(o->dn, allowed);
    }
    return 0;
}

/* The DN an object sits in (its DN without the first RDN). */
static const char *parent_of(const char *dn)
{
    for (const char *p = dn; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == ',')
            return p + 1;
    }
    return "";
}

/* dir_check_adoption with the fake's facts. */
static int check_adoption(struct dir *dir, const struct dir_account *acct, const char *ou,
                          struct diag *d)
{
    int gate = dir_adoption_gate(acct, dir->adopt_unmarked, dir->server, d);
    if (gate <= 0)
        return gate;
    const char *sam = acct->sam ? acct->sam : acct->dn;
    const struct obj *o = by_dn(acct->dn);
    if (!o || (acct->guid && ascii_casecmp(o->guid, acct->guid) != 0)) {
        diag_add(d,
                 "ldap: account %s (%s) is no longer on %s, or another object has its DN now: "
                 "not adopted",
                 sam, acct->dn, dir->server);
        return -1;
    }
    char *reason =
        dir_adoption_object_problem(kind_name(o->kind), o->kind != K_GROUP, o->uac, o->sid);
    if (!reason && ou) {
        if (!dn_valid(ou)) {
            diag_add(d, "ldap: OU '%s' is not a valid DN (RFC 4514, e.g. OU=Sites,OU=Hosting)", ou);
            return -1;
        }
        char *abs = absolute(ou, dir->base);
        if (ascii_casecmp(parent_of(o->dn), abs) != 0)
            reason = dir_adoption_ou_reason(parent_of(o->dn), abs);
        free(abs);
    }
    if (!reason) {
        struct strs token = {0}, allowed = {0};
        token_of(o, &token);
        if (allowed_set(dir, &allowed, d) < 0) {
            strs_free(&token);
            strs_free(&allowed);
            return -1;
        }
        size_t *bad = xcalloc(token.n ? token.n : 1, sizeof *bad);
        size_t nb = dir_adoption_offenders((const char *const *)token.v, token.n,
                                           (const char *const *)allowed.v, allowed.n, bad);
        if (nb) {
            const char **sids = xcalloc(nb, sizeof *sids);
            const char **dns = xcalloc(nb, sizeof *dns);
            for (size_t i = 0; i < nb; i++) {
                sids[i] = token.v[bad[i]];
                const struct obj *g = i < 4 ? by_sid(sids[i]) : NULL;
                dns[i] = g ? g->dn : NULL;
            }
            reason = dir_adoption_groups_reason(sids, dns, nb);
            free(sids);
            free(dns);
        }
        free(bad);
        strs_free(&token);
        strs_free(&allowed);
    }
    if (!reason)
        return 1;
    char *t = dir_adoption_refusal(sam, acct->dn, dir->server, reason);
    diag_add(d, "%s", t);
    free(t);
    free(reason);
    return 0;
}

int dir_check_adoption(struct dir *dir, const struct dir_account *acct, const char *ou,
                       struct diag *d)
{
    S.calls[FAKE_FN_CHECK_ADOPTION]++;
    sync_in();
    if (alive(dir, d, DIR_OP_SEARCH, acct && acct->dn ? acct->dn : "an account") < 0)
        return -1;
    int rc;
    char *dm;
    if (send_op(dir, FAKE_OP_SEARCH, acct ? acct->sam : NULL, &rc, &dm)) {
        report(dir, d, DIR_OP_SEARCH, rc, dm, acct && acct->sam ? acct->sam : "an account");
        free(dm);
        return -1;
    }
    return check_adoption(dir, acct, ou, d);
}

/* ------------------------------------------------------------------ create */

/* Resolves the configured groups once per handle. 0 or -1 reported. */
static int resolve_groups(struct dir *dir, struct diag *d)
{
    if (dir->groups_ready)
        return 0;
    char **dns = xcalloc(dir->n_groups ? dir->n_groups : 1, sizeof *dns);
    int r = 0;
    for (size_t i = 0; i < dir->n_groups && r == 0; i++) {
        const char *g = dir->group_names[i];
        const struct obj *o = NULL;
        if (strchr(g, '=')) {
            if (!dn_valid(g)) {
                diag_add(d,
                         "ldap: group '%s' is not a valid DN (RFC 4514, e.g. OU=Sites,OU=Hosting)",
                         g);
                r = -1;
                break;
            }
            char *abs = absolute(g, dir->base);
            o = by_dn(abs);
            if (!o)
                diag_add(d, "ldap: group %s does not exist on %s", abs, dir->server);
            free(abs);
        } else {
            o = by_sam(g);
            if (o && o->kind != K_GROUP)
                o = NULL;
            if (!o)
                diag_add(d, "ldap: group %s not found under %s on %s", g, dir->base, dir->server);
        }
        if (o)
            dns[i] = xstrdup(o->dn);
        else
            r = -1;
    }
    if (r < 0) {
        for (size_t i = 0; i < dir->n_groups; i++)
            free(dns[i]);
        free(dns);
        return -1;
    }
    dir->group_dns = dns;
    dir->groups_ready = true;
    return 0;
}

/* Makes sure the OU (absolute) exists, creating the missing levels below
 * the base with create_ou. 0 or -1 reported. */
static int ensure_ou(struct dir *dir, const char *ou, struct diag *d)
{
    if (!S.strict_ous || ou_known(ou))
        return 0;
    if (!dir->create_ou) {
        diag_add(d,
                 "ldap: OU %s does not exist on %s: create it, or set create_ou to let "
                 "provision create the missing OUs",
                 ou, dir->server);
        return -1;
    }
    /* From just below the base down to the OU itself. */
    size_t len = strlen(ou) - strlen(dir->base);
    for (size_t k = len; k-- > 0;) {
        if (k > 0 && ou[k - 1] != ',')
            continue;
        const char *sub = ou + k;
        if (ou_known(sub))
            continue;
        if (ascii_ncasecmp(sub, "OU=", 3) != 0) {
            diag_add(d, "ldap: %s does not exist on %s and is not an OU, so it is not created", sub,
                     dir->server);
            return -1;
        }
        fake_dir_add_ou(sub);
    }
    return 0;
}

/* Adds dn to the group at group_dn. */
static void add_member(const char *group_dn, const char *dn)
{
    struct obj *g = by_dn(group_dn);
    if (!g)
        return;
    g->members = xrealloc(g->members, (g->n_members + 1) * sizeof *g->members);
    g->members[g->n_members++] = xstrdup(dn);
}

/* The add said "exists": the real module's judge_existing. */
static int judge_existing(struct dir *dir, struct dir_create_item *item, const char *label,
                          struct diag *d)
{
    const struct dir_account_spec *s = item->spec;
    const struct obj *o = by_sam(s->sam);
    if (!o) {
        report(dir, d, DIR_OP_CREATE, LDAP_ALREADY_EXISTS, DM_EXISTS, label);
        return -1;
    }
    if (o->kind != K_USER) {
        diag_add(d, "ldap: cannot create account %s on %s: the name is taken by a %s (%s)", s->sam,
                 dir->server, kind_name(o->kind), o->dn);
        return -1;
    }
    struct dir_account a;
    fill(NULL, o, &a);
    int result = -1;
    if (a.managed && same_site(a.managed_site, s->site)) {
        result = 0;
    } else if (a.managed) {
        diag_add(d,
                 "ldap: account %s (%s) on %s is managed by provision for site %s, not for "
                 "%s: refusing to take it over",
                 s->sam, o->dn, dir->server, a.managed_site ? a.managed_site : "(none)",
                 s->site ? s->site : "(none)");
    } else if (dir->adopt_unmarked) {
        if (check_adoption(dir, &a, s->ou, d) == 1) {
            a.adopted = true;
            result = 0;
        }
    } else {
        diag_add(d,
                 "ldap: account %s already exists on %s (%s) and was not created by provision "
                 "(no " DIR_MARKER_ATTR " marker): refusing to use it; set adopt_unmarked to use "
                 "it as it is, or choose another name",
                 s->sam, dir->server, o->dn);
    }
    if (result == 0)
        item->account = a;
    else
        dir_account_free(&a);
    return result;
}

/* One item of dir_create_accounts: 1, 0 or -1 (reported). */
static int create_one(struct dir *dir, struct dir_create_item *item, struct diag *d)
{
    const struct dir_account_spec *s = item->spec;
    const char *why = s ? dir_sam_problem(s->sam) : "is missing";
    if (why) {
        diag_add(d,
                 "ldap: cannot create account '%s': the name %s (sAMAccountName rules); "
                 "nothing was sent",
                 s && s->sam ? s->sam : "", why);
        return -1;
    }
    if (!s->ou || !*s->ou) {
        diag_add(d, "ldap: cannot create account %s: no OU given", s->sam);
        return -1;
    }
    if ((s->display_name && !utf8_valid(s->display_name, strlen(s->display_name), NULL)) ||
        (s->description && !utf8_valid(s->description, strlen(s->description), NULL)) ||
        (s->site && !utf8_valid(s->site, strlen(s->site), NULL))) {
        diag_add(d,
                 "ldap: cannot create account %s: display name, description or site is not "
                 "valid UTF-8",
                 s->sam);
        return -1;
    }
    if (!dn_valid(s->ou)) {
        diag_add(d, "ldap: OU '%s' is not a valid DN (RFC 4514, e.g. OU=Sites,OU=Hosting)", s->ou);
        return -1;
    }
    char *ou = absolute(s->ou, dir->base);
    if (ensure_ou(dir, ou, d) < 0) {
        free(ou);
        return -1;
    }
    char *dn = user_dn(s->sam, ou);
    free(ou);
    char *label = xasprintf("%s (%s)", s->sam, dn);
    const char *display = s->display_name && *s->display_name ? s->display_name : s->sam;
    int result = -1, rc;
    char *dm;
    if (!item->password || !*item->password ||
        !utf8_valid(item->password, strlen(item->password), NULL)) {
        diag_add(d, "ldap: cannot create account %s: the password is empty or not valid UTF-8",
                 label);
    } else if (send_op(dir, FAKE_OP_ADD, s->sam, &rc, &dm)) {
        char *t = dir_error_text(DIR_OP_CREATE, rc, dm, label, dir->server);
        if (dir->broken)
            diag_add(d, "%s (the account may or may not have been created: run again to check)", t);
        else
            diag_add(d, "%s", t);
        free(t);
        free(dm);
    } else if (by_sam(s->sam) || by_dn(dn)) {
        result = judge_existing(dir, item, label, d);
    } else if (!policy_ok(item->password, s->sam, display)) {
        report(dir, d, DIR_OP_CREATE, LDAP_CONSTRAINT_VIOLATION, DM_POLICY, label);
    } else {
        struct obj *o = new_obj(K_USER, s->sam, dn);
        o->upn = dir->upn_suffix && *dir->upn_suffix ? xasprintf("%s@%s", s->sam, dir->upn_suffix)
                                                     : NULL;
        o->display = xstrdup(display);
        o->description = s->description && *s->description ? xstrdup(s->description) : NULL;
        o->marker = dir_marker_value(s->site);
        o->password = xstrdup(item->password);
        o->pwd_last_set = S.next_pls;
        S.next_pls += PLS_STEP;
        result = 1;
        for (size_t g = 0; g < dir->n_groups && result == 1; g++) {
            if (!send_op(dir, FAKE_OP_GROUP, s->sam, &rc, &dm)) {
                add_member(dir->group_dns[g], dn);
                continue;
            }
            char *obj = xasprintf("account %s to group %s", s->sam, dir->group_dns[g]);
            char *err = dir_error_text(DIR_OP_GROUP, rc, dm, obj, dir->server);
            free(obj);
            free(dm);
            if (!send_op(dir, FAKE_OP_DELETE, s->sam, &rc, &dm)) {
                del_obj(by_dn(dn));
                diag_add(d, "%s; the new account %s was deleted again", err, dn);
            } else {
                char *t = dir_error_text(DIR_OP_DELETE, rc, dm, dn, dir->server);
                diag_add(d,
                         "%s; and the new account could not be deleted again (%s): delete %s by "
                         "hand",
                         err, t, dn);
                free(t);
                free(dm);
            }
            free(err);
            result = -1;
        }
        if (result == 1) {
            o = by_dn(dn); /* S.o may have moved */
            fill(NULL, o, &item->account);
        }
    }
    free(label);
    free(dn);
    return result;
}

static size_t create_many(struct dir *dir, struct dir_create_item *items, size_t n,
                          dir_created_fn fn, void *ctx, struct diag *d)
{
    char *what = dir_create_begin(items, n);
    if (!what)
        return 0;
    int ok = alive(dir, d, DIR_OP_CREATE, what);
    free(what);
    if (ok < 0)
        return n;
    size_t next = 0;
    if (resolve_groups(dir, d) < 0) {
        diag_add(d, "ldap: no account was created (the groups for new accounts are wrong)");
        next = n;
    }
    for (; next < n && !dir->broken; next++) {
        items[next].result = create_one(dir, &items[next], d);
        persist(); /* each add is on the "server" at once */
        if (fn && items[next].result == 1)
            fn(ctx, next);
    }
    if (next < n && dir->broken)
        diag_add(d, "ldap: %zu account(s) not attempted: the connection to %s was lost", n - next,
                 dir->server);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += items[i].result < 0;
    return failed;
}

size_t dir_create_accounts(struct dir *dir, struct dir_create_item *items, size_t n, struct diag *d)
{
    S.calls[FAKE_FN_CREATE_MANY]++;
    sync_in();
    return create_many(dir, items, n, NULL, NULL, d);
}

size_t dir_create_accounts_notify(struct dir *dir, struct dir_create_item *items, size_t n,
                                  dir_created_fn fn, void *ctx, struct diag *d)
{
    S.calls[FAKE_FN_CREATE_MANY]++;
    sync_in();
    return create_many(dir, items, n, fn, ctx, d);
}

int dir_create_account(struct dir *dir, const struct dir_account_spec *spec, const char *password,
                       struct dir_account *out, struct diag *d)
{
    S.calls[FAKE_FN_CREATE]++;
    sync_in();
    struct dir_create_item item = {.spec = spec, .password = password};
    create_many(dir, &item, 1, NULL, NULL, d);
    *out = item.account;
    return item.result;
}

/* ------------------------------------------------------------------ password, delete */

int dir_set_password(struct dir *dir, const char *dn, const char *password, struct diag *d)
{
    S.calls[FAKE_FN_SET_PASSWORD]++;
    sync_in();
    if (alive(dir, d, DIR_OP_PASSWORD, dn) < 0)
        return -1;
    if (!dn_valid(dn)) {
        diag_add(d, "ldap: cannot set a password: '%s' is not a valid DN", dn ? dn : "");
        return -1;
    }
    if (!password || !*password || !utf8_valid(password, strlen(password), NULL)) {
        diag_add(d,
                 "ldap: cannot set the password of %s: the password is empty or not valid "
                 "UTF-8",
                 dn);
        return -1;
    }
    struct obj *o = by_dn(dn);
    if (!o) {
        diag_add(d, "ldap: cannot set the password of %s on %s: no such account", dn, dir->server);
        return -1;
    }
    if (o->kind != K_USER) {
        diag_add(d, "ldap: %s on %s is a %s, not a user account", dn, dir->server,
                 kind_name(o->kind));
        return -1;
    }
    if (!dir_marker_parse(o->marker, NULL) && !dir->adopt_unmarked) {
        diag_add(d,
                 "ldap: refusing to set the password of %s on %s: the account was not created "
                 "by provision (no " DIR_MARKER_ATTR " marker) and adopt_unmarked is off",
                 dn, dir->server);
        return -1;
    }
    if (!dir_marker_parse(o->marker, NULL)) {
        struct dir_account a;
        fill(dir, o, &a);
        int ok = check_adoption(dir, &a, NULL, d);
        dir_account_free(&a);
        if (ok != 1)
            return -1;
        o = by_dn(dn);
    }
    int rc;
    char *dm;
    if (send_op(dir, FAKE_OP_PASSWORD, o->sam, &rc, &dm)) {
        report(dir, d, DIR_OP_PASSWORD, rc, dm, dn);
        free(dm);
        return -1;
    }
    if (!policy_ok(password, o->sam, o->display)) {
        report(dir, d, DIR_OP_PASSWORD, LDAP_CONSTRAINT_VIOLATION, DM_POLICY, dn);
        return -1;
    }
    free_secret(o->password);
    o->password = xstrdup(password);
    o->pwd_last_set = S.next_pls;
    S.next_pls += PLS_STEP;
    persist();
    return 0;
}

int dir_delete_account(struct dir *dir, const struct dir_account *acct, struct diag *d)
{
    S.calls[FAKE_FN_DELETE]++;
    sync_in();
    if (!acct || !acct->dn || !acct->guid) {
        diag_add(d, "ldap: cannot delete an account without its DN and GUID (find it first)");
        return -1;
    }
    if (alive(dir, d, DIR_OP_DELETE, acct->dn) < 0)
        return -1;
    unsigned char guid[16];
    if (dir_guid_from_string(acct->guid, guid) < 0) {
        diag_add(d, "ldap: cannot delete %s: malformed GUID '%s'", acct->dn, acct->guid);
        return -1;
    }
    struct obj *o = by_dn(acct->dn);
    if (!o)
        return 0;
    if (ascii_casecmp(o->guid, acct->guid) != 0) {
        diag_add(d,
                 "ldap: refusing to delete %s on %s: it is no longer the account that was "
                 "found (GUID %s, now %s)",
                 acct->dn, dir->server, acct->guid, o->guid);
        return -1;
    }
    if (o->kind != K_USER) {
        diag_add(d, "ldap: %s on %s is a %s, not a user account", acct->dn, dir->server,
                 kind_name(o->kind));
        return -1;
    }
    char *site = NULL;
    bool managed = dir_marker_parse(o->marker, &site);
    int r = -1;
    int rc;
    char *dm;
    if (!managed) {
        diag_add(d,
                 "ldap: refusing to delete %s on %s: it was not created by provision (no "
                 "" DIR_MARKER_ATTR " marker)",
                 acct->dn, dir->server);
    } else if (acct->managed_site && !same_site(acct->managed_site, site)) {
        diag_add(d, "ldap: refusing to delete %s on %s: its marker now names site %s, not %s",
                 acct->dn, dir->server, site ? site : "(none)", acct->managed_site);
    } else if (send_op(dir, FAKE_OP_DELETE, o->sam, &rc, &dm)) {
        report(dir, d, DIR_OP_DELETE, rc, dm, acct->dn);
        free(dm);
    } else {
        del_obj(o);
        persist();
        r = 1;
    }
    free(site);
    return r;
}

/* ------------------------------------------------------------------ replication */

int dir_pwd_last_set(struct dir *dir, const char *dn, long long *out, struct diag *d)
{
    S.calls[FAKE_FN_PWD_LAST_SET]++;
    sync_in();
    *out = 0;
    if (alive(dir, d, DIR_OP_SEARCH, dn ? dn : "an account") < 0)
        return -1;
    int rc;
    char *dm;
    const struct obj *o = by_dn(dn);
    char *object = xasprintf("pwdLastSet of %s", dn ? dn : "");
    int r = -1;
    if (send_op(dir, FAKE_OP_SEARCH, o ? o->sam : NULL, &rc, &dm)) {
        report(dir, d, DIR_OP_SEARCH, rc, dm, object);
        free(dm);
    } else if (!o || o->kind == K_GROUP || o->pwd_last_set <= 0) {
        diag_add(d, "ldap: cannot read the pwdLastSet of %s on %s%s", dn ? dn : "", dir->server,
                 o ? "" : ": no such account");
    } else {
        *out = o->pwd_last_set;
        r = 0;
    }
    free(object);
    return r;
}

void dir_account_state_free(struct dir_account_state *st)
{
    for (size_t i = 0; i < st->n_groups; i++)
        free(st->groups[i]);
    free(st->groups);
    memset(st, 0, sizeof *st);
}

/* The account's tokenGroups and its flags as the fake keeps them (no
 * expiry dates: the fake's accounts never expire). */
int dir_read_account_state(struct dir *dir, const struct dir_account *acct,
                           struct dir_account_state *out, struct diag *d)
{
    S.calls[FAKE_FN_ACCOUNT_STATE]++;
    sync_in();
    memset(out, 0, sizeof *out);
    if (alive(dir, d, DIR_OP_SEARCH, acct->sam ? acct->sam : acct->dn) < 0)
        return -1;
    const struct obj *o = by_dn(acct->dn);
    if (!o || o->kind != K_USER)
        return 0;
    struct strs t = {0};
    token_of(o, &t);
    out->groups = t.v;
    out->n_groups = t.n;
    out->groups_read = t.n > 0;
    out->disabled = o->disabled || (o->uac & 0x2ul);
    out->password_expired = o->pwd_last_set == 0;
    return 1;
}

int dir_sid_exists(struct dir *dir, const char *sid, struct diag *d)
{
    S.calls[FAKE_FN_SID_EXISTS]++;
    sync_in();
    if (alive(dir, d, DIR_OP_SEARCH, sid) < 0)
        return -1;
    return by_sid(sid) ? 1 : 0;
}

int dir_wait_replica(const struct dir_config *cfg, const char *uri, struct dir_replica_item *items,
                     size_t n, long timeout_ms, bool (*stop)(void *), void *stop_arg,
                     struct diag *d)
{
    S.calls[FAKE_FN_WAIT_REPLICA]++;
    sync_in();
    struct dir_config c = *cfg;
    c.uri = uri;
    const struct replica *rep = replica_of(uri, false);
    struct diag e;
    diag_init(&e);
    const char *why = NULL;
    long waited = 0;
    char *server = NULL;
    /* What dir_open would refuse at once is not retried. */
    struct dir *dir = handle_new(&c, &e);
    char *pw = NULL;
    if (!dir || dir_bind_credentials(&c, &pw, &e) < 0 || connect_checks(&c, dir, &e) < 0) {
        why = "a failure that waiting does not cure; not retried";
    } else if (rep && rep->unreachable) {
        char *t = dir_error_text(DIR_OP_CONNECT, LDAP_SERVER_DOWN, NULL, NULL, dir->server);
        diag_add(&e, "%s", t);
        free(t);
        why = "wait_timeout";
        waited = timeout_ms;
    } else {
        S.ops[FAKE_OP_BIND]++;
        for (size_t i = 0; i < n; i++) {
            if (items[i].seen)
                continue;
            const struct obj *o = by_guid(items[i].guid);
            bool lacking = false;
            for (size_t k = 0; o && rep && k < rep->n_lacks; k++)
                lacking |= ascii_casecmp(rep->lacks[k], o->sam) == 0;
            items[i].seen = o && !lacking && o->pwd_last_set >= items[i].pwd_last_set;
        }
        for (size_t i = 0; i < n && !why; i++)
            if (!items[i].seen) {
                why = stop && stop(stop_arg) ? "stopped by a signal" : "wait_timeout";
                waited = timeout_ms;
            }
    }
    free_secret(pw);
    if (dir)
        server = xstrdup(dir->server ? dir->server : uri);
    else
        server = xstrdup(uri ? uri : "");
    handle_free(dir);
    int r = 0;
    if (why) {
        char *last = NULL;
        struct strbuf sb;
        sb_init(&sb);
        for (size_t i = 0; i < e.count; i++)
            sb_addf(&sb, "%s%s", i ? "; " : "", e.msgs[i]);
        last = sb_detach(&sb);
        char *t = dir_replica_failure(server, waited, why, items, n, *last ? last : NULL);
        diag_add(d, "%s", t);
        free(t);
        free(last);
        r = -1;
    }
    diag_free(&e);
    free(server);
    return r;
}
