package dev.sheaf.bench.peer;

import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;

/** Sheaf's two peers: the general-purpose {@link SlabAllocator} and one fixed-size {@link SlabCache}. */
final class SheafPeers {
    private SheafPeers() {
    }

    static AllocatorPeer open(String name, long cacheObjectSize) {
        return switch (name) {
            case Peers.SHEAF_MALLOC -> new Malloc();
            case Peers.SHEAF_CACHE -> new Cache(cacheObjectSize);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** {@code SlabAllocator.malloc/free}; deferred frees are {@code freeRcu(address, 0)}. */
    static final class Malloc implements AllocatorPeer {
        private final SlabAllocator allocator = SlabAllocator.create();

        @Override
        public String name() {
            return Peers.SHEAF_MALLOC;
        }

        @Override
        public long allocate(long size) {
            return allocator.malloc(size);
        }

        @Override
        public void free(long handle, long size) {
            allocator.free(handle);
        }

        @Override
        public String deferredFreeKind() {
            return "freeRcu(addr, 0)";
        }

        @Override
        public void freeDeferred(long handle, long size) {
            allocator.freeRcu(handle, 0);
        }

        @Override
        public long liveBytes() {
            return allocator.stats().liveBytes();
        }

        @Override
        public void close() {
            allocator.close();
        }
    }

    /** {@code SlabCache.alloc/free} of one object size; deferred frees go through the rcu sheaf ({@code freeRcu}). */
    static final class Cache implements AllocatorPeer {
        private final SlabAllocator allocator = SlabAllocator.create();
        private final SlabCache cache;
        private final long objectSize;

        Cache(long objectSize) {
            this.objectSize = objectSize;
            this.cache = allocator.createCache("bench-" + objectSize, objectSize);
        }

        @Override
        public String name() {
            return Peers.SHEAF_CACHE;
        }

        @Override
        public long allocate(long size) {
            if (size > objectSize) {
                throw new IllegalArgumentException(size + " bytes asked of a cache of " + objectSize + "-byte objects");
            }
            return cache.alloc();
        }

        @Override
        public void free(long handle, long size) {
            cache.free(handle);
        }

        @Override
        public long maxSize() {
            return objectSize;
        }

        @Override
        public String deferredFreeKind() {
            return "SlabCache.freeRcu (rcu sheaf)";
        }

        @Override
        public void freeDeferred(long handle, long size) {
            cache.freeRcu(handle);
        }

        @Override
        public long liveBytes() {
            return allocator.stats().liveBytes();
        }

        @Override
        public void close() {
            allocator.rcuBarrier();
            cache.destroy();
            allocator.close();
        }
    }
}
