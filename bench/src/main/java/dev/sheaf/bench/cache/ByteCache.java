package dev.sheaf.bench.cache;

/**
 * A concurrent map from {@code long} keys to byte values of bounded length: the shape of the
 * caches Sheaf's users build. Implementations bound the number of entries and evict past it.
 * Safe for concurrent use by any number of threads.
 */
public interface ByteCache extends AutoCloseable {

    /** Copies the value of {@code key} into {@code dst}; returns its length, or -1 when absent. */
    int get(long key, byte[] dst);

    /**
     * A handle for one thread's gets: {@link Reader#get} is {@link #get} without any per-call
     * lookup of the calling thread's state (a map that needs per-thread state, such as an RCU reader
     * slot, binds it once here). Obtain one per thread, use it from that thread only, close it when
     * the thread stops reading. The default handle just calls {@link #get}.
     */
    default Reader reader() {
        return this::get;
    }

    /** One thread's read handle; see {@link ByteCache#reader()}. */
    @FunctionalInterface
    interface Reader extends AutoCloseable {
        /** As {@link ByteCache#get}. */
        int get(long key, byte[] dst);

        /** Releases per-thread state the handle holds; idempotent. */
        @Override
        default void close() {
        }
    }

    /** Maps {@code key} to {@code value[0, length)}, replacing any previous value. */
    void put(long key, byte[] value, int length);

    /** Removes {@code key}; returns whether it was present. */
    boolean remove(long key);

    /** Entries present (exact when no writer is running). */
    long size();

    /** Longest value a {@link #put} accepts. */
    int maxValueLength();

    /** Memory the map holds, in bytes, as its allocator reports it; -1 for on-heap maps (measure the heap instead). */
    long offHeapBytes();

    /** Short name for tables. */
    String name();

    @Override
    void close();
}
