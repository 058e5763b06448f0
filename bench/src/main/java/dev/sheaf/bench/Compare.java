package dev.sheaf.bench;

import dev.sheaf.bench.harness.Harness;
import dev.sheaf.bench.harness.Rounds;
import dev.sheaf.bench.harness.SheafExperiment;
import dev.sheaf.bench.harness.WorkloadConfig;
import dev.sheaf.bench.harness.WorkloadResult;
import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
import dev.sheaf.bench.report.Charts;
import dev.sheaf.bench.report.Comparison;
import dev.sheaf.bench.report.Environment;
import dev.sheaf.bench.report.JmhRow;
import dev.sheaf.bench.report.ReadmeResults;
import dev.sheaf.bench.report.ResultsWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The README's main job: Sheaf against every peer in one command.
 *
 * <p>Runs the JMH single-thread, burst and producer/consumer benchmarks (forked JVMs, {@code -prof gc})
 * for every peer available on this machine, then the HdrHistogram harness workloads and Sheaf's own
 * experiments in this JVM, prints a table with Sheaf-versus-peer ratios and the targets, and writes
 * the JMH JSON, the harness JSON and {@code .hgrm} files, PNG charts and a generated
 * {@code README.md} into {@code -Dsheaf.results} (default {@code jmh-results}). A quick run written into
 * the repository's {@code jmh-results} also rewrites the repository README's summary table and
 * chart ({@link ReadmeResults}).
 *
 * <p>Profiles ({@code -Dsheaf.profile}): {@code quick} (about 6 minutes on 2 cores: one fork,
 * 3 x 0.4 s warm-up, 4 x 0.4 s measurement, bursts of 100 and 1000, harness peer workloads in 5 interleaved
 * rounds of 0.3 s per peer (median reported, the first round also warms the JIT up); two-thread JMH rows such as
 * producer/consumer need the longer warm-up, their JIT threads compete with two busy threads) and {@code full} (one fork,
 * 3 x 1 s warm-up, 5 x 1 s measurement, bursts of 25 to 1600, 5 rounds of 1 s per harness peer workload).
 * {@code -Dsheaf.rounds=N} changes the number of harness rounds; the latency workload runs once for as long
 * as the rounds of the others together ({@link dev.sheaf.bench.harness.Workload#interleavedRounds()}).
 * {@code -Dsheaf.jmh.verbose=true} shows JMH's own output.
 */
public final class Compare {

    private Compare() {
    }

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        String profile = System.getProperty("sheaf.profile", "quick");
        boolean full = "full".equals(profile);
        Path out = Path.of(System.getProperty("sheaf.results", "jmh-results"));
        String command = System.getProperty("sheaf.command",
                "./mvnw -q -pl bench -am package -DskipTests -Pcompare" + (full ? " -Dsheaf.profile=full" : ""));
        PrintStream o = System.out;
        Environment env = Environment.current();
        o.println("Sheaf comparison, " + profile + " profile, " + env.oneLine());

        List<String> notes = new ArrayList<>();
        ByteArrayOutputStream skipped = new ByteArrayOutputStream();
        List<String> peers = Peers.available(Peers.selected(), new PrintStream(skipped, true, StandardCharsets.UTF_8));
        for (String line : skipped.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                o.println(line);
                notes.add(line.replaceFirst("^note: ", ""));
            }
        }
        List<String> crossThread = new ArrayList<>();
        for (String p : peers) {
            try (AllocatorPeer peer = Peers.open(p, 64)) {
                if (peer.crossThreadFree()) {
                    crossThread.add(p);
                }
            } catch (PeerUnavailableException e) {
                // listed as available a moment ago; leave it out
            }
        }

        List<RunResult> jmh = new ArrayList<>();
        // The quick profile keeps one burst within two sheaves (100) and one past them (1000).
        String[] bursts = full ? new String[] {"25", "100", "400", "1000", "1600"} : new String[] {"100", "1000"};
        o.printf(Locale.ROOT, "JMH: pair and burst for %d peers ...%n", peers.size());
        jmh.addAll(runJmh(full, AllocatorBenchmark.class.getName() + "\\.pair$", peers, null));
        jmh.addAll(runJmh(full, AllocatorBenchmark.class.getName() + "\\.burst$", peers, bursts));
        o.printf(Locale.ROOT, "JMH: producer/consumer for %d peers ...%n", crossThread.size());
        jmh.addAll(runJmh(full, ProducerConsumerBenchmark.class.getName() + "\\.pc", crossThread, null));
        List<String> nettyPeers = peers.stream().filter(p -> p.startsWith("netty-")).toList();
        if (!nettyPeers.isEmpty()) {
            o.println("JMH: Netty through its own API ...");
            jmh.addAll(runJmh(full, NettyNativeApiBenchmark.class.getName() + "\\.(pair|burst)$", nettyPeers,
                    new String[] {"1000"}));
            o.println("JMH: ByteBufAllocator allocate+release, Sheaf's against Netty's ...");
            List<String> allocators = new ArrayList<>(List.of(NettyAllocatorBenchmark.SHEAF));
            allocators.addAll(nettyPeers);
            jmh.addAll(runJmh(full, NettyAllocatorBenchmark.class.getName() + "\\.pair$", allocators, null));
        }
        o.println("JMH: hot paths (direct native anchors, handles, factory threads, freeRcu, read side) ...");
        jmh.addAll(new Runner(options(full).include(HotPathBenchmark.class.getName()).build()).run());
        jmh.addAll(new Runner(options(full).include(FactoryThreadBenchmark.class.getName()).build()).run());
        jmh.addAll(new Runner(options(full).include(HotBurstBenchmark.class.getName())
                .param("burst", full ? new String[] {"100", "400", "1000", "1600"} : new String[] {"100", "1000"})
                .build()).run());
        jmh.addAll(new Runner(options(full).include(FreeRcuBenchmark.class.getName()).param("drain", "caller")
                .build()).run());
        jmh.addAll(new Runner(options(full).include(RcuReadBenchmark.class.getName()
                + "\\.(ebrHandle|ebrImplicit|membHandle|membImplicit|qsbrImplicit|stampedLockOptimistic)$").build()).run());
        if (full) {
            o.println("JMH: off-heap cache ...");
            jmh.addAll(new Runner(options(true).include(OffHeapCacheBenchmark.class.getName()).build()).run());
        }
        Files.createDirectories(out);
        Path jmhJson = out.resolve("compare-" + profile + "-jmh.json");
        try (PrintStream ps = new PrintStream(Files.newOutputStream(jmhJson), false, StandardCharsets.UTF_8)) {
            ResultFormatFactory.getInstance(ResultFormatType.JSON, ps).writeOut(jmh);
        }
        o.printf(Locale.ROOT, "JMH done in %.0f s%n", (System.nanoTime() - t0) / 1e9);

        // seconds per round: with 5 rounds each peer gets 1.5 s (quick) or 5 s (full) per workload
        WorkloadConfig config = WorkloadConfig.defaults(full ? 1 : 0.3);
        int rounds = Integer.getInteger("sheaf.rounds", Rounds.DEFAULT);
        List<WorkloadResult> harness = new ArrayList<>(
                Harness.runPeerWorkloads(Harness.peerWorkloads(), peers, config, rounds, o));
        for (SheafExperiment e : SheafExperiment.all(full)) {
            harness.addAll(e.run(config, o));
        }
        String base = "compare-" + profile;
        Path harnessJson = ResultsWriter.writeHarness(out.resolve("harness"), base, harness, command);

        Comparison comparison = new Comparison(env, command, profile, JmhRow.from(jmh), harness, notes);
        List<String> charts = Charts.write(comparison, out, base);
        List<String> files = List.of(out.relativize(jmhJson).toString(), out.relativize(harnessJson).toString());
        Files.writeString(out.resolve("README.md"), comparison.markdown(charts, files), StandardCharsets.UTF_8);
        // a quick run written into the repository's jmh-results also refreshes the repository README's table
        Path repository = out.toAbsolutePath().getParent();
        if (!full && repository != null && Files.isRegularFile(repository.resolve("README.md"))
                && Files.readString(repository.resolve("README.md")).contains(ReadmeResults.BEGIN)) {
            ReadmeResults.main(new String[] {repository.toString()});
        }
        o.println();
        o.print(comparison.text());
        o.printf(Locale.ROOT, "%nwrote %s, %s, %s and README.md under %s in %.0f s%n", jmhJson.getFileName(),
                harnessJson.getFileName(), String.join(", ", charts), out.toAbsolutePath(),
                (System.nanoTime() - t0) / 1e9);
    }

    private static java.util.Collection<RunResult> runJmh(boolean full, String include, List<String> peers,
                                                          String[] bursts) throws RunnerException {
        if (peers.isEmpty()) {
            return List.of();
        }
        ChainedOptionsBuilder b = options(full).include(include).param("peer", peers.toArray(String[]::new));
        if (bursts != null) {
            b.param("burst", bursts);
        }
        return new Runner(b.build()).run();
    }

    private static ChainedOptionsBuilder options(boolean full) {
        ChainedOptionsBuilder b = new OptionsBuilder()
                .addProfiler(GCProfiler.class)
                .forks(1)
                .shouldFailOnError(false)
                .verbosity(Boolean.getBoolean("sheaf.jmh.verbose") ? VerboseMode.NORMAL : VerboseMode.SILENT);
        if (full) {
            b.warmupIterations(3).warmupTime(TimeValue.seconds(1)).measurementIterations(5)
                    .measurementTime(TimeValue.seconds(1));
        } else {
            b.warmupIterations(3).warmupTime(TimeValue.milliseconds(400)).measurementIterations(4)
                    .measurementTime(TimeValue.milliseconds(400));
        }
        return b;
    }
}
