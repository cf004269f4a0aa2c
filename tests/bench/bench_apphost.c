/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers for the config-engine benchmark (bench_apphost.sh):
 *   gen N FIXTURE OUT     FIXTURE with N more sites and pools, written as IIS does:
 *                         site00000.example.com ... with ids 2 .. N+1
 *   sites PREFIX N OUT    a site list for provision apply: N sections
 *                         [site PREFIX00001.example.com] ... template = standard
 *   floor IN OUT          a bare libxml2 parse + save of IN (the floor)
 *   run [-o OUT] CMD ARGS...
 *                         runs CMD (its stdout to OUT, else to /dev/null); prints
 *                         "ms=<wall> maxrss_kb=<peak RSS> status=<exit status>" */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *buf = malloc(*len + 1);
    if (!buf || fread(buf, 1, *len, f) != *len) {
        perror(path);
        exit(2);
    }
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* Inserts text before the first occurrence of marker. */
static void splice(FILE *out, const char **pos, const char *marker, void (*emit)(FILE *, int),
                   int n)
{
    const char *at = strstr(*pos, marker);
    if (!at) {
        fprintf(stderr, "marker %s not found\n", marker);
        exit(2);
    }
    /* Back to the start of the marker's line. */
    while (at > *pos && at[-1] != '\n')
        at--;
    fwrite(*pos, 1, (size_t)(at - *pos), out);
    for (int i = 0; i < n; i++)
        emit(out, i);
    *pos = at;
}

static void emit_pool(FILE *out, int i)
{
    fprintf(out,
            "            <add name=\"site%05d.example.com\" managedRuntimeVersion=\"v4.0\">\r\n"
            "                <processModel identityType=\"ApplicationPoolIdentity\" />\r\n"
            "            </add>\r\n",
            i);
}

static void emit_site(FILE *out, int i)
{
    fprintf(out,
            "            <site name=\"site%05d.example.com\" id=\"%d\">\r\n"
            "                <application path=\"/\" applicationPool=\"site%05d.example.com\">\r\n"
            "                    <virtualDirectory path=\"/\" "
            "physicalPath=\"D:\\Sites\\site%05d.example.com\\wwwroot\" />\r\n"
            "                </application>\r\n"
            "                <bindings>\r\n"
            "                    <binding protocol=\"http\" "
            "bindingInformation=\"*:80:site%05d.example.com\" />\r\n"
            "                    <binding protocol=\"http\" "
            "bindingInformation=\"*:80:www.site%05d.example.com\" />\r\n"
            "                </bindings>\r\n"
            "            </site>\r\n",
            i, i + 2, i, i, i, i);
}

/* A count for gen and sites: 0 .. 1000000 (the names stay unique past five digits). */
static int count_arg(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || n < 0 || n > 1000000) {
        fprintf(stderr, "bench_apphost: bad count %s (0 .. 1000000)\n", s);
        exit(2);
    }
    return (int)n;
}

static int close_out(FILE *out, const char *path)
{
    int bad = ferror(out);
    if (fclose(out) != 0 || bad) {
        perror(path);
        return 2;
    }
    return 0;
}

static int gen(int n, const char *fixture, const char *out_path)
{
    size_t len;
    char *text = slurp(fixture, &len);
    FILE *out = fopen(out_path, "wb");
    if (!out) {
        perror(out_path);
        return 2;
    }
    const char *pos = text;
    splice(out, &pos, "<applicationPoolDefaults", emit_pool, n);
    splice(out, &pos, "<siteDefaults>", emit_site, n);
    fwrite(pos, 1, len - (size_t)(pos - text), out);
    free(text);
    return close_out(out, out_path);
}

static int sites(const char *prefix, int n, const char *out_path)
{
    FILE *out = fopen(out_path, "wb");
    if (!out) {
        perror(out_path);
        return 2;
    }
    for (int i = 1; i <= n; i++)
        fprintf(out, "[site %s%05d.example.com]\ntemplate = standard\n", prefix, i);
    return close_out(out, out_path);
}

static int floor_parse_save(const char *in, const char *out)
{
    xmlDocPtr doc = xmlReadFile(in, NULL, XML_PARSE_NONET);
    if (!doc)
        return 1;
    int rc = xmlSaveFile(out, doc) < 0;
    xmlFreeDoc(doc);
    return rc;
}

static int run(const char *out_path, char **argv)
{
    struct timespec t0, t1;
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        const char *path = out_path ? out_path : "/dev/null";
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
            perror(path);
            _exit(126);
        }
        if (fd != STDOUT_FILENO)
            close(fd);
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("ms=%.1f maxrss_kb=%ld status=%d\n", ms, ru.ru_maxrss, code);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "gen"))
        return gen(count_arg(argv[2]), argv[3], argv[4]);
    if (argc == 5 && !strcmp(argv[1], "sites"))
        return sites(argv[2], count_arg(argv[3]), argv[4]);
    if (argc == 4 && !strcmp(argv[1], "floor"))
        return floor_parse_save(argv[2], argv[3]);
    if (argc >= 5 && !strcmp(argv[1], "run") && !strcmp(argv[2], "-o"))
        return run(argv[3], argv + 4);
    if (argc >= 3 && !strcmp(argv[1], "run") && strcmp(argv[2], "-o"))
        return run(NULL, argv + 2);
    fprintf(stderr, "usage: bench_apphost gen N FIXTURE OUT | sites PREFIX N OUT | floor IN OUT"
                    " | run [-o OUT] CMD...\n");
    return 2;
}
