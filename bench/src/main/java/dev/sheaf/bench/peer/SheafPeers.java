package dev.sheaf.bench.peer;

import dev.sheaf.allocator.CacheSpec;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.allocator.SlabFlag;
import dev.sheaf.rcu.Rcu;
import java.util.List;

/**
 * Sheaf's two peers: the general-purpose {@link SlabAllocator} and one fixed-size {@link SlabCache}.
 *
 * <p>Opened {@code callerDriven}, the allocator runs no thread of its own: the RCU domain has no
 * worker thread, the allocator no drainer thread ({@code rcuFreeWorkerThread(false)}), and
 * {@link AllocatorPeer#backgroundDuty()} runs both duty cycles ({@link Rcu#agent()},
 * {@link SlabAllocator#rcuFreeAgent()}) on the caller.
 */
final class SheafPeers {
    /** The allocator's freeRcu drainer thread, started on the first freeRcu unless caller-driven. */
    static final String DRAINER_THREAD = "sheaf-rcu-free";

    private SheafPeers() {
    }

    static AllocatorPeer open(String name, long cacheObjectSize, boolean callerDriven) {
        return switch (name) {
            case Peers.SHEAF_MALLOC, Peers.SHEAF_MALLOC_LOCAL -> new Malloc(name, callerDriven);
            case Peers.SHEAF_CACHE, Peers.SHEAF_CACHE_CHEAP, Peers.SHEAF_CACHE_LOCAL ->
                    new Cache(name, cacheObjectSize, callerDriven);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** The allocator and, when caller-driven, the worker-less RCU domain it uses (closed after it). */
    private abstract static class Base implements AllocatorPeer {
        final Rcu rcu;
        final SlabAllocator allocator;
        /** The freeRcu drainer's duty cycle when caller-driven, else null. */
        private final org.agrona.concurrent.Agent drainer;

        /** @param remoteFrees false for the *-local peers (the kernel's free path) */
        Base(boolean callerDriven, boolean remoteFrees) {
            this.rcu = callerDriven ? Rcu.builder().name("bench-rcu").ownWorkerThread(false).build() : null;
            SlabAllocator.Builder b = SlabAllocator.builder().remoteFrees(remoteFrees);
            this.allocator = rcu == null ? b.build() : b.rcu(rcu).rcuFreeWorkerThread(false).build();
            this.drainer = rcu == null ? null : allocator.rcuFreeAgent();
        }

        @Override
        public final int backgroundDuty() {
            if (rcu == null) {
                return 0; // the domain's own worker thread does it
            }
            try {
                return rcu.agent().doWork() + drainer.doWork();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("RCU duty cycle failed", e);
            }
        }

        @Override
        public final List<String> ownThreads() {
            return rcu == null ? List.of("rcu-worker", DRAINER_THREAD) : List.of();
        }

        @Override
        public final long liveBytes() {
            return allocator.stats().liveBytes();
        }

        /** The allocator's page source peak (a SlabCache's slabs come from the same page source). */
        @Override
        public final long peakReservedBytes() {
            return allocator.stats().peakReservedBytes();
        }

        /** Closes the allocator (which waits for pending freeRcu objects by driving grace periods itself), then the domain. */
        void closeAll() {
            try {
                allocator.close();
            } finally {
                if (rcu != null) {
                    rcu.close();
                }
            }
        }
    }

    /** {@code SlabAllocator.malloc/free}; deferred frees are {@code freeRcu(address, 0)}. */
    static final class Malloc extends Base {
        private final String name;

        Malloc(String name, boolean callerDriven) {
            super(callerDriven, !Peers.SHEAF_MALLOC_LOCAL.equals(name));
            this.name = name;
        }

        @Override
        public String name() {
            return name;
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
        public void close() {
            closeAll();
        }
    }

    /** {@code SlabCache.alloc/free} of one object size; deferred frees go through the rcu sheaf ({@code freeRcu}). */
    static final class Cache extends Base {
        private final String name;
        private final SlabCache cache;
        private final long objectSize;

        Cache(String name, long objectSize, boolean callerDriven) {
            super(callerDriven, true);
            this.name = name;
            this.objectSize = objectSize;
            CacheSpec spec = CacheSpec.of("bench-" + objectSize, objectSize);
            if (Peers.SHEAF_CACHE_CHEAP.equals(name)) {
                spec = spec.withFlags(SlabFlag.CHEAP_FREE_CHECKS);
            } else if (Peers.SHEAF_CACHE_LOCAL.equals(name)) {
                spec = spec.withFlags(SlabFlag.LOCAL_FREES);
            }
            this.cache = allocator.createCache(spec);
        }

        @Override
        public String name() {
            return name;
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
        public void close() {
            try {
                allocator.rcuBarrier();
                cache.destroy();
            } finally {
                closeAll();
            }
        }
    }
}
