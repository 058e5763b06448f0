package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;

/*
 * Implementation notes.
 *
 * A kmemleak-like hook: every allocation records address -> size (and, optionally, the
 * allocating stack) in an Agrona open-addressing map under the tracker's own lock (a leaf lock);
 * every free removes it. A free of an address the tracker never saw (it came from a no-lock
 * allocation, which skips lock-taking hooks, or was allocated before the tracker existed) is
 * counted in unknownFrees() and otherwise ignored: no report, no error. Objects still recorded
 * when a cache is destroyed or the allocator closes are reported through the reporter.
 *
 * The no-lock free path calls tryBeforeFree, which only tryLocks; if the lock is busy, the
 * allocator defers the free and calls beforeFree later.
 */
/**
 * Leak-tracking hook: records live objects and reports those still live at
 * {@link SlabCache#destroy()} or {@link SlabAllocator#close()}.
 */
public final class LeakTracker implements SlabHook {

    /**
     * One object still allocated. {@code stack} is empty unless stacks are recorded.
     *
     * @param address the object's address
     * @param size its usable size in bytes
     * @param stack where it was allocated; empty unless stacks are recorded
     */
    public record Leak(long address, long size, List<StackTraceElement> stack) { }

    /** Package-private so that tests can hold it and drive the no-lock paths into their fallbacks. */
    final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private final Long2LongHashMap sizes = new Long2LongHashMap(-1L);
    /** Null unless stacks are recorded; its contents are guarded by lock, the final reference is not. */
    private final Long2ObjectHashMap<Throwable> stacks;
    private final Consumer<String> reporter;
    @GuardedBy("lock")
    private long unknownFrees;
    @GuardedBy("lock")
    private long reports;

    private LeakTracker(boolean recordStacks, Consumer<String> reporter) {
        this.stacks = recordStacks ? new Long2ObjectHashMap<>() : null;
        this.reporter = reporter;
    }

    /**
     * A tracker without stacks that reports to {@code System.err}.
     *
     * @return a tracker
     */
    public static LeakTracker create() {
        return new LeakTracker(false, System.err::println);
    }

    /**
     * A tracker that records allocating stacks when asked (costly) and reports to {@code reporter}.
     *
     * @param recordStacks whether each allocation records its stack (costly)
     * @param reporter receives the report text
     * @return a tracker
     */
    public static LeakTracker create(boolean recordStacks, Consumer<String> reporter) {
        if (reporter == null) {
            throw new IllegalArgumentException("reporter is null");
        }
        return new LeakTracker(recordStacks, reporter);
    }

    @Override
    public boolean needsLock() {
        return true;
    }

    @Override
    public void afterAlloc(SlabCache cache, long address, long size) {
        Throwable stack = stacks != null ? new Throwable("allocated here") : null;
        lock.lock();
        try {
            sizes.put(address, size);
            if (stack != null) {
                stacks.put(address, stack);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void beforeFree(SlabCache cache, long address, long size) {
        lock.lock();
        try {
            forget(address);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean tryBeforeFree(SlabCache cache, long address, long size) {
        if (!lock.tryLock()) {
            return false;
        }
        try {
            forget(address);
            return true;
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private void forget(long address) {
        if (sizes.remove(address) == -1L) {
            unknownFrees++;
        }
        if (stacks != null) {
            stacks.remove(address);
        }
    }

    @Override
    public void cacheDestroyed(SlabCache cache, long liveObjects) {
        List<Leak> mine = new ArrayList<>();
        for (Leak leak : leaks()) {
            if (cache.owns(leak.address())) {
                mine.add(leak);
            }
        }
        if (!mine.isEmpty()) {
            report("cache '" + cache.name() + "' destroyed", mine);
        }
    }

    @Override
    public void allocatorClosed(SlabAllocator allocator) {
        List<Leak> all = leaks();
        if (!all.isEmpty()) {
            report("allocator closed", all);
        }
    }

    private void report(String when, List<Leak> leaks) {
        StringBuilder sb = new StringBuilder();
        sb.append("sheaf leak tracker: ").append(when).append(" with ").append(leaks.size())
                .append(" unfreed object(s)");
        int shown = 0;
        for (Leak leak : leaks) {
            if (shown++ == 16) {
                sb.append("\n  ...");
                break;
            }
            sb.append(String.format("%n  0x%x size %d", leak.address(), leak.size()));
            for (StackTraceElement e : leak.stack()) {
                sb.append("\n      at ").append(e);
            }
        }
        lock.lock();
        try {
            reports++;
        } finally {
            lock.unlock();
        }
        reporter.accept(sb.toString());
    }

    /**
     * Objects recorded as live now.
     *
     * @return the objects allocated and not yet freed
     */
    public List<Leak> leaks() {
        lock.lock();
        try {
            List<Leak> out = new ArrayList<>(sizes.size());
            Long2LongHashMap.KeyIterator it = sizes.keySet().iterator();
            while (it.hasNext()) {
                long address = it.nextValue();
                Throwable t = stacks == null ? null : stacks.get(address);
                List<StackTraceElement> st = t == null ? Collections.emptyList() : List.of(t.getStackTrace());
                out.add(new Leak(address, sizes.get(address), st));
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Number of objects recorded as live.
     *
     * @return the number of objects allocated and not yet freed
     */
    public long liveCount() {
        lock.lock();
        try {
            return sizes.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether {@code address} is recorded as live.
     *
     * @param address an address
     * @return whether it is a tracked allocated object
     */
    public boolean isLive(long address) {
        lock.lock();
        try {
            return sizes.containsKey(address);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees of addresses the tracker never saw allocated (tolerated, not reported).
     *
     * @return the number of frees of objects the tracker never saw allocated
     */
    public long unknownFrees() {
        lock.lock();
        try {
            return unknownFrees;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reports issued so far.
     *
     * @return the number of reports made
     */
    public long reports() {
        lock.lock();
        try {
            return reports;
        } finally {
            lock.unlock();
        }
    }
}
