package dev.sheaf.bench.harness;

/** xorshift64*: a per-thread, garbage-free random source cheap enough to sit inside allocation loops. */
final class FastRandom {
    private long state;

    FastRandom(long seed) {
        state = seed == 0 ? 0x9E3779B97F4A7C15L : seed * 0x9E3779B97F4A7C15L | 1;
    }

    long nextLong() {
        long x = state;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        state = x;
        return x * 0x2545F4914F6CDD1DL;
    }

    /** Uniform in [0, bound). */
    int nextInt(int bound) {
        return (int) (((nextLong() >>> 32) * bound) >>> 32);
    }

    /** Uniform in [min, max]. */
    int between(int min, int max) {
        return min + nextInt(max - min + 1);
    }
}
