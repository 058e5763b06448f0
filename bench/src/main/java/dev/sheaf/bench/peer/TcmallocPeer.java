package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandle;

/** gperftools tcmalloc (libtcmalloc_minimal.so.4, Debian package libtcmalloc-minimal4) tc_malloc/tc_free through an FFM critical downcall. */
public final class TcmallocPeer implements AllocatorPeer {
    public static final String NAME = "tcmalloc";

    private static final NativeLibrary LIBRARY = NativeLibrary.TCMALLOC;
    // static final, so the JIT treats the handles as constants and inlines the downcall stubs
    private static final MethodHandle MALLOC = LIBRARY.malloc();
    private static final MethodHandle FREE = LIBRARY.free();

    private final NativeHeapStats.EndOfRoundMax footprint = new NativeHeapStats.EndOfRoundMax();

    private TcmallocPeer() {
    }

    /** @throws PeerUnavailableException when the library is not installed */
    public static TcmallocPeer open() throws PeerUnavailableException {
        LIBRARY.requireAvailable(NAME);
        return new TcmallocPeer();
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
     * The largest {@code generic.heap_size} sampled by calls to this method: tcmalloc reports its
     * current heap only.
     */
    @Override
    public long peakReservedBytes() {
        return footprint.sample(NativeHeapStats.tcmallocHeapSize());
    }

    @Override
    public void close() {
    }
}
