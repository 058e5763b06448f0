package dev.sheaf.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sheaf.bench.harness.WorkloadResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every README recipe runs, on real memory and real threads. */
class ExamplesTest {

    @Test
    void firstProgram() {
        FirstProgram.main(new String[0]);
    }

    @Test
    void lowLatencyService() throws Exception {
        LowLatencyService.main(new String[0]);
    }

    @Test
    void offHeapCache() throws Exception {
        OffHeapCache.main(new String[0]);
    }

    @Test
    void benchmarkHarness() throws Exception {
        List<WorkloadResult> results = BenchmarkHarness.run(new String[0]);
        assertEquals(List.of("sheaf-cache", "calloc"), results.stream().map(WorkloadResult::peer).toList());
    }

    @Test
    void nettyServer() throws Exception {
        assertEquals("hello", NettyServer.run(new String[0]));
    }
}
