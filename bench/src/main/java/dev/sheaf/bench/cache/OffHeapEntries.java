package dev.sheaf.bench.cache;

import dev.sheaf.bench.peer.RawMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Layout and access of one off-heap map entry, shared by the RCU and reference-counted maps:
 * <pre>
 *  0  next     8  address of the next entry in the bucket chain (0 = end); readers load it with acquire
 *  8  key      8
 * 16  length   4  value length
 * 20  refs     4  reference count (reference-counted map only)
 * 24  rcuLink  8  freeRcu's 8-byte field; readers never look at it
 * 32  value    maxValueLength bytes
 * </pre>
 * Also the open-addressed bucket array: {@code buckets} longs holding chain heads.
 */
final class OffHeapEntries {
    static final long NEXT = 0;
    static final long KEY = 8;
    static final long LENGTH = 16;
    static final long REFS = 20;
    static final long RCU_LINK = 24;
    static final long VALUE = 32;

    private static final MemorySegment ALL = RawMemory.everything();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private OffHeapEntries() {
    }

    static long entrySize(int maxValueLength) {
        return VALUE + ((maxValueLength + 7) & ~7L);
    }

    /** Writes a fresh entry; the caller publishes it with {@link #publish}. */
    static void init(long entry, long key, byte[] value, int length, long next) {
        RawMemory.putLong(entry + NEXT, next);
        RawMemory.putLong(entry + KEY, key);
        ALL.set(ValueLayout.JAVA_INT, entry + LENGTH, length);
        ALL.set(ValueLayout.JAVA_INT, entry + REFS, 1);
        MemorySegment.copy(value, 0, ALL, ValueLayout.JAVA_BYTE, entry + VALUE, length);
    }

    /** Acquire load of a link (an entry's next field or a bucket slot), pairing with {@link #publish}. */
    static long loadAcquire(long linkAddress) {
        return (long) LONG.getAcquire(ALL, linkAddress);
    }

    /** Release store of a link: everything written to the entry before is visible to acquiring readers. */
    static void publish(long linkAddress, long entry) {
        LONG.setRelease(ALL, linkAddress, entry);
    }

    static long key(long entry) {
        return RawMemory.getLong(entry + KEY);
    }

    static int copyValue(long entry, byte[] dst) {
        int length = ALL.get(ValueLayout.JAVA_INT, entry + LENGTH);
        MemorySegment.copy(ALL, ValueLayout.JAVA_BYTE, entry + VALUE, dst, 0, length);
        return length;
    }

    /** Atomically adds {@code delta} to the entry's reference count; returns the new count. */
    static int addRefs(long entry, int delta) {
        return (int) INT.getAndAdd(ALL, entry + REFS, delta) + delta;
    }
}
