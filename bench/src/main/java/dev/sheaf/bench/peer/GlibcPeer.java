package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandle;

/** glibc malloc/free through an FFM critical downcall. */
public final class GlibcPeer implements AllocatorPeer {
    public static final String NAME = "glibc";

    private static final NativeLibrary LIBRARY = NativeLibrary.GLIBC;
    // static final, so the JIT treats the handles as constants and inlines the downcall stubs
    private static final MethodHandle MALLOC = LIBRARY.malloc();
    private static final MethodHandle FREE = LIBRARY.free();

    private final NativeHeapStats.EndOfRoundMax footprint = new NativeHeapStats.EndOfRoundMax();

    private GlibcPeer() {
    }

    /** @throws PeerUnavailableException when the library is not installed */
    public static GlibcPeer open() throws PeerUnavailableException {
        LIBRARY.requireAvailable(NAME);
        return new GlibcPeer();
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
     * The largest mallinfo2 {@code arena + hblkhd} sampled by calls to this method: glibc reports its
     * current footprint only, and for the whole process (the JVM's own mallocs included).
     */
    @Override
    public long peakReservedBytes() {
        return footprint.sample(NativeHeapStats.glibcFootprint());
    }

    @Override
    public void close() {
    }
}
