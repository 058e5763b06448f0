package dev.sheaf.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** rcuscale and the off-heap cache experiment, run briefly: they finish, free everything, report their figures. */
class SheafExperimentsTest {
    private static final WorkloadConfig BRIEF = new WorkloadConfig(0.1, 2, 8, 1000, 100, 20_000, 5);

    @Test
    void rcuscaleEveryModeFreesEverythingAndPrintsTheKernelShape() throws InterruptedException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<WorkloadResult> results = new RcuScale(1).run(BRIEF, new PrintStream(buf, true, StandardCharsets.UTF_8));
        assertEquals(5, results.size());
        for (WorkloadResult r : results) {
            assertEquals(2 * 8000, r.operations()); // RcuScale itself throws if anything is still live after the barrier
            assertTrue(r.figures().get("gracePeriods") >= 0);
            assertTrue(r.figures().containsKey("peakPendingMB"));
            assertTrue(r.note().contains("warm-up: 1 loops unmeasured"), r.note()); // measured loops only in operations
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("Total time taken by all kfree'ers:") && out.contains("memory footprint:"), out);
    }

    @Test
    void offHeapCacheExperimentChecksEveryValue() throws InterruptedException {
        List<WorkloadResult> results = new OffHeapCacheExperiment(2000).run(BRIEF, System.out);
        assertEquals(List.of("sheaf-rcu-map", "sheaf-refcount-map", "heap-chm"),
                results.stream().map(WorkloadResult::peer).toList());
        for (WorkloadResult r : results) {
            assertTrue(r.figures().get("getsPerSecond") > 0, r.peer());
            assertTrue(r.figures().get("putsPerSecond") > 0, r.peer());
            if (r.peer().startsWith("sheaf")) { // the heap figure is a GC-noisy estimate at this size
                assertTrue(r.figures().get("bytesPerEntry") > 64, r.peer() + " holds 64-byte values");
            }
            assertTrue(r.histograms().get("get").getTotalCount() > 0);
        }
    }
}
