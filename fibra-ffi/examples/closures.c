/*
 * closures.c: how a language runtime lowers `spawn f(x)` onto fibra, with
 * the closure's environment on the heap and freed exactly once whether the
 * task runs or is cancelled by a shutdown (see docs/EMBEDDING.md).
 *
 * Part 1 spawns N closures and waits for them; part 2 spawns N closures on a
 * one-worker runtime and frees the runtime at once, so that most of them are
 * cancelled. Prints
 *   closures: ran=N sum=S
 *   closures: shutdown ran=R cancelled=C of N
 * and exits 1 if a count is wrong or an environment was not freed (it counts
 * the live ones itself: valgrind cannot see such a leak, because fibra's
 * pooled task memory keeps a copy of `arg` and so keeps it "reachable").
 */
#include "fibra.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* What all closures of one part share. */
struct shared {
    atomic_long sum;
    atomic_long ran;
    atomic_long cancelled;
    fibra_waitgroup *wg;
};

/* A closure's environment: its captured variables. */
struct env {
    long x;
    struct shared *shared;
};

/* Environments allocated and not yet freed. */
static atomic_long live_envs;

static void free_env(struct env *env) {
    atomic_fetch_sub_explicit(&live_envs, 1, memory_order_relaxed);
    free(env);
}

static void fail(const char *what, fibra_status status) {
    fprintf(stderr, "closures: %s: %s: %s\n", what, fibra_status_name(status), fibra_last_error_message());
    exit(1);
}

/* The closure's body: `sum += x`. It owns `env` and frees it. */
static void closure_body(void *arg) {
    struct env *env = arg;
    struct shared *shared = env->shared;
    atomic_fetch_add_explicit(&shared->sum, env->x, memory_order_relaxed);
    atomic_fetch_add_explicit(&shared->ran, 1, memory_order_relaxed);
    free_env(env);
    fibra_status status = fibra_waitgroup_done(shared->wg);
    if (status != FIBRA_OK) fail("fibra_waitgroup_done", status);
}

/* Called instead of the body when the runtime shuts down first. */
static void closure_cancelled(void *arg) {
    struct env *env = arg;
    struct shared *shared = env->shared;
    atomic_fetch_add_explicit(&shared->cancelled, 1, memory_order_relaxed);
    free_env(env);
    fibra_status status = fibra_waitgroup_done(shared->wg);
    if (status != FIBRA_OK) fail("fibra_waitgroup_done", status);
}

/* What the code generator emits for `spawn f(x)`. */
static fibra_status spawn_closure(const fibra_runtime *rt, long x, struct shared *shared) {
    struct env *env = malloc(sizeof *env);
    if (env == NULL) return FIBRA_ERR_OS;
    atomic_fetch_add_explicit(&live_envs, 1, memory_order_relaxed);
    env->x = x;
    env->shared = shared;
    fibra_status status = fibra_waitgroup_add(shared->wg, 1);
    if (status != FIBRA_OK) {
        free_env(env);
        return status;
    }
    status = fibra_spawn_with_cancel(rt, closure_body, env, closure_cancelled);
    if (status != FIBRA_OK) {
        /* Neither callback will run: the environment is still ours. */
        free_env(env);
        fibra_waitgroup_done(shared->wg);
    }
    return status;
}

static void init_shared(struct shared *shared) {
    atomic_init(&shared->sum, 0);
    atomic_init(&shared->ran, 0);
    atomic_init(&shared->cancelled, 0);
    fibra_status status = FIBRA_OK;
    shared->wg = fibra_waitgroup_new(&status);
    if (shared->wg == NULL) fail("fibra_waitgroup_new", status);
}

static fibra_runtime *new_runtime(size_t workers) {
    fibra_status status = FIBRA_OK;
    fibra_runtime *rt = fibra_runtime_new(workers, &status);
    if (rt == NULL) fail("fibra_runtime_new", status);
    return rt;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    if (n <= 0) {
        fprintf(stderr, "closures: not a task count: %s\n", argv[1]);
        return 2;
    }
    fibra_status status;

    /* Part 1: every closure runs once. */
    struct shared all;
    init_shared(&all);
    fibra_runtime *rt = new_runtime(2);
    for (long i = 0; i < n; i++) {
        if ((status = spawn_closure(rt, i, &all)) != FIBRA_OK) fail("spawn_closure", status);
    }
    if ((status = fibra_waitgroup_wait(all.wg)) != FIBRA_OK) fail("fibra_waitgroup_wait", status);
    long sum = atomic_load(&all.sum), ran = atomic_load(&all.ran);
    printf("closures: ran=%ld sum=%ld\n", ran, sum);
    if (ran != n || sum != n * (n - 1) / 2 || atomic_load(&all.cancelled) != 0) {
        fprintf(stderr, "closures: expected ran=%ld sum=%ld cancelled=0\n", n, n * (n - 1) / 2);
        return 1;
    }
    if ((status = fibra_runtime_free(rt)) != FIBRA_OK) fail("fibra_runtime_free", status);
    if ((status = fibra_waitgroup_free(all.wg)) != FIBRA_OK) fail("fibra_waitgroup_free", status);

    /* Part 2: free the runtime with closures still queued. */
    struct shared cut;
    init_shared(&cut);
    rt = new_runtime(1);
    for (long i = 0; i < n; i++) {
        if ((status = spawn_closure(rt, i, &cut)) != FIBRA_OK) fail("spawn_closure", status);
    }
    if ((status = fibra_runtime_free(rt)) != FIBRA_OK) fail("fibra_runtime_free", status);
    /* Every closure ran or was cancelled by now; the wait returns at once. */
    if ((status = fibra_waitgroup_wait(cut.wg)) != FIBRA_OK) fail("fibra_waitgroup_wait", status);
    ran = atomic_load(&cut.ran);
    long cancelled = atomic_load(&cut.cancelled);
    printf("closures: shutdown ran=%ld cancelled=%ld of %ld\n", ran, cancelled, n);
    if (ran + cancelled != n) {
        fprintf(stderr, "closures: %ld closures neither ran nor were cancelled\n", n - ran - cancelled);
        return 1;
    }
    if ((status = fibra_waitgroup_free(cut.wg)) != FIBRA_OK) fail("fibra_waitgroup_free", status);
    if (atomic_load(&live_envs) != 0) {
        fprintf(stderr, "closures: %ld environments were never freed\n", atomic_load(&live_envs));
        return 1;
    }
    return 0;
}
