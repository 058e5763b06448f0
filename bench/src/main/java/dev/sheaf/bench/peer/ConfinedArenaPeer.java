package dev.sheaf.bench.peer;

import java.lang.foreign.Arena;

/**
 * {@code Arena.ofConfined()} per object: the JDK's own answer to "allocate off-heap, free
 * deterministically". The arena is closed by {@link #free}, which must run on the allocating
 * thread, so workloads that free on another thread skip this peer ({@link #crossThreadFree()}).
 * The {@code Arena} waits in a {@link HandleTable} between allocate and free.
 */
public final class ConfinedArenaPeer implements AllocatorPeer {
    public static final String NAME = "arena-confined";

    private final HandleTable handles;

    public ConfinedArenaPeer(int maxLive) {
        this.handles = new HandleTable(maxLive);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public long allocate(long size) {
        Arena arena = Arena.ofConfined();
        return handles.acquire(arena, arena.allocate(size, 8).address());
    }

    @Override
    public long address(long handle) {
        return handles.address(handle);
    }

    @Override
    public void free(long handle, long size) {
        ((Arena) handles.release(handle)).close();
    }

    @Override
    public boolean crossThreadFree() {
        return false;
    }

    public int liveHandles() {
        return handles.live();
    }

    @Override
    public void close() {
    }
}
