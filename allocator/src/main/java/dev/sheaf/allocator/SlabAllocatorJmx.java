package dev.sheaf.allocator;

import dev.sheaf.rcu.Rcu;

import java.util.ArrayList;
import java.util.List;

/*
 * Implementation notes.
 *
 * The SlabAllocatorMXBean of one allocator. Every getter reads at the call: stats() and
 * cacheStats() as the public methods do (racy snapshots), the free-after-grace-period counters
 * only if the engine was started and the domain's grace periods only if the domain exists, so
 * that a JMX client never creates either. Registered by SlabAllocator.Builder.build(),
 * unregistered by SlabAllocator.close().
 *
 * Map: allocator stats; slabinfo rows (Row); rcu counters; shrink.
 */
final class SlabAllocatorJmx implements SlabAllocatorMXBean {

    private final SlabAllocator allocator;

    SlabAllocatorJmx(SlabAllocator allocator) {
        this.allocator = allocator;
    }

    @Override
    public long getCapacity() {
        return allocator.stats().capacity();
    }

    @Override
    public long getReservedBytes() {
        return allocator.stats().reservedBytes();
    }

    @Override
    public long getPeakReservedBytes() {
        return allocator.stats().peakReservedBytes();
    }

    @Override
    public long getRetainedBytes() {
        return allocator.stats().retainedBytes();
    }

    @Override
    public long getLiveBytes() {
        return allocator.stats().liveBytes();
    }

    @Override
    public long getCachedObjects() {
        return allocator.stats().cachedObjects();
    }

    @Override
    public long getCachedBytes() {
        return allocator.stats().cachedBytes();
    }

    @Override
    public long getLargeAllocations() {
        return allocator.stats().largeAllocations();
    }

    @Override
    public long getLargeBytes() {
        return allocator.stats().largeBytes();
    }

    @Override
    public long getSlabs() {
        return allocator.stats().slabs();
    }

    @Override
    public int getCaches() {
        return allocator.stats().caches();
    }

    @Override
    public long getMadvisedBytes() {
        return allocator.stats().madvisedBytes();
    }

    @Override
    public String getSlabinfo() {
        return allocator.slabinfo();
    }

    @Override
    public List<CacheRow> getCacheRows() {
        List<CacheRow> rows = new ArrayList<>();
        for (SlabCache.Stats s : allocator.cacheStats()) {
            if (s.slabs() > 0 || s.cachedObjects() > 0) {
                rows.add(new Row(s));
            }
        }
        return rows;
    }

    /** A cache's row over its Stats snapshot. */
    private record Row(SlabCache.Stats s) implements CacheRow {
        @Override
        public String getName() {
            return s.name();
        }

        @Override
        public long getObjectSize() {
            return s.objectSize();
        }

        @Override
        public long getSlotSize() {
            return s.slotSize();
        }

        @Override
        public int getObjectsPerSlab() {
            return s.objectsPerSlab();
        }

        @Override
        public long getSlabs() {
            return s.slabs();
        }

        @Override
        public long getTotalObjects() {
            return s.totalObjects();
        }

        @Override
        public long getActiveObjects() {
            return s.activeObjects();
        }

        @Override
        public long getCachedObjects() {
            return s.cachedObjects();
        }

        @Override
        public int getSheafCapacity() {
            return s.sheafCapacity();
        }

        @Override
        public long getAllocFastpath() {
            return s.allocFastpath();
        }

        @Override
        public long getAllocSlowpath() {
            return s.allocSlowpath();
        }

        @Override
        public long getFreeFastpath() {
            return s.freeFastpath();
        }

        @Override
        public long getFreeSlowpath() {
            return s.freeSlowpath();
        }

        @Override
        public long getRemoteFrees() {
            return s.remoteFrees();
        }
    }

    private RcuFreeStats rcu() {
        return allocator.rcuStatsIfStarted();
    }

    @Override
    public long getRcuPendingObjects() {
        RcuFreeStats r = rcu();
        return r == null ? 0 : r.pendingObjects();
    }

    @Override
    public long getRcuPendingBytes() {
        RcuFreeStats r = rcu();
        return r == null ? 0 : r.pendingBytes();
    }

    @Override
    public long getRcuPeakPendingBytes() {
        RcuFreeStats r = rcu();
        return r == null ? 0 : r.peakPendingBytes();
    }

    @Override
    public long getRcuFreed() {
        RcuFreeStats r = rcu();
        return r == null ? 0 : r.freed();
    }

    @Override
    public long getRcuGracePeriodsRequested() {
        RcuFreeStats r = rcu();
        return r == null ? 0 : r.gracePeriodsRequested();
    }

    @Override
    public long getRcuFreeErrors() {
        RcuFreeStats r = rcu();
        return r == null ? 0 : r.freeErrors() + r.corruptLinks();
    }

    @Override
    public long getRcuGracePeriodsCompleted() {
        Rcu domain = allocator.rcuIfCreated();
        return domain == null ? 0 : domain.stats().gracePeriods();
    }

    @Override
    public long shrink() {
        return allocator.shrink();
    }
}
