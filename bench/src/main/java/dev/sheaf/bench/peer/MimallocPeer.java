package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandle;

/** mimalloc (libmimalloc.so.2, Debian package libmimalloc2.0) mi_malloc/mi_free through an FFM critical downcall. */
public final class MimallocPeer implements AllocatorPeer {
    public static final String NAME = "mimalloc";

    private static final NativeLibrary LIBRARY = NativeLibrary.MIMALLOC;
    // static final, so the JIT treats the handles as constants and inlines the downcall stubs
    private static final MethodHandle MALLOC = LIBRARY.malloc();
    private static final MethodHandle FREE = LIBRARY.free();

    private MimallocPeer() {
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

    @Override
    public void close() {
    }
}
