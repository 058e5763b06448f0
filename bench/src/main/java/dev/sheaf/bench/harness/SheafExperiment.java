package dev.sheaf.bench.harness;

import java.io.PrintStream;
import java.util.List;

/** A harness experiment specific to Sheaf (rcuscale, the off-heap cache), not run per peer. */
public interface SheafExperiment {
    String name();

    List<WorkloadResult> run(WorkloadConfig config, PrintStream out) throws InterruptedException;

    /** Every Sheaf experiment; empty until the allocator module is built. */
    static List<SheafExperiment> all() {
        return List.of();
    }
}
