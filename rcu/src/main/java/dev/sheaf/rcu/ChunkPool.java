package dev.sheaf.rcu;

import java.util.concurrent.atomic.AtomicReferenceArray;

/*
 * Implementation notes.
 *
 * A bounded lock-free pool of recycled CallbackChunks, so steady-state {@code call()} does not
 * allocate. Each cell is taken and filled by CAS on its own reference; a stale read can only make a
 * CAS fail, never hand out a chunk twice (the reference CAS takes exactly what is in the cell). The
 * start hint is a racy plain field: it only spreads contention. Full pool: the chunk is dropped for
 * the GC; empty pool: the producer allocates. 256 cells (up to 1 MiB of chunks kept) absorb a
 * worker that falls behind a fast producer for a while - on a busy machine the worker may not get a
 * core for milliseconds - without steady-state allocation.
 *
 * Map: cells and hint; poll; offer.
 */
/** A bounded lock-free pool of recycled CallbackChunks. */
final class ChunkPool {
    private static final int CELLS = 256;
    private final AtomicReferenceArray<CallbackChunk> cells = new AtomicReferenceArray<>(CELLS);
    private int hint;

    CallbackChunk poll() {
        int start = hint;
        for (int i = 0; i < CELLS; i++) {
            int j = (start + i) & (CELLS - 1);
            CallbackChunk c = cells.getPlain(j) == null ? null : cells.get(j);
            if (c != null && cells.compareAndSet(j, c, null)) {
                hint = j;
                return c;
            }
        }
        return null;
    }

    void offer(CallbackChunk c) {
        int start = hint;
        for (int i = 0; i < CELLS; i++) {
            int j = (start + i) & (CELLS - 1);
            if (cells.get(j) == null && cells.compareAndSet(j, null, c)) {
                hint = j;
                return;
            }
        }
    }
}
