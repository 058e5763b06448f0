package dev.sheaf.bench.peer;

import java.lang.invoke.MethodHandle;

/**
 * The native allocators called straight from a benchmark method: each library's malloc and free
 * are {@code static final} critical downcall handles in a holder class of their own, and these
 * static methods invoke them with no peer interface, no handle table and no null check in between.
 * This is the anchor the hot-path targets are stated against (the cheapest way a JVM user can call
 * a C allocator); a library that is not installed throws {@link PeerUnavailableException} from
 * {@link #require(String)}.
 */
public final class DirectNative {

    private DirectNative() {
    }

    /**
     * Fails unless {@code library} ("glibc", "mimalloc" or "tcmalloc") could be linked.
     *
     * @param library the peer name
     * @throws PeerUnavailableException when the library is not installed
     */
    public static void require(String library) throws PeerUnavailableException {
        switch (library) {
            case GlibcPeer.NAME -> Glibc.LIBRARY.requireAvailable(library);
            case MimallocPeer.NAME -> Mimalloc.LIBRARY.requireAvailable(library);
            case TcmallocPeer.NAME -> Tcmalloc.LIBRARY.requireAvailable(library);
            default -> throw new IllegalArgumentException("no direct binding for " + library);
        }
    }

    /** glibc malloc. @param size bytes @return the address */
    public static long glibcMalloc(long size) {
        return malloc(Glibc.MALLOC, size);
    }

    /** glibc free. @param address an address from {@link #glibcMalloc} */
    public static void glibcFree(long address) {
        free(Glibc.FREE, address);
    }

    /** mi_malloc. @param size bytes @return the address */
    public static long mimallocMalloc(long size) {
        return malloc(Mimalloc.MALLOC, size);
    }

    /** mi_free. @param address an address from {@link #mimallocMalloc} */
    public static void mimallocFree(long address) {
        free(Mimalloc.FREE, address);
    }

    /** tc_malloc. @param size bytes @return the address */
    public static long tcmallocMalloc(long size) {
        return malloc(Tcmalloc.MALLOC, size);
    }

    /** tc_free. @param address an address from {@link #tcmallocMalloc} */
    public static void tcmallocFree(long address) {
        free(Tcmalloc.FREE, address);
    }

    private static long malloc(MethodHandle h, long size) {
        try {
            return (long) h.invokeExact(size);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static void free(MethodHandle h, long address) {
        try {
            h.invokeExact(address);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static final class Glibc {
        static final NativeLibrary LIBRARY = NativeLibrary.GLIBC;
        static final MethodHandle MALLOC = LIBRARY.malloc();
        static final MethodHandle FREE = LIBRARY.free();
    }

    private static final class Mimalloc {
        static final NativeLibrary LIBRARY = NativeLibrary.MIMALLOC;
        static final MethodHandle MALLOC = LIBRARY.malloc();
        static final MethodHandle FREE = LIBRARY.free();
    }

    private static final class Tcmalloc {
        static final NativeLibrary LIBRARY = NativeLibrary.TCMALLOC;
        static final MethodHandle MALLOC = LIBRARY.malloc();
        static final MethodHandle FREE = LIBRARY.free();
    }
}
