package dev.sheaf.netty;

import dev.sheaf.allocator.SlabCache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/*
 * Implementation notes.
 *
 * The ready buffers of one FastThreadLocalThread for one SheafByteBufAllocator: per buffer class,
 * a stack of SheafDirectByteBufs that keep their Sheaf object while they wait, i.e. a sheaf of
 * buffers one level above Sheaf's own sheaves of addresses. An allocation pops one and resets
 * its indices and reference count: no Sheaf call and no lookup past the FastThreadLocal that
 * found this object. A release on the owner pushes it back. Sheaf is called in batches only: an
 * empty stack is refilled with allocBulk, a full one gives its older half back with freeBulk.
 * Buffers whose object went back stay as shells (no memory) for the next refill, up to a bound.
 *
 * Ownership: the owner thread alone touches the stacks, counts and shells (plain fields). Other
 * threads release buffers through `returned`, a Treiber stack linked by
 * SheafDirectByteBuf.nextReturned: push by CAS, taken whole by the owner with getAndSet, so no
 * node is ever popped alone and there is no ABA. A releasing thread's writes to the buffer
 * happen-before the owner's use of it (the CAS publishes, the getAndSet acquires). Each node
 * carries the stack's depth below it; past RETURN_LIMIT the releasing thread frees the object
 * into Sheaf itself (a plain cross-thread free), so an owner that stops allocating holds a
 * bounded amount.
 *
 * End: close() runs once, on the owner when its FastThreadLocals are removed (the thread ends,
 * or user code removes them), or on a sweeping thread that found the owner dead (isAlive() false
 * orders the owner's last writes before the sweep's reads). It swaps CLOSED into `returned`, so
 * no push succeeds after it (a late cross-thread release frees into Sheaf itself), sets `closed`
 * so a later release on the owner frees too, and frees every kept object. Page spans are never
 * kept: their memory goes back at once through SpanReserve, and only their shell stays.
 *
 * Bounds per thread: a class keeps at most kept(objectSize) buffers (4..64, about 256 KiB), up to
 * RETURN_LIMIT are on their way home, and at most SHELL_LIMIT shells wait.
 *
 * Map: constants and fields; allocate; release (owner, other threads); refill and trim; the
 * returned stack; close; metric.
 */
/** The ready direct buffers of one event-loop thread (see the notes). */
final class ThreadBuffers {

    /** Buffers of one class kept at most: about KEPT_BYTES, clamped to MIN_KEPT..MAX_KEPT. */
    private static final int MIN_KEPT = 4;
    private static final int MAX_KEPT = 64;
    private static final long KEPT_BYTES = 256 << 10;
    /** Buffers on their way home at most; beyond, the releasing thread frees the object. */
    static final int RETURN_LIMIT = 1024;
    private static final int SHELL_LIMIT = 64;

    /** `returned`; package-private for the jcstress probes. */
    static final VarHandle RETURNED;
    /** The head of `returned` once closed: a buffer no thread ever holds. */
    static final SheafDirectByteBuf CLOSED = new SheafDirectByteBuf(null, null, null);

    static {
        try {
            RETURNED = MethodHandles.lookup().findVarHandle(ThreadBuffers.class, "returned", SheafDirectByteBuf.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Thread owner;
    private final SheafByteBufAllocator alloc;
    private final BufferSizes sizes;
    /** The ready buffers of each class (created on first use), valid below keptCount. */
    private final SheafDirectByteBuf[][] kept;
    private final int[] keptCount;
    private final SheafDirectByteBuf[] shells = new SheafDirectByteBuf[SHELL_LIMIT];
    private int shellCount;
    /** Addresses of one allocBulk or freeBulk. */
    private final long[] batch = new long[MAX_KEPT];
    /** Owner-only: set by close(); a later release on the owner frees into Sheaf. */
    private boolean closed;
    /** Buffers released on other threads (see the notes); CLOSED once closed. */
    @SuppressWarnings("unused") // RETURNED
    private volatile SheafDirectByteBuf returned;

    ThreadBuffers(SheafByteBufAllocator alloc, BufferSizes sizes, Thread owner) {
        this.owner = owner;
        this.alloc = alloc;
        this.sizes = sizes;
        this.kept = new SheafDirectByteBuf[sizes.classCount()][];
        this.keptCount = new int[sizes.classCount()];
    }

    // -------------------------------------------------------------------------------------------
    // Allocate

    /**
     * A buffer of class ci (owner only), reset to capacity and maxCapacity with refCnt 1.
     *
     * @throws OutOfMemoryError Sheaf's capacity is exhausted (nothing is taken then)
     */
    SheafDirectByteBuf allocate(int ci, int capacity, int maxCapacity) {
        int n = keptCount[ci];
        SheafDirectByteBuf b;
        if (n > 0) {
            SheafDirectByteBuf[] s = kept[ci];
            b = s[--n];
            s[n] = null;
            keptCount[ci] = n;
        } else {
            b = refill(ci);
        }
        b.reuse(capacity, maxCapacity);
        return b;
    }

    /** A page-span buffer (owner only): a shell with a new span. */
    SheafDirectByteBuf allocateSpan(int capacity, int maxCapacity) {
        long a = sizes.allocateSpan(capacity);
        SheafDirectByteBuf b = shell();
        b.attach(null, -1, a, sizes.spanSize(a));
        b.reuse(capacity, maxCapacity);
        return b;
    }

    // -------------------------------------------------------------------------------------------
    // Release

    /** The refCnt of b (whose home this is) reached zero on the calling thread. */
    void release(SheafDirectByteBuf b) {
        if (Thread.currentThread() == owner) {
            putBack(b);
        } else {
            sendHome(b);
        }
    }

    /** Owner only: keeps b ready, or frees its object when its class is full, closed or a span. */
    private void putBack(SheafDirectByteBuf b) {
        int ci = b.classIndex();
        if (ci < 0 || closed) {
            b.freeMemory();
            keepShell(b);
            return;
        }
        SheafDirectByteBuf[] s = kept[ci];
        if (s == null) {
            s = kept[ci] = new SheafDirectByteBuf[kept(sizes.cache(ci).objectSize())];
        }
        int n = keptCount[ci];
        if (n == s.length) {
            n = trim(ci, s, n);
        }
        s[n] = b;
        keptCount[ci] = n + 1;
    }

    /** Another thread's release: b goes home with its object, or frees it (see the notes). */
    void sendHome(SheafDirectByteBuf b) {
        if (b.classIndex() < 0) {
            b.freeMemory(); // a span's memory goes back now; only the shell travels
        }
        for (;;) {
            SheafDirectByteBuf head = returned;
            int depth = head == null ? 1 : head.returnedDepth + 1;
            if (head == CLOSED || depth > RETURN_LIMIT) {
                if (b.address() != 0) {
                    b.freeMemory(); // the shell is left to the garbage collector
                }
                return;
            }
            b.nextReturned = head;
            b.returnedDepth = depth;
            if (RETURNED.compareAndSet(this, head, b)) {
                return;
            }
        }
    }

    // -------------------------------------------------------------------------------------------
    // Refill and trim

    /** The empty stack of class ci gets half its capacity from Sheaf in one allocBulk; returns one. */
    private SheafDirectByteBuf refill(int ci) {
        if (takeReturned() && keptCount[ci] > 0) {
            int n = --keptCount[ci];
            SheafDirectByteBuf b = kept[ci][n];
            kept[ci][n] = null;
            return b;
        }
        SlabCache c = sizes.cache(ci);
        SheafDirectByteBuf[] s = kept[ci];
        if (s == null) {
            s = kept[ci] = new SheafDirectByteBuf[kept(c.objectSize())];
        }
        int want = Math.max(1, s.length / 2);
        c.allocBulk(batch, want);
        long size = c.objectSize();
        for (int i = 1; i < want; i++) {
            SheafDirectByteBuf b = shell();
            b.attach(c, ci, batch[i], size);
            s[i - 1] = b;
        }
        keptCount[ci] = want - 1;
        SheafDirectByteBuf b = shell();
        b.attach(c, ci, batch[0], size);
        return b;
    }

    /** Frees the older half of the full stack s of class ci in one freeBulk; returns the new count. */
    private int trim(int ci, SheafDirectByteBuf[] s, int n) {
        int half = n / 2;
        for (int i = 0; i < half; i++) {
            batch[i] = s[i].address();
        }
        sizes.cache(ci).freeBulk(batch, half);
        for (int i = 0; i < half; i++) {
            s[i].detach();
            keepShell(s[i]);
        }
        System.arraycopy(s, half, s, 0, n - half);
        Arrays.fill(s, n - half, n, null);
        return n - half;
    }

    private SheafDirectByteBuf shell() {
        if (shellCount > 0) {
            SheafDirectByteBuf b = shells[--shellCount];
            shells[shellCount] = null;
            return b;
        }
        return new SheafDirectByteBuf(alloc, sizes, this);
    }

    private void keepShell(SheafDirectByteBuf b) {
        if (shellCount < SHELL_LIMIT) {
            shells[shellCount++] = b;
        }
    }

    /** Kept buffers of a class whose objects have size bytes. */
    static int kept(long size) {
        return (int) Math.max(MIN_KEPT, Math.min(MAX_KEPT, KEPT_BYTES / size));
    }

    // -------------------------------------------------------------------------------------------
    // The returned stack

    /** Owner only: puts every buffer released home by other threads back; true if there were any. */
    private boolean takeReturned() {
        if (returned == null) {
            return false; // the common case: a plain load instead of a swap
        }
        SheafDirectByteBuf b = (SheafDirectByteBuf) RETURNED.getAndSet(this, (SheafDirectByteBuf) null);
        boolean any = false;
        while (b != null) {
            SheafDirectByteBuf next = b.nextReturned;
            b.nextReturned = null;
            if (b.address() == 0) {
                keepShell(b);
            } else {
                putBack(b);
                any = true;
            }
            b = next;
        }
        return any;
    }

    // -------------------------------------------------------------------------------------------
    // Close

    /**
     * Frees every kept object into Sheaf and refuses later returns (see the notes): on the owner,
     * or on any thread once the owner is dead. A second call does nothing.
     *
     * @return how many objects it freed
     */
    int close() {
        SheafDirectByteBuf r = (SheafDirectByteBuf) RETURNED.getAndSet(this, CLOSED);
        if (r == CLOSED) {
            return 0;
        }
        closed = true;
        boolean live = !sizes.sheaf().isClosed(); // a closed Sheaf took every object with it
        int freed = freeReturned(r, live);
        for (int ci = 0; ci < kept.length; ci++) {
            SheafDirectByteBuf[] s = kept[ci];
            int n = keptCount[ci];
            if (s == null || n == 0) {
                continue;
            }
            if (live) {
                trimAll(ci, s, n);
                freed += n;
            }
            Arrays.fill(s, 0, n, null);
            keptCount[ci] = 0;
        }
        shellCount = 0;
        Arrays.fill(shells, null);
        return freed;
    }

    /** Frees the objects of a chain taken from `returned`; returns how many. */
    static int freeReturned(SheafDirectByteBuf chain, boolean live) {
        int freed = 0;
        for (SheafDirectByteBuf b = chain; b != null; b = b.nextReturned) {
            if (live && b.address() != 0) {
                b.freeMemory();
                freed++;
            }
        }
        return freed;
    }

    private void trimAll(int ci, SheafDirectByteBuf[] s, int n) {
        for (int i = 0; i < n; i++) {
            batch[i] = s[i].address();
            s[i].detach();
        }
        sizes.cache(ci).freeBulk(batch, n);
    }

    // -------------------------------------------------------------------------------------------
    // Metric

    /** Bytes of kept buffers' objects: racy plain reads of the owner's counts, for metrics. */
    long keptBytes() {
        long bytes = 0;
        for (int ci = 0; ci < keptCount.length; ci++) {
            bytes += (long) keptCount[ci] * sizes.cache(ci).objectSize();
        }
        return bytes;
    }
}
