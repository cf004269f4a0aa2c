/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "provision/report.h"

#include <stdlib.h>
#include <string.h>

void report_init(struct report *r, const char *command, bool json, int verbosity)
{
    memset(r, 0, sizeof *r);
    r->command = command;
    r->json = json;
    r->verbosity = verbosity;
    diag_init(&r->errors);
    diag_init(&r->notes);
}

struct site_report *report_site(struct report *r, const char *name)
{
    r->sites = xrealloc(r->sites, (r->n_sites + 1) * sizeof *r->sites);
    struct site_report *s = &r->sites[r->n_sites++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    changes_init(&s->changes);
    diag_init(&s->errors);
    return s;
}

void report_step(struct site_report *s, const char *kind, const char *action, const char *object)
{
    s->steps = xrealloc(s->steps, (s->n_steps + 1) * sizeof *s->steps);
    s->steps[s->n_steps++] = (struct site_step){xstrdup(kind), xstrdup(action),
                                                xstrdup(object ? object : ""), "pending"};
}

void report_steps_state(struct site_report *s, const char *state)
{
    for (size_t i = 0; i < s->n_steps; i++)
        s->steps[i].state = state;
}

void report_free(struct report *r)
{
    for (size_t i = 0; i < r->n_sites; i++) {
        free(r->sites[i].name);
        changes_free(&r->sites[i].changes);
        diag_free(&r->sites[i].errors);
        for (size_t k = 0; k < r->sites[i].n_steps; k++) {
            free(r->sites[i].steps[k].kind);
            free(r->sites[i].steps[k].action);
            free(r->sites[i].steps[k].object);
        }
        free(r->sites[i].steps);
    }
    free(r->sites);
    diag_free(&r->errors);
    diag_free(&r->notes);
}

void json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static const char *status_name(enum site_status s)
{
    return s == SITE_FAILED ? "failed" : s == SITE_CHANGED ? "changed" : "unchanged";
}

/* Notes are plain strings. */
static void json_strings(FILE *out, const struct diag *d)
{
    fputc('[', out);
    for (size_t i = 0; i < d->count; i++) {
        if (i)
            fputc(',', out);
        json_string(out, d->msgs[i]);
    }
    fputc(']', out);
}

/* Errors carry their class and object (util.h's error model). */
static void json_errors(FILE *out, const struct diag *d)
{
    fputc('[', out);
    for (size_t i = 0; i < d->count; i++) {
        if (i)
            fputc(',', out);
        fprintf(out,
                "{\"class\":\"%s\",\"object\":", diag_class_name((enum diag_class)d->classes[i]));
        json_string(out, d->objects[i]);
        fprintf(out, ",\"message\":");
        json_string(out, d->msgs[i]);
        fputc('}', out);
    }
    fputc(']', out);
}

static void print_json(const struct report *r, FILE *out)
{
    size_t counts[3] = {0};
    fprintf(out, "{\"version\":%d,\"command\":", REPORT_JSON_VERSION);
    json_string(out, r->command);
    fprintf(out, ",\"dry_run\":%s,\"sites\":[", r->dry_run ? "true" : "false");
    for (size_t i = 0; i < r->n_sites; i++) {
        const struct site_report *s = &r->sites[i];
        if (i)
            fputc(',', out);
        fprintf(out, "{\"name\":");
        json_string(out, s->name);
        fprintf(out, ",\"status\":\"%s\",\"changes\":[", status_name(s->status));
        for (size_t c = 0; c < s->changes.count; c++) {
            const struct change *ch = &s->changes.items[c];
            if (s->status != SITE_FAILED) /* a failed site's changes were not made */
                counts[ch->op == '+' ? 0 : ch->op == '~' ? 1 : 2]++;
            if (c)
                fputc(',', out);
            fprintf(out, "{\"op\":\"%c\",\"action\":\"%s\",\"kind\":", ch->op,
                    ch->op == '+'   ? "create"
                    : ch->op == '~' ? "change"
                                    : "remove");
            json_string(out, ch->kind);
            fprintf(out, ",\"object\":");
            json_string(out, ch->object);
            if (ch->note) {
                fprintf(out, ",\"note\":");
                json_string(out, ch->note);
            }
            fprintf(out, ",\"attributes\":[");
            for (size_t a = 0; a < ch->n_attrs; a++) {
                const struct change_attr *at = &ch->attrs[a];
                if (a)
                    fputc(',', out);
                fprintf(out, "{\"name\":");
                json_string(out, at->name);
                if (at->secret) {
                    fprintf(out, ",\"secret\":true}");
                    continue;
                }
                fprintf(out, ",\"old\":");
                json_string(out, at->old_value);
                fprintf(out, ",\"new\":");
                json_string(out, at->new_value);
                fputc('}', out);
            }
            fprintf(out, "]}");
        }
        fprintf(out, "],\"steps\":[");
        for (size_t k = 0; k < s->n_steps; k++) {
            const struct site_step *st = &s->steps[k];
            fprintf(out, "%s{\"kind\":", k ? "," : "");
            json_string(out, st->kind);
            fprintf(out, ",\"action\":");
            json_string(out, st->action);
            fprintf(out, ",\"object\":");
            json_string(out, st->object);
            fprintf(out, ",\"state\":\"%s\"}", st->state);
        }
        fprintf(out, "],\"errors\":");
        json_errors(out, &s->errors);
        fputc('}', out);
    }
    fprintf(out,
            "],\"summary\":{\"create\":%zu,\"change\":%zu,\"remove\":%zu},\"errors\":", counts[0],
            counts[1], counts[2]);
    json_errors(out, &r->errors);
    fprintf(out, ",\"notes\":");
    json_strings(out, &r->notes);
    fprintf(out, "}\n");
}

const char *report_visible(const char *s)
{
    static char *ring[8];
    static unsigned next;
    if (!s)
        return s;
    const unsigned char *p = (const unsigned char *)s;
    size_t bad = 0;
    for (; *p; p++)
        bad += *p < 0x20 || *p == 0x7f;
    if (!bad)
        return s;
    struct strbuf sb;
    sb_init(&sb);
    for (p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            sb_addf(&sb, "\\x%02x", *p);
        else
            sb_addc(&sb, (char)*p);
    }
    free(ring[next]);
    ring[next] = sb_detach(&sb);
    const char *out = ring[next];
    next = (next + 1) % 8;
    return out;
}

/* A value as people read it: absent and empty are not the same thing. */
static const char *shown(const char *v)
{
    return !v ? "(unset)" : !*v ? "\"\"" : v;
}

static void print_human(const struct report *r, FILE *out)
{
    size_t counts[3] = {0}, failed = 0, unchanged = 0;
    /* The run's own errors first: they name the systems (directory,
     * content, configuration) whose failure the sites' messages follow. */
    for (size_t e = 0; e < r->errors.count; e++)
        fprintf(stderr, "provision: %s\n", report_visible(r->errors.msgs[e]));
    for (size_t i = 0; i < r->n_sites; i++) {
        const struct site_report *s = &r->sites[i];
        if (s->status == SITE_FAILED)
            failed++;
        if (s->status == SITE_UNCHANGED) {
            unchanged++;
            if (r->verbosity > 0)
                fprintf(out, "%s: no change\n", report_visible(s->name));
            continue;
        }
        if (s->status == SITE_FAILED) {
            for (size_t e = 0; e < s->errors.count; e++)
                fprintf(stderr, "provision: %s\n", report_visible(s->errors.msgs[e]));
            if (!s->changes.count)
                continue;
        }
        if (r->verbosity < 0)
            continue;
        fprintf(out, "%s%s\n", report_visible(s->name),
                s->status == SITE_FAILED ? " (failed, not written)" : "");
        for (size_t c = 0; c < s->changes.count; c++) {
            const struct change *ch = &s->changes.items[c];
            if (s->status != SITE_FAILED) /* a failed site's changes were not made */
                counts[ch->op == '+' ? 0 : ch->op == '~' ? 1 : 2]++;
            fprintf(out, "  %c %s %s%s%s%s\n", ch->op, ch->kind, report_visible(ch->object),
                    ch->note ? " (" : "", ch->note ? report_visible(ch->note) : "",
                    ch->note ? ")" : "");
            for (size_t a = 0; a < ch->n_attrs; a++) {
                const struct change_attr *at = &ch->attrs[a];
                if (at->secret)
                    fprintf(out, "      %s: (secret)\n", report_visible(at->name));
                else if (ch->op == '+')
                    fprintf(out, "      %s: %s\n", report_visible(at->name),
                            report_visible(shown(at->new_value)));
                else if (ch->op == '-')
                    fprintf(out, "      %s: %s\n", report_visible(at->name),
                            report_visible(shown(at->old_value)));
                else
                    fprintf(out, "      %s: %s -> %s\n", report_visible(at->name),
                            report_visible(shown(at->old_value)),
                            report_visible(shown(at->new_value)));
            }
        }
    }
    if (r->verbosity < 0)
        return;
    for (size_t n = 0; n < r->notes.count; n++)
        fprintf(out, "%s\n", report_visible(r->notes.msgs[n]));
    size_t total = counts[0] + counts[1] + counts[2];
    const char *verb = !strcmp(r->command, "plan") ? "would be" : "";
    if (total == 0 && failed == 0 && r->errors.count)
        return; /* the errors above say why nothing was done */
    if (total == 0 && failed == 0)
        fprintf(out, "No changes: %zu site%s already as described.\n", unchanged,
                unchanged == 1 ? "" : "s");
    else
        fprintf(out,
                "%s: %zu %screated, %zu %schanged, %zu %sremoved; %zu site%s unchanged, %zu "
                "failed.\n",
                r->command, counts[0], *verb ? "to be " : "", counts[1], *verb ? "to be " : "",
                counts[2], *verb ? "to be " : "", unchanged, unchanged == 1 ? "" : "s", failed);
}

void report_print(const struct report *r, FILE *out)
{
    if (r->json)
        print_json(r, out);
    else
        print_human(r, out);
}

void report_errors(const struct report *r, FILE *err)
{
    for (size_t e = 0; e < r->errors.count; e++)
        fprintf(err, "provision: %s\n", report_visible(r->errors.msgs[e]));
}
