package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.PeerUnavailableException;
import dev.sheaf.bench.peer.Peers;

/** One allocation pattern the harness can run against any peer. */
public interface Workload {

    /** Short name for tables and file names, e.g. {@code larson}. */
    String name();

    /** One line saying what the workload does. */
    String description();

    /** The largest object this workload allocates (a fixed-size peer such as {@code sheaf-cache} is opened with it). */
    long maxObjectSize(WorkloadConfig config);

    /**
     * Opens a peer the way this workload wants it; by default {@link Peers#open(String, long)} with
     * {@link #maxObjectSize}. The caller closes it.
     */
    default AllocatorPeer open(String peerName, WorkloadConfig config) throws PeerUnavailableException {
        return Peers.open(peerName, maxObjectSize(config));
    }

    /**
     * Baselines this workload runs before the peers, opened through {@link #open} like a peer name
     * (the latency workload's machine floor); none by default.
     */
    default java.util.List<String> baselines() {
        return java.util.List.of();
    }

    /**
     * Whether the harness runs this workload in interleaved rounds across peers and reports each
     * peer's median round ({@link Rounds}); {@code true} by default. A workload that says
     * {@code false} runs once per peer, for as long as the others' rounds take together.
     */
    default boolean interleavedRounds() {
        return true;
    }

    /** Why the peer cannot run this workload, or {@code null} when it can. */
    default String unsupportedReason(AllocatorPeer peer, WorkloadConfig config) {
        return null;
    }

    /**
     * Runs for about {@code config.seconds()} and returns what was measured. Every object allocated
     * is freed before returning; a broken invariant (an object's contents changed under its owner,
     * an object lost) throws {@link IllegalStateException}.
     */
    WorkloadResult run(AllocatorPeer peer, WorkloadConfig config) throws InterruptedException;
}
