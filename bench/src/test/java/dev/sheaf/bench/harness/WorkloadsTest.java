package dev.sheaf.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.ConfinedArenaPeer;
import dev.sheaf.bench.peer.NettyPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every harness workload runs briefly on every peer that supports it: it must do work, record
 * non-empty histograms, free every object (the workloads themselves throw on a lost or
 * overwritten object) and leave the peer with nothing live.
 */
class WorkloadsTest {
    private static final WorkloadConfig BRIEF = new WorkloadConfig(0.05, 2, 8, 1000, 100, 20_000, 3);

    static List<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Workload w : Harness.peerWorkloads()) {
            for (String p : Peers.ALL) {
                cases.add(Arguments.of(w.name(), p));
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void runsBrieflyAndKeepsItsInvariants(String workloadName, String peerName) throws InterruptedException {
        Workload w = Harness.peerWorkloads().stream().filter(x -> x.name().equals(workloadName)).findFirst()
                .orElseThrow();
        AllocatorPeer peer;
        try {
            peer = w.open(peerName, BRIEF);
        } catch (PeerUnavailableException e) {
            Assumptions.abort(e.getMessage());
            return;
        }
        try (peer) {
            String why = w.unsupportedReason(peer, BRIEF);
            Assumptions.assumeTrue(why == null, () -> peerName + ": " + why);
            WorkloadResult r = w.run(peer, BRIEF);
            assertEquals(workloadName, r.workload());
            assertEquals(peerName, r.peer());
            assertTrue(r.operations() > 0, "no operations");
            assertTrue(r.elapsedNanos() > 0);
            for (Histogram h : r.histograms().values()) {
                assertTrue(h.getTotalCount() > 0, "empty histogram");
            }
            if (w instanceof LatencyUnderFloodWorkload) {
                assertTrue(r.histograms().containsKey("alloc") && r.histograms().containsKey("free"));
            }
            if (peer instanceof NettyPeer n) {
                assertEquals(0, n.liveHandles(), "objects left allocated");
            } else if (peer instanceof ConfinedArenaPeer a) {
                assertEquals(0, a.liveHandles(), "objects left allocated");
            }
            if (!(w instanceof LatencyUnderFloodWorkload)) { // deferred frees may still be pending
                long live = peer.liveBytes();
                assertTrue(live == -1 || live == 0, "live bytes left: " + live);
            }
        }
    }

    @Test
    void harnessSelfTestPasses() throws InterruptedException {
        List<WorkloadResult> results = Harness.selfTest(System.out);
        assertTrue(results.size() >= Harness.peerWorkloads().size(), "glibc alone runs every workload");
        for (String w : List.of("larson-fresh", "producer-consumer")) {
            assertTrue(results.stream().anyMatch(r -> r.workload().equals(w) && r.peer().equals("glibc")), w);
        }
        for (WorkloadResult r : results) {
            assertEquals(1.0, r.figures().get(WorkloadResult.ROUNDS), r.workload() + " selftest runs one round");
        }
    }

    /** Rounds interleave across peers; every peer reports its median with the spread and its peak reserved bytes. */
    @Test
    void peerWorkloadsReportTheMedianRoundWithSpreadAndPeak() throws InterruptedException {
        WorkloadConfig brief = BRIEF.withSeconds(0.02);
        List<String> peers = Peers.available(List.of(Peers.SHEAF_MALLOC, "glibc", NettyPeer.POOLED), System.out);
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        List<WorkloadResult> results = Harness.runPeerWorkloads(List.of(new LarsonFreshThreadWorkload()), peers, brief,
                3, new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(peers.size(), results.size());
        for (WorkloadResult r : results) {
            double median = r.opsPerSecond() / 1e6;
            assertEquals(3.0, r.figures().get(WorkloadResult.ROUNDS));
            assertTrue(r.figures().get(WorkloadResult.MIN_MOPS) <= median
                    && median <= r.figures().get(WorkloadResult.MAX_MOPS), r.figures().toString());
            assertTrue(r.note().contains("median of 3 rounds"), r.note());
            assertTrue(r.figures().get("threadGenerations") >= 2, "a fresh thread per generation, per lineage");
            double peak = r.figures().get(WorkloadResult.PEAK_RESERVED_BYTES);
            if (r.peer().equals(NettyPeer.POOLED)) {
                assertEquals(-1.0, peak, "netty does not expose it");
            } else {
                assertTrue(peak > 0, r.peer() + " peak reserved " + peak);
            }
        }
        String text = log.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(text.contains("3 rounds interleaved across peers"), text);
        if (peers.contains(NettyPeer.POOLED)) {
            assertTrue(text.contains("peakReserved=n/a"), text);
        }
    }

    /** The latency workload runs once per peer whatever the rounds (its Javadoc says why). */
    @Test
    void latencyRunsOnce() throws InterruptedException {
        List<WorkloadResult> results = Harness.runPeerWorkloads(List.of(new LatencyUnderFloodWorkload()),
                List.of(Peers.SHEAF_MALLOC), BRIEF.withSeconds(0.01), 5, System.out);
        assertEquals(2, results.size(), "the floor and the peer");
        for (WorkloadResult r : results) {
            assertEquals(1.0, r.figures().get(WorkloadResult.ROUNDS));
        }
    }

    @Test
    void configRejectsNonsense() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new WorkloadConfig(0, 1, 8, 8, 1, 1, 0));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new WorkloadConfig(1, 1, 16, 8, 1, 1, 0));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new WorkloadConfig(1, 0, 8, 8, 1, 1, 0));
    }

    @Test
    void latencyNeverPlansMoreThreadsThanCores() {
        assertEquals(1, LatencyUnderFloodWorkload.floodThreads(BRIEF.withThreads(8), 2));
        assertEquals(1, LatencyUnderFloodWorkload.floodThreads(BRIEF.withThreads(1), 2), "at least one flood thread");
        assertEquals(3, LatencyUnderFloodWorkload.floodThreads(BRIEF.withThreads(4), 8));
    }

    /** The latency workload runs its machine floor (no allocator) first, through the same loop. */
    @Test
    void latencyFloorRunsWithoutAnAllocator() throws Exception {
        LatencyUnderFloodWorkload w = new LatencyUnderFloodWorkload();
        assertEquals(java.util.List.of(LatencyUnderFloodWorkload.floorName()), w.baselines());
        try (AllocatorPeer floor = w.open(LatencyUnderFloodWorkload.floorName(), BRIEF)) {
            long a = floor.allocate(64);
            assertEquals(a, floor.allocate(64), "one block per thread, reused");
            WorkloadResult r = w.run(floor, BRIEF);
            assertEquals(LatencyUnderFloodWorkload.floorName(), r.peer());
            assertTrue(r.histograms().get("alloc").getTotalCount() > 0, "floor latencies recorded");
            assertTrue(r.note().endsWith("doing " + floor.deferredFreeKind()), r.note());
        }
    }

    /** The run counts its threads and gives every thread its CPU affinity back. */
    @Test
    void latencyCountsThreadsAndRestoresAffinity() throws Exception {
        java.util.BitSet before = CpuAffinity.get(0);
        LatencyUnderFloodWorkload w = new LatencyUnderFloodWorkload();
        try (AllocatorPeer peer = w.open(Peers.SHEAF_MALLOC, BRIEF)) {
            WorkloadResult r = w.run(peer, BRIEF);
            int cores = Runtime.getRuntime().availableProcessors();
            assertEquals(1 + LatencyUnderFloodWorkload.floodThreads(BRIEF, cores), r.figures().get("threads"));
            assertTrue(r.note().endsWith("doing " + peer.deferredFreeKind()), r.note());
            if (java.nio.file.Files.exists(java.nio.file.Path.of("/proc/thread-self/schedstat"))) {
                assertTrue(r.figures().get("latencyThreadWaitedMs") >= 0, "CPU wait of the latency thread reported");
            }
        }
        assertEquals(before, CpuAffinity.get(0), "the calling thread's CPUs are restored");
    }
}
