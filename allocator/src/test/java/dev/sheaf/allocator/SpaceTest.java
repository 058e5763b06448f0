package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Deterministic space properties: reserved memory for one million 64-byte objects, and the
 * internal waste of the size classes on a realistic size mix (printed for the notes).
 */
class SpaceTest {

    @Test
    void oneMillion64ByteObjectsReserveAbout64MB() {
        try (SlabAllocator a = SlabAllocator.builder().capacity(1L << 30).build()) {
            long[] objs = new long[1_000_000];
            for (int i = 0; i < objs.length; i++) {
                objs[i] = a.malloc(64);
            }
            long reserved = a.stats().reservedBytes();
            double ratio = reserved / 64e6;
            System.out.printf("SPACE one million live 64-byte objects: reserved %d bytes = %.4f x 64 MB%n", reserved, ratio);
            assertTrue(Math.abs(ratio - 1) <= 0.15, "reserved " + reserved);
            for (long p : objs) {
                a.free(p);
            }
        }
    }

    /**
     * A mix after published allocation-size studies of C/C++ and off-heap Java workloads: most
     * requests are small, with a long tail. Sizes inside each band are uniform.
     */
    static long sample(SplittableRandom r) {
        int band = r.nextInt(100);
        if (band < 40) {
            return 8 + r.nextInt(57);          // 8..64
        } else if (band < 70) {
            return 65 + r.nextInt(192);        // 65..256
        } else if (band < 88) {
            return 257 + r.nextInt(768);       // 257..1024
        } else if (band < 97) {
            return 1025 + r.nextInt(3072);     // 1 KiB..4 KiB
        }
        return 4097 + r.nextInt(28672);        // 4 KiB..32 KiB
    }

    @Test
    void internalWasteOfSizeClassesOnARealisticMix() {
        SplittableRandom r = new SplittableRandom(42);
        long requested = 0, classBytes = 0, pow2Bytes = 0;
        int n = 1_000_000;
        for (int i = 0; i < n; i++) {
            long s = sample(r);
            requested += s;
            classBytes += SizeClasses.SIZES[SizeClasses.classOf(s)];
            pow2Bytes += Math.max(8, Long.highestOneBit(s - 1) << 1);
        }
        double waste = 1 - (double) requested / classBytes;
        double pow2Waste = 1 - (double) requested / pow2Bytes;
        System.out.printf("SPACE size-class internal waste on the mix: %.2f%% (power-of-two classes: %.2f%%)%n",
                waste * 100, pow2Waste * 100);
        assertTrue(waste < 0.12, "waste " + waste);
        assertTrue(waste < pow2Waste);

        // The same mix through the allocator: reserved memory over requested bytes, slab tails included.
        try (SlabAllocator a = SlabAllocator.builder().capacity(2L << 30).build()) {
            SplittableRandom r2 = new SplittableRandom(7);
            long[] objs = new long[200_000];
            long req = 0;
            for (int i = 0; i < objs.length; i++) {
                long s = sample(r2);
                req += s;
                objs[i] = a.malloc(s);
            }
            long reserved = a.stats().reservedBytes();
            System.out.printf("SPACE mix of %d live objects: requested %d, reserved %d, overhead %.2f%%%n",
                    objs.length, req, reserved, (reserved - req) * 100.0 / reserved);
            for (long p : objs) {
                a.free(p);
            }
        }
    }
}
