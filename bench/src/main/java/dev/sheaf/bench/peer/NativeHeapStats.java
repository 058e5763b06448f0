package dev.sheaf.bench.peer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Implementation notes
 *
 * What each C allocator says about the memory it holds, read through ordinary (non-critical)
 * downcalls: these functions take the allocators' locks, and they are called once per harness round,
 * never on a hot path, so the confined arena each call allocates its out-parameters from is fine.
 *
 * - glibc: mallinfo2() returns a struct of ten size_t by value; arena (bytes obtained with sbrk,
 *   all arenas) plus hblkhd (bytes in mmap'd chunks) is its current footprint. It counts the
 *   JVM's own malloc use too. Current only: the peer keeps the largest sample (EndOfRoundMax).
 * - mimalloc: mi_process_info(8 x size_t*) gives current_commit and peak_commit (out-parameters 6
 *   and 7), both from mimalloc's global "committed" statistic. The peak only grows over the
 *   process, so opening a peer resets mimalloc's statistics (mi_stats_reset): from then on current
 *   and peak count the change since the reset (current may go negative), so the absolute commit
 *   at a reset is the base of the previous reset plus the current then (mimallocBase, summed over
 *   resets), and the peak since the reset is that base plus the peak change. mi_stats_reset only
 *   clears counters; it does not change allocation.
 * - tcmalloc: MallocExtension_GetNumericProperty("generic.heap_size", size_t*) (the C entry of
 *   gperftools' MallocExtension) is its current heap; current only, like glibc.
 *
 * Every function is looked up once; a missing library or symbol makes its reading -1.
 *
 * Map: glibcFootprint, mimallocCommit/ResetPeak/Peak, tcmallocHeapSize (the readings),
 * EndOfRoundMax (the largest sample of a current-only reading), the lookups at the bottom.
 */

/** Footprint readings of the native peers' allocators; -1 where a reading is not available. */
@SuppressWarnings("restricted") // linking native code; the harness runs with --enable-native-access
final class NativeHeapStats {
    private static final StructLayout MALLINFO2_STRUCT = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("arena"), ValueLayout.JAVA_LONG.withName("ordblks"),
            ValueLayout.JAVA_LONG.withName("smblks"), ValueLayout.JAVA_LONG.withName("hblks"),
            ValueLayout.JAVA_LONG.withName("hblkhd"), ValueLayout.JAVA_LONG.withName("usmblks"),
            ValueLayout.JAVA_LONG.withName("fsmblks"), ValueLayout.JAVA_LONG.withName("uordblks"),
            ValueLayout.JAVA_LONG.withName("fordblks"), ValueLayout.JAVA_LONG.withName("keepcost"));
    private static final int MI_OUT_PARAMS = 8;
    private static final int MI_CURRENT_COMMIT = 5;
    private static final int MI_PEAK_COMMIT = 6;

    private static final MethodHandle MALLINFO2 = find(Linker.nativeLinker().defaultLookup(), "mallinfo2",
            FunctionDescriptor.of(MALLINFO2_STRUCT));
    private static final MethodHandle MI_PROCESS_INFO = find(library("libmimalloc.so.2"), "mi_process_info",
            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS));
    private static final MethodHandle MI_STATS_RESET = find(library("libmimalloc.so.2"), "mi_stats_reset",
            FunctionDescriptor.ofVoid());
    private static final MethodHandle TC_NUMERIC_PROPERTY = find(library("libtcmalloc_minimal.so.4"),
            "MallocExtension_GetNumericProperty",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));

    private NativeHeapStats() {
    }

    /** glibc's arena + hblkhd from mallinfo2 (the whole process's malloc heap); -1 when unavailable. */
    static long glibcFootprint() {
        if (MALLINFO2 == null) {
            return -1;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2.invokeExact((SegmentAllocator) a);
            return info.get(ValueLayout.JAVA_LONG, 0) + info.get(ValueLayout.JAVA_LONG, 4 * Long.BYTES);
        } catch (Throwable t) {
            throw new IllegalStateException("mallinfo2 failed", t);
        }
    }

    /** mimalloc's absolute committed bytes at the last {@link #mimallocResetPeak()} (0 before any); guarded by the class. */
    private static long mimallocBase;

    /** mimalloc's committed bytes, {@code [current, peak]} since the last reset (or start); null when unavailable. */
    private static long[] mimallocCommit() {
        if (MI_PROCESS_INFO == null) {
            return null;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG, MI_OUT_PARAMS);
            MI_PROCESS_INFO.invokeExact(slot(out, 0), slot(out, 1), slot(out, 2), slot(out, 3), slot(out, 4),
                    slot(out, 5), slot(out, 6), slot(out, 7));
            // signed: after a reset, "current" goes below 0 when more is decommitted than committed
            return new long[] {out.getAtIndex(ValueLayout.JAVA_LONG, MI_CURRENT_COMMIT),
                    out.getAtIndex(ValueLayout.JAVA_LONG, MI_PEAK_COMMIT)};
        } catch (Throwable t) {
            throw new IllegalStateException("mi_process_info failed", t);
        }
    }

    /**
     * Starts a fresh peak: resets mimalloc's statistics, so that {@link #mimallocPeak()} counts from
     * now; returns false when mimalloc or its statistics are unavailable.
     */
    static synchronized boolean mimallocResetPeak() {
        long[] now = mimallocCommit();
        if (now == null || MI_STATS_RESET == null) {
            return false;
        }
        try {
            MI_STATS_RESET.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("mi_stats_reset failed", t);
        }
        mimallocBase += now[0]; // the absolute commit at this reset: the counters now start from it
        return true;
    }

    /** mimalloc's peak committed bytes since the last {@link #mimallocResetPeak()}; -1 when unavailable. */
    static synchronized long mimallocPeak() {
        long[] now = mimallocCommit();
        return now == null ? -1 : mimallocBase + Math.max(0, now[1]);
    }

    /** tcmalloc's "generic.heap_size"; -1 when unavailable. */
    static long tcmallocHeapSize() {
        if (TC_NUMERIC_PROPERTY == null) {
            return -1;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment value = a.allocate(ValueLayout.JAVA_LONG);
            int ok = (int) TC_NUMERIC_PROPERTY.invokeExact(a.allocateFrom("generic.heap_size"), value);
            return ok != 0 ? value.get(ValueLayout.JAVA_LONG, 0) : -1;
        } catch (Throwable t) {
            throw new IllegalStateException("MallocExtension_GetNumericProperty failed", t);
        }
    }

    /** The largest of the samples taken so far of a current-only reading; -1 before any or when unavailable. */
    static final class EndOfRoundMax {
        private final AtomicLong max = new AtomicLong(-1);

        /** Records {@code sample} (ignored when negative) and returns the largest sample so far. */
        long sample(long sample) {
            return max.accumulateAndGet(sample, Math::max);
        }
    }

    private static MemorySegment slot(MemorySegment out, int index) {
        return out.asSlice(index * (long) Long.BYTES, Long.BYTES);
    }

    private static SymbolLookup library(String file) {
        try {
            return SymbolLookup.libraryLookup(file, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return name -> java.util.Optional.empty();
        }
    }

    private static MethodHandle find(SymbolLookup lookup, String symbol, FunctionDescriptor descriptor) {
        return lookup.find(symbol).map(s -> Linker.nativeLinker().downcallHandle(s, descriptor)).orElse(null);
    }
}
