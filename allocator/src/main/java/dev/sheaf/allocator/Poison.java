package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * The poison of a freed object in a debug cache (the kernel's SLAB_POISON): [0, objectSize)
 * filled with POISON_FREE when the object leaves its user, except the 8-byte free-list link at
 * the cache's link offset, which the slab layer and the no-lock deferred lists write into free
 * objects. It is checked when the object is handed out again and by validate(); any other
 * changed byte is a write after free. TYPESAFE_BY_RCU caches are never poisoned (their readers
 * may read a freed object), so DebugChecks skips this class for them.
 *
 * Map: constant; fill; firstBad.
 */
/** The poison pattern of freed debug objects: fill and check, around the free-list link. */
final class Poison {

    /** The poison byte (the kernel's POISON_FREE, also SlabFlag.POISON's). */
    static final byte POISON_FREE = 0x6b;

    private Poison() { }

    /** Poisons the object at {@code a} of {@code size} bytes; the link at {@code linkOffset} is left as is. */
    static void fill(long a, long size, long linkOffset) {
        BytePatterns.fill(a, linkOffset, POISON_FREE);
        BytePatterns.fill(a + linkOffset + 8, size - linkOffset - 8, POISON_FREE);
    }

    /** The offset of the first byte of the object at {@code a} that is not poison (the link aside), or -1. */
    static long firstBad(long a, long size, long linkOffset) {
        long bad = BytePatterns.firstMismatch(a, linkOffset, POISON_FREE);
        if (bad >= 0) {
            return bad;
        }
        long after = linkOffset + 8;
        bad = BytePatterns.firstMismatch(a + after, size - after, POISON_FREE);
        return bad < 0 ? -1 : after + bad;
    }
}
