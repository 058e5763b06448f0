package dev.sheaf.bench.peer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reads and writes at raw native addresses without creating a {@link MemorySegment} per object:
 * one segment spans the whole address space and an address is its offset. Workloads use it to
 * touch the memory they allocate, so an allocator that hands out unusable memory is caught.
 */
public final class RawMemory {
    /** Every address; bounds checks always pass, so only touch memory you own. */
    @SuppressWarnings("restricted") // the harness is launched with --enable-native-access
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private RawMemory() {
    }

    /** The segment spanning the address space, for bulk copies ({@link MemorySegment#copy}) at raw addresses. */
    public static MemorySegment everything() {
        return ALL;
    }

    public static long getLong(long address) {
        return ALL.get(ValueLayout.JAVA_LONG_UNALIGNED, address);
    }

    public static void putLong(long address, long value) {
        ALL.set(ValueLayout.JAVA_LONG_UNALIGNED, address, value);
    }

    public static long getLongAcquire(long address) {
        return (long) ACQUIRE_LONG.getAcquire(ALL, address);
    }

    public static void putLongRelease(long address, long value) {
        ACQUIRE_LONG.setRelease(ALL, address, value);
    }

    public static byte getByte(long address) {
        return ALL.get(ValueLayout.JAVA_BYTE, address);
    }

    public static void putByte(long address, byte value) {
        ALL.set(ValueLayout.JAVA_BYTE, address, value);
    }

    public static void fill(long address, long length, byte value) {
        ALL.asSlice(address, length).fill(value);
    }

    private static final java.lang.invoke.VarHandle ACQUIRE_LONG = ValueLayout.JAVA_LONG.varHandle();
}
