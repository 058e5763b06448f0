package dev.sheaf.examples;

import dev.sheaf.allocator.SlabAllocator;
import java.lang.foreign.ValueLayout;

/**
 * README "First program": allocate, write through a checked segment, free. The README's code
 * block is the region between the example markers, verbatim.
 */
public final class FirstProgram {

    private FirstProgram() {
    }

    /**
     * Runs the example.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        // example:begin
        try (SlabAllocator heap = SlabAllocator.create()) {
            long p = heap.malloc(100);                           // kmalloc: size classes 8 B .. 32 KiB, page spans above
            heap.segment(p).set(ValueLayout.JAVA_INT, 0, 42);    // a bounds-checked MemorySegment over the object
            heap.free(p);                                        // free(0) is a no-op; a second free throws
        }
        // example:end
    }
}
