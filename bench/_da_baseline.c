/* Plain student-proposing deferred acceptance, the compiled baseline of bench/allocation.py.
 *
 * Each school keeps the applicants it tentatively holds in a binary max-heap by rank, so the
 * worst of them is on top and can be rejected in O(log capacity). Proposals go in rounds, as in
 * Gale and Shapley's description: in each round every free applicant proposes to the next
 * school on their list; whoever is rejected or pushed out proposes in the next round.
 *
 * Input (a file of native int32): n, m, p; capacity[m]; offsets[n + 1]; school[p];
 * rank[p], where applicant i's preferences are the pairs offsets[i] .. offsets[i + 1] - 1, best
 * first, and rank[k] is the applicant's rank at school[k] (lower is better, unique per school).
 * Output: placement[n] (the school index, or -1) as int32 to the second file, and one JSON
 * line on stdout with the solve's wall and CPU seconds (reading and writing excluded),
 * proposals, rounds, and the whole process's CPU seconds.
 *
 *     cc -O2 -o da _da_baseline.c && ./da input.bin placement.bin
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    int32_t rank;
    int32_t applicant;
} Held;

static int32_t *read_ints(FILE *in, size_t count) {
    int32_t *values = malloc((count ? count : 1) * sizeof(int32_t));
    if (values == NULL || fread(values, sizeof(int32_t), count, in) != count) {
        fprintf(stderr, "short input\n");
        exit(2);
    }
    return values;
}

static double seconds_of(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* Restores the max-heap property downwards from `at`. */
static void sift_down(Held *heap, int32_t size, int32_t at) {
    Held moving = heap[at];
    for (;;) {
        int32_t child = 2 * at + 1;
        if (child >= size) {
            break;
        }
        if (child + 1 < size && heap[child + 1].rank > heap[child].rank) {
            child++;
        }
        if (heap[child].rank <= moving.rank) {
            break;
        }
        heap[at] = heap[child];
        at = child;
    }
    heap[at] = moving;
}

static void sift_up(Held *heap, int32_t at) {
    Held moving = heap[at];
    while (at > 0) {
        int32_t parent = (at - 1) / 2;
        if (heap[parent].rank >= moving.rank) {
            break;
        }
        heap[at] = heap[parent];
        at = parent;
    }
    heap[at] = moving;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s input.bin placement.bin\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    if (in == NULL) {
        perror(argv[1]);
        return 2;
    }
    int32_t *header = read_ints(in, 3);
    int32_t n = header[0], m = header[1], p = header[2];
    int32_t *capacity = read_ints(in, (size_t)m);
    int32_t *offsets = read_ints(in, (size_t)n + 1);
    int32_t *school = read_ints(in, (size_t)p);
    int32_t *rank = read_ints(in, (size_t)p);
    fclose(in);

    double wall = seconds_of(CLOCK_MONOTONIC), cpu = seconds_of(CLOCK_PROCESS_CPUTIME_ID);

    /* every school's heap in one array, each at its own start */
    int64_t *start = malloc(((size_t)m + 1) * sizeof(int64_t));
    start[0] = 0;
    for (int32_t s = 0; s < m; s++) {
        start[s + 1] = start[s] + (capacity[s] > 0 ? capacity[s] : 0);
    }
    Held *held = malloc((size_t)(start[m] ? start[m] : 1) * sizeof(Held));
    int32_t *size = calloc((size_t)m + 1, sizeof(int32_t));
    int32_t *next = malloc(((size_t)n + 1) * sizeof(int32_t));
    int32_t *free_now = malloc(((size_t)n + 1) * sizeof(int32_t));
    int32_t *free_next = malloc(((size_t)n + 1) * sizeof(int32_t));
    int32_t free_count = 0;
    for (int32_t i = 0; i < n; i++) {
        next[i] = offsets[i];
        if (offsets[i] < offsets[i + 1]) {
            free_now[free_count++] = i;
        }
    }
    int64_t proposals = 0, rounds = 0;
    while (free_count > 0) {
        int32_t next_count = 0;
        rounds++;
        for (int32_t f = 0; f < free_count; f++) {
            int32_t a = free_now[f];
            int32_t k = next[a]++;
            int32_t s = school[k], r = rank[k];
            Held *heap = held + start[s];
            int32_t cap = capacity[s] > 0 ? capacity[s] : 0;
            int32_t rejected = a;
            proposals++;
            if (size[s] < cap) {
                heap[size[s]].rank = r;
                heap[size[s]].applicant = a;
                sift_up(heap, size[s]++);
                rejected = -1;
            } else if (cap > 0 && heap[0].rank > r) {
                rejected = heap[0].applicant;
                heap[0].rank = r;
                heap[0].applicant = a;
                sift_down(heap, cap, 0);
            }
            if (rejected >= 0 && next[rejected] < offsets[rejected + 1]) {
                free_next[next_count++] = rejected;
            }
        }
        int32_t *swap = free_now;
        free_now = free_next;
        free_next = swap;
        free_count = next_count;
    }
    int32_t *placement = malloc(((size_t)n + 1) * sizeof(int32_t));
    for (int32_t i = 0; i < n; i++) {
        placement[i] = -1;
    }
    int64_t placed = 0;
    for (int32_t s = 0; s < m; s++) {
        for (int32_t h = 0; h < size[s]; h++) {
            placement[held[start[s] + h].applicant] = s;
        }
        placed += size[s];
    }

    double solve_cpu = seconds_of(CLOCK_PROCESS_CPUTIME_ID) - cpu;
    double solve_wall = seconds_of(CLOCK_MONOTONIC) - wall;

    FILE *out = fopen(argv[2], "wb");
    if (out == NULL || fwrite(placement, sizeof(int32_t), (size_t)n, out) != (size_t)n) {
        perror(argv[2]);
        return 2;
    }
    fclose(out);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double process_cpu = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 +
                         (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
    printf("{\"solve_seconds\": %.9f, \"solve_cpu_seconds\": %.9f, \"proposals\": %lld, "
           "\"rounds\": %lld, \"placed\": %lld, \"process_cpu_seconds\": %.6f}\n",
           solve_wall, solve_cpu, (long long)proposals, (long long)rounds, (long long)placed,
           process_cpu);
    return 0;
}
