package dev.sheaf.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sheaf.bench.harness.WorkloadResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tables, targets, JSON and charts from a synthetic comparison (numbers chosen so every ratio is known). */
class ReportTest {

    static Comparison sample() {
        List<JmhRow> jmh = List.of(
                new JmhRow("pair", "sheaf-cache", 0, 4.0, 0.1, 0.0),
                new JmhRow("pair", "glibc", 0, 24.0, 0.5, 0.0),
                new JmhRow("pair", "netty-pooled", 0, 120.0, 3, 96.0),
                new JmhRow("burst", "sheaf-cache", 1000, 5000.0, 10, 0.0),
                new JmhRow("burst", "netty-pooled", 1000, 40_000.0, 10, 0.0),
                new JmhRow("pc", "sheaf-cache", 0, 30.0, 1, Double.NaN),
                new JmhRow("pc", "netty-pooled", 0, 45.0, 1, Double.NaN),
                new JmhRow("netty-alloc 1024", "sheaf", 0, 25.0, 1, 0.0),
                new JmhRow("netty-alloc 1024", "netty-adaptive", 0, 50.0, 1, 0.0),
                new JmhRow("netty-alloc 64", "sheaf", 0, 20.0, 1, 0.0),
                new JmhRow("netty-alloc 64", "netty-adaptive", 0, 30.0, 1, 0.0));
        Histogram h = new Histogram(3);
        for (int i = 1; i <= 10_000; i++) {
            h.recordValue(i);
        }
        List<WorkloadResult> harness = List.of(
                new WorkloadResult("larson", "sheaf-cache", 30_000_000, 1_000_000_000L)
                        .figure(WorkloadResult.ROUNDS, 5).figure(WorkloadResult.MIN_MOPS, 25)
                        .figure(WorkloadResult.MAX_MOPS, 31).figure(WorkloadResult.PEAK_RESERVED_BYTES, 3 * 1024 * 1024),
                new WorkloadResult("larson", "glibc", 10_000_000, 1_000_000_000L)
                        .figure(WorkloadResult.ROUNDS, 5).figure(WorkloadResult.MIN_MOPS, 9)
                        .figure(WorkloadResult.MAX_MOPS, 12).figure(WorkloadResult.PEAK_RESERVED_BYTES, -1),
                new WorkloadResult("latency", "sheaf-cache", 10_000, 1_000_000_000L).histogram("alloc", h)
                        .histogram("free", h).note("x doing SlabCache.freeRcu"),
                new WorkloadResult("rcuscale", "sheaf", 1_000_000, 1_000_000_000L).figure("gracePeriods", 12));
        Environment env = new Environment("test cpu", 2, "os", "jdk", "2026-01-01T00:00:00Z");
        return new Comparison(env, "cmd", "quick", jmh, harness, List.of("skipping peer mimalloc: missing"));
    }

    @Test
    void tableShowsRatiosAgainstTheBestSheafRow() {
        Comparison c = sample();
        assertEquals(List.of("sheaf-cache", "glibc", "netty-pooled"), c.peers());
        String text = c.text();
        assertTrue(text.contains("24.0 (6.0x)"), text); // glibc pair 24 ns vs Sheaf 4 ns
        assertTrue(text.contains("10.0 (3.0x)"), text); // larson: 30 vs 10 Mops/s
        assertTrue(text.contains("40.0 (8.0x)"), text); // burst per object: 40 vs 5 ns
    }

    @Test
    void nettyAllocatorRowsAreATableAndAChart(@TempDir Path dir) throws Exception {
        Comparison c = sample();
        assertEquals(List.of("sheaf-cache", "glibc", "netty-pooled"), c.peers(), "no new peer from the Netty rows");
        assertEquals(List.of("netty-alloc 64", "netty-alloc 64", "netty-alloc 1024", "netty-alloc 1024"),
                c.nettyAllocatorRows().stream().map(JmhRow::benchmark).toList());
        String md = c.markdown(Charts.write(c, dir, "t"), List.of());
        assertTrue(md.contains("through ByteBufAllocator"), md);
        assertTrue(md.contains("| 1024 B | sheaf | 25.0 | 0.00 | 2.00x |"), md); // adaptive 50 ns over sheaf 25 ns at 1 KiB
        assertTrue(Files.exists(dir.resolve("t-netty-alloc.png")));
    }

    @Test
    void roundsSpreadAndPeakReservedAreShown() {
        Comparison c = sample();
        String text = c.text();
        assertTrue(text.contains("30.0 (25.0-31.0)"), text); // median (min-max) of sheaf-cache's rounds
        assertTrue(text.contains("10.0 (9.00-12.0)"), text);
        assertTrue(text.contains("larson (5 rounds)"), text);
        assertTrue(text.contains("3.0") && text.contains("n/a"), text); // 3 MiB; glibc not exposed here
        String md = c.markdown(List.of(), List.of("a.json"));
        assertTrue(md.contains("### Harness rounds and spread") && md.contains("| 30.0 (25.0-31.0) |"), md);
        assertTrue(md.contains("### Peak reserved memory") && md.contains("| n/a |"), md);
    }

    @Test
    void targetsAreCheckedAndMissesSaidSo() {
        List<String> t = sample().targets();
        assertTrue(t.contains("MET     sheaf-cache single-thread pair <= 5 ns: 4.00 ns"), t.toString());
        assertTrue(t.contains("MET     sheaf-cache pair >= 4x faster than glibc via FFM: 6.00x"), t.toString());
        assertTrue(t.contains("MISSED  sheaf-cache producer/consumer >= 2x faster than netty-pooled: 1.50x"),
                t.toString());
        assertTrue(t.stream().anyMatch(s -> s.startsWith("MISSED  sheaf-cache alloc p99.99 < 2 us")), t.toString());
    }

    @Test
    void markdownChartsAndJson(@TempDir Path dir) throws Exception {
        Comparison c = sample();
        List<String> charts = Charts.write(c, dir, "t");
        assertEquals(List.of("t-jmh-ns.png", "t-netty-alloc.png", "t-harness-throughput.png", "t-latency-alloc.png",
                        "t-latency-free.png"),
                charts);
        for (String f : charts) {
            byte[] png = Files.readAllBytes(dir.resolve(f));
            assertTrue(png.length > 5_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', f);
        }
        String md = c.markdown(charts, List.of("a.json"));
        assertTrue(md.contains("| peer | pair ns |"), md);
        assertTrue(md.contains("![t-jmh-ns.png](t-jmh-ns.png)"), md);
        assertTrue(md.contains("**missed**"), md);
        Path json = ResultsWriter.writeHarness(dir, "h", c.harness(), "cmd");
        String s = Files.readString(json);
        assertTrue(s.contains("\"workload\": \"larson\"") && s.contains("\"p99.99\""), s);
        assertTrue(Files.exists(dir.resolve("h-latency-sheaf-cache-alloc.hgrm")));
    }

    @Test
    void jsonEscapesAndNumbers() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a\"b\\c\n");
        m.put("d", 1.0 / 3);
        m.put("n", Double.NaN);
        m.put("l", List.of(1, 2L));
        m.put("e", Map.of());
        assertEquals("{\n  \"s\": \"a\\\"b\\\\c\\n\",\n  \"d\": 0.333333,\n  \"n\": null,\n  \"l\": [\n    1,\n    2\n  ],\n"
                + "  \"e\": {}\n}\n", Json.write(m));
    }
}
