package dev.sheaf.netty;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.sheaf.allocator.SlabAllocator;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * Page spans for buffers above the caches (BufferSizes.MAX_CACHED), with recently released spans
 * kept for reuse. Sheaf gives a freed span back to the OS at once (madvise), and the next span of
 * that size then faults its pages in again: a pipeline whose cumulation buffers grow past 128 KiB
 * and are released per read would pay a system call and page faults per buffer. So spans up to
 * MAX_RESERVED are sized in classes (four per doubling, multiples of the 4 KiB page), and a
 * released span of a class goes onto that class's stack instead of back to Sheaf, up to
 * PER_CLASS spans per class and a budget of bytes for the whole reserve. An allocation of the class
 * takes one from the stack first. Larger spans, a full stack and an exhausted budget go straight to
 * Sheaf.
 *
 * A reserved span stays allocated in Sheaf (its live bytes count it) until release() gives every
 * reserved span back or the SlabAllocator closes. Each class's stack is guarded by its own lock:
 * spans are large, so the lock is cheap beside the copy or the I/O into them. reservedBytes is the
 * budget's account, updated under the class lock that pushes or pops.
 *
 * Map: classes; Stack; fields; allocate; free; release; sizes.
 */
final class SpanReserve {

    /** Smallest span class: the first size above the caches. */
    private static final int MIN_CLASS = 160 << 10;
    /** Largest span size kept for reuse. */
    static final int MAX_RESERVED = 4 << 20;
    /** Spans kept per class. */
    private static final int PER_CLASS = 8;
    /** Span class sizes, ascending: four per doubling from 160 KiB to 4 MiB. */
    static final int[] CLASSES = classes();

    private static int[] classes() {
        int[] tmp = new int[64];
        int n = 0;
        for (int base = 128 << 10; base < MAX_RESERVED; base <<= 1) {
            for (int i = 1; i <= 4; i++) {
                tmp[n++] = base + i * (base / 4);
            }
        }
        return java.util.Arrays.copyOf(tmp, n);
    }

    /** One class's released spans. */
    private static final class Stack {
        final ReentrantLock lock = new ReentrantLock();
        @GuardedBy("lock")
        final long[] spans = new long[PER_CLASS];
        @GuardedBy("lock")
        int count;
    }

    private final SlabAllocator sheaf;
    private final long budget;
    private final Stack[] stacks = new Stack[CLASSES.length];
    private final AtomicLong reservedBytes = new AtomicLong();

    SpanReserve(SlabAllocator sheaf, long budget) {
        this.sheaf = sheaf;
        this.budget = budget;
        for (int i = 0; i < stacks.length; i++) {
            stacks[i] = new Stack();
        }
        if (MIN_CLASS != CLASSES[0]) {
            throw new IllegalStateException("span classes start at " + CLASSES[0]);
        }
    }

    /** The class index for size, or -1 above MAX_RESERVED. */
    private static int classOf(long size) {
        if (size > MAX_RESERVED) {
            return -1;
        }
        int i = java.util.Arrays.binarySearch(CLASSES, (int) Math.max(size, MIN_CLASS));
        return i >= 0 ? i : -i - 1;
    }

    /** The usable size a span of size bytes gets, or -1 above MAX_RESERVED (page-rounded). */
    static long fit(int size) {
        int c = classOf(size);
        return c < 0 ? -1 : CLASSES[c];
    }

    /**
     * A span of at least size bytes: a reserved one of its class, or a new one.
     *
     * @throws OutOfMemoryError      Sheaf's capacity is exhausted
     * @throws IllegalStateException Sheaf is closed
     */
    long allocate(int size) {
        int c = classOf(size);
        if (c < 0) {
            return sheaf.malloc(size);
        }
        Stack s = stacks[c];
        s.lock.lock();
        try {
            if (s.count > 0) {
                reservedBytes.addAndGet(-CLASSES[c]);
                return s.spans[--s.count];
            }
        } finally {
            s.lock.unlock();
        }
        return sheaf.malloc(CLASSES[c]);
    }

    /**
     * Keeps a released span for reuse, or frees it into Sheaf.
     *
     * @throws IllegalArgumentException not a span of the Sheaf allocator
     * @throws IllegalStateException    not allocated, or Sheaf is closed
     */
    void free(long address) {
        long size = sheaf.usableSize(address); // also checks that the address is an allocated span
        int c = classOf(size);
        if (c >= 0 && CLASSES[c] == size) {
            Stack s = stacks[c];
            s.lock.lock();
            try {
                if (s.count < PER_CLASS && reservedBytes.get() + size <= budget) {
                    reservedBytes.addAndGet(size);
                    s.spans[s.count++] = address;
                    return;
                }
            } finally {
                s.lock.unlock();
            }
        }
        sheaf.free(address);
    }

    /** Frees every reserved span into Sheaf. */
    void release() {
        for (int c = 0; c < stacks.length; c++) {
            Stack s = stacks[c];
            s.lock.lock();
            try {
                while (s.count > 0) {
                    long a = s.spans[--s.count];
                    reservedBytes.addAndGet(-CLASSES[c]);
                    sheaf.free(a);
                }
            } finally {
                s.lock.unlock();
            }
        }
    }

    long reservedBytes() {
        return reservedBytes.get();
    }

    long usableSize(long address) {
        return sheaf.usableSize(address);
    }
}
