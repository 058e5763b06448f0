package dev.sheaf.allocator;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.sheaf.allocator.memory.FreePointer;
import dev.sheaf.allocator.memory.NativeMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.concurrent.locks.ReentrantLock;

import org.agrona.collections.LongArrayList;

/*
 * Implementation notes.
 *
 * The page allocator under every slab. One contiguous range of `capacity` bytes is reserved
 * at construction with mmap(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE):
 * address space only, the kernel backs pages when they are first touched. The range is cut
 * into 64 KiB blocks. A slab (or a large allocation, a "span") is a run of whole blocks, so
 * the owner of any address is `owners[(address - base) >>> BLOCK_SHIFT]`: a subtraction, a
 * shift and one array load, the analogue of virt_to_slab().
 *
 * Block bookkeeping (which blocks are taken) is a BitSet searched first-fit from a hint, under
 * `lock`; it is touched only when a cache grows or shrinks, never on an alloc/free fast path.
 * A released slab is first kept resident ("retained", per run length) so that a cache that
 * shrinks and grows again reuses warm memory without page faults; past `retainLimit` bytes,
 * and on shrink(), released runs are handed back with madvise(MADV_DONTNEED) and their blocks
 * become free address space again. Large spans are madvised at once on release.
 *
 * owners[] entries are written with plain stores by the thread that acquired the run, before
 * the slab is published under a cache lock; readers reach an object address only through that
 * publication, so plain loads see the entry. Entries are cleared before the run is released.
 * homeIds[] (the home magazine of each block's slab, RemoteFrees) is written by SlabNode under
 * the slab's node lock and read by the free fast path without it: a hint, 0 on every block of a
 * run that is not an owned slab, so a released run never carries one.
 *
 * reservedBytes counts memory the allocator may have made resident: runs of slabs in use or
 * retained (whole runs) plus large spans (rounded to 4 KiB pages, the only pages they touch).
 *
 * tryAcquire() is the no-lock variant: it takes the lock only by tryLock, reuses retained runs
 * or free address space, and never makes a system call (the range is mapped already).
 *
 * On systems without mmap, the range is one Arena allocation (committed memory), and
 * release cannot return pages to the OS.
 *
 * Beside the range lives the object-state map (ObjectStates: one byte per 16 bytes, reserved the
 * same way) and the heap's key for hardened links (FreePointer).
 *
 * Lifetime: close() gives every page back (madvise) and refuses further acquires, but does not
 * unmap. A caller on another thread that passed its closed check a moment before may still
 * write a link or a state byte; that write lands in mapped (zero) memory instead of crashing the
 * JVM. The range and the map are unmapped by the cleanup of an automatic Arena (`lifetime`) once
 * it is unreachable: this object holds it, and so does every segment the allocator hands out (a
 * slice of `heap`), so the range stays mapped while any SlabAllocator, SlabCache, engine or
 * user's segment could still reach an address in it.
 *
 * Capacity default (defaultCapacity, for SlabAllocator.Builder): a quarter of physical memory clamped to 1..16 GiB.
 * It is address space, not memory: untouched pages cost nothing. Under strict overcommit
 * (vm.overcommit_memory=2) the kernel ignores MAP_NORESERVE and charges the whole range, so
 * such systems should pass a smaller capacity.
 *
 * Lock order: see SlabCache's notes (a leaf; under a node lock only by tryLock).
 *
 * Map: constants and fields; construction and the lifetime's cleanup; slice; ownerOf, contains
 * (address lookup); acquire, tryAcquire, setHome, publish, release (runs); shrink and retained runs;
 * byte counts; close.
 */
final class PageSource implements AutoCloseable {

    static final int BLOCK_SHIFT = 16;
    static final long BLOCK_SIZE = 1L << BLOCK_SHIFT;
    static final long PAGE_SIZE = 4096;

    final long base;
    final long capacity;
    final long end;
    /** ObjectStates bias: mapBase - base / 16. */
    final long stateBias;
    /** The key of this heap's hardened links (FreePointer). */
    final long linkKey;
    /** Owner of each block: a slab or a large span; null when the block is free. */
    final Slab[] owners;
    /**
     * The home magazine's id (Magazine.homeId) of each block's slab, 0 when it has none
     * (RemoteFrees): written under the slab's node lock, read by the free fast path without it.
     */
    final int[] homeIds;

    private final Arena arena;
    private final boolean mapped;
    private final long mapBase;
    private final long mapBytes;
    /** Keeps the range mapped while reachable; its cleanup unmaps (see the notes). */
    private final Arena lifetime;
    /** The whole range, scoped to `lifetime`: user segments are slices of it. */
    final MemorySegment heap;
    /** Package-private so that tests can hold it and drive the no-lock paths into their fallbacks. */
    final ReentrantLock lock = new ReentrantLock();
    @GuardedBy("lock")
    private final BitSet used;
    private final int blockCount;
    private final long retainLimit;
    /** Retained runs by length in blocks (index = blocks); holds run start addresses. */
    @GuardedBy("lock")
    private final LongArrayList[] retained;
    @GuardedBy("lock")
    private int searchHint;
    @GuardedBy("lock")
    private long retainedBytes;
    private volatile long reservedBytes;
    @GuardedBy("lock")
    private long peakReservedBytes;
    @GuardedBy("lock")
    private long madvisedBytes;
    @GuardedBy("lock")
    private boolean closed;

    PageSource(long capacity, long retainLimit, boolean forceArena) {
        if (capacity < BLOCK_SIZE) {
            throw new IllegalArgumentException("capacity below one 64 KiB block: " + capacity);
        }
        long cap = capacity & -BLOCK_SIZE;
        if ((cap >>> BLOCK_SHIFT) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("capacity too large: " + capacity);
        }
        this.blockCount = (int) (cap >>> BLOCK_SHIFT);
        this.capacity = cap;
        this.retainLimit = retainLimit;
        this.owners = new Slab[blockCount];
        this.homeIds = new int[blockCount];
        this.used = new BitSet(blockCount);
        this.retained = new LongArrayList[65];
        if (NativeMemory.AVAILABLE && !forceArena) {
            // Over-reserve one block so the usable range starts block-aligned.
            long raw = NativeMemory.mmapReserve(cap + BLOCK_SIZE);
            if (raw == 0) {
                throw new OutOfMemoryError("mmap of " + cap + " bytes of address space failed");
            }
            long aligned = (raw + BLOCK_SIZE - 1) & -BLOCK_SIZE;
            long head = aligned - raw;
            if (head != 0) {
                NativeMemory.munmap(raw, head);
            }
            long tail = BLOCK_SIZE - head;
            if (tail != 0) {
                NativeMemory.munmap(aligned + cap, tail);
            }
            this.base = aligned;
            this.arena = null;
            this.mapped = true;
        } else {
            this.arena = Arena.ofShared();
            this.base = arena.allocate(cap, BLOCK_SIZE).address();
            this.mapped = false;
        }
        this.end = base + cap;
        this.mapBytes = cap >>> ObjectStates.GRANULE_SHIFT;
        if (mapped) {
            long map = NativeMemory.mmapReserve(mapBytes);
            if (map == 0) {
                NativeMemory.munmap(base, cap);
                throw new OutOfMemoryError("mmap of the " + mapBytes + "-byte object-state map failed");
            }
            this.mapBase = map;
        } else {
            this.mapBase = arena.allocate(mapBytes, 8).fill((byte) 0).address();
        }
        this.stateBias = mapBase - (base >>> ObjectStates.GRANULE_SHIFT);
        this.linkKey = FreePointer.newKey();
        this.lifetime = Arena.ofAuto();
        Unmap unmap = new Unmap(mapped, base, cap, mapBase, mapBytes, arena);
        @SuppressWarnings("restricted") // the reserved range, sized and given the lifetime that unmaps it
        MemorySegment whole = MemorySegment.ofAddress(base).reinterpret(cap, lifetime, s -> unmap.run());
        this.heap = whole;
    }

    /** The capacity default: a quarter of physical memory, clamped to 1..16 GiB (see the notes). */
    static long defaultCapacity() {
        long physical = 0;
        try {
            if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    instanceof com.sun.management.OperatingSystemMXBean os) {
                physical = os.getTotalMemorySize();
            }
        } catch (RuntimeException | LinkageError e) {
            physical = 0;
        }
        long quarter = physical > 0 ? physical / 4 : 4L << 30;
        return Math.max(1L << 30, Math.min(16L << 30, quarter));
    }

    /** The lifetime's cleanup: holds no reference to the PageSource or a segment, only what to unmap. */
    private record Unmap(boolean mapped, long base, long capacity, long mapBase, long mapBytes, Arena arena)
            implements Runnable {
        @Override
        public void run() {
            if (mapped) {
                NativeMemory.munmap(base, capacity);
                NativeMemory.munmap(mapBase, mapBytes);
            } else {
                arena.close();
            }
        }
    }

    /** A segment of {@code bytes} at {@code address} in the range that keeps the range mapped while reachable. */
    MemorySegment slice(long address, long bytes) {
        return heap.asSlice(address - base, bytes);
    }

    /** The owner of the block holding {@code address}, or null if it is free or outside. */
    Slab ownerOf(long address) {
        // One unsigned test covers both ends: below base the difference is a huge unsigned value.
        long off = address - base;
        if (Long.compareUnsigned(off, capacity) >= 0) {
            return null;
        }
        return owners[(int) (off >>> BLOCK_SHIFT)];
    }

    boolean contains(long address) {
        return address >= base && address < end;
    }


    /**
     * Takes a run of {@code blocks} blocks; {@code touchBytes} is how much of it the caller
     * will touch (for accounting). Returns the run's address, or 0 if capacity is exhausted.
     */
    long acquire(int blocks, long touchBytes) {
        lock.lock();
        try {
            return acquireLocked(blocks, touchBytes, true);
        } finally {
            lock.unlock();
        }
    }

    /** acquire() that never waits for the lock and makes no system call; 0 if it cannot. */
    long tryAcquire(int blocks, long touchBytes) {
        if (!lock.tryLock()) {
            return 0;
        }
        try {
            return acquireLocked(blocks, touchBytes, false);
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private long acquireLocked(int blocks, long touchBytes, boolean maySyscall) {
        if (closed) {
            throw new IllegalStateException("allocator is closed");
        }
        if (blocks < retained.length && retained[blocks] != null && !retained[blocks].isEmpty()) {
            long address = retained[blocks].popLong();
            long bytes = (long) blocks << BLOCK_SHIFT;
            retainedBytes -= bytes;
            // A retained run was counted whole; re-count it with the new touch size.
            addReserved(touchBytes - bytes);
            return address;
        }
        int start = findFree(blocks);
        if (start < 0 && retainedBytes > 0 && maySyscall) {
            releaseRetainedLocked();
            start = findFree(blocks);
        }
        if (start < 0) {
            return 0;
        }
        used.set(start, start + blocks);
        if (start == searchHint) {
            searchHint = used.nextClearBit(start);
        }
        addReserved(touchBytes);
        return base + ((long) start << BLOCK_SHIFT);
    }

    @GuardedBy("lock")
    private int findFree(int blocks) {
        int from = searchHint;
        while (from < blockCount) {
            int start = used.nextClearBit(from);
            if (start >= blockCount) {
                return -1;
            }
            int next = used.nextSetBit(start);
            int runEnd = next < 0 ? blockCount : next;
            if (runEnd - start >= blocks) {
                return start;
            }
            if (next < 0) {
                return -1;
            }
            from = next;
        }
        return -1;
    }

    /** Records {@code homeId} (0: none) for every block of slab {@code s} (its node lock held). */
    void setHome(Slab s, int homeId) {
        int first = (int) ((s.base - base) >>> BLOCK_SHIFT);
        for (int i = 0; i < s.blocks; i++) {
            homeIds[first + i] = homeId;
        }
    }

    /** Publishes {@code owner} as the owner of its run (plain stores; see the notes). */
    void publish(Slab owner) {
        int first = (int) ((owner.base - base) >>> BLOCK_SHIFT);
        for (int i = 0; i < owner.blocks; i++) {
            owners[first + i] = owner;
        }
    }

    /**
     * Releases a run. {@code retain} keeps it resident (up to the retention bound) for reuse;
     * otherwise its touched pages go back to the OS at once.
     */
    void release(Slab owner, long touchedBytes, boolean retain) {
        int first = (int) ((owner.base - base) >>> BLOCK_SHIFT);
        int blocks = owner.blocks;
        for (int i = 0; i < blocks; i++) {
            owners[first + i] = null;
        }
        long bytes = (long) blocks << BLOCK_SHIFT;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            if (retain && blocks < retained.length && retainedBytes + bytes <= retainLimit) {
                if (retained[blocks] == null) {
                    retained[blocks] = new LongArrayList();
                }
                retained[blocks].pushLong(owner.base); // unboxed: a release allocates nothing
                retainedBytes += bytes;
                addReserved(bytes - touchedBytes);
                return;
            }
            dontNeed(owner.base, touchedBytes);
            freeBlocks(first, blocks);
            addReserved(-touchedBytes);
        } finally {
            lock.unlock();
        }
    }

    /** Returns every retained run to the OS; the bytes given back. */
    long shrink() {
        lock.lock();
        try {
            return closed ? 0 : releaseRetainedLocked();
        } finally {
            lock.unlock();
        }
    }

    @GuardedBy("lock")
    private long releaseRetainedLocked() {
        long total = 0;
        for (int blocks = 1; blocks < retained.length; blocks++) {
            LongArrayList runs = retained[blocks];
            if (runs == null) {
                continue;
            }
            long bytes = (long) blocks << BLOCK_SHIFT;
            while (!runs.isEmpty()) {
                long address = runs.popLong();
                dontNeed(address, bytes);
                freeBlocks((int) ((address - base) >>> BLOCK_SHIFT), blocks);
                total += bytes;
            }
        }
        retainedBytes -= total;
        addReserved(-total);
        return total;
    }

    @GuardedBy("lock")
    private void dontNeed(long address, long bytes) {
        if (mapped && bytes > 0) {
            NativeMemory.madviseDontNeed(address, (bytes + PAGE_SIZE - 1) & -PAGE_SIZE);
            madvisedBytes += bytes;
            SlabEvents.released(bytes);
        }
    }

    @GuardedBy("lock")
    private void freeBlocks(int first, int blocks) {
        used.clear(first, first + blocks);
        if (first < searchHint) {
            searchHint = first;
        }
    }

    @GuardedBy("lock")
    private void addReserved(long delta) {
        long r = reservedBytes + delta;
        reservedBytes = r;
        if (r > peakReservedBytes) {
            peakReservedBytes = r;
        }
    }

    long reservedBytes() {
        return reservedBytes;
    }

    long retainedBytes() {
        lock.lock();
        try {
            return retainedBytes;
        } finally {
            lock.unlock();
        }
    }

    long peakReservedBytes() {
        lock.lock();
        try {
            return peakReservedBytes;
        } finally {
            lock.unlock();
        }
    }

    long madvisedBytes() {
        lock.lock();
        try {
            return madvisedBytes;
        } finally {
            lock.unlock();
        }
    }

    boolean isMapped() {
        return mapped;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            reservedBytes = 0;
            if (mapped) {
                // Pages back to the OS now; the address range stays mapped (see the notes).
                NativeMemory.madviseDontNeed(base, capacity);
                NativeMemory.madviseDontNeed(mapBase, mapBytes);
            }
        } finally {
            lock.unlock();
        }
    }

}
