package dev.sheaf.allocator;

import java.util.concurrent.atomic.AtomicInteger;

/*
 * Implementation notes.
 *
 * How many objects one magazine's sheaves hold (tcmalloc's per-CPU cache resizing, applied to
 * the kernel's sheaves). Every magazine has a `capacity`: pushMain fills main up to it and a
 * refill takes that many objects. For a cache whose spec left the capacity to the table
 * (CacheSpec sheafCapacity -1) it moves between the table's value (`base`) and GROWTH_BOUND
 * times that (`max`); an explicit capacity pins it (base == max).
 *
 * Sheaves of different magazines must coexist in the barn, so every sheaf of a cache (magazine,
 * barn and rcu sheaves alike) has an array of `max` objects (`sheafLength`): any sheaf fits any
 * magazine, a capacity change allocates nothing, and a magazine that meets a sheaf filled past
 * its own capacity just pops it (pushes fail on `size >= capacity`, so a sheaf is never filled
 * past its array). The price is Java heap: 8 * max bytes per sheaf instead of 8 * capacity.
 * The barn's bounds stay counts of sheaves, so the objects it holds follow the fill of the
 * sheaves it is given (up to max per sheaf).
 *
 * Policy, decided only on the magazine's slow path (onSlowPath, from SheafExchange, under the
 * magazine's ownership; nothing on the fast path):
 *  - grow: every GROW_MISSES slow paths within one window double the capacity, up to max. A
 *    slow path means main and spare were both exhausted, i.e. the thread moved at least one
 *    sheaf's worth of objects in one direction: the barn or the slabs were reached.
 *  - shrink: the engine's drainer counts its periodic passes (tick, about once per drain delay,
 *    less often while the engine is dormant) in `passes`; PASSES_PER_WINDOW of them make a
 *    window, so that a thread whose bursts come every few drain delays keeps its capacity.
 *    Tests close windows by hand (closeWindow). When an
 *    owner's slow path finds that windows have closed since its last one, the capacity halves,
 *    down to base, once for the closed window if it saw fewer than GROW_MISSES slow paths, and
 *    once for every further window it saw none. A magazine whose thread stays idle keeps its
 *    capacity until its next slow path: only the owner may touch main and spare.
 *  - reset: a magazine flushed to slabs (SlabAllocator.shrink for the caller's own, destroy and
 *    close for all; MagazineRegistry.flushToSlabs) starts again from base.
 *
 * Memory ordering: `passes` is an atomic counter (one writer normally, tests as a second);
 * magazines read it with a volatile read on their slow path only. The per-magazine fields
 * (capacity, misses, sizingWindow) are owner-written plain fields like the rest of the magazine;
 * stats read `capacity` racily.
 *
 * Map: constants; fields; constructor; tick, closeWindow; onSlowPath; shrink.
 */
/** The sheaf capacity policy of one cache: fixed, or adaptive between the table's value and 4x. */
final class SheafSizing {

    /** An adaptive capacity grows to at most this multiple of the table's value. */
    static final int GROWTH_BOUND = 4;
    /** Slow paths within one window that double an adaptive capacity (a power of two). */
    static final int GROW_MISSES = 4;
    /** Drainer passes per sizing window (a power of two). */
    static final int PASSES_PER_WINDOW = 8;

    /** The table's capacity, or the pinned one; 0 for a cache without sheaves. */
    final int base;
    /** The largest capacity a magazine may reach (base when pinned). */
    final int max;
    /** Length of every sheaf array of the cache: max, at least 1. */
    final int sheafLength;
    final boolean adaptive;
    /** The drainer's periodic passes so far; a window is PASSES_PER_WINDOW of them. */
    private final AtomicInteger passes = new AtomicInteger();

    /**
     * @param base    objects per sheaf by the table, or as pinned; 0 disables sheaves
     * @param pinned  whether the spec gave the capacity explicitly
     */
    SheafSizing(int base, boolean pinned) {
        this.base = base;
        this.adaptive = !pinned && base > 0;
        this.max = adaptive ? base * GROWTH_BOUND : base;
        this.sheafLength = Math.max(1, max);
    }

    /** One periodic pass of the drainer: the clock of the sizing windows (the idle signal). */
    void tick() {
        passes.incrementAndGet();
    }

    /** Test hook: closes the current window at once (as PASSES_PER_WINDOW passes would). */
    void closeWindow() {
        passes.addAndGet(PASSES_PER_WINDOW - (passes.get() & (PASSES_PER_WINDOW - 1)));
    }

    /** The slow path of magazine {@code m} (owned by the caller): may grow or shrink its capacity. */
    void onSlowPath(Magazine m) {
        if (!adaptive) {
            return;
        }
        int w = passes.get() / PASSES_PER_WINDOW;
        int closed = w - m.sizingWindow;
        if (closed != 0) {
            int quiet = m.misses < GROW_MISSES ? closed : closed - 1;
            m.capacity = shrink(m.capacity, quiet);
            m.sizingWindow = w;
            m.misses = 0;
        }
        int misses = ++m.misses;
        if ((misses & (GROW_MISSES - 1)) == 0 && m.capacity < max) {
            m.capacity = Math.min(max, m.capacity * 2);
        }
    }

    private int shrink(int capacity, int steps) {
        int c = capacity;
        for (int i = 0; i < steps && c > base; i++) {
            c = Math.max(base, c / 2);
        }
        return c;
    }
}
