/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The script back ends: instead of touching anything, they write a
 * PowerShell script (.ps1) or a batch file (.cmd) that makes the folders
 * and grants on the Windows host with icacls. Both use numeric SIDs
 * ("*S-1-...": no name lookup, no localised names), icacls rights letters
 * (F M RX R W) or, for other masks, the list of specific rights (icacls
 * takes no hex masks), and are safe to run twice: folders are created only
 * when missing, /grant:r replaces the explicit allow entries of the SID,
 * a deny is /remove:d then /deny. icacls sets each folder through the
 * Windows API, which passes inheritable entries down to the existing
 * children itself.
 * PowerShell: UTF-8 with BOM (Windows PowerShell 5.1 reads BOM-less files
 * in the ANSI code page), CRLF, $ErrorActionPreference = 'Stop', paths in
 * single quotes (' and the typographic single quotes doubled; $ and `
 * are literal there), folders made with [System.IO.Directory]::
 * CreateDirectory (literal paths: no wildcard expansion of [ ]), icacls
 * called with each argument separate and its exit code checked.
 * Batch: CRLF, "setlocal EnableExtensions DisableDelayedExpansion" (so ! is
 * literal), every path in double quotes with % doubled (also in comments,
 * which cmd expands too, and quoted there: a trailing ^ would continue a
 * comment onto the next line), "|| goto :fail" after each command, and
 * "chcp 65001" when a path is not ASCII. */
#include "provision/ntfs/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct script_impl {
    char *path;          /* output file */
    char *windows_root;  /* default of the Root parameter, or NULL */
    struct strbuf body;  /* the steps, LF line ends (CRLF when written) */
    struct strmap seen;  /* step keys already written */
    char *last_folder;   /* folder of the last step (for comment lines) */
    bool non_ascii;      /* a step's path is not ASCII: chcp 65001 in the section */
    bool root_non_ascii; /* the root is not ASCII: chcp 65001 in the prologue */
};

/* ------------------------------------------------------------------ quoting */

/* PowerShell single-quoted string. */
static void ps_quote(struct strbuf *sb, const char *s)
{
    sb_addc(sb, '\'');
    for (const char *p = s; *p; p++) {
        const unsigned char *u = (const unsigned char *)p;
        if (*p == '\'') {
            sb_adds(sb, "''");
        } else if (u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9B) {
            /* U+2018..U+201B: PowerShell treats them as single quotes */
            sb_add(sb, p, 3);
            sb_add(sb, p, 3);
            p += 2;
        } else {
            sb_addc(sb, *p);
        }
    }
    sb_addc(sb, '\'');
}

/* Text for a batch file: % doubled. */
static void cmd_text(struct strbuf *sb, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '%')
            sb_adds(sb, "%%");
        else
            sb_addc(sb, *p);
    }
}

static char *windows_rel(const char *rel)
{
    char *w = xstrdup(rel);
    for (char *p = w; *p; p++)
        if (*p == '/')
            *p = '\\';
    return w;
}

/* ------------------------------------------------------------------ rights */

static void icacls_perm(struct strbuf *sb, const struct ntfs_ace *ace)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } specific[] = {
        {0x00000001u, "RD"},  {0x00000002u, "WD"}, {0x00000004u, "AD"}, {0x00000008u, "REA"},
        {0x00000010u, "WEA"}, {0x00000020u, "X"},  {0x00000040u, "DC"}, {0x00000080u, "RA"},
        {0x00000100u, "WA"},  {0x00010000u, "DE"}, {0x00020000u, "RC"}, {0x00040000u, "WDAC"},
        {0x00080000u, "WO"},  {0x00100000u, "S"},  {0x01000000u, "AS"}, {0x02000000u, "MA"},
        {0x10000000u, "GA"},  {0x20000000u, "GE"}, {0x40000000u, "GW"}, {0x80000000u, "GR"},
    };
    char sid[NTFS_SID_STRING_MAX];
    ntfs_sid_format(&ace->sid, sid, sizeof sid);
    sb_addf(sb, "*%s:", sid);
    if (ace->flags & NTFS_ACE_OI)
        sb_adds(sb, "(OI)");
    if (ace->flags & NTFS_ACE_CI)
        sb_adds(sb, "(CI)");
    if (ace->flags & NTFS_ACE_NP)
        sb_adds(sb, "(NP)");
    if (ace->flags & NTFS_ACE_IO)
        sb_adds(sb, "(IO)");
    switch (ace->mask) {
    case NTFS_RIGHTS_F:
        sb_adds(sb, "(F)");
        return;
    case NTFS_RIGHTS_M:
        sb_adds(sb, "(M)");
        return;
    case NTFS_RIGHTS_RX:
        sb_adds(sb, "(RX)");
        return;
    case NTFS_RIGHTS_R:
        sb_adds(sb, "(R)");
        return;
    case NTFS_RIGHTS_W:
        sb_adds(sb, "(W)");
        return;
    default:
        break;
    }
    sb_addc(sb, '(');
    bool first = true;
    for (size_t i = 0; i < sizeof specific / sizeof specific[0]; i++)
        if (ace->mask & specific[i].bit) {
            sb_addf(sb, "%s%s", first ? "" : ",", specific[i].name);
            first = false;
        }
    sb_addc(sb, ')');
}

/* ------------------------------------------------------------------ steps */

/* Records a step key; 0 if it was already there. */
static int new_step(struct script_impl *im, const char *op, const char *rel,
                    const struct ntfs_ace *ace, bool dry_run)
{
    char sid[NTFS_SID_STRING_MAX] = "";
    char *lower = ascii_lower_dup(rel);
    if (ace)
        ntfs_sid_format(&ace->sid, sid, sizeof sid);
    char *key = ace ? xasprintf("%s|%s|%s|%u|%u|%lu", op, lower, sid, ace->type, ace->flags,
                                (unsigned long)ace->mask)
                    : xasprintf("%s|%s", op, lower);
    free(lower);
    if (strmap_get(&im->seen, key) || dry_run) {
        int fresh = strmap_get(&im->seen, key) == NULL;
        free(key);
        return dry_run ? -fresh : 0;
    }
    strmap_put(&im->seen, key, im);
    free(key);
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
        if (*p >= 0x80)
            im->non_ascii = true;
    return 1;
}

/* Starts the lines of a step on folder rel: a blank line and a comment when
 * the folder differs from the previous step's; PowerShell also sets $p. */
static void begin(struct acl_backend *b, const char *rel)
{
    struct script_impl *im = b->impl;
    if (im->last_folder && strcmp(im->last_folder, rel) == 0)
        return;
    free(im->last_folder);
    im->last_folder = xstrdup(rel);
    char *w = windows_rel(rel);
    sb_addc(&im->body, '\n');
    if (b->kind == ACL_BACKEND_SCRIPT_PS1) {
        sb_adds(&im->body, "# ");
        sb_adds(&im->body, w);
        sb_adds(&im->body, "\n$p = [System.IO.Path]::Combine($Root, ");
        ps_quote(&im->body, w);
        sb_adds(&im->body, ")\n");
    } else {
        /* quoted: a name ending in ^ would continue the comment onto the
         * next line */
        sb_adds(&im->body, "rem \"");
        cmd_text(&im->body, w);
        sb_adds(&im->body, "\"\n");
    }
    free(w);
}

/* "%ROOT%\rel" in double quotes for the batch file. */
static void cmd_path(struct strbuf *sb, const char *rel, const char *suffix)
{
    char *w = windows_rel(rel);
    sb_adds(sb, "\"%ROOT%\\");
    cmd_text(sb, w);
    sb_adds(sb, suffix);
    sb_addc(sb, '"');
    free(w);
}

static void icacls_step(struct acl_backend *b, const char *rel, const char *sw,
                        const struct ntfs_ace *perm, const char *plain_arg)
{
    struct script_impl *im = b->impl;
    struct strbuf arg;
    sb_init(&arg);
    if (perm)
        icacls_perm(&arg, perm);
    else if (plain_arg)
        sb_adds(&arg, plain_arg);
    if (b->kind == ACL_BACKEND_SCRIPT_PS1) {
        sb_adds(&im->body, "Invoke-Icacls $p @(");
        ps_quote(&im->body, sw);
        if (arg.len) {
            sb_adds(&im->body, ", ");
            ps_quote(&im->body, arg.buf);
        }
        sb_adds(&im->body, ")\n");
    } else {
        sb_adds(&im->body, "icacls ");
        cmd_path(&im->body, rel, "");
        sb_addf(&im->body, " %s", sw);
        if (arg.len) {
            sb_adds(&im->body, " \"");
            sb_adds(&im->body, arg.buf);
            sb_addc(&im->body, '"');
        }
        sb_adds(&im->body, " >nul || goto :fail\n");
    }
    sb_free(&arg);
}

static bool is_script(const struct acl_backend *b)
{
    return b && (b->kind == ACL_BACKEND_SCRIPT_PS1 || b->kind == ACL_BACKEND_SCRIPT_CMD);
}

int acl_script_folder(struct acl_backend *b, const char *rel, bool dry_run)
{
    int fresh = is_script(b) ? new_step(b->impl, "folder", rel, NULL, dry_run) : 0;
    if (fresh <= 0)
        return -fresh;
    struct script_impl *im = b->impl;
    begin(b, rel);
    if (b->kind == ACL_BACKEND_SCRIPT_PS1) {
        sb_adds(&im->body, "[void][System.IO.Directory]::CreateDirectory($p)\n");
    } else {
        sb_adds(&im->body, "if not exist ");
        cmd_path(&im->body, rel, "\\");
        sb_adds(&im->body, " mkdir ");
        cmd_path(&im->body, rel, "");
        sb_adds(&im->body, " || goto :fail\n");
    }
    return 1;
}

int acl_script_grant(struct acl_backend *b, const char *rel, const struct ntfs_ace *ace,
                     bool dry_run)
{
    int fresh = is_script(b) ? new_step(b->impl, "grant", rel, ace, dry_run) : 0;
    if (fresh <= 0)
        return -fresh;
    begin(b, rel);
    if (ace->type == NTFS_ACE_DENY) {
        char sid[NTFS_SID_STRING_MAX + 1] = "*";
        ntfs_sid_format(&ace->sid, sid + 1, sizeof sid - 1);
        icacls_step(b, rel, "/remove:d", NULL, sid);
        icacls_step(b, rel, "/deny", ace, NULL);
    } else {
        icacls_step(b, rel, "/grant:r", ace, NULL);
    }
    return 1;
}

int acl_script_revoke(struct acl_backend *b, const char *rel, const struct ntfs_ace *ace,
                      bool dry_run)
{
    int fresh = is_script(b) ? new_step(b->impl, "revoke", rel, ace, dry_run) : 0;
    if (fresh <= 0)
        return -fresh;
    char sid[NTFS_SID_STRING_MAX + 1] = "*";
    ntfs_sid_format(&ace->sid, sid + 1, sizeof sid - 1);
    begin(b, rel);
    icacls_step(b, rel, ace->type == NTFS_ACE_DENY ? "/remove:d" : "/remove:g", NULL, sid);
    return 1;
}

int acl_script_protect(struct acl_backend *b, const char *rel, bool protect, bool dry_run)
{
    int fresh =
        is_script(b) ? new_step(b->impl, protect ? "protect" : "unprotect", rel, NULL, dry_run) : 0;
    if (fresh <= 0)
        return -fresh;
    begin(b, rel);
    icacls_step(b, rel, protect ? "/inheritance:r" : "/inheritance:e", NULL, NULL);
    return 1;
}

int acl_script_remove_folder(struct acl_backend *b, const char *rel, bool dry_run)
{
    int fresh = is_script(b) ? new_step(b->impl, "rmdir", rel, NULL, dry_run) : 0;
    if (fresh <= 0)
        return -fresh;
    struct script_impl *im = b->impl;
    begin(b, rel);
    if (b->kind == ACL_BACKEND_SCRIPT_PS1) {
        sb_adds(&im->body, "Remove-EmptyFolder $p\n");
    } else {
        sb_adds(&im->body, "rd ");
        cmd_path(&im->body, rel, "");
        sb_adds(&im->body, " 2>nul\n");
    }
    return 1;
}

/* ------------------------------------------------------------------ render */

/* The part written once, when the script file is made: how to run it,
 * the Root parameter and the helpers. Every run then appends a section
 * (section() below), so the prologue must not depend on a run's steps. */
static void prologue(const struct acl_backend *b, struct strbuf *t)
{
    const struct script_impl *im = b->impl;
    if (b->kind == ACL_BACKEND_SCRIPT_PS1) {
        sb_adds(t, "# Generated by provision: NTFS folders and grants for the Windows host.\n"
                   "# Run: powershell.exe -NoProfile -ExecutionPolicy Bypass -File SCRIPT.ps1");
        sb_adds(t, im->windows_root ? " [-Root FOLDER]\n" : " -Root FOLDER\n");
        sb_adds(t, "# Safe to run more than once. icacls sets each folder through the Windows\n"
                   "# API, which passes inheritable entries down to existing children.\n"
                   "# Each run of provision appends its steps as a section: run the whole file.\n");
        if (im->windows_root) {
            sb_adds(t, "param([string]$Root = ");
            ps_quote(t, im->windows_root);
            sb_adds(t, ")\n");
        } else {
            sb_adds(t, "param([Parameter(Mandatory = $true)][string]$Root)\n");
        }
        sb_adds(t,
                "$ErrorActionPreference = 'Stop'\n"
                "Set-StrictMode -Version 2.0\n"
                "\n"
                "function Invoke-Icacls([string]$Path, [string[]]$Arguments) {\n"
                "    $ErrorActionPreference = 'Continue'\n"
                "    $output = & icacls.exe $Path @Arguments 2>&1 | Out-String\n"
                "    if ($LASTEXITCODE -ne 0) {\n"
                "        throw \"icacls '$Path' $($Arguments -join ' ') failed (exit code "
                "$LASTEXITCODE): $output\"\n"
                "    }\n"
                "}\n"
                "\n"
                "function Remove-EmptyFolder([string]$Path) {\n"
                "    if ((Test-Path -LiteralPath $Path -PathType Container) -and\n"
                "        -not (Get-ChildItem -LiteralPath $Path -Force | Select-Object -First 1)) "
                "{\n"
                "        Remove-Item -LiteralPath $Path\n"
                "    }\n"
                "}\n");
        return;
    }
    sb_adds(t, "@echo off\n");
    if (im->root_non_ascii)
        sb_adds(t, "chcp 65001 >nul\n");
    sb_adds(t, "rem Generated by provision: NTFS folders and grants for the Windows host.\n");
    if (im->windows_root) {
        sb_adds(t, "rem Run: SCRIPT.cmd [FOLDER]   (default FOLDER: \"");
        cmd_text(t, im->windows_root);
        sb_adds(t, "\")\n");
    } else {
        sb_adds(t, "rem Run: SCRIPT.cmd FOLDER\n");
    }
    sb_adds(t, "rem Safe to run more than once. icacls sets each folder through the Windows\n"
               "rem API, which passes inheritable entries down to existing children.\n"
               "rem Each run of provision appends its steps as a section: run the whole file.\n"
               "setlocal EnableExtensions DisableDelayedExpansion\n"
               "set \"ROOT=%~1\"\n");
    if (im->windows_root) {
        /* "D:\\" -> "D:" so that "%ROOT%\\x" has one separator */
        size_t n = strlen(im->windows_root);
        while (n > 1 && im->windows_root[n - 1] == '\\')
            n--;
        char *r = xstrndup(im->windows_root, n);
        sb_adds(t, "if not defined ROOT set \"ROOT=");
        cmd_text(t, r);
        sb_adds(t, "\"\n");
        free(r);
    } else {
        sb_adds(t, "if not defined ROOT (echo usage: %~nx0 FOLDER 1>&2 & exit /b 2)\n");
    }
    /* The failure handler comes first, so that sections can be appended
     * after it; the file's end is the script's end. */
    sb_adds(t, "goto :main\n"
               ":fail\n"
               "echo provision: the command above failed (exit code %ERRORLEVEL%) 1>&2\n"
               "exit /b 1\n"
               ":main\n");
}

/* When the section was made: UTC, or SOURCE_DATE_EPOCH when set (the
 * reproducible-builds convention; the golden tests use it). */
static void section_time(char *out, size_t size)
{
    const char *fixed = getenv("SOURCE_DATE_EPOCH");
    char *end = NULL;
    time_t t = fixed && *fixed ? (time_t)strtoll(fixed, &end, 10) : time(NULL);
    if (end && *end)
        t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One run's steps, under a header naming the run's time. */
static void section(const struct acl_backend *b, struct strbuf *t)
{
    const struct script_impl *im = b->impl;
    char when[32];
    section_time(when, sizeof when);
    if (b->kind == ACL_BACKEND_SCRIPT_PS1) {
        sb_addf(t, "\n# ---- provision run of %s ----\n", when);
        if (im->body.buf)
            sb_adds(t, im->body.buf);
        return;
    }
    sb_addf(t, "\nrem ---- provision run of %s ----\n", when);
    if (im->non_ascii && !im->root_non_ascii)
        sb_adds(t, "chcp 65001 >nul\n");
    if (im->body.buf)
        sb_adds(t, im->body.buf);
    /* The last step may be the "rd" of a folder that is not empty, which
     * leaves ERRORLEVEL set; "(call )" sets it back to 0 for the caller. */
    sb_adds(t, "(call )\n");
}

static void add_crlf(struct strbuf *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            sb_addc(out, '\r');
        sb_addc(out, *p);
    }
}

/* The file's bytes for text with LF line ends: CRLF, and for PowerShell
 * a UTF-8 BOM up front when the text is the file's start. */
static char *file_bytes(const struct acl_backend *b, const char *text, bool at_start)
{
    struct strbuf out;
    sb_init(&out);
    if (at_start && b->kind == ACL_BACKEND_SCRIPT_PS1)
        sb_adds(&out, "\xEF\xBB\xBF");
    add_crlf(&out, text);
    return sb_detach(&out);
}

char *acl_script_render(const struct acl_backend *b)
{
    if (!is_script(b))
        return NULL;
    struct strbuf t;
    sb_init(&t);
    prologue(b, &t);
    section(b, &t);
    char *text = file_bytes(b, t.buf, true);
    sb_free(&t);
    return text;
}

/* ------------------------------------------------------------------ ops */

/* Appends this run's section to the script, or makes the script when it
 * does not exist yet. An existing file must start with the prologue this
 * run would write (same flavour and root): anything else is not ours to
 * extend. Written next to its final name, then renamed into place
 * (atomic_replace), so a crash leaves the old script or the new one. */
static int write_script(struct acl_backend *b, struct diag *d)
{
    struct script_impl *im = b->impl;
    struct strbuf t;
    sb_init(&t);
    prologue(b, &t);
    char *head = file_bytes(b, t.buf, true);
    sb_free(&t);
    sb_init(&t);
    section(b, &t);
    char *tail = file_bytes(b, t.buf, false);
    sb_free(&t);

    char *old = NULL;
    size_t old_len = 0;
    struct stat st;
    int rc = 0;
    if (lstat(im->path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            diag_add(d, "script:%s: not a regular file (a link or special file); refused",
                     im->path);
            rc = -1;
        } else if (read_file(im->path, &old, &old_len) != 0) {
            diag_add(d, "script:%s: cannot read it: %s", im->path, strerror(errno));
            rc = -1;
        } else if (old_len < strlen(head) || memcmp(old, head, strlen(head)) != 0) {
            diag_add(d,
                     "script:%s: exists but does not start as this run's script would (another "
                     "flavour or root, or not written by provision); nothing was appended: move "
                     "it away or name another script",
                     im->path);
            rc = -1;
        }
    } else if (errno != ENOENT) {
        diag_add(d, "script:%s: %s", im->path, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        struct strbuf all;
        sb_init(&all);
        if (old)
            sb_add(&all, old, old_len);
        else
            sb_adds(&all, head);
        if (im->body.len || !old) /* a run without steps adds nothing */
            sb_adds(&all, tail);
        rc = atomic_replace(im->path, all.buf, all.len, 0644, "the script", d);
        sb_free(&all);
    }
    free(old);
    free(head);
    free(tail);
    return rc;
}

static int sc_close(struct acl_backend *b, struct diag *d)
{
    struct script_impl *im = b->impl;
    if (!im)
        return 0;
    int rc = write_script(b, d);
    free(im->path);
    free(im->windows_root);
    free(im->last_folder);
    sb_free(&im->body);
    strmap_free(&im->seen);
    free(im);
    b->impl = NULL;
    return rc;
}

/* A script executes the engine's grant steps by writing them down
 * (acl_script_*): it has no descriptor operations to offer. */
static const struct acl_backend_ops script_ops = {
    .close = sc_close,
};

static bool ends_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && ascii_casecmp(s + n - m, suffix) == 0;
}

static bool script_match(const char *location)
{
    return ascii_ncasecmp(location, "script:", 7) == 0;
}

static int script_init(struct acl_backend *b, const char *location,
                       const struct acl_backend_options *opt, struct diag *d)
{
    const char *path = location + 7; /* after script: */
    const char *windows_root = opt ? opt->script_root : NULL;
    struct stat st;
    if (path[0] != '/') {
        diag_add(d, "script:%s: the script path must be absolute", path);
        return -1;
    }
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            diag_add(d, "script location contains a control character");
            return -1;
        }
    if (ends_ci(path, ".ps1"))
        b->kind = ACL_BACKEND_SCRIPT_PS1;
    else if (ends_ci(path, ".cmd"))
        b->kind = ACL_BACKEND_SCRIPT_CMD;
    else {
        diag_add(d, "script:%s: the script must end in .ps1 (PowerShell) or .cmd (icacls)", path);
        return -1;
    }
    char *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    if (stat(*dir ? dir : "/", &st) != 0 || !S_ISDIR(st.st_mode)) {
        diag_add(d, "script:%s: the folder %s does not exist", path, *dir ? dir : "/");
        free(dir);
        return -1;
    }
    free(dir);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        diag_add(d, "script:%s: is a folder", path);
        return -1;
    }
    if (windows_root) {
        if (!*windows_root || strchr(windows_root, '"') ||
            !utf8_valid(windows_root, strlen(windows_root), NULL)) {
            diag_add(d, "script root '%s' is not a usable Windows folder", windows_root);
            return -1;
        }
        for (const char *c = windows_root; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                diag_add(d, "script root contains a control character");
                return -1;
            }
    }
    struct script_impl *im = xcalloc(1, sizeof *im);
    im->path = xstrdup(path);
    im->windows_root = windows_root ? xstrdup(windows_root) : NULL;
    for (const char *c = windows_root ? windows_root : ""; *c; c++)
        if ((unsigned char)*c >= 0x80)
            im->root_non_ascii = true;
    sb_init(&im->body);
    strmap_init(&im->seen);
    b->impl = im;
    b->ops = &script_ops;
    b->caps = 0;
    return 0;
}

const struct acl_backend_type acl_backend_script = {
    .syntax = "script:/path/file.ps1 or .cmd",
    .match = script_match,
    .init = script_init,
};
