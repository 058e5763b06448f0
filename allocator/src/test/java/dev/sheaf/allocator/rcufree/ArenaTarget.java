package dev.sheaf.allocator.rcufree;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The test RcuFreeTarget of the engine tests, a small real allocator for testing
 * {@link RcuFreeEngine} on its own: fixed-size objects carved from
 * one shared Arena segment, a live-set that detects invalid and double frees, a poison on free,
 * and per-object free counts so tests can prove that a given freeRcu was honoured.
 */
final class ArenaTarget implements RcuFreeTarget, AutoCloseable {

    static final long POISON = 0x6b6b6b6b6b6b6b6bL;

    private final Arena arena = Arena.ofShared();
    final MemorySegment memory;
    final long base;
    final int objectSize;
    final int capacity;
    private final AtomicIntegerArray live;
    final AtomicIntegerArray frees;
    private final ConcurrentLinkedQueue<Integer> freeSlots = new ConcurrentLinkedQueue<>();
    final AtomicLong freedObjects = new AtomicLong();
    final AtomicLong freedBytes = new AtomicLong();
    final AtomicLong sheavesReady = new AtomicLong();
    final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    volatile Runnable flushRcuSheaves = () -> { };
    /** Hook for {@link #flushAgedRcuSheaves}: (nowNanos, maxAgeNanos). */
    volatile AgedFlush flushAgedRcuSheaves = (now, maxAge) -> { };
    /** freeNow of this address throws without freeing (a test's stand-in for an allocator failure); 0: none. */
    volatile long failFree;
    /** What {@link #openRcuSheafBytes} answers: a test's stand-in for partly filled rcu sheaves. */
    volatile long openRcuSheafBytes;

    interface AgedFlush {
        void flush(long nowNanos, long maxAgeNanos);
    }

    ArenaTarget(int objectSize, int capacity) {
        this.objectSize = objectSize;
        this.capacity = capacity;
        this.memory = arena.allocate((long) objectSize * capacity, 64);
        this.base = memory.address();
        this.live = new AtomicIntegerArray(capacity);
        this.frees = new AtomicIntegerArray(capacity);
        for (int i = 0; i < capacity; i++) {
            freeSlots.add(i);
        }
    }

    /** An object start, or 0 when the target is exhausted. */
    long alloc() {
        Integer i = freeSlots.poll();
        if (i == null) {
            return 0;
        }
        if (!live.compareAndSet(i, 0, 1)) {
            errors.add("slot " + i + " handed out twice");
        }
        return base + (long) i * objectSize;
    }

    int index(long address) {
        return (int) ((address - base) / objectSize);
    }

    /** Allocated or pending: not yet freed. */
    boolean isLive(long address) {
        return live.get(index(address)) != 0;
    }

    int liveCount() {
        int n = 0;
        for (int i = 0; i < capacity; i++) {
            n += live.get(i) != 0 ? 1 : 0;
        }
        return n;
    }

    long getLong(long address, long offset) {
        return memory.get(ValueLayout.JAVA_LONG, address - base + offset);
    }

    void setLong(long address, long offset, long value) {
        memory.set(ValueLayout.JAVA_LONG, address - base + offset, value);
    }

    private void checkObject(long address) {
        if (address < base || address >= base + (long) objectSize * capacity || (address - base) % objectSize != 0) {
            throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is not an object of this target");
        }
    }

    /** States in {@code live}: 0 free, 1 allocated, 2 pending (claimed by the engine). */
    @Override
    public long claim(long address, long linkOffset) {
        checkObject(address);
        if (linkOffset >= 0) {
            ChainLink.checkLinkField(address, linkOffset, objectSize);
        }
        if (!live.compareAndSet(index(address), 1, 2)) {
            throw new IllegalStateException("0x" + Long.toHexString(address) + " is not allocated");
        }
        return objectSize;
    }

    @Override
    public boolean isPending(long address, long linkOffset) {
        return address >= base && address < base + (long) objectSize * capacity && (address - base) % objectSize == 0
                && (linkOffset < 0 || linkOffset <= objectSize - Long.BYTES) && live.get(index(address)) == 2;
    }

    boolean isPending(long address) {
        return live.get(index(address)) == 2;
    }

    @Override
    public long usableSize(long address) {
        return objectSize;
    }

    @Override
    public void freeNow(long address) {
        if (address == failFree) {
            // An injected allocator failure: the object stays pending, nothing is recorded as an error.
            throw new IllegalStateException("injected free failure of 0x" + Long.toHexString(address));
        }
        int i = index(address);
        if (address < base || i >= capacity || !live.compareAndSet(i, 2, 0)) {
            errors.add("invalid or double free of 0x" + Long.toHexString(address));
            throw new IllegalStateException("invalid or double free of 0x" + Long.toHexString(address));
        }
        setLong(address, 0, POISON);
        frees.incrementAndGet(i);
        freedObjects.incrementAndGet();
        freedBytes.addAndGet(objectSize);
        freeSlots.add(i);
    }

    @Override
    public void rcuSheafReady(Object cache, RcuSheaf sheaf) {
        sheavesReady.incrementAndGet();
        freeNowBulk(sheaf.addresses(), sheaf.count());
    }

    @Override
    public void flushRcuSheaves() {
        flushRcuSheaves.run();
    }

    /** The user's plain free of an allocated object (allocated -> free, as the allocator's free(a) does). */
    void free(long address) {
        claim(address, -1);
        freeNow(address);
    }

    /** Claims every object, as the allocator's rcu sheaf path does before it puts one in a sheaf; returns them. */
    long[] claimAll(long... addresses) {
        for (long a : addresses) {
            claim(a, -1);
        }
        return addresses;
    }

    @Override
    public void flushAgedRcuSheaves(long nowNanos, long maxAgeNanos) {
        flushAgedRcuSheaves.flush(nowNanos, maxAgeNanos);
    }

    @Override
    public long openRcuSheafBytes() {
        return openRcuSheafBytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
