package dev.sheaf.bench.peer;

import java.util.List;

/**
 * One allocator behind the smallest interface every workload can share.
 *
 * <p>{@link #allocate} returns a <em>handle</em>: for allocators that speak addresses
 * (Sheaf, glibc, mimalloc, tcmalloc) it is the address itself; allocators that hand out
 * objects (Netty's {@code ByteBuf}, an {@code Arena}) keep them in a {@link HandleTable} and
 * return its index, so the cost of mapping an address-style API onto them is paid inside
 * the measurement, as a user of such an API would pay it. {@link #address} gives the memory.
 *
 * <p>To plug in another allocator, implement this interface and register it in {@link Peers}.
 * Implementations must be safe for concurrent use from several threads; a peer whose objects
 * cannot be freed by a thread other than the allocating one says so in {@link #crossThreadFree()}
 * and workloads that need it skip the peer.
 */
public interface AllocatorPeer extends AutoCloseable {

    /** Short stable name used in tables, JSON and JMH parameters, e.g. {@code glibc}. */
    String name();

    /**
     * Allocates at least {@code size} bytes.
     *
     * @return a non-zero handle
     * @throws OutOfMemoryError when the allocator has no memory left
     */
    long allocate(long size);

    /** The native address of the memory behind {@code handle}. */
    default long address(long handle) {
        return handle;
    }

    /** Frees what {@link #allocate} returned; {@code size} is the size that was asked for. */
    void free(long handle, long size);

    /** Whether {@link #free} may be called by a thread other than the allocating one. */
    default boolean crossThreadFree() {
        return true;
    }

    /** The largest size this peer serves ({@code Long.MAX_VALUE} for general-purpose allocators). */
    default long maxSize() {
        return Long.MAX_VALUE;
    }

    /** How a deferred free is done by this peer; see {@link #freeDeferred}. */
    default String deferredFreeKind() {
        return "free";
    }

    /**
     * Frees after readers are done: {@code freeRcu} for Sheaf. Peers without such a
     * mechanism free at once, which is what {@link #deferredFreeKind()} reports.
     */
    default void freeDeferred(long handle, long size) {
        free(handle, size);
    }

    /**
     * Runs one duty cycle of the background work this peer would otherwise leave to a thread of
     * its own, on the calling thread: for Sheaf opened with {@code callerDriven}
     * ({@link Peers#open(String, long, boolean)}) the RCU domain's grace periods and callbacks.
     * Returns the amount of work done; 0 when there was nothing to do or the peer has no such work
     * (every peer without background threads, and peers whose own threads already do it).
     */
    default int backgroundDuty() {
        return 0;
    }

    /**
     * Names of the threads this peer runs by itself (not on its callers' threads) once it is in
     * use, for reports that count threads; empty for peers that do everything on the caller.
     */
    default List<String> ownThreads() {
        return List.of();
    }

    /** Live bytes as the allocator itself counts them, or -1 when it does not say. */
    default long liveBytes() {
        return -1;
    }

    /**
     * The most memory this peer has held from the operating system since it was opened, in bytes,
     * as close as the allocator lets one see it; -1 when it does not expose it. Sheaf reports its
     * page source's peak reserved bytes; native allocators that only report their current footprint
     * return the largest value sampled by calls to this method (the harness samples once, at the end
     * of each round, so for them it is an end-of-round figure, not a true peak). Safe to call from
     * any thread; not for hot paths (it may call into the allocator's statistics).
     *
     * @return peak reserved bytes, or -1 when not exposed
     */
    default long peakReservedBytes() {
        return -1;
    }

    @Override
    void close();
}
