package dev.sheaf.bench.harness;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A garbage-free single-producer single-consumer queue of non-zero {@code long}s (handles
 * travelling from an allocating thread to a freeing thread).
 *
 * <p>Implementation notes: a power-of-two {@code long[]} with a producer index and a consumer
 * index on separate cache lines. The producer writes the element with a plain store, then
 * publishes the index with a release store; the consumer reads the index with acquire, so it sees
 * the element (and everything the producer wrote before it, such as the object's contents).
 * Each side caches the other's index to avoid touching the shared line on every call.
 */
public final class LongSpscRing {
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            var lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(LongSpscRing.class, "head", long.class);
            TAIL = lookup.findVarHandle(LongSpscRing.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] buffer;
    private final int mask;
    @SuppressWarnings("unused")
    private long p00, p01, p02, p03, p04, p05, p06, p07;
    /** Next slot the producer writes; written by the producer only. */
    private long tail;
    private long cachedHead;
    @SuppressWarnings("unused")
    private long p10, p11, p12, p13, p14, p15, p16, p17;
    /** Next slot the consumer reads; written by the consumer only. */
    private long head;
    private long cachedTail;
    @SuppressWarnings("unused")
    private long p20, p21, p22, p23, p24, p25, p26, p27;

    public LongSpscRing(int capacity) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two >= 2: " + capacity);
        }
        buffer = new long[capacity];
        mask = capacity - 1;
    }

    /** Producer only. @return false when full */
    public boolean offer(long value) {
        if (value == 0) {
            throw new IllegalArgumentException("0 is the empty marker");
        }
        long t = tail;
        if (t - cachedHead >= buffer.length) {
            cachedHead = (long) HEAD.getAcquire(this);
            if (t - cachedHead >= buffer.length) {
                return false;
            }
        }
        buffer[(int) t & mask] = value;
        TAIL.setRelease(this, t + 1);
        return true;
    }

    /** Consumer only. @return the oldest element, or 0 when empty */
    public long poll() {
        long h = head;
        if (h >= cachedTail) {
            cachedTail = (long) TAIL.getAcquire(this);
            if (h >= cachedTail) {
                return 0;
            }
        }
        long v = buffer[(int) h & mask];
        HEAD.setRelease(this, h + 1);
        return v;
    }

    /** Elements in the ring; exact only when neither side is running. */
    public int size() {
        return (int) ((long) TAIL.getAcquire(this) - (long) HEAD.getAcquire(this));
    }
}
