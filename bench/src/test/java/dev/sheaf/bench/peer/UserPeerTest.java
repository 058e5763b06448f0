package dev.sheaf.bench.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** A user plugs in an allocator by class name ({@code -Dsheaf.peers=...,com.example.MyPeer}). */
class UserPeerTest {

    /** What a user writes: here, one shared arena per object. */
    public static final class SharedArenaPeer implements AllocatorPeer {
        private final HandleTable handles = new HandleTable(1024);

        @Override
        public String name() {
            return "arena-shared";
        }

        @Override
        public long allocate(long size) {
            Arena a = Arena.ofShared();
            return handles.acquire(a, a.allocate(size).address());
        }

        @Override
        public long address(long handle) {
            return handles.address(handle);
        }

        @Override
        public void free(long handle, long size) {
            ((Arena) handles.release(handle)).close();
        }

        @Override
        public void close() {
        }
    }

    @Test
    void openByClassName() throws Exception {
        try (AllocatorPeer p = Peers.open(SharedArenaPeer.class.getName(), 64)) {
            assertEquals("arena-shared", p.name());
            long h = p.allocate(64);
            RawMemory.putLong(p.address(h), 42);
            assertEquals(42, RawMemory.getLong(p.address(h)));
            p.free(h, 64);
        }
    }

    @Test
    void badNamesAreExplained() {
        assertThrows(PeerUnavailableException.class, () -> Peers.open("com.example.Missing", 64));
        assertThrows(IllegalArgumentException.class, () -> Peers.open(String.class.getName(), 64));
        assertThrows(IllegalArgumentException.class, () -> Peers.open("no-such-peer", 64));
    }
}
