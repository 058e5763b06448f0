package dev.sheaf.allocator;

import java.util.List;

/*
 * Implementation notes.
 *
 * The text of SlabAllocator.slabinfo(): the columns of /proc/slabinfo (version 2.1), plus the
 * sheaf counters of SlabCache.Stats. A size class with no slabs and nothing cached is skipped;
 * a user's cache is always listed. SlabAllocator.stats() sums the caches' Stats (totals).
 *
 * Map: totals; format; isUserCache.
 */
/** The allocator's introspection: totals over its caches, and the slabinfo text. */
final class SlabInfo {

    private SlabInfo() {
    }

    /** Allocator-wide Stats: the caches' Stats summed, with the page source's and the spans' counts. */
    static SlabAllocator.Stats totals(PageSource pages, LargeSpans spans, List<SlabCache> all) {
        long live = 0, cached = 0, cachedBytes = 0, slabs = 0;
        for (SlabCache c : all) {
            SlabCache.Stats s = c.stats();
            live += s.activeObjects() * s.objectSize();
            cached += s.cachedObjects();
            cachedBytes += s.cachedObjects() * s.objectSize();
            slabs += s.slabs();
        }
        long lb = spans.bytes();
        return new SlabAllocator.Stats(pages.capacity, pages.reservedBytes(), pages.peakReservedBytes(),
                pages.retainedBytes(), live + lb, cached, cachedBytes, spans.count(), lb, slabs, all.size(),
                pages.madvisedBytes());
    }

    /** One header and one line per listed cache. */
    static String format(List<SlabCache.Stats> caches) {
        StringBuilder sb = new StringBuilder();
        sb.append("slabinfo - version: 2.1 (sheaf)\n");
        sb.append("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>")
                .append(" : tunables <limit> <batchcount> <sharedfactor>")
                .append(" : slabdata <active_slabs> <num_slabs> <sharedavail>")
                .append(" : sheaves <capacity> <cached> <barn_full> <barn_empty> <alloc_fast> <alloc_slow>")
                .append(" <free_fast> <free_slow> <refill> <flush> <barn_get> <barn_get_fail> <barn_put>")
                .append(" <barn_put_fail> <deferred> <rcu_sheaves>\n");
        for (SlabCache.Stats s : caches) {
            if (s.slabs() == 0 && s.cachedObjects() == 0 && !isUserCache(s.name())) {
                continue;
            }
            sb.append(String.format("%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d"
                            + " : sheaves %4d %6d %3d %3d %d %d %d %d %d %d %d %d %d %d %d %d%n",
                    s.name(), s.activeObjects(), s.totalObjects(), s.slotSize(), s.objectsPerSlab(),
                    s.slabBytes() / PageSource.PAGE_SIZE, 0, 0, 0, s.slabs(), s.slabs(), 0,
                    s.sheafCapacity(), s.cachedObjects(), s.barnFull(), s.barnEmpty(), s.allocFastpath(),
                    s.allocSlowpath(), s.freeFastpath(), s.freeSlowpath(), s.sheafRefills(), s.sheafFlushes(),
                    s.barnGet(), s.barnGetFail(), s.barnPut(), s.barnPutFail(), s.deferredFrees(),
                    s.rcuSheavesSubmitted()));
        }
        return sb.toString();
    }

    private static boolean isUserCache(String name) {
        return !name.startsWith("kmalloc-");
    }
}
