package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import dev.sheaf.bench.peer.RawMemory;

/**
 * The first 8 bytes of every harness object: a marker and the requested size. Writing it proves
 * the memory is usable; reading it back on free tells the freeing thread the size (peers need it)
 * and catches an allocator that handed the same memory to two owners or scribbled on a live object.
 */
final class Stamp {
    private static final long MARK = 0x5EAF_0000_0000_0000L;
    private static final long MARK_MASK = 0xFFFF_0000_0000_0000L;

    private Stamp() {
    }

    static void write(AllocatorPeer peer, long handle, long size, long owner) {
        RawMemory.putLong(peer.address(handle), MARK | (owner & 0xFFFF) << 32 | size);
    }

    /** @return the size written by {@link #write}; throws when the stamp is gone */
    static long size(AllocatorPeer peer, long handle) {
        long v = RawMemory.getLong(peer.address(handle));
        if ((v & MARK_MASK) != MARK) {
            throw new IllegalStateException(peer.name() + ": live object at handle " + Long.toHexString(handle)
                    + " was overwritten: 0x" + Long.toHexString(v));
        }
        return v & 0xFFFF_FFFFL;
    }

    /** Checks the owner too (workloads where objects never change hands). */
    static long size(AllocatorPeer peer, long handle, long owner) {
        long v = RawMemory.getLong(peer.address(handle));
        if ((v & MARK_MASK) != MARK || (v >>> 32 & 0xFFFF) != (owner & 0xFFFF)) {
            throw new IllegalStateException(peer.name() + ": object of owner " + owner + " at handle "
                    + Long.toHexString(handle) + " was overwritten: 0x" + Long.toHexString(v));
        }
        return v & 0xFFFF_FFFFL;
    }
}
