package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.NativeMemory;

import java.lang.foreign.ValueLayout;

/*
 * Implementation notes.
 *
 * The slot layout of a debug cache (the kernel's SLAB_RED_ZONE): every slot is
 *
 *     [left red zone: leftPad bytes][object: objectSize][right red zone: the rest of the slot]
 *
 * and the object's address is the slot start + leftPad. leftPad is max(16, alignment), so the
 * object keeps its alignment and its own state granule; the slot is rounded to a multiple of
 * max(16, alignment) with at least MIN_RIGHT bytes of right red zone, so slot sizes stay tag
 * eligible (ObjectStates: 16-byte multiples). Each object's red zones are its own: a one-byte
 * overflow lands in its right zone, a one-byte underflow in its left one, never in a neighbour.
 *
 * For malloc the right zone starts at the requested size (the kernel's kmalloc red zone), so
 * everything between the request and the slot end is checked. The zones are written when the
 * object is handed out and checked on free and by validate(); while the object is free the
 * part [objectSize, slot end) stays a red zone and [0, objectSize) is poison (Poison).
 *
 * Map: constants; layout (leftPad, slotSize); paint; firstBad.
 */
/** Red zones around the objects of a debug cache: layout, paint, check. */
final class RedZones {

    /** The red zone byte (the kernel's SLUB_RED_ACTIVE). */
    static final byte PATTERN = (byte) 0xcc;
    /** The least right red zone, so that a one-byte overflow of a full-size object is caught. */
    static final long MIN_RIGHT = 8;

    private RedZones() { }

    /** The left red zone of a debug cache's slots: the object offset inside its slot. */
    static long leftPad(long alignment) {
        return Math.max(ObjectStates.GRANULE, alignment);
    }

    /** The slot size of a debug cache: both zones around the object, rounded to the slot unit. */
    static long slotSize(long objectSize, long alignment) {
        long unit = Math.max(ObjectStates.GRANULE, alignment);
        long bytes = leftPad(alignment) + objectSize + MIN_RIGHT;
        return (bytes + unit - 1) & -unit;
    }

    /** Paints both zones of the object at {@code a} whose user may use {@code usable} bytes. */
    static void paint(long a, long usable, long leftPad, long slotSize) {
        BytePatterns.fill(a - leftPad, leftPad, PATTERN);
        BytePatterns.fill(a + usable, slotSize - leftPad - usable, PATTERN);
    }

    /**
     * The offset from {@code a} of the first damaged red-zone byte (negative on the left, where
     * the byte nearest the object counts as first), or {@link Long#MIN_VALUE} when both zones
     * are intact. The right zone starts {@code usable} bytes into the object.
     */
    static long firstBad(long a, long usable, long leftPad, long slotSize) {
        for (long i = 1; i <= leftPad; i++) {
            if (NativeMemory.EVERYTHING.get(ValueLayout.JAVA_BYTE, a - i) != PATTERN) {
                return -i;
            }
        }
        long right = BytePatterns.firstMismatch(a + usable, slotSize - leftPad - usable, PATTERN);
        return right < 0 ? Long.MIN_VALUE : usable + right;
    }
}
