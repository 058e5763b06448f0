package dev.sheaf.examples;

import dev.sheaf.bench.harness.Harness;
import dev.sheaf.bench.harness.LarsonWorkload;
import dev.sheaf.bench.harness.WorkloadConfig;
import dev.sheaf.bench.harness.WorkloadResult;
import dev.sheaf.bench.peer.AllocatorPeer;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * README recipe "A benchmark harness": your own allocator as a peer, measured beside Sheaf on the
 * harness's Larson workload. The README's code block is the region between the example markers.
 */
public final class BenchmarkHarness {

    private BenchmarkHarness() {
    }

    // example:begin peer
    /** glibc's calloc as a peer: any allocator that hands out addresses fits the same way. */
    public static final class CallocPeer implements AllocatorPeer {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MethodHandle CALLOC = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("calloc"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("free"),
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG));

        @Override
        public String name() {
            return "calloc";
        }

        @Override
        public long allocate(long size) {          // the handle is the address itself
            long p;
            try {
                p = (long) CALLOC.invokeExact(1L, size);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (p == 0) {
                throw new OutOfMemoryError("calloc(" + size + ")");
            }
            return p;
        }

        @Override
        public void free(long handle, long size) {
            try {
                FREE.invokeExact(handle);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public void close() {
        }
    }
    // example:end peer

    /**
     * Runs the recipe: three interleaved rounds of 50 ms per peer.
     *
     * @param args unused
     * @return the results, one per peer
     * @throws InterruptedException interrupted while a workload runs
     */
    public static List<WorkloadResult> run(String[] args) throws InterruptedException {
        // example:begin run
        List<WorkloadResult> results = Harness.runPeerWorkloads(List.of(new LarsonWorkload()),
                List.of("sheaf-cache", CallocPeer.class.getName()), WorkloadConfig.defaults(0.05), 3, System.out);
        for (WorkloadResult r : results) {
            System.out.printf("%s on %s: %.1f Mops/s%n", r.workload(), r.peer(), r.opsPerSecond() / 1e6);
        }
        // example:end run
        return results;
    }

    /**
     * Runs the recipe.
     *
     * @param args unused
     * @throws InterruptedException interrupted while a workload runs
     */
    public static void main(String[] args) throws InterruptedException {
        run(args);
    }
}
