/* pwn-dirty: dirty guest memory at a steady rate, for migration tests.
 * Usage: pwn-dirty SIZE_MB RATE_MB_PER_S
 * Writes one non-zero word into each 4 KiB page of a SIZE_MB buffer, in
 * passes, pacing itself to RATE_MB_PER_S of dirtied pages (0: as fast as
 * it can).  Runs until killed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pwn-dirty SIZE_MB RATE_MB_PER_S\n");
        return 2;
    }
    size_t pages = (size_t)atol(argv[1]) * 256;
    double rate = atof(argv[2]) * 256; /* pages per second */
    volatile uint64_t *buf = malloc(pages * 4096);
    if (!buf || !pages) {
        fprintf(stderr, "pwn-dirty: cannot allocate\n");
        return 1;
    }
    uint64_t gen = 0;
    double start = now();
    uint64_t done = 0;
    for (;;) {
        gen++;
        for (size_t p = 0; p < pages; p++) {
            buf[p * 512] = gen ^ (p << 20) ^ 0x5057ULL;
            done++;
            if (rate > 0 && (done & 63) == 0) {
                double ahead = done / rate - (now() - start);
                if (ahead > 0) {
                    struct timespec ts = {(time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9)};
                    nanosleep(&ts, NULL);
                }
            }
        }
    }
}
