package dev.sheaf.allocator.testing;

import dev.sheaf.allocator.SlabAllocator;

/** Allocator builders the allocator tests share. */
public final class Heaps {

    private Heaps() {
    }

    /** A builder of a 64 MiB allocator: room for any one test, small enough to run many at once. */
    public static SlabAllocator.Builder small() {
        return SlabAllocator.builder().capacity(64L << 20);
    }
}
