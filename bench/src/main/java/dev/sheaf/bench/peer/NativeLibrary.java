package dev.sheaf.bench.peer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Downcall handles for a C allocator's {@code malloc(size_t)} and {@code free(void*)} pair.
 * Both are linked as critical functions ({@code Linker.Option.critical(false)}: no thread-state
 * transition, no heap access), the cheapest downcall the JDK offers, so the peers are not
 * handicapped by FFM more than necessary.
 */
@SuppressWarnings("restricted") // linking native code; the harness runs with --enable-native-access
record NativeLibrary(MethodHandle malloc, MethodHandle free, String unavailableReason) {

    private static final FunctionDescriptor MALLOC = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
    private static final FunctionDescriptor FREE = FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG);

    /** glibc, mimalloc and tcmalloc, linked once for the peers and {@link DirectNative}. */
    static final NativeLibrary GLIBC = libc();
    static final NativeLibrary MIMALLOC = load("libmimalloc.so.2", "mi_malloc", "mi_free");
    static final NativeLibrary TCMALLOC = load("libtcmalloc_minimal.so.4", "tc_malloc", "tc_free");

    /** The process's own C library (glibc on Linux). */
    static NativeLibrary libc() {
        return link(Linker.nativeLinker().defaultLookup(), "malloc", "free", "libc");
    }

    /** A shared library by file name; missing libraries give a record with only the reason set. */
    static NativeLibrary load(String libraryFile, String mallocSymbol, String freeSymbol) {
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(libraryFile, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new NativeLibrary(null, null, libraryFile + " not found (" + e.getMessage() + ")");
        }
        return link(lookup, mallocSymbol, freeSymbol, libraryFile);
    }

    private static NativeLibrary link(SymbolLookup lookup, String mallocSymbol, String freeSymbol, String library) {
        var m = lookup.find(mallocSymbol);
        var f = lookup.find(freeSymbol);
        if (m.isEmpty() || f.isEmpty()) {
            return new NativeLibrary(null, null, library + " has no " + mallocSymbol + "/" + freeSymbol);
        }
        Linker linker = Linker.nativeLinker();
        Linker.Option critical = Linker.Option.critical(false);
        return new NativeLibrary(linker.downcallHandle(m.get(), MALLOC, critical),
                linker.downcallHandle(f.get(), FREE, critical), null);
    }

    /**
     * Calls a malloc handle. Static, so that a peer passing its own {@code static final} handle
     * still gets it folded to a constant once this method is inlined.
     */
    static long callMalloc(MethodHandle malloc, String peer, long size) {
        long address;
        try {
            address = (long) malloc.invokeExact(size);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (address == 0) {
            throw new OutOfMemoryError(peer + " malloc(" + size + ") returned NULL");
        }
        return address;
    }

    /** Calls a free handle; see {@link #callMalloc}. */
    static void callFree(MethodHandle free, long address) {
        try {
            free.invokeExact(address);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    void requireAvailable(String peer) throws PeerUnavailableException {
        if (unavailableReason != null) {
            throw new PeerUnavailableException(peer + ": " + unavailableReason);
        }
    }
}
