package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.HdrHistogram.Histogram;

/**
 * Allocation and free latency on a latency-critical thread while the other threads flood the
 * allocator with deferred frees ({@code freeRcu} on Sheaf; plain {@code free} on peers that have
 * no such thing, named in the result).
 *
 * <h2>Timing</h2>
 * The latency thread works to a fixed schedule ({@code opsPerSecond}): request {@code i} is due at
 * {@code start + i * interval}, and the thread spin-waits for it (it does not run flat out). Allocation
 * latency is measured from the <em>due</em> time, not from when the thread got round to it, so a stall
 * is charged to every request it delays (coordinated omission avoided, as in wrk2 and HdrHistogram's
 * guidance). The free right after it is measured from its own start (its due time is the
 * allocation's end). Each request allocates 64 bytes, writes them, and frees them. The first tenth of
 * the run (at least 200 ms) is JIT warm-up and is not recorded.
 *
 * <h2>Why this shape: no more runnable threads than cores</h2>
 * The question is what the allocator costs a thread that has a CPU, not how the OS scheduler shares
 * two CPUs among four busy threads: with more runnable threads than cores, every peer's p99.99 is a
 * scheduler time slice (milliseconds), which says nothing about the allocator. So, by default:
 * <ul>
 * <li>the latency thread plus the flood threads never outnumber the cores: {@code threads - 1} flood
 *     threads, capped at {@code cores - 1} (one on 2 cores);
 * <li>the flood thread does the deferred-free bookkeeping a dedicated thread would otherwise do: Sheaf is
 *     opened {@linkplain Peers#open(String, long, boolean) caller-driven}, its RCU domain has no worker
 *     thread and the flood thread runs the domain's duty cycle ({@link AllocatorPeer#backgroundDuty()})
 *     every 64 frees; peers without deferred free just free on the flood thread, the same shape;
 * <li>on Linux the latency thread is pinned alone to one CPU and every other thread of the JVM (flood
 *     threads, peers' own threads, JIT and GC threads) to the others, as a latency-critical deployment
 *     would isolate its core; affinities are restored afterwards. {@code -Dsheaf.latency.isolate=false}
 *     turns this off.
 * </ul>
 * Sheaf's {@code freeRcu} drainer runs on the flood thread too (the allocator is built with
 * {@code rcuFreeWorkerThread(false)}, and the duty cycle includes {@code rcuFreeAgent()}).
 *
 * <h2>The floor</h2>
 * Before the peers, the same run is made with no allocator at all ({@link MachineFloor}: each thread
 * reuses one block of its own, a free does nothing). Its percentiles are what the schedule, the
 * clock, the flood on the other CPU and the machine (timer interrupts, hypervisor exits) cost a
 * request by themselves; an allocator's tail means something only above that floor.
 * The result counts the threads: designed ({@code threads}), the most seen runnable at once during
 * warm-up ({@code runnableThreadsMax}, from /proc; includes JIT compiler threads), and those able to
 * run on the latency thread's CPU at the end ({@code threadsOnLatencyCpu}, 0 when isolated). Other
 * processes cannot be kept off the latency CPU from here: {@code latencyThreadWaitedMs} (time the
 * latency thread was runnable but waiting for its CPU during the measurement, from /proc) and
 * {@code latencyThreadPreempted} (its involuntary context switches) say how much they interfered;
 * on a quiet machine both stay near 0, and percentiles from a run where they do not are the
 * machine's, not the allocator's.
 */
public final class LatencyUnderFloodWorkload implements Workload {
    private static final long SIZE = 64;
    private static final long HIGHEST = TimeUnit.SECONDS.toNanos(10);
    /** Flood operations between two background duty cycles on the flood thread. */
    private static final int DUTY_EVERY = 64;
    private static final int RUNNABLE_SAMPLES = 10;

    @Override
    public String name() {
        return "latency";
    }

    @Override
    public String description() {
        return "alloc/free latency (HdrHistogram, fixed rate, coordinated-omission-aware) on an isolated thread "
                + "while a flood thread does deferred frees and the RCU duty cycle";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return SIZE;
    }

    /**
     * Sheaf's RCU grace periods run on the flood thread rather than on a worker thread of their own.
     * {@value MachineFloor#NAME} opens the {@link MachineFloor}: no allocator, the same schedule.
     */
    @Override
    public AllocatorPeer open(String peerName, WorkloadConfig config) throws PeerUnavailableException {
        if (peerName.equals(MachineFloor.NAME)) {
            return new MachineFloor();
        }
        return Peers.open(peerName, maxObjectSize(config), true);
    }

    /** The machine floor first: what a request costs with no allocator in it. */
    @Override
    public java.util.List<String> baselines() {
        return java.util.List.of(MachineFloor.NAME);
    }

    /** The name of the machine-floor row (no allocator) in this workload's results. */
    public static String floorName() {
        return MachineFloor.NAME;
    }

    /**
     * Runs once per peer, not in interleaved rounds: its figures are tail percentiles of a fixed-rate
     * schedule, whose throughput is the set rate, so a median round by throughput would be an arbitrary
     * round; and a p99.99 needs many samples in one histogram (5 rounds of a fifth of the time would
     * each hold a fifth of them, and each pay the warm-up again). The harness gives this one run the
     * time the other workloads' rounds take together.
     */
    @Override
    public boolean interleavedRounds() {
        return false;
    }

    /** Flood threads for {@code config}: {@code threads - 1}, at most {@code cores - 1}, at least 1. */
    static int floodThreads(WorkloadConfig config, int cores) {
        return Math.max(1, Math.min(config.threads(), cores) - 1);
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int cores = Runtime.getRuntime().availableProcessors();
        int flooders = floodThreads(c, cores);
        long interval = Math.max(1, 1_000_000_000L / c.opsPerSecond());
        Histogram alloc = new Histogram(HIGHEST, 3);
        Histogram free = new Histogram(HIGHEST, 3);
        AtomicBoolean stop = new AtomicBoolean();
        Thread[] floodThreads = new Thread[flooders];
        long[] floodCounts = new long[flooders];
        long[] duties = new long[flooders];
        int[] floodTids = new int[flooders];
        Throwable[] floodFailure = new Throwable[1];
        CountDownLatch started = new CountDownLatch(flooders);
        for (int i = 0; i < flooders; i++) {
            int index = i;
            floodThreads[i] = Thread.ofPlatform().name("flood-" + i).start(() -> {
                try {
                    floodTids[index] = CpuAffinity.currentTid();
                    started.countDown();
                    long n = 0;
                    long work = 0;
                    while (!stop.get()) {
                        for (int k = 0; k < DUTY_EVERY; k++) {
                            long h = peer.allocate(SIZE);
                            peer.freeDeferred(h, SIZE);
                        }
                        n += DUTY_EVERY;
                        work += peer.backgroundDuty();
                    }
                    floodCounts[index] = n;
                    duties[index] = work;
                } catch (Throwable t) {
                    floodFailure[0] = t;
                } finally {
                    started.countDown(); // harmless extra count if it failed after starting
                }
            });
        }
        started.await();
        boolean wantIsolation = Boolean.parseBoolean(System.getProperty("sheaf.latency.isolate", "true"));
        CpuAffinity.Isolation iso = wantIsolation ? CpuAffinity.Isolation.ofCurrentThread() : null;
        Set<Integer> known = new HashSet<>();
        known.add(CpuAffinity.currentTid());
        for (int tid : floodTids) {
            known.add(tid);
        }
        Set<String> otherRunnable = new TreeSet<>();
        int runnableMax = 0;
        int sharing = -1;
        long waitedNanos = -1;
        long preempted = -1;
        long warmupNanos = Math.max(200_000_000L, c.nanos() / 10);
        long start = System.nanoTime();
        long warmupEnd = start + warmupNanos;
        long sampleEvery = warmupNanos / (RUNNABLE_SAMPLES + 1);
        long nextSample = start + sampleEvery;
        long end = warmupEnd + c.nanos();
        long requests = 0;
        boolean warm = false;
        long[] waited0 = null;
        try {
            for (long due = start; due - end < 0; due += interval) {
                if (!warm) {
                    if (due - warmupEnd >= 0) { // JIT warm-up is not what this measures
                        alloc.reset();
                        free.reset();
                        requests = 0;
                        waited0 = CpuAffinity.schedWait();
                        // A backlog left by warm-up (the /proc samples, code not yet compiled) is not
                        // carried into the measurement: the schedule restarts now.
                        long now = System.nanoTime();
                        end += now - due;
                        due = now;
                        start = now;
                        warm = true;
                    } else if (due - nextSample >= 0) { // reads /proc: only while nothing is recorded
                        runnableMax = Math.max(runnableMax, CpuAffinity.runnableThreads(known, otherRunnable));
                        nextSample += sampleEvery;
                    }
                }
                while (System.nanoTime() - due < 0) {
                    Thread.onSpinWait();
                }
                long h = peer.allocate(SIZE);
                long allocated = System.nanoTime();
                Stamp.write(peer, h, SIZE, 0);
                long freeStart = System.nanoTime();
                peer.free(h, Stamp.size(peer, h, 0));
                long freed = System.nanoTime();
                alloc.recordValue(Math.min(allocated - due, HIGHEST));
                free.recordValue(Math.min(freed - freeStart, HIGHEST));
                requests++;
            }
        } finally {
            long[] waited1 = CpuAffinity.schedWait();
            if (waited0 != null && waited1 != null) {
                waitedNanos = waited1[0] - waited0[0];
                preempted = waited1[1] - waited0[1];
            }
            stop.set(true);
            try {
                for (Thread t : floodThreads) {
                    t.join();
                }
            } finally {
                if (iso != null) { // every thread gets its CPUs back, whatever happened
                    sharing = iso.threadsSharingCpu();
                    iso.close();
                }
            }
        }
        long elapsed = System.nanoTime() - start;
        if (floodFailure[0] != null) {
            throw new IllegalStateException("flood thread failed", floodFailure[0]);
        }
        long flooded = 0;
        long duty = 0;
        for (int i = 0; i < flooders; i++) {
            flooded += floodCounts[i];
            duty += duties[i];
        }
        String placement = iso == null
                ? "not isolated (" + (wantIsolation ? "no CPU affinity here" : "sheaf.latency.isolate=false") + ")"
                : "alone on CPU " + iso.cpu + ", everything else on CPUs " + iso.others;
        String own = peer.ownThreads().isEmpty() ? "" : "; peer's own threads: " + String.join(", ", peer.ownThreads());
        String seen = otherRunnable.isEmpty() ? "" : "; also runnable in warm-up: " + String.join(", ", otherRunnable);
        WorkloadResult r = new WorkloadResult(name(), peer.name(), requests, elapsed)
                .histogram("alloc", alloc)
                .histogram("free", free)
                .figure("floodOpsPerSecond", flooded * 1e9 / elapsed)
                .figure("threads", 1 + flooders)
                .figure("cores", cores)
                .figure("floodDutyWork", duty);
        if (runnableMax > 0) {
            r.figure("runnableThreadsMax", runnableMax);
        }
        if (sharing >= 0) {
            r.figure("threadsOnLatencyCpu", sharing);
        }
        if (waitedNanos >= 0) { // > 0: something else had the latency thread's CPU (another process?)
            r.figure("latencyThreadWaitedMs", waitedNanos / 1e6);
            r.figure("latencyThreadPreempted", preempted);
        }
        return r.note(String.format(Locale.ROOT, "%d requests/s on the latency thread (%s), %d flood thread(s) on %d cores%s%s, doing %s",
                c.opsPerSecond(), placement, flooders, cores, own, seen, peer.deferredFreeKind()));
    }
}
