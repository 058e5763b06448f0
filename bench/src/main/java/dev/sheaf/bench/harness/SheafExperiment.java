package dev.sheaf.bench.harness;

import java.io.PrintStream;
import java.util.List;

/** A harness experiment specific to Sheaf (rcuscale, the off-heap cache), not run per peer. */
public interface SheafExperiment {
    String name();

    List<WorkloadResult> run(WorkloadConfig config, PrintStream out) throws InterruptedException;

    /** Every Sheaf experiment, sized for the profile ({@code full} runs longer). */
    static List<SheafExperiment> all(boolean full) {
        return List.of(new RcuScale(full ? 200 : 25), new OffHeapCacheExperiment(full ? 1_000_000 : 100_000));
    }
}
