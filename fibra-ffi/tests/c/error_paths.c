/*
 * error_paths.c: fibra's C functions given bad input, from C. Built and run
 * by tests/c_programs.rs. Prints "error_paths: ok" and exits 0 when every
 * check passed; otherwise names the failed check and exits 1.
 *
 * The double-free checks rely on best-effort detection (the magic word is
 * poisoned before the memory is freed); they are undefined behaviour in
 * principle, which is why this program is not run under valgrind.
 */
#include "fibra.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define EXPECT(call, expected)                                                            \
    do {                                                                                  \
        fibra_status got_ = (call);                                                       \
        if (got_ != (expected)) {                                                         \
            fprintf(stderr, "error_paths:%d: %s returned %s, expected %s (last error: %s)\n", \
                    __LINE__, #call, fibra_status_name(got_), fibra_status_name(expected),  \
                    fibra_last_error_message());                                          \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

#define EXPECT_TRUE(cond)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "error_paths:%d: %s is false\n", __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static void nothing(void *arg) { (void)arg; }

int main(void) {
    fibra_status status = FIBRA_OK;

    /* Runtime creation errors: NULL plus a status and a message. */
    EXPECT_TRUE(fibra_runtime_new((size_t)1 << 20, &status) == NULL);
    EXPECT(status, FIBRA_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(strstr(fibra_last_error_message(), "workers") != NULL);

    fibra_runtime *rt = fibra_runtime_new(2, &status);
    EXPECT_TRUE(rt != NULL);
    EXPECT(status, FIBRA_OK);
    if (rt == NULL) return 1;

    /* NULL arguments. */
    EXPECT(fibra_spawn(NULL, nothing, NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_spawn(rt, NULL, NULL), FIBRA_ERR_NULL);
    EXPECT_TRUE(strstr(fibra_last_error_message(), "func is NULL") != NULL);
    EXPECT(fibra_task_spawn(rt, nothing, NULL, NULL, NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_task_wait(NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_task_free(NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_waitgroup_add(NULL, 1), FIBRA_ERR_NULL);
    EXPECT(fibra_waitgroup_wait(NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_waitgroup_free(NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_runtime_metrics(rt, NULL), FIBRA_ERR_NULL);
    EXPECT(fibra_runtime_free(NULL), FIBRA_ERR_NULL);

    /* A wait group that would go negative. */
    fibra_waitgroup *wg = fibra_waitgroup_new(NULL);
    EXPECT_TRUE(wg != NULL);
    EXPECT(fibra_waitgroup_done(wg), FIBRA_ERR_INVALID_ARGUMENT);
    EXPECT(fibra_waitgroup_wait(wg), FIBRA_OK);

    /* An object of the wrong type is not accepted. */
    EXPECT(fibra_waitgroup_add((const fibra_waitgroup *)rt, 1), FIBRA_ERR_INVALID_HANDLE);

    /* Double free (best effort). */
    EXPECT(fibra_waitgroup_free(wg), FIBRA_OK);
    EXPECT(fibra_waitgroup_free(wg), FIBRA_ERR_INVALID_HANDLE);

    fibra_task *task = NULL;
    EXPECT(fibra_task_spawn(rt, nothing, NULL, NULL, &task), FIBRA_OK);
    EXPECT(fibra_task_wait(task), FIBRA_OK);
    EXPECT(fibra_task_free(task), FIBRA_OK);
    EXPECT(fibra_task_free(task), FIBRA_ERR_INVALID_HANDLE);

    /* Metrics: too small a struct is refused, the right size is filled. */
    fibra_metrics metrics = {.struct_size = 4};
    EXPECT(fibra_runtime_metrics(rt, &metrics), FIBRA_ERR_INVALID_ARGUMENT);
    metrics.struct_size = sizeof metrics;
    EXPECT(fibra_runtime_metrics(rt, &metrics), FIBRA_OK);
    EXPECT_TRUE(metrics.num_workers == 2 && metrics.struct_size == sizeof metrics);
    EXPECT_TRUE(strcmp(fibra_status_name(FIBRA_ERR_SHUTDOWN), "FIBRA_ERR_SHUTDOWN") == 0);
    EXPECT(fibra_yield(), FIBRA_OK);
    EXPECT(fibra_sleep_ns(0), FIBRA_OK);
    EXPECT(fibra_sleep_ns(1000), FIBRA_OK);

    EXPECT(fibra_runtime_free(rt), FIBRA_OK);
    EXPECT(fibra_runtime_free(rt), FIBRA_ERR_INVALID_HANDLE);

    if (failures != 0) {
        fprintf(stderr, "error_paths: %d checks failed\n", failures);
        return 1;
    }
    printf("error_paths: ok\n");
    return 0;
}
