package dev.sheaf.bench.peer;

/** Sheaf's peers; replaced by the real adapters once the allocator module is built. */
final class SheafPeers {
    private SheafPeers() {
    }

    static AllocatorPeer open(String name, long cacheObjectSize) throws PeerUnavailableException {
        throw new PeerUnavailableException(name + ": the Sheaf allocator is not built yet");
    }
}
