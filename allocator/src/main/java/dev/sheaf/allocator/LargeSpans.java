package dev.sheaf.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Implementation notes.
 *
 * kmalloc's large allocations: sizes above the largest size class get a PageSource span of whole
 * 64 KiB blocks, touching only page-rounded bytes (the kernel's kmalloc_large). A span is a Slab
 * with no cache and one object, starting at its base.
 *
 * Span states (Slab.state, changed only by compare-and-set, so that of two racing frees exactly
 * one wins): LIVE (allocated) -> FREED by free; -> HOOKS_DONE or HOOKS_DUE by freeNoLock (deferred,
 * its free hooks ran or are still due); -> PENDING by freeRcu* (the engine's claim), then FREED
 * when the engine releases it after its grace period. Only LIVE is allocated: every other state
 * refuses a free, a usableSize and a claim.
 *
 * Spans freed on the no-lock path cannot be returned (that may madvise), so they wait on a
 * lock-free list (DeferredFreeList) linked through their first 8 bytes until the next ordinary
 * large operation, shrink() or close(). Each link is validated before it is followed (a span
 * start in a deferred state); the walk stops at a bad one.
 *
 * Debug mode (SpanDebug, which states the checks; `debug` null otherwise): a span is asked with
 * room for a tail red zone, painted when it is handed out and checked by every free before its
 * pages go back; freeNoLock and the engine's release keep a report for validate() (logged at
 * once). Its record is dropped when the pages are released.
 *
 * Map: span states; allocate; free; address and state checks; engine's claim and release;
 * deferred no-lock frees; release; counts.
 */
/** kmalloc's large allocations: page spans, their states and their deferred no-lock frees. */
final class LargeSpans {

    /** Span states beyond Slab.LIVE/FREED: deferred by freeNoLock with hooks run or due, or pending after freeRcu*. */
    static final int SPAN_HOOKS_DONE = 2;
    static final int SPAN_HOOKS_DUE = 3;
    static final int SPAN_PENDING = 4;
    private static final VarHandle SPAN_STATE;

    static {
        try {
            SPAN_STATE = MethodHandles.lookup().findVarHandle(Slab.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final System.Logger LOG = System.getLogger("dev.sheaf.allocator.corruption");

    private final SlabAllocator allocator;
    private final PageSource pages;
    private final SlabHook[] hooks;
    private final SlabHook[] noLockHooks;
    /** Spans freed by freeNoLock, waiting for an ordinary call to release them. */
    private final DeferredFreeList deferred;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong count = new AtomicLong();
    /** Debug mode's checks of spans, or null with debug off. */
    final SpanDebug debug;

    /** Spans of {@code allocator}; {@code debugStackDepth} is the traces' depth in debug mode, -1 with debug off. */
    LargeSpans(SlabAllocator allocator, PageSource pages, SlabHook[] hooks, SlabHook[] noLockHooks, int debugStackDepth) {
        this.allocator = allocator;
        this.debug = debugStackDepth >= 0 ? new SpanDebug(debugStackDepth) : null;
        this.pages = pages;
        this.hooks = hooks;
        this.noLockHooks = noLockHooks;
        this.deferred = new DeferredFreeList(0, pages.linkKey);
    }

    /** A span of at least {@code size} bytes; 0 in noLock mode when none is available without waiting. */
    long allocate(long size, boolean noLock) {
        long wanted = debug == null ? size : SpanDebug.spanRequest(size); // room for the tail red zone
        long usable = (wanted + PageSource.PAGE_SIZE - 1) & -PageSource.PAGE_SIZE;
        int blocks = (int) ((wanted + PageSource.BLOCK_SIZE - 1) >>> PageSource.BLOCK_SHIFT);
        if (!noLock) {
            drainDeferred();
        }
        long a = noLock ? pages.tryAcquire(blocks, usable) : pages.acquire(blocks, usable);
        if (a == 0 && !noLock) {
            allocator.shrinkForRetry();
            a = pages.acquire(blocks, usable);
        }
        if (a == 0) {
            if (noLock) {
                return 0;
            }
            throw allocator.outOfMemory(size);
        }
        Slab span = new Slab(a, blocks, null, usable);
        pages.publish(span);
        bytes.addAndGet(usable);
        count.incrementAndGet();
        if (debug != null) {
            debug.handOut(a, size, usable);
        }
        SlabHook[] hs = noLock ? noLockHooks : hooks;
        for (SlabHook h : hs) {
            h.afterAlloc(null, a, usable);
        }
        return a;
    }

    /**
     * Frees the span starting at {@code address} (checked by the caller); noLock defers its
     * release. In debug mode a damaged tail is reported after the free is complete (thrown; kept
     * for validate() in noLock mode).
     */
    void free(long address, Slab s, boolean noLock) {
        if (noLock) {
            boolean hooksRan = true;
            for (SlabHook h : hooks) {
                if (!h.tryBeforeFree(null, address, s.bytes)) {
                    hooksRan = false; // hooks run when the span is drained
                    break;
                }
            }
            // Returning pages may madvise: leave it to the next ordinary call. The state says the
            // span is no longer allocated (a second free throws) and whether its hooks ran.
            if (!SPAN_STATE.compareAndSet(s, Slab.LIVE, hooksRan ? SPAN_HOOKS_DONE : SPAN_HOOKS_DUE)) {
                throw notAllocated(address, s);
            }
            if (debug != null) {
                debug.releaseQuietly(address, s.bytes); // before the push writes the span's first word
            }
            deferred.push(address);
            return;
        }
        if (!SPAN_STATE.compareAndSet(s, Slab.LIVE, Slab.FREED)) {
            throw notAllocated(address, s);
        }
        SlabCorruptionException damage = debug == null ? null : debug.release(address, s.bytes);
        for (SlabHook h : hooks) {
            h.beforeFree(null, address, s.bytes);
        }
        release(s);
        if (damage != null) {
            throw damage;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Address and state checks

    /** Whether {@code address} is the start of span {@code s}: the one answer to "is it a span's start". */
    static boolean isSpanStart(long address, Slab s) {
        return address == s.base;
    }

    /** isSpanStart, or the exception that says the address is interior. */
    static void checkSpanStart(long address, Slab s) {
        if (!isSpanStart(address, s)) {
            throw new IllegalArgumentException(String.format(
                    "address 0x%x is inside a large allocation at 0x%x (interior address)", address, s.base));
        }
    }

    /** Throws unless the span starting at {@code address} is allocated. */
    static void checkAllocated(long address, Slab s) {
        if (s.state != Slab.LIVE) {
            throw notAllocated(address, s);
        }
    }

    private static IllegalStateException notAllocated(long address, Slab s) {
        int st = s.state;
        return new IllegalStateException(String.format("large allocation 0x%x is not allocated: it is %s", address,
                st == SPAN_PENDING ? "pending a grace period" : "already freed (double free)"));
    }

    // ---------------------------------------------------------------------------------------
    // Free after a grace period (the engine's target)

    /** The engine claims an allocated span: LIVE -> PENDING, or IllegalStateException. */
    static void claimPending(long address, Slab s) {
        if (!SPAN_STATE.compareAndSet(s, Slab.LIVE, SPAN_PENDING)) {
            throw notAllocated(address, s);
        }
    }

    /** Whether span {@code s} waits for a grace period. */
    static boolean isPending(Slab s) {
        return s.state == SPAN_PENDING;
    }

    /** The engine's free of a pending span after its grace period: hooks run, pages released. */
    void releasePending(long address, Slab s) {
        if (!isSpanStart(address, s) || !SPAN_STATE.compareAndSet(s, SPAN_PENDING, Slab.FREED)) {
            throw new IllegalStateException(String.format(
                    "large allocation 0x%x released after its grace period is not pending", address));
        }
        if (debug != null) {
            debug.releaseQuietly(address, s.bytes);
        }
        for (SlabHook h : hooks) {
            h.beforeFree(null, address, s.bytes);
        }
        release(s);
    }

    // ---------------------------------------------------------------------------------------
    // Deferred no-lock frees, release, counts

    /** Releases every span deferred by freeNoLock (running the free hooks still due). */
    void drainDeferred() {
        if (deferred.isEmpty()) {
            return;
        }
        long a = deferred.drainAll();
        long n = 0;
        while (a != 0) {
            long next = deferred.next(a); // read before the span is released
            if (next != 0 && deferredSpan(next) == null) {
                LOG.log(System.Logger.Level.ERROR, String.format("the deferred-free link of large allocation 0x%x"
                        + " is corrupt (decodes to 0x%x); the spans behind it are not freed", a, next));
                next = 0;
            }
            Slab s = deferredSpan(a);
            if (s != null) {
                int st = s.state;
                if (st == SPAN_HOOKS_DUE && SPAN_STATE.compareAndSet(s, SPAN_HOOKS_DUE, Slab.FREED)) {
                    for (SlabHook h : hooks) {
                        h.beforeFree(null, a, s.bytes);
                    }
                    release(s);
                } else if (st == SPAN_HOOKS_DONE && SPAN_STATE.compareAndSet(s, SPAN_HOOKS_DONE, Slab.FREED)) {
                    release(s);
                }
            }
            a = next;
            n++;
        }
        deferred.consumed(n);
    }

    /** A span on the deferred list: its start, in a deferred state (the drain's link validation). */
    private Slab deferredSpan(long address) {
        Slab s = pages.ownerOf(address);
        if (s == null || !s.isLargeSpan() || !isSpanStart(address, s)) {
            return null;
        }
        int st = s.state;
        return st == SPAN_HOOKS_DONE || st == SPAN_HOOKS_DUE ? s : null;
    }

    private void release(Slab s) {
        if (debug != null) {
            debug.forget(s.base);
        }
        bytes.addAndGet(-s.bytes);
        count.decrementAndGet();
        pages.release(s, s.bytes, false);
    }

    /** The usable size of the allocated span {@code s}: in debug mode the requested size. */
    long usableSize(long address, Slab s) {
        return debug == null ? s.bytes : debug.requestedSize(address, s.bytes);
    }

    /** Usable bytes of live (not yet released) spans. */
    long bytes() {
        return bytes.get();
    }

    /** Spans not yet released. */
    long count() {
        return count.get();
    }
}
