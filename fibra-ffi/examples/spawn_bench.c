/*
 * spawn_bench.c: the seed's benchmark through fibra's C ABI.
 *
 * Usage: spawn_bench [--reps R] [N...]
 *
 * For each N (default 10000 100000 1000000), R times (default 1), spawns N
 * tasks that each increment a C11 atomic counter and
 * mark a wait group done, waits for all of them, and checks the count. Two
 * workloads per N, as in fibra-bench:
 *   spawn_burst_outside_c  the main thread (not a worker) spawns the N tasks,
 *                          as the seed's benchmark did;
 *   spawn_burst_inside_c   one task spawns the N tasks (the lock-free path
 *                          a language runtime's spawned code takes).
 * As fibra-bench does, each (workload, N) first runs once untimed (warm-up),
 * and every timed run starts after a 5 ms pause, so that it starts from
 * sleeping workers rather than from workers still busy with the last run.
 * One machine-readable line per timed run:
 *   result workload=spawn_burst_outside_c n=10000 ns=123456 check=10000
 * plus a human-readable one. Exits 1 if a count is wrong or a call fails.
 * The worker count is FIBRA_WORKERS, or one per CPU.
 *
 * Build (see docs/EMBEDDING.md):
 *   cargo build --release -p fibra-ffi
 *   cc -O2 -std=c11 -I fibra-ffi/include fibra-ffi/examples/spawn_bench.c \
 *      target/release/libfibra_ffi.a -lpthread -ldl -lm -lrt -lgcc_s -o spawn_bench
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "fibra.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exits with the status name and fibra's message if `call` failed. */
#define CHECK(call)                                                              \
    do {                                                                         \
        fibra_status status_ = (call);                                           \
        if (status_ != FIBRA_OK) {                                               \
            fprintf(stderr, "spawn_bench: %s failed: %s: %s\n", #call,           \
                    fibra_status_name(status_), fibra_last_error_message());     \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* What every task of one burst shares. The counter, which every task
 * writes, has a cache line of its own, so that reading the other fields
 * does not contend with it. */
struct burst {
    fibra_waitgroup *wg;
    const fibra_runtime *rt;
    unsigned long n;
    _Alignas(64) atomic_ulong count;
    char pad[64 - sizeof(atomic_ulong)];
};

/* The task: the trivial work of the seed's benchmark. */
static void increment(void *arg) {
    struct burst *burst = arg;
    atomic_fetch_add_explicit(&burst->count, 1, memory_order_relaxed);
    /* The wait group's done/wait pair orders the increment before the check. */
    CHECK(fibra_waitgroup_done(burst->wg));
}

/* Spawns the burst's N tasks from the current thread. */
static void spawn_all(struct burst *burst) {
    for (unsigned long i = 0; i < burst->n; i++) {
        CHECK(fibra_spawn(burst->rt, increment, burst));
    }
}

/* The root task of the inside workload; counted in the wait group too, so
 * that main does not reuse `burst` while this task still reads it. */
static void spawn_all_then_done(void *arg) {
    struct burst *burst = arg;
    spawn_all(burst);
    CHECK(fibra_waitgroup_done(burst->wg));
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs one burst and reports it unless it is a warm-up; returns the tasks
 * it spawned (N, plus the root inside). */
static unsigned long run_burst(const fibra_runtime *rt, fibra_waitgroup *wg, unsigned long n, int inside,
                               int report) {
    const char *workload = inside ? "spawn_burst_inside_c" : "spawn_burst_outside_c";
    struct burst burst = {.wg = wg, .rt = rt, .n = n};
    atomic_init(&burst.count, 0);

    uint64_t start = now_ns();
    if (inside) {
        CHECK(fibra_waitgroup_add(wg, (int64_t)n + 1));
        CHECK(fibra_spawn(rt, spawn_all_then_done, &burst));
    } else {
        CHECK(fibra_waitgroup_add(wg, (int64_t)n));
        spawn_all(&burst);
    }
    CHECK(fibra_waitgroup_wait(wg));
    uint64_t elapsed = now_ns() - start;

    unsigned long check = atomic_load_explicit(&burst.count, memory_order_relaxed);
    if (!report && check == n) {
        return inside ? n + 1 : n;
    }
    printf("result workload=%s n=%lu ns=%llu check=%lu\n", workload, n, (unsigned long long)elapsed, check);
    printf("  %-22s n=%-8lu %10.3f ms %8.1f ns/task%s\n", workload, n, elapsed / 1e6, (double)elapsed / (double)n,
           check == n ? "" : "  COUNT MISMATCH");
    fflush(stdout);
    if (check != n) {
        fprintf(stderr, "spawn_bench: %s n=%lu counted %lu tasks\n", workload, n, check);
        exit(1);
    }
    return inside ? n + 1 : n;
}

/* The pause before every timed run (fibra-bench's --settle-ms default). */
static void settle(void) {
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

static unsigned long parse_count(const char *text) {
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || n == 0 || n > (1ull << 40)) {
        fprintf(stderr, "spawn_bench: not a task count: %s\n", text);
        exit(2);
    }
    return (unsigned long)n;
}

int main(int argc, char **argv) {
    static const unsigned long defaults[] = {10000, 100000, 1000000};
    unsigned long reps = 1;
    int first_count = 1;
    if (argc > 2 && strcmp(argv[1], "--reps") == 0) {
        reps = parse_count(argv[2]);
        first_count = 3;
    }
    int given = argc - first_count;
    size_t sizes = given > 0 ? (size_t)given : sizeof defaults / sizeof defaults[0];

    fibra_status status = FIBRA_OK;
    fibra_runtime *rt = fibra_runtime_new(0, &status);
    if (rt == NULL) {
        fprintf(stderr, "spawn_bench: fibra_runtime_new: %s: %s\n", fibra_status_name(status),
                fibra_last_error_message());
        return 1;
    }
    fibra_waitgroup *wg = fibra_waitgroup_new(&status);
    if (wg == NULL) {
        fprintf(stderr, "spawn_bench: fibra_waitgroup_new: %s\n", fibra_status_name(status));
        return 1;
    }

    fibra_metrics metrics = {.struct_size = sizeof metrics};
    CHECK(fibra_runtime_metrics(rt, &metrics));
    printf("fibra C ABI spawn benchmark, %u workers\n", metrics.num_workers);

    unsigned long spawned = 0;
    for (size_t i = 0; i < sizes; i++) {
        unsigned long n = given > 0 ? parse_count(argv[first_count + (int)i]) : defaults[i];
        spawned += run_burst(rt, wg, n, 0, 0); /* warm-up */
        spawned += run_burst(rt, wg, n, 1, 0);
        for (unsigned long rep = 0; rep < reps; rep++) {
            settle();
            spawned += run_burst(rt, wg, n, 0, 1);
            settle();
            spawned += run_burst(rt, wg, n, 1, 1);
        }
    }

    /* Every task has started (the wait group saw each one's done). */
    CHECK(fibra_runtime_metrics(rt, &metrics));
    printf("  metrics: completed=%llu stolen=%llu from_global=%llu parks=%llu\n",
           (unsigned long long)metrics.completed, (unsigned long long)metrics.stolen_tasks,
           (unsigned long long)metrics.from_global, (unsigned long long)metrics.parks);
    if (metrics.struct_size != sizeof metrics || metrics.completed != spawned) {
        fprintf(stderr, "spawn_bench: metrics: struct_size=%u completed=%llu, expected %zu and %lu\n",
                metrics.struct_size, (unsigned long long)metrics.completed, sizeof metrics, spawned);
        return 1;
    }

    /* The runtime first: a task's last `done` may still be returning from
       the wait group when `wait` sees zero; freeing the runtime joins it. */
    CHECK(fibra_runtime_free(rt));
    CHECK(fibra_waitgroup_free(wg));
    return 0;
}
