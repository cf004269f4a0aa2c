/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An in-memory Active Directory behind ldap/directory.h, for unit tests of
 * the account steps, recovery and the run logic without the lab (like the
 * in-memory back ends of the grant engine's tests).
 *
 * fake_directory.c implements every function of ldap/directory.h with the
 * contract written there: return values 1/0/-1, one message per failure
 * naming the account and the server (built with ldap/errors.h like the real
 * ones), dir_create_accounts' per-item results, dir_find_accounts' found[]
 * values, the marker (adminDescription "provision:site=SITE", ldap/account.h)
 * and adopt_unmarked. The "server" is process-wide: it outlives the
 * handles, as a DC outlives connections, so a test can open, close and
 * reopen (as a run and then its recovery do) and still see the accounts.
 *
 * Accounts live under their sAMAccountName (compared ASCII
 * case-insensitively), with DN "CN=<sam>,<ou>,<base_dn>", SID
 * S-1-5-21-1-2-3-RID (RIDs from 1100 up, in order of creation, pre-seeded
 * ones included) and a GUID of their own. Groups are objects too (seeded
 * with fake_dir_add_group) and record their members (users and groups:
 * nesting). New passwords must pass AD's complexity rule
 * (password_ad_complex), as on a real DC.
 *
 * Adoption (dir_check_adoption, and the checks inside dir_create_account
 * and dir_set_password) follows directory.h with the fake's own facts:
 * userAccountControl 66048 for users, 4096 for computers (or what
 * fake_dir_set_uac says); tokenGroups computed as a DC does, transitively
 * over the groups' members, with the primary group (Domain Users,
 * S-1-5-21-1-2-3-513, for users; Domain Computers, -515, for computers)
 * and, when seeded, the groups that one is in. The allowed set, as in the
 * module, is Domain Users, the adopt_groups groups and the groups those are
 * in. Messages are the module's (ldap/directory_common.h).
 *
 * Replication (dir_wait_replica): every DC is this one server, up to date,
 * unless fake_dir_replica_unreachable or fake_dir_replica_lacks says
 * otherwise for its URI. The fake does not sleep: a wait that cannot
 * succeed fails at once, as it would at its timeout (the message says the
 * timeout went by). pwdLastSet is a counter that grows with every password
 * set (creation included).
 *
 * Counters count what the real module would send: one "search" per
 * dir_find_account, dir_check_adoption and dir_pwd_last_set, one per chunk
 * of 64 names of dir_find_accounts; one
 * "add" per account add sent (a refused name or OU sends nothing), one
 * "group" per membership add, one "password" per password modify, one
 * "delete" per delete sent (a rollback's included), one "bind" per
 * dir_open / dir_check_password / dir_wait_replica that gets as far as
 * binding.
 *
 * Persistence (for tests that run provision in a child process, kill it
 * and inspect or recover in the parent): when the environment variable
 * FAKE_DIRECTORY_STATE names a file, the server's objects (users, groups,
 * computers with every attribute, password and membership), its OUs, the
 * strict-OU switch and the next RID and GUID live in that file as well:
 * it is read (when it changed since this process last read or wrote it)
 * at dir_open and at every other public call, and rewritten whole (a temp
 * file renamed over it) after every change, seeding and reset included.
 * A process killed at any moment thus leaves every change made before.
 * Counters, planned failures and handles stay per process. A string a
 * getter returned lives until the file is changed by another process and
 * read again. Format: "fake-directory 1", then TAB-separated records of
 * KEY=VALUE fields (TAB, LF and backslash escaped as \t \n \\):
 *   server  next_rid= next_guid= strict_ous=
 *   ou      dn=
 *   obj     kind= sam= dn= sid= guid= [upn= description= display= marker=
 *           password=] disabled= [uac= pwdlastset=] [member=DN ...]
 * (server also carries next_pls=, the next pwdLastSet). */
#ifndef PROVISION_TESTS_FAKE_DIRECTORY_H
#define PROVISION_TESTS_FAKE_DIRECTORY_H

#include "ldap/directory.h"

#include <stdbool.h>
#include <stddef.h>

/* The domain's base DN: dir_open refuses another base_dn ("does not
 * exist"), as check_base does. Seeded objects live under it. The server's
 * name in messages comes from the URI, as in the real module (host, plus
 * :port when not the default). */
#define FAKE_DIR_DEFAULT_BASE "DC=lab,DC=test"

/* The environment variable naming the state file (see above). */
#define FAKE_DIR_STATE_ENV "FAKE_DIRECTORY_STATE"

/* LDAP operations: what the counters count and what can be made to fail. */
enum fake_dir_op {
    FAKE_OP_BIND,     /* dir_open, dir_check_password */
    FAKE_OP_SEARCH,   /* the look-ups (not the reads inside delete and set-password) */
    FAKE_OP_ADD,      /* an account add */
    FAKE_OP_GROUP,    /* a membership add */
    FAKE_OP_PASSWORD, /* a password modify */
    FAKE_OP_DELETE,   /* an account delete */
    FAKE_OP_COUNT
};

/* The public functions of directory.h: fake_dir_calls counts them. */
enum fake_dir_fn {
    FAKE_FN_OPEN,
    FAKE_FN_CLOSE,
    FAKE_FN_FIND,
    FAKE_FN_FIND_MANY,
    FAKE_FN_CREATE,
    FAKE_FN_CREATE_MANY,
    FAKE_FN_SET_PASSWORD,
    FAKE_FN_DELETE,
    FAKE_FN_CHECK_PASSWORD,
    FAKE_FN_CHECK_ADOPTION,
    FAKE_FN_PWD_LAST_SET,
    FAKE_FN_WAIT_REPLICA,
    FAKE_FN_ACCOUNT_STATE,
    FAKE_FN_SID_EXISTS,
    FAKE_FN_COUNT
};

/* Empties the directory (no accounts, no groups, RIDs from 1100 again),
 * the counters and the planned failures; OUs are not checked. Call it in
 * each test's set-up. Handles still open stay usable. */
void fake_dir_reset(void);

/* Pre-seeds a user. site: NULL for an unmarked account, "" for a marker
 * naming no site ("provision:"), else marked for that site. ou is relative
 * to the base (NULL: "OU=Sites"). password may be NULL (none known). Returns
 * the new account's DN (owned by the fake). Aborts on a duplicate name. */
const char *fake_dir_add_user(const char *sam, const char *ou, const char *site,
                              const char *password);
/* Shorthands: marked for site / unmarked, in OU=Sites, password "Old-Pass-123". */
const char *fake_dir_add_marked(const char *sam, const char *site);
const char *fake_dir_add_unmarked(const char *sam);
/* A group (CN=<sam>,CN=Users,<base>) or a computer (CN=<sam>,CN=Computers,
 * <base>; sam usually ends with $) under that name. */
const char *fake_dir_add_group(const char *sam);
const char *fake_dir_add_computer(const char *sam);
/* A second object with the same sAMAccountName (which AD forbids, but a
 * search may still find two across a forest): makes the look-ups fail. */
const char *fake_dir_add_duplicate(const char *sam);
/* Disables an account (its binds are refused with "the account is
 * disabled"). */
void fake_dir_disable(const char *sam);

/* For adoption: a group with exactly that SID, e.g. "S-1-5-21-1-2-3-512"
 * (Domain Admins) or "S-1-5-32-544" (Builtin Administrators: DN under
 * CN=Builtin); the RID counter is not used. */
const char *fake_dir_add_group_sid(const char *sam, const char *sid);
/* member_sam (a user, computer or group) becomes a member of group
 * group_sam. Aborts when either is missing. */
void fake_dir_add_member(const char *group_sam, const char *member_sam);
/* Gives object sam the RID rid (its SID becomes S-1-5-21-1-2-3-rid). */
void fake_dir_set_rid(const char *sam, unsigned rid);
/* Sets the userAccountControl of object sam. */
void fake_dir_set_uac(const char *sam, unsigned long uac);
/* The tokenGroups of object sam as the fake computes them, as SIDs
 * separated by spaces (for tests of the fake; caller frees). */
char *fake_dir_token_groups(const char *sam);

/* Replication: the DC at uri (the string given to dir_wait_replica) cannot
 * be reached, or does not have account sam as it is now (neither the
 * account nor its latest password). Until reset. */
void fake_dir_replica_unreachable(const char *uri);
void fake_dir_replica_lacks(const char *uri, const char *sam);
/* The pwdLastSet of object sam (0 when absent). */
long long fake_dir_pwd_last_set(const char *sam);

/* With strict OUs only the OUs seeded here (relative to the base or
 * absolute) and the ones created by create_ou exist; a new account in a
 * missing OU is refused like the real module does. Off after reset. */
void fake_dir_strict_ous(bool on);
void fake_dir_add_ou(const char *ou);
bool fake_dir_ou_exists(const char *ou);

/* The next n operations of kind op fail (after the ones already planned),
 * with a typical AD answer: bind 52e (wrong password), search "busy", add
 * / group / delete 00002098 (insufficient access), password 0000052D
 * (policy). */
void fake_dir_fail_next(enum fake_dir_op op, unsigned n);
/* The same with a chosen LDAP result code and diagnostic (may be NULL).
 * LDAP_SERVER_DOWN or LDAP_TIMEOUT also kill the handle, as a lost
 * connection does: every later call on it fails at once. */
void fake_dir_fail_next_with(enum fake_dir_op op, unsigned n, int rc, const char *diagnostic);
/* Every operation of kind op on account sam fails (until reset). */
void fake_dir_fail_account(enum fake_dir_op op, const char *sam);
/* The connection of every open handle is lost now. */
void fake_dir_drop_connections(void);

/* How many operations of kind op were sent / public calls made since the
 * last reset. */
unsigned fake_dir_ops(enum fake_dir_op op);
unsigned fake_dir_calls(enum fake_dir_fn fn);
/* How many handles are open now (dir_open minus dir_close). */
int fake_dir_open_handles(void);

/* The state of an object, by sAMAccountName: */
bool fake_dir_exists(const char *sam);
/* Its current password (NULL when unknown or absent). */
const char *fake_dir_password(const char *sam);
/* Its DN, SID, UPN, description and marker value (NULL when absent). */
const char *fake_dir_dn(const char *sam);
const char *fake_dir_sid(const char *sam);
const char *fake_dir_upn(const char *sam);
const char *fake_dir_description(const char *sam);
const char *fake_dir_marker(const char *sam);
/* True when user sam is a member of group group_sam. */
bool fake_dir_is_member(const char *sam, const char *group_sam);
/* How many objects the directory holds (users, groups, computers). */
size_t fake_dir_count(void);

#endif
