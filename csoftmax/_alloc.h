/*
 * NumPy memory handler (NEP 49) for the arrays the fast paths create: data
 * that start on a 64-byte boundary (a cache line, an AVX-512 vector), where
 * NumPy's default handler (malloc) gives 16 bytes. A float32 row kernel or
 * tile storing 32-byte vectors into 16-byte-aligned rows splits every other
 * vector over two cache lines. Like NumPy's default handler, blocks of
 * 4 MiB and more are advised to use huge pages (madvise), where the system
 * has them. The arrays own their data (the handler travels with each array
 * and frees it); only the allocation is the project's.
 *
 * Block layout: [raw ... | size (8 bytes) | raw pointer (8 bytes) | data]
 * with data = the first 64-byte boundary at least 16 bytes past raw.
 */
#ifndef CSOFTMAX_ALLOC_H
#define CSOFTMAX_ALLOC_H

#include <Python.h>
#include <numpy/arrayobject.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#define CSM_ALLOC_ALIGN 64
#define CSM_ALLOC_PAD (CSM_ALLOC_ALIGN + 16)
#define CSM_ALLOC_HUGE ((size_t)1 << 22)

static void *csm_alloc_place(char *raw, size_t size)
{
    uintptr_t a = ((uintptr_t)raw + 16 + CSM_ALLOC_ALIGN - 1) & ~(uintptr_t)(CSM_ALLOC_ALIGN - 1);
    char *data = (char *)a;
    memcpy(data - 16, &size, sizeof size);
    memcpy(data - 8, &raw, sizeof raw);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (size >= CSM_ALLOC_HUGE) {
        /* the whole pages inside the block, as NumPy's default handler */
        long page = sysconf(_SC_PAGESIZE);
        if (page > 0) {
            uintptr_t p = (uintptr_t)page;
            uintptr_t lo = (a + p - 1) & ~(p - 1), hi = (a + size) & ~(p - 1);
            if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
        }
    }
#endif
    return data;
}

static size_t csm_alloc_size(void *data)
{
    size_t size;
    memcpy(&size, (char *)data - 16, sizeof size);
    return size;
}

static void *csm_alloc_raw(void *data)
{
    void *raw;
    memcpy(&raw, (char *)data - 8, sizeof raw);
    return raw;
}

static void *csm_alloc_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size > SIZE_MAX - CSM_ALLOC_PAD) return NULL;
    char *raw = malloc(size + CSM_ALLOC_PAD);
    return raw == NULL ? NULL : csm_alloc_place(raw, size);
}

static void *csm_alloc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    if (elsize != 0 && nelem > (SIZE_MAX - CSM_ALLOC_PAD) / elsize) return NULL;
    size_t size = nelem * elsize;
    char *raw = calloc(1, size + CSM_ALLOC_PAD);
    return raw == NULL ? NULL : csm_alloc_place(raw, size);
}

static void csm_alloc_free(void *ctx, void *data, size_t size)
{
    (void)ctx;
    (void)size;
    if (data != NULL) free(csm_alloc_raw(data));
}

static void *csm_alloc_realloc(void *ctx, void *data, size_t new_size)
{
    if (data == NULL) return csm_alloc_malloc(ctx, new_size);
    void *fresh = csm_alloc_malloc(ctx, new_size);
    if (fresh == NULL) return NULL; /* the old block stays, as with realloc */
    size_t old = csm_alloc_size(data);
    memcpy(fresh, data, old < new_size ? old : new_size);
    csm_alloc_free(ctx, data, old);
    return fresh;
}

static PyDataMem_Handler csm_alloc_handler = {
    "csoftmax_aligned_64",
    1,
    {NULL, csm_alloc_malloc, csm_alloc_calloc, csm_alloc_realloc, csm_alloc_free},
};

/* The handler as the capsule PyDataMem_SetHandler takes (a new reference). */
static PyObject *csm_alloc_capsule(void)
{
    return PyCapsule_New(&csm_alloc_handler, "mem_handler", NULL);
}

#endif
