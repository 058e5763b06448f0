package dev.sheaf.bench.peer;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;

/**
 * Netty 4.2 direct buffers: {@link PooledByteBufAllocator} (jemalloc-style arenas with thread
 * caches) or {@link AdaptiveByteBufAllocator} (4.2's default). Each allocation is a
 * {@code directBuffer(size, size)} released with {@code release()}; the {@code ByteBuf} lives in a
 * {@link HandleTable} between the two, which is the price of an address-style API over an object
 * allocator (the JMH {@code NettyNativeApiBenchmark} rows show Netty without it). Leak detection
 * is switched off, as it would be in a latency-sensitive production service.
 */
public final class NettyPeer implements AllocatorPeer {
    public static final String POOLED = "netty-pooled";
    public static final String ADAPTIVE = "netty-adaptive";

    private final String name;
    private final ByteBufAllocator allocator;
    private final HandleTable handles;

    private NettyPeer(String name, ByteBufAllocator allocator, int maxLive) {
        this.name = name;
        this.allocator = allocator;
        this.handles = new HandleTable(maxLive);
    }

    /** A fresh {@code PooledByteBufAllocator(preferDirect = true)}. */
    public static NettyPeer pooled(int maxLive) throws PeerUnavailableException {
        return checked(new NettyPeer(POOLED, new PooledByteBufAllocator(true), maxLive));
    }

    /** A fresh {@code AdaptiveByteBufAllocator(preferDirect = true, useCacheForNonEventLoopThreads = true)}. */
    public static NettyPeer adaptive(int maxLive) throws PeerUnavailableException {
        return checked(new NettyPeer(ADAPTIVE, new AdaptiveByteBufAllocator(true, true), maxLive));
    }

    /** Creates Netty's default allocator for a given name. */
    public static ByteBufAllocator nettyAllocator(String name) {
        disableLeakDetection();
        return switch (name) {
            case POOLED -> new PooledByteBufAllocator(true);
            case ADAPTIVE -> new AdaptiveByteBufAllocator(true, true);
            default -> throw new IllegalArgumentException("not a Netty peer: " + name);
        };
    }

    private static NettyPeer checked(NettyPeer peer) throws PeerUnavailableException {
        disableLeakDetection();
        ByteBuf probe = peer.allocator.directBuffer(64, 64);
        try {
            if (!probe.hasMemoryAddress()) {
                throw new PeerUnavailableException(peer.name + ": direct buffers expose no memory address on this JVM");
            }
        } finally {
            probe.release();
        }
        return peer;
    }

    private static void disableLeakDetection() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long allocate(long size) {
        ByteBuf buf = allocator.directBuffer((int) size, (int) size);
        return handles.acquire(buf, buf.memoryAddress());
    }

    @Override
    public long address(long handle) {
        return handles.address(handle);
    }

    @Override
    public void free(long handle, long size) {
        ((ByteBuf) handles.release(handle)).release();
    }

    @Override
    public long maxSize() {
        return Integer.MAX_VALUE;
    }

    @Override
    public long liveBytes() {
        return -1;
    }

    /** Objects allocated and not yet freed through this peer. */
    public int liveHandles() {
        return handles.live();
    }

    @Override
    public void close() {
        // Netty allocators have no close; their memory goes with the allocator object.
    }
}
