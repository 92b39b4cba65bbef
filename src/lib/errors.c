/* error.c — the error table's functions, per-thread detail messages, the
 * library lock, version and the optional MPI set-up helper. */

#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mf_messages[] = {
#define MF_X_MSG(name, value, msg) [value] = msg,
    MF_ERROR_TABLE(MF_X_MSG)
#undef MF_X_MSG
};

static const char *const mf_names[] = {
#define MF_X_NAME(name, value, msg) [value] = #name,
    MF_ERROR_TABLE(MF_X_NAME)
#undef MF_X_NAME
};

MF_API const char *mf_strerror(int err)
{
    if (err < 0 || err >= MF_ERR_COUNT_ || !mf_messages[err])
        return "unknown error";
    return mf_messages[err];
}

MF_API const char *mf_errname(int err)
{
    if (err < 0 || err >= MF_ERR_COUNT_ || !mf_names[err])
        return "MF_E?";
    return mf_names[err];
}

static _Thread_local char mf_errbuf[1024];

MF_API const char *mf_last_error(void)
{
    return mf_errbuf;
}

void mf__clear_error(void)
{
    mf_errbuf[0] = '\0';
}

int mf__fail(int err, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(mf_errbuf, sizeof mf_errbuf, "%s: ", mf_errname(err));
    if (n < 0)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(mf_errbuf + n, sizeof mf_errbuf - (size_t)n, fmt, ap);
    va_end(ap);
    return err;
}

MF_API const char *mf_version(void)
{
    return MF_VERSION_STRING;
}

/* ---- MPI set-up helper ----------------------------------------------- */

static int mf_we_initialised;

MF_API int mf_init(int *argc, char ***argv, int *provided)
{
    int inited = 0, fin = 0, prov = MPI_THREAD_SINGLE;
    mf__clear_error();
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (fin)
        return mf__fail(MF_ESTATE, "MPI was already finalised");
    if (!inited) {
        if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &prov) !=
            MPI_SUCCESS)
            return mf__fail(MF_EMPI, "MPI_Init_thread failed");
        mf_we_initialised = 1;
    } else {
        MPI_Query_thread(&prov);
    }
    if (provided)
        *provided = prov;
    return MF_OK;
}

MF_API int mf_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE",
                                       "OMPI_COMM_WORLD_RANK",
                                       "PMI_RANK",
                                       "PMI_SIZE",
                                       "PMI_FD",
                                       "PMIX_RANK",
                                       "PMIX_NAMESPACE",
                                       "MPI_LOCALNRANKS",
                                       "HYDRA_CONTROL_FD"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    /* A task of srun (not the batch script, which has no step id). */
    return getenv("SLURM_STEP_ID") && getenv("SLURM_PROCID") ? 1 : 0;
}

MF_API int mf_finalize(void)
{
    int fin = 0;
    if (!mf_we_initialised)
        return MF_OK;
    MPI_Finalized(&fin);
    mf_we_initialised = 0;
    if (!fin && MPI_Finalize() != MPI_SUCCESS)
        return mf__fail(MF_EMPI, "MPI_Finalize failed");
    return MF_OK;
}
