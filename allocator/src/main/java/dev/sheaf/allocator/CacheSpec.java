package dev.sheaf.allocator;

import java.util.EnumSet;
import java.util.Set;

/**
 * How to create a {@link SlabCache}: the kernel's kmem_cache_create arguments.
 *
 * @param name          shown in slabinfo and in error messages
 * @param objectSize    bytes per object, 8 .. {@link SlabAllocator#MAX_CACHE_OBJECT_SIZE}
 * @param alignment     power of two, 8 .. 4096 (smaller values are raised to 8)
 * @param linkOffset    where a free object stores its free-list link: a multiple of 8 with
 *                      {@code linkOffset + 8 <= objectSize}; with {@link SlabFlag#TYPESAFE_BY_RCU}
 *                      it must lie outside the fields RCU readers inspect
 * @param rcuLinkOffset the object's 8-byte field used by {@link SlabCache#freeRcu(long)} when the
 *                      object cannot go into an rcu sheaf; -1 when the cache has none
 * @param flags         cache flags
 * @param sheafCapacity objects per sheaf; -1 picks the kernel's table by size, 0 disables sheaves
 */
public record CacheSpec(String name, long objectSize, long alignment, long linkOffset, long rcuLinkOffset,
                        Set<SlabFlag> flags, int sheafCapacity) {

    /** Validates the arguments. */
    public CacheSpec {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("cache name is empty");
        }
        if (objectSize < 8 || objectSize > SlabAllocator.MAX_CACHE_OBJECT_SIZE) {
            throw new IllegalArgumentException("object size " + objectSize + " outside 8.."
                    + SlabAllocator.MAX_CACHE_OBJECT_SIZE + " for cache '" + name + "'");
        }
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
        if (alignment > 4096) {
            throw new IllegalArgumentException("alignment " + alignment + " above 4096");
        }
        checkLink("link offset", linkOffset, objectSize);
        if (rcuLinkOffset != -1) {
            checkLink("rcu link offset", rcuLinkOffset, objectSize);
        }
        flags = flags.isEmpty() ? EnumSet.noneOf(SlabFlag.class) : EnumSet.copyOf(flags);
        flags = Set.copyOf(flags);
        if (sheafCapacity < -1 || sheafCapacity > 4096) {
            throw new IllegalArgumentException("sheaf capacity " + sheafCapacity + " outside -1..4096");
        }
    }

    private static void checkLink(String what, long offset, long objectSize) {
        if (offset < 0 || (offset & 7) != 0 || offset + 8 > objectSize) {
            throw new IllegalArgumentException(what + " " + offset + " must be a multiple of 8 with room for 8 bytes"
                    + " inside an object of " + objectSize + " bytes");
        }
    }

    /**
     * Defaults: alignment 8, link at offset 0, no rcu link, no flags, sheaf capacity by size.
     *
     * @param name the cache name (for stats and errors)
     * @param objectSize bytes per object, 1..SlabAllocator.MAX_CACHE_OBJECT_SIZE
     * @return the spec
     */
    public static CacheSpec of(String name, long objectSize) {
        return new CacheSpec(name, objectSize, 8, 0, -1, Set.of(), -1);
    }

    /**
     * The alignment of every object.
     *
     * @param alignment a power of two; objects start at multiples of it (at least 8)
     * @return a copy with that alignment
     */
    public CacheSpec withAlignment(long alignment) {
        return new CacheSpec(name, objectSize, alignment, linkOffset, rcuLinkOffset, flags, sheafCapacity);
    }

    /**
     * Where the free-list link lives inside a free object.
     *
     * @param linkOffset an 8-byte aligned offset inside the object
     * @return a copy with that link offset
     */
    public CacheSpec withLinkOffset(long linkOffset) {
        return new CacheSpec(name, objectSize, alignment, linkOffset, rcuLinkOffset, flags, sheafCapacity);
    }

    /**
     * The field freeRcu chains the object through when it does not use an rcu sheaf.
     *
     * @param rcuLinkOffset an 8-byte aligned offset inside the object, or -1 for none
     * @return a copy with that rcu link offset
     */
    public CacheSpec withRcuLinkOffset(long rcuLinkOffset) {
        return new CacheSpec(name, objectSize, alignment, linkOffset, rcuLinkOffset, flags, sheafCapacity);
    }

    /**
     * Adds flags.
     *
     * @param newFlags flags to add
     * @return a copy with these flags added
     */
    public CacheSpec withFlags(SlabFlag... newFlags) {
        EnumSet<SlabFlag> set = EnumSet.noneOf(SlabFlag.class);
        for (SlabFlag f : newFlags) {
            set.add(f);
        }
        return new CacheSpec(name, objectSize, alignment, linkOffset, rcuLinkOffset, set, sheafCapacity);
    }

    /**
     * Debug mode for this cache alone ({@link SlabFlag#DEBUG}, added to the flags it has; see
     * {@link SlabAllocator.Builder#debug(boolean)} for what it checks).
     *
     * @return a copy with {@link SlabFlag#DEBUG} added
     */
    public CacheSpec withDebug() {
        EnumSet<SlabFlag> set = EnumSet.of(SlabFlag.DEBUG);
        set.addAll(flags);
        return new CacheSpec(name, objectSize, alignment, linkOffset, rcuLinkOffset, set, sheafCapacity);
    }

    /**
     * Objects per sheaf.
     *
     * @param sheafCapacity objects per sheaf; -1 for the kernel's table, 0 for no sheaves
     * @return a copy with that sheaf capacity
     */
    public CacheSpec withSheafCapacity(int sheafCapacity) {
        return new CacheSpec(name, objectSize, alignment, linkOffset, rcuLinkOffset, flags, sheafCapacity);
    }

    /**
     * Whether the spec has a flag.
     *
     * @param flag a flag
     * @return whether the spec has it
     */
    public boolean has(SlabFlag flag) {
        return flags.contains(flag);
    }
}
