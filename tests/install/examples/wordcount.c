/* wordcount.c — words of every regular file under a directory, one task
 * per path, printed as they complete, then the total.
 * Run: mpirun -n 3 ./wordcount DIR */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <mpifutures.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mf_fn_id count_words;

static int t_count(mf_task *task, void *userdata)
{
    const char *path;
    unsigned long long words = 0;
    int c, inword = 0;
    (void)userdata;
    if (mf_task_arg_str(task, &path) != MF_OK)
        return mf_task_fail(task, "%s", mf_last_error());
    FILE *f = fopen(path, "r");
    if (!f)
        return mf_task_fail(task, "cannot open %s", path);
    while ((c = getc(f)) != EOF) {
        int space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        words += !space && !inword;
        inword = !space;
    }
    fclose(f);
    return mf_task_return(task, &words, sizeof words);
}

/* The files, collected by nftw(). */
static char **paths;
static size_t npaths;

static int add_path(const char *p, const struct stat *st, int type,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_F) {
        char **n = realloc(paths, (npaths + 1) * sizeof *n);
        if (!n || !(n[npaths] = strdup(p)))
            return 1;
        paths = n;
        npaths++;
    }
    return 0;
}

static int count(mf_executor *ex, void *userdata)
{
    if (nftw(userdata, add_path, 16, FTW_PHYS) != 0)
        return 1;
    mf_future *fs = calloc(npaths ? npaths : 1, sizeof *fs);
    mf_as_completed_iter *it = NULL;
    unsigned long long total = 0, words;
    size_t i;
    int rc = fs ? MF_OK : MF_ENOMEM;
    for (i = 0; rc == MF_OK && i < npaths; i++)
        rc = mf_submit_str(ex, count_words, paths[i], &fs[i]);
    if (rc == MF_OK)
        rc = mf_as_completed(fs, npaths, MF_FOREVER, &it);
    while (rc == MF_OK &&
           (rc = mf_as_completed_next_index(it, &i)) == MF_OK) {
        if (mf_future_result_into(fs[i], 0, &words, sizeof words) == MF_OK) {
            printf("%8llu %s\n", words, paths[i]);
            total += words;
        } else {
            fprintf(stderr, "%s: %s\n", paths[i], mf_last_error());
        }
        mf_future_release(fs[i]); /* its result goes now */
    }
    printf("%8llu total\n", total);
    mf_as_completed_free(it);
    free(fs);
    return rc == MF_EDONE ? 0 : rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    mf_register("count_words", t_count, NULL, &count_words);
    int rc = mf_run(MPI_COMM_WORLD, count, argc > 1 ? argv[1] : ".", NULL);
    if (rc != MF_OK)
        fprintf(stderr, "wordcount: %s\n", mf_last_error());
    for (size_t i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    MPI_Finalize();
    return rc ? 1 : 0;
}
