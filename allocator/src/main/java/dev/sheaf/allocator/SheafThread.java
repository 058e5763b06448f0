package dev.sheaf.allocator;

/**
 * A thread that carries its own table of Sheaf magazines, so that {@link SlabCache#alloc()},
 * {@link SlabCache#free(long)}, {@link SlabAllocator#malloc(long)} and the other per-call entry
 * points find the calling thread's magazine with a field load instead of a per-cache table probe.
 * Threads of {@link SheafThreads#factory()} implement it; a thread class of another framework (an
 * event loop's thread, say) implements it like this:
 *
 * <pre>{@code
 * final class LoopThread extends Thread implements SheafThread {
 *     private final ThreadMagazines magazines = new ThreadMagazines(this);
 *     LoopThread(Runnable r) { super(r); }
 *     public ThreadMagazines sheafMagazines() { return magazines; }
 * }
 * }</pre>
 *
 * <p>Contract: {@link #sheafMagazines()} returns the same object on every call, created for this
 * thread ({@code new ThreadMagazines(this)}). A table created for another thread is ignored (the
 * thread then uses the ordinary per-cache lookup), so a wrong implementation is slower, never
 * unsafe.
 */
public interface SheafThread {

    /**
     * This thread's magazine table; called by Sheaf on this thread only.
     *
     * @return the table created for this thread, the same one on every call
     */
    ThreadMagazines sheafMagazines();
}
