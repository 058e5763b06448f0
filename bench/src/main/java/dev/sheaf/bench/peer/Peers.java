package dev.sheaf.bench.peer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** The registry of peers by name: Sheaf first, then the allocators it is compared with. */
public final class Peers {
    public static final String SHEAF_CACHE = "sheaf-cache";
    public static final String SHEAF_MALLOC = "sheaf-malloc";
    /** sheaf-cache with SlabFlag.CHEAP_FREE_CHECKS, for measuring what the exact checks cost (not in ALL). */
    public static final String SHEAF_CACHE_CHEAP = "sheaf-cache-cheap";
    /** sheaf-cache with SlabFlag.LOCAL_FREES (the kernel's free path, no remote frees; not in ALL). */
    public static final String SHEAF_CACHE_LOCAL = "sheaf-cache-local";
    /** sheaf-malloc built with remoteFrees(false) (not in ALL). */
    public static final String SHEAF_MALLOC_LOCAL = "sheaf-malloc-local";

    /** Every peer, in table order. */
    public static final List<String> ALL = List.of(SHEAF_CACHE, SHEAF_MALLOC, GlibcPeer.NAME, MimallocPeer.NAME,
            TcmallocPeer.NAME, NettyPeer.POOLED, NettyPeer.ADAPTIVE, ConfinedArenaPeer.NAME);

    /** Live objects an object-style peer can track at once. */
    public static final int MAX_LIVE = 1 << 20;

    private Peers() {
    }

    public static boolean isSheaf(String name) {
        return name.startsWith("sheaf-");
    }

    /**
     * Opens a peer.
     *
     * @param cacheObjectSize object size of the {@code sheaf-cache} peer's {@code SlabCache}
     *                        (the largest size it serves); other peers ignore it
     */
    public static AllocatorPeer open(String name, long cacheObjectSize) throws PeerUnavailableException {
        return open(name, cacheObjectSize, false);
    }

    /**
     * Opens a peer; with {@code callerDriven} a peer that can run its background duty on its
     * callers' threads does so: Sheaf then uses an RCU domain without a worker thread
     * ({@code Rcu.Builder.ownWorkerThread(false)}), whose grace periods advance only while some
     * caller runs {@link AllocatorPeer#backgroundDuty()}. Other peers open as usual.
     */
    public static AllocatorPeer open(String name, long cacheObjectSize, boolean callerDriven)
            throws PeerUnavailableException {
        return switch (name) {
            case SHEAF_CACHE, SHEAF_CACHE_CHEAP, SHEAF_CACHE_LOCAL, SHEAF_MALLOC, SHEAF_MALLOC_LOCAL ->
                    SheafPeers.open(name, cacheObjectSize, callerDriven);
            case GlibcPeer.NAME -> GlibcPeer.open();
            case MimallocPeer.NAME -> MimallocPeer.open();
            case TcmallocPeer.NAME -> TcmallocPeer.open();
            case NettyPeer.POOLED -> NettyPeer.pooled(MAX_LIVE);
            case NettyPeer.ADAPTIVE -> NettyPeer.adaptive(MAX_LIVE);
            case ConfinedArenaPeer.NAME -> new ConfinedArenaPeer(MAX_LIVE);
            default -> name.indexOf('.') > 0 ? byClassName(name)
                    : throwUnknown(name);
        };
    }

    private static AllocatorPeer throwUnknown(String name) {
        throw new IllegalArgumentException("unknown peer '" + name + "', known: " + ALL
                + " or the class name of an AllocatorPeer with a public no-argument constructor");
    }

    /** A user's own peer: {@code -Dsheaf.peers=sheaf-cache,glibc,com.example.MyPeer}. */
    private static AllocatorPeer byClassName(String className) throws PeerUnavailableException {
        try {
            Class<?> c = Class.forName(className);
            if (!AllocatorPeer.class.isAssignableFrom(c)) {
                throw new IllegalArgumentException(className + " does not implement " + AllocatorPeer.class.getName());
            }
            return (AllocatorPeer) c.getConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            throw new PeerUnavailableException(className + ": class not on the class path", e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(className + ": cannot create it with a public no-argument constructor", e);
        }
    }

    /** The peers to compare: {@code -Dsheaf.peers} (comma-separated names or class names), else {@link #ALL}. */
    public static List<String> selected() {
        String p = System.getProperty("sheaf.peers", "").trim();
        return p.isEmpty() ? ALL : List.of(p.split("\\s*,\\s*"));
    }

    /** The peers of {@code names} that open on this machine; prints a note for each one skipped. */
    public static List<String> available(List<String> names, PrintStream notes) {
        List<String> ok = new ArrayList<>();
        for (String name : names) {
            try (AllocatorPeer peer = open(name, 64)) {
                long h = peer.allocate(64);
                peer.free(h, 64);
                ok.add(name);
            } catch (PeerUnavailableException e) {
                notes.println("note: skipping peer " + e.getMessage());
            }
        }
        return ok;
    }
}
