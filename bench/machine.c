/* What this machine gives a program, printed as JSON: how many cores two busy threads really
 * get at once, how long a cache line takes to go from one of them to the other and back, and
 * what the first touch of a fresh page costs.
 *
 * usage: bench-machine
 *
 * All three decide how the benchmark's figures read. A virtual machine's two CPUs may share
 * one physical core for a while (then two workers cannot beat one, whatever the code does).
 * Two vCPUs that do get two cores may still sit close together (a line goes there and back in
 * under two hundred nanoseconds on the benchmark machine) or far apart (several times that),
 * and the machine can move from one to the other between runs; workers that hand packets to
 * each other feel it, spinning threads do not. And on some hypervisors a page fault costs ten
 * microseconds or more instead of well under one (then memory first touched during a run is a
 * large part of it). bench/run measures all three before and after its timings and prints
 * them beside the table. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CPU affinity */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define SPIN_ITERS 200000000ull

struct spin_result {
    double end;   /* when it finished */
    uint64_t sum; /* what it computed: kept, so the loop is not optimised away */
};

/* A fixed amount of arithmetic, through memory so the compiler keeps every step. */
static void *spin(void *arg)
{
    struct spin_result *r = arg;
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < SPIN_ITERS; i++) x += i;
    r->sum = x;
    r->end = now();
    return NULL;
}

/* Seconds for `n` threads (1 or 2) to each do the same spin, the slowest of them. */
static double spin_threads(int n)
{
    pthread_t t[2];
    struct spin_result r[2] = {{0, 0}, {0, 0}};
    double t0 = now();
    int started = 0;
    while (started < n && pthread_create(&t[started], NULL, spin, &r[started]) == 0) started++;
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    if (started < n) return -1;
    double last = r[0].end > r[1].end ? r[0].end : r[1].end;
    return last - t0;
}

/* ---- a cache line between two threads: round trips of one flag ---- */

#define ROUND_TRIPS 20000

struct pingpong {
    _Alignas(64) _Atomic int turn; /* 1: the other thread's move, 0: the first thread's */
    int cpu[2];                    /* where each thread is held, or -1 */
    int trips;
};

static void hold_on(int cpu)
{
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *pong(void *arg)
{
    struct pingpong *p = arg;
    hold_on(p->cpu[1]);
    for (int i = 0; i < p->trips; i++) {
        while (atomic_load_explicit(&p->turn, memory_order_acquire) != 1) {}
        atomic_store_explicit(&p->turn, 0, memory_order_release);
    }
    return NULL;
}

/* Nanoseconds for the flag to reach the other thread and come back, over `trips` round trips;
 * the threads spin, so on two real cores this is the caches' own latency (on one shared core
 * it is scheduling's). */
static double round_trip(int trips)
{
    static struct pingpong p; /* static: aligned as declared, without an allocator's help */
    atomic_store(&p.turn, 0);
    p.trips = trips;
    /* the first two CPUs this process may use, one thread held on each, so that the scheduler
     * neither stacks them nor moves them mid-way; the process's own set is put back after */
    cpu_set_t mine;
    bool have_set = sched_getaffinity(0, sizeof mine, &mine) == 0;
    p.cpu[0] = p.cpu[1] = -1;
    for (int c = 0, k = 0; have_set && c < CPU_SETSIZE && k < 2; c++)
        if (CPU_ISSET(c, &mine)) p.cpu[k++] = c;
    if (p.cpu[1] < 0) return -1; /* one CPU: each trip would wait for the scheduler */
    hold_on(p.cpu[0]);
    pthread_t t;
    double dt = -1;
    if (pthread_create(&t, NULL, pong, &p) == 0) {
        double t0 = now();
        for (int i = 0; i < trips; i++) {
            atomic_store_explicit(&p.turn, 1, memory_order_release);
            while (atomic_load_explicit(&p.turn, memory_order_acquire) != 0) {}
        }
        dt = now() - t0;
        pthread_join(t, NULL);
    }
    if (have_set) sched_setaffinity(0, sizeof mine, &mine);
    return dt < 0 ? -1 : dt * 1e9 / trips;
}

#define TOUCH_BYTES (64u << 20)

/* Microseconds per 4 KiB page for the first write to fresh anonymous memory. */
static double fault_us(void)
{
    uint8_t *p = mmap(NULL, TOUCH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (p == MAP_FAILED) return -1;
    double t0 = now();
    for (size_t i = 0; i < TOUCH_BYTES; i += 4096) p[i] = 1;
    double dt = now() - t0;
    munmap(p, TOUCH_BYTES);
    return dt * 1e6 / (TOUCH_BYTES / 4096);
}

/* The quickest of `times` measurements: other work on the machine only ever slows one down. */
static double quickest(double (*measure)(int), int arg, int times)
{
    double best = -1;
    for (int i = 0; i < times; i++) {
        double t = measure(arg);
        if (t > 0 && (best < 0 || t < best)) best = t;
    }
    return best;
}

int main(void)
{
    double one = quickest(spin_threads, 1, 3), two = quickest(spin_threads, 2, 3);
    double trip = quickest(round_trip, ROUND_TRIPS, 5);
    if (one <= 0 || two <= 0) {
        fprintf(stderr, "bench-machine: cannot start threads\n");
        return 1;
    }
    char trip_text[32] = "null"; /* fewer than two CPUs to hold the threads on */
    if (trip > 0) snprintf(trip_text, sizeof trip_text, "%.0f", trip);
    /* two threads finishing in the time one takes: 2 cores; in twice that time: 1 */
    printf("{\"cores_for_two_threads\": %.2f, \"spin_one_s\": %.3f, \"spin_two_s\": %.3f, "
           "\"core_round_trip_ns\": %s, \"page_fault_us\": %.2f}\n",
           2.0 * one / two, one, two, trip_text, fault_us());
    return 0;
}
