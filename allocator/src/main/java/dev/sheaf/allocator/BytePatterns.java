package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.NativeMemory;

import java.lang.foreign.ValueLayout;

/*
 * Implementation notes.
 *
 * Fill and compare a run of native bytes with one repeated byte: the red zones' and the
 * poison's only two operations. The compare reads eight bytes at a time (unaligned longs) and
 * narrows to the byte only inside the first word that differs. Debug paths only.
 *
 * Map: fill; firstMismatch.
 */
/** A repeated byte written over, and compared with, native memory. */
final class BytePatterns {

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;

    private BytePatterns() { }

    /** Writes {@code pattern} over {@code [address, address + length)}. */
    static void fill(long address, long length, byte pattern) {
        if (length > 0) {
            NativeMemory.EVERYTHING.asSlice(address, length).fill(pattern);
        }
    }

    /** The offset from {@code address} of the first byte that is not {@code pattern}, or -1. */
    static long firstMismatch(long address, long length, byte pattern) {
        long word = (pattern & 0xffL) * 0x0101010101010101L;
        long i = 0;
        for (; i + 8 <= length; i += 8) {
            if (NativeMemory.EVERYTHING.get(WORD, address + i) != word) {
                break;
            }
        }
        for (; i < length; i++) {
            if (NativeMemory.EVERYTHING.get(ValueLayout.JAVA_BYTE, address + i) != pattern) {
                return i;
            }
        }
        return -1;
    }
}
