package dev.sheaf.bench.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every peer adapter: allocates usable, distinct memory, frees it (on another thread when it can), leaks nothing. */
class PeerAdaptersTest {

    static Iterable<String> peers() {
        return Peers.ALL;
    }

    static AllocatorPeer openOrSkip(String name, long cacheObjectSize) {
        try {
            return Peers.open(name, cacheObjectSize);
        } catch (PeerUnavailableException e) {
            Assumptions.abort(e.getMessage()); // a missing native library is not a failure
            throw new AssertionError();
        }
    }

    @ParameterizedTest
    @MethodSource("peers")
    void allocatesDistinctUsableMemoryAndFreesIt(String name) {
        try (AllocatorPeer peer = openOrSkip(name, 1024)) {
            assertEquals(name, peer.name());
            int n = 2000;
            long[] handles = new long[n];
            long[] sizes = new long[n];
            Set<Long> addresses = new HashSet<>();
            for (int i = 0; i < n; i++) {
                sizes[i] = 8 + (i * 37L) % Math.min(1017, peer.maxSize() - 7);
                handles[i] = peer.allocate(sizes[i]);
                assertNotEquals(0, handles[i]);
                long a = peer.address(handles[i]);
                assertTrue(addresses.add(a), "address handed out twice: " + a);
                RawMemory.putLong(a, i);
                if (sizes[i] > 8) {
                    RawMemory.putByte(a + sizes[i] - 1, (byte) i);
                }
            }
            for (int i = 0; i < n; i++) { // nothing overlapped: every object kept what was written
                long a = peer.address(handles[i]);
                assertEquals(i, RawMemory.getLong(a));
                if (sizes[i] > 8) {
                    assertEquals((byte) i, RawMemory.getByte(a + sizes[i] - 1));
                }
            }
            for (int i = 0; i < n; i++) {
                peer.free(handles[i], sizes[i]);
            }
            assertNoLeak(peer);
        }
    }

    @ParameterizedTest
    @MethodSource("peers")
    void freesOnAnotherThreadWhenItSaysItCan(String name) throws InterruptedException {
        try (AllocatorPeer peer = openOrSkip(name, 64)) {
            Assumptions.assumeTrue(peer.crossThreadFree(), name + " frees only on the allocating thread");
            long[] handles = new long[1000];
            for (int i = 0; i < handles.length; i++) {
                handles[i] = peer.allocate(64);
                RawMemory.putLong(peer.address(handles[i]), i);
            }
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (boolean virtual : new boolean[] {false, true}) {
                Runnable freeHalf = () -> {
                    try {
                        for (int i = virtual ? 1 : 0; i < handles.length; i += 2) {
                            assertEquals(i, RawMemory.getLong(peer.address(handles[i])));
                            peer.free(handles[i], 64);
                        }
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                };
                Thread t = virtual ? Thread.ofVirtual().start(freeHalf) : Thread.ofPlatform().start(freeHalf);
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertNoLeak(peer);
        }
    }

    @ParameterizedTest
    @MethodSource("peers")
    void deferredFreeReleasesEverything(String name) {
        try (AllocatorPeer peer = openOrSkip(name, 64)) {
            for (int i = 0; i < 10_000; i++) {
                peer.freeDeferred(peer.allocate(64), 64);
            }
            assertTrue(!peer.deferredFreeKind().isEmpty());
        } // close() waits for deferred frees (Sheaf: rcuBarrier) and must not throw
    }

    static void assertNoLeak(AllocatorPeer peer) {
        if (peer instanceof NettyPeer n) {
            assertEquals(0, n.liveHandles());
        } else if (peer instanceof ConfinedArenaPeer a) {
            assertEquals(0, a.liveHandles());
        }
        long live = peer.liveBytes();
        assertTrue(live == -1 || live == 0, peer.name() + " still has " + live + " live bytes");
    }

    /**
     * Sheaf opened caller-driven: neither its RCU domain nor its freeRcu drainer has a thread, so
     * deferred frees complete only because the caller runs both duty cycles.
     */
    @ParameterizedTest
    @MethodSource("sheafPeers")
    void callerDrivenSheafRunsItsRcuDutyOnTheCaller(String name) throws PeerUnavailableException {
        try (AllocatorPeer peer = Peers.open(name, 64, true)) {
            assertEquals(java.util.List.of(), peer.ownThreads());
            for (int i = 0; i < 20_000; i++) {
                peer.freeDeferred(peer.allocate(64), 64);
                if ((i & 63) == 0) {
                    assertTrue(peer.backgroundDuty() >= 0);
                }
            }
            // Nothing frees in the background: only the duty cycle run here brings liveBytes to 0.
            for (long rounds = 0; peer.liveBytes() > 0; rounds++) {
                peer.backgroundDuty();
                assertTrue(rounds < 50_000_000, "deferred frees never completed");
            }
            assertTrue(Thread.getAllStackTraces().keySet().stream()
                    .noneMatch(t -> t.getName().startsWith(SheafPeers.DRAINER_THREAD)), "no drainer thread");
        }
        try (AllocatorPeer peer = Peers.open(name, 64, false)) {
            assertEquals(0, peer.backgroundDuty(), "the domain's own worker does it");
            assertEquals(2, peer.ownThreads().size());
        }
    }

    static Iterable<String> sheafPeers() {
        return java.util.List.of(Peers.SHEAF_CACHE, Peers.SHEAF_MALLOC);
    }

    /** Sheaf and the native peers say how much they reserved; the object-style peers say they cannot (-1). */
    @ParameterizedTest
    @MethodSource("peers")
    void peakReservedBytesIsReportedOrNotExposed(String name) {
        try (AllocatorPeer peer = openOrSkip(name, 1024)) {
            long[] handles = new long[1000];
            for (int i = 0; i < handles.length; i++) {
                handles[i] = peer.allocate(1000);
            }
            long peak = peer.peakReservedBytes();
            for (long h : handles) {
                peer.free(h, 1000);
            }
            if (Peers.isSheaf(name)) {
                assertTrue(peak >= 1_000_000L, name + ": 1000 live objects of 1000 B within the peak: " + peak);
            } else if (name.equals(GlibcPeer.NAME) || name.equals(MimallocPeer.NAME) || name.equals(TcmallocPeer.NAME)) {
                assertTrue(peak > 0, name + " reports its footprint: " + peak);
                assertTrue(peer.peakReservedBytes() >= (name.equals(MimallocPeer.NAME) ? 0 : peak),
                        "a current-only reading keeps its largest sample");
            } else {
                assertEquals(-1, peak, name + " does not expose it");
            }
        }
    }
}
