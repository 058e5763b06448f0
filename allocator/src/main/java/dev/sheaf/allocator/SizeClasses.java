package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * kmalloc size classes: every multiple of 8 up to 64 bytes, then four classes per power of two
 * (80, 96, 112, 128, 160, ... 28672, 32768). A request lands in the smallest class that holds
 * it, so the internal waste is below 20% for any size above 64 bytes and about 10% on average
 * for sizes spread evenly inside a doubling (the kernel's power-of-two classes with the 96 and
 * 192 extras waste up to 50%). The class of a size is one load from a byte table indexed by
 * (size + 7) / 8, built once.
 *
 * SpaceTest holds a mixed workload to these bounds: internal waste well below that of
 * power-of-two classes, and reserved memory (slab tails included) close to the bytes requested.
 */
final class SizeClasses {

    /** Largest size served by a size class; larger requests get a PageSource span. */
    static final int MAX_CLASS_SIZE = 32768;

    static final int[] SIZES = build();
    private static final byte[] INDEX = buildIndex();

    private SizeClasses() { }

    private static int[] build() {
        int[] tmp = new int[64];
        int n = 0;
        for (int s = 8; s <= 64; s += 8) {
            tmp[n++] = s;
        }
        for (int base = 64; base < MAX_CLASS_SIZE; base <<= 1) {
            int step = base / 4;
            for (int i = 1; i <= 4; i++) {
                tmp[n++] = base + i * step;
            }
        }
        return java.util.Arrays.copyOf(tmp, n);
    }

    private static byte[] buildIndex() {
        byte[] idx = new byte[MAX_CLASS_SIZE / 8 + 1];
        int c = 0;
        for (int i = 0; i < idx.length; i++) {
            int size = i * 8;
            while (SIZES[c] < size) {
                c++;
            }
            idx[i] = (byte) c;
        }
        return idx;
    }

    /** Class index for 1 <= size <= MAX_CLASS_SIZE. */
    static int classOf(long size) {
        return INDEX[(int) ((size + 7) >>> 3)];
    }

    static int count() {
        return SIZES.length;
    }
}
