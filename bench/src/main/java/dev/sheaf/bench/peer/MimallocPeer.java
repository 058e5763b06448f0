package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandle;

/** mimalloc (libmimalloc.so.2, Debian package libmimalloc2.0) mi_malloc/mi_free through an FFM critical downcall. */
public final class MimallocPeer implements AllocatorPeer {
    public static final String NAME = "mimalloc";

    private static final NativeLibrary LIBRARY = NativeLibrary.MIMALLOC;
    // static final, so the JIT treats the handles as constants and inlines the downcall stubs
    private static final MethodHandle MALLOC = LIBRARY.malloc();
    private static final MethodHandle FREE = LIBRARY.free();

    /** Whether mimalloc's statistics were reset when this peer was opened, so that its peak counts from then. */
    private final boolean peakFromOpen;

    private MimallocPeer() {
        peakFromOpen = NativeHeapStats.mimallocResetPeak();
    }

    /** @throws PeerUnavailableException when the library is not installed */
    public static MimallocPeer open() throws PeerUnavailableException {
        LIBRARY.requireAvailable(NAME);
        return new MimallocPeer();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public long allocate(long size) {
        return NativeLibrary.callMalloc(MALLOC, NAME, size);
    }

    @Override
    public void free(long handle, long size) {
        NativeLibrary.callFree(FREE, handle);
    }

    /**
     * mimalloc's peak committed bytes since this peer was opened ({@code mi_process_info}'s peak_commit
     * counted from a statistics reset done at open). Process-wide: mimalloc used by another peer
     * opened later resets the peak again, and use beside this one counts too.
     */
    @Override
    public long peakReservedBytes() {
        return peakFromOpen ? NativeHeapStats.mimallocPeak() : -1;
    }

    @Override
    public void close() {
    }
}
