/*
 * replay_main.c — runs files through LLVMFuzzerTestOneInput() without
 * libFuzzer, so the corpus is replayed by any compiler (gcc included).
 *
 *   fuzz_X_replay [--allow-empty] FILE|DIR...
 *
 * Each file is read into a buffer of its exact size (so ASan sees any
 * over-read) and passed once; the target must not change it. A directory
 * means its regular files, in name order. Files named ok-* must be
 * accepted by the decoder and files named bad-* refused (fz_verdict). An
 * invariant that does not hold aborts (the test fails, naming the file just
 * before). Exit status 0 when every input ran; 1 if an argument could not be
 * read or no input was found (unless --allow-empty).
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    /* Exact size, so a read past the end is a heap overflow. */
    unsigned char *in = malloc(n ? n : 1), *copy = malloc(n ? n : 1);
    if (!in || !copy || fread(in, 1, n, f) != n) {
        fprintf(stderr, "replay: %s: cannot read %zu bytes\n", path, n);
        fclose(f);
        free(in);
        free(copy);
        return -1;
    }
    fclose(f);
    memcpy(copy, in, n);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    fz_verdict = -1;
    LLVMFuzzerTestOneInput(in, n);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, "ok-", 3) == 0)
        FZ_CHECK(fz_verdict == 1, "%s: a valid seed was refused", path);
    if (strncmp(base, "bad-", 4) == 0)
        FZ_CHECK(fz_verdict == 0, "%s: a malformed seed was accepted", path);
    FZ_CHECK(memcmp(in, copy, n) == 0, "%s: the target changed its input",
             path);
    free(in);
    free(copy);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        struct stat st;
        if (!p)
            break;
        snprintf(p, len, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) ||
            strcmp(e->d_name, "README.md") == 0) {
            free(p);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                free(p);
                break;
            }
            names = nn;
        }
        names[n++] = p;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (run_file(names[i]) != 0)
            rc = -1;
        else
            (*count)++;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0, allow_empty = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "--allow-empty") == 0) {
            allow_empty = 1;
            continue;
        }
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i], &count) != 0)
                rc = 1;
        } else if (run_file(argv[i]) != 0) {
            rc = 1;
        } else {
            count++;
        }
    }
    if (count == 0 && !allow_empty) {
        fprintf(stderr, "replay: no inputs found\n");
        rc = 1;
    }
    fprintf(stderr, "replay: %zu input(s) ran, %s\n", count,
            rc ? "with errors" : "all invariants held");
    return rc;
}
