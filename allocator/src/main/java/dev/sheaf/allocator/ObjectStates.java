package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.NativeMemory;

import java.lang.foreign.ValueLayout;

/*
 * Implementation notes.
 *
 * The state of every slab object, one byte per 16-byte granule of the heap, in a map reserved
 * next to the heap (same lifetime, see PageSource). An object start's state lives at
 * `mapBase + (address - heapBase) / 16`; slots are at least 16 bytes (SlabCache), so no two
 * object starts share a byte. Finding the byte is arithmetic on the address: no slab lookup,
 * no dependent load. Large spans keep their state in their Slab record instead.
 *
 * States and who moves an object between them:
 *
 *   FREE      - in its slab: on the free list, or never carved. pushToSlab writes it; an
 *               untouched map page reads 0, so a new slab starts all FREE.
 *   CACHED    - out of its slab but not with a user: in a sheaf, the barn, a deferred list.
 *               The slab layer writes it when it hands an object to a sheaf; free writes it
 *               when it takes an object from a user.
 *   ALLOCATED - with a user. Every alloc entry point writes it as the last thing before it
 *               returns the address. A cache with CHEAP_FREE_CHECKS never writes it: its users'
 *               objects stay CACHED, which its free paths accept in place of ALLOCATED.
 *   PENDING   - claimed by the free-after-grace-period engine (freeRcu*); only the engine's
 *               internal release moves it on (to CACHED).
 *
 * Cache tags: an ALLOCATED byte carries, above its two state bits, the tag (1..MAX_TAG) of the
 * cache that handed the object out, when that cache has one (SlabAllocator gives tags to caches
 * whose slots are multiples of GRANULE, so every object start is granule-aligned). The tagged
 * byte is then a complete answer to "is this 16-byte-aligned heap address an allocated object
 * start of cache c": only c's alloc writes c's tagged byte, and only at an object start; every
 * other byte of the map is FREE, CACHED, PENDING or another cache's (interior granules stay
 * FREE, a released slab is all FREE, and a tag is reused only once its cache had no object
 * allocated). A free path that finds its cache's byte needs no slab lookup; any other byte sends
 * it to the full checks, which say exactly what is wrong. Caches without a tag write plain
 * ALLOCATED and always take the full checks.
 *
 * The public free paths accept an object only in ALLOCATED; the slab layer accepts one back only
 * in CACHED and treats anything else as corruption. A released slab is all FREE (released only
 * when nothing is out), so a reused range starts clean for whatever cache carves it next.
 *
 * Memory ordering: a state is written with a plain store by the thread that holds the object at
 * that moment and read by the next holder after the hand-over that gave it the object (a lock,
 * a CAS publishing a sheaf, a queue in the user's program), so calls ordered by happens-before
 * see each other's states exactly. Two threads racing to free one address is a data race in the
 * caller's program; it is caught at best effort. Byte stores never tear their neighbours (JLS
 * 17.6), so objects of other threads in the same map word are unaffected.
 *
 * Cost: the map reserves capacity/16 bytes of address space; pages of it become resident as the
 * heap range they describe is used, i.e. one map page per 64 KiB of heap touched.
 *
 * Map: states and tags; at (the byte of an address); get, set; name.
 */
final class ObjectStates {

    static final byte FREE = 0;
    static final byte CACHED = 1;
    static final byte ALLOCATED = 2;
    static final byte PENDING = 3;

    /** The state bits of a byte; the bits above them hold an ALLOCATED object's cache tag. */
    static final int STATE_MASK = 3;
    static final int TAG_SHIFT = 2;
    /** The highest cache tag (0 means untagged). */
    static final int MAX_TAG = 0xff >>> TAG_SHIFT;

    /** log2 of the heap bytes one state byte describes; also the smallest slot size. */
    static final int GRANULE_SHIFT = 4;
    static final long GRANULE = 1L << GRANULE_SHIFT;

    private ObjectStates() {
    }

    /** The map address of the state of {@code address}, given {@code bias = mapBase - heapBase / 16}. */
    static long at(long bias, long address) {
        return bias + (address >>> GRANULE_SHIFT);
    }

    static byte get(long bias, long address) {
        return NativeMemory.EVERYTHING.get(ValueLayout.JAVA_BYTE, at(bias, address));
    }

    static void set(long bias, long address, byte state) {
        NativeMemory.EVERYTHING.set(ValueLayout.JAVA_BYTE, at(bias, address), state);
    }

    /** The ALLOCATED byte of a cache with tag {@code tag} (0: untagged). */
    static byte allocated(int tag) {
        return (byte) (ALLOCATED | tag << TAG_SHIFT);
    }

    /** The cache tag of an ALLOCATED byte, 0 for any other byte or an untagged one. */
    static int tagOf(byte b) {
        return (b & STATE_MASK) == ALLOCATED ? (b & 0xff) >>> TAG_SHIFT : 0;
    }

    static String name(byte state) {
        if ((state & STATE_MASK) == ALLOCATED) {
            return "allocated";
        }
        return switch (state) {
            case FREE -> "free";
            case CACHED -> "free (cached in a sheaf)";
            case ALLOCATED -> "allocated";
            case PENDING -> "pending a grace period";
            default -> "corrupt state " + state;
        };
    }
}
