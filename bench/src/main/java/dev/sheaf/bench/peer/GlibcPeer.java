package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandle;

/** glibc malloc/free through an FFM critical downcall. */
public final class GlibcPeer implements AllocatorPeer {
    public static final String NAME = "glibc";

    private static final NativeLibrary LIBRARY = NativeLibrary.libc();
    // static final, so the JIT treats the handles as constants and inlines the downcall stubs
    private static final MethodHandle MALLOC = LIBRARY.malloc();
    private static final MethodHandle FREE = LIBRARY.free();

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
        long address;
        try {
            address = (long) MALLOC.invokeExact(size);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (address == 0) {
            throw new OutOfMemoryError(NAME + " malloc(" + size + ") returned NULL");
        }
        return address;
    }

    @Override
    public void free(long handle, long size) {
        try {
            FREE.invokeExact(handle);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Override
    public void close() {
    }
}
