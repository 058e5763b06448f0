package dev.sheaf.allocator.memory;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/*
 * Implementation notes.
 *
 * The few libc entry points the allocator needs, bound once through the native Linker:
 * mmap/munmap/madvise for PageSource and sched_getcpu for the per-carrier magazine slots.
 * mmap, munmap and madvise may take a while (page-table work proportional to the range), so
 * they are ordinary downcalls; sched_getcpu is a vDSO read of a few nanoseconds and never
 * blocks, so it is bound with Linker.Option.critical(false), which skips the thread-state
 * transition. The constants are the Linux values (identical on x86_64 and aarch64); on other
 * systems AVAILABLE is false and PageSource falls back to Arena memory.
 */
// Restricted FFM methods are this class's purpose (libc bindings, the all-addresses segment); the
// module is run with --enable-native-access=dev.sheaf.allocator (ALL-UNNAMED on the class path).
@SuppressWarnings("restricted")
public final class NativeMemory {

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int MADV_DONTNEED = 4;

    /** Every address, for loads and stores of in-object links after validation. */
    public static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    public static final boolean AVAILABLE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle SCHED_GETCPU;

    static {
        boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
        MethodHandle mmap = null, munmap = null, madvise = null, getcpu = null;
        if (linux) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                ValueLayout.OfLong sizeT = ValueLayout.JAVA_LONG;
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, sizeT,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, sizeT));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, sizeT));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, sizeT, ValueLayout.JAVA_INT));
                Optional<MemorySegment> cpu = libc.find("sched_getcpu");
                if (cpu.isPresent()) {
                    getcpu = linker.downcallHandle(cpu.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT),
                            Linker.Option.critical(false));
                }
            } catch (RuntimeException | LinkageError e) {
                mmap = munmap = madvise = getcpu = null;
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
        SCHED_GETCPU = getcpu;
        AVAILABLE = mmap != null && munmap != null && madvise != null;
    }

    private NativeMemory() { }

    /** Reserves {@code bytes} of private anonymous memory without swap reservation; 0 on failure. */
    public static long mmapReserve(long bytes) {
        try {
            MemorySegment r = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            long address = r.address();
            return address == -1L ? 0L : address;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed", t);
        }
    }

    public static void munmap(long address, long bytes) {
        try {
            int rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
            if (rc != 0) {
                throw new IllegalStateException("munmap failed: " + rc);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }

    /** Gives the pages of the range back to the OS; the range stays mapped and reads as zero. */
    public static void madviseDontNeed(long address, long bytes) {
        try {
            int rc = (int) MADVISE.invokeExact(MemorySegment.ofAddress(address), bytes, MADV_DONTNEED);
            if (rc != 0) {
                throw new IllegalStateException("madvise failed: " + rc);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("madvise failed", t);
        }
    }

    public static boolean hasCpuId() {
        return SCHED_GETCPU != null;
    }

    /** The CPU the calling (carrier) thread runs on now; -1 if unknown. */
    public static int currentCpu() {
        try {
            return (int) SCHED_GETCPU.invokeExact();
        } catch (Throwable t) {
            return -1;
        }
    }
}
