package dev.sheaf.allocator;

import dev.sheaf.allocator.rcufree.RcuFreeEngine;
import dev.sheaf.allocator.rcufree.RcuFreeSettings;
import dev.sheaf.rcu.Rcu;
import dev.sheaf.rcu.internal.JmxRegistration;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/*
 * Implementation notes.
 *
 * kmalloc over SlabCaches. Sizes 1..32 KiB go to one of 44 size-class caches (SizeClasses);
 * larger sizes get a page span (LargeSpans). free(address) needs no size: PageSource maps the
 * address to its Slab in one array load, and the Slab names its cache (or is a span).
 *
 * The allocator owns one PageSource (the address range), the caches, the large spans, the hooks,
 * and - created lazily, because most users never free after a grace period - the RCU domain
 * (unless the user supplied one) and the RcuFreeEngine. The engine reaches back through
 * AllocatorRcuTarget, so its callbacks do not become public methods.
 *
 * Address checks: AddressChecks, one method per question. The closed check of the per-object
 * entry points is a plain read, as SlabCache's lifecycle check is (see its notes).
 *
 * Closing: the engine is closed first (every freeRcu'd object freed), then TYPESAFE_BY_RCU slabs
 * still waiting for a grace period, then hooks report, then caches are marked closed and the
 * range is unmapped. Operations racing with close() are a caller error; operations after it
 * throw IllegalStateException before touching memory.
 *
 * Lock order: see SlabCache's notes (cachesLock is taken before any cache's locks).
 *
 * Map: Stats; fields; Builder; kmalloc (malloc, free, usableSize, segment, SegmentAllocator);
 * caches; free after a grace period (engine, freeRcu*, rcu); shrink, stats, close; errors.
 */
/**
 * An off-heap slab allocator after the Linux kernel's SLUB with sheaves (kmalloc + kmem_cache +
 * kfree_rcu). Thread-safe. See the package documentation for the lock order.
 *
 * <p>Errors: {@link IllegalArgumentException} for bad sizes, bad alignments and addresses this
 * allocator did not hand out (outside its memory, in free memory, interior); {@link
 * IllegalStateException} for a detected double free and for use after {@link #close()};
 * {@link OutOfMemoryError} from {@link #malloc} when the capacity is exhausted ({@link
 * #mallocNoLock} returns 0 instead). {@code free(0)} is a no-op.
 */
public final class SlabAllocator implements SegmentAllocator, AutoCloseable {

    /** Largest object size of a cache created with {@link #createCache}. */
    public static final long MAX_CACHE_OBJECT_SIZE = 128 * 1024;
    /** Allocation traces attached to a debug cache's leak report. */
    private static final int LEAK_TRACES = 16;
    /** Largest size served by a kmalloc size class; larger requests get page spans. */
    public static final long MAX_SIZE_CLASS = SizeClasses.MAX_CLASS_SIZE;

    /**
     * Allocator-wide counters. Racy while in use.
     *
     * @param capacity bytes of address space
     * @param reservedBytes bytes that may be resident
     * @param peakReservedBytes highest reservedBytes seen
     * @param retainedBytes bytes of released slabs kept for reuse
     * @param liveBytes bytes with users
     * @param cachedObjects objects in sheaves and barns
     * @param cachedBytes bytes of the cached objects
     * @param largeAllocations live large allocations
     * @param largeBytes bytes of live large allocations
     * @param slabs slabs of all caches
     * @param caches live caches
     * @param madvisedBytes bytes given back to the OS with madvise
     */
    public record Stats(long capacity, long reservedBytes, long peakReservedBytes, long retainedBytes,
                        long liveBytes, long cachedObjects, long cachedBytes, long largeAllocations,
                        long largeBytes, long slabs, int caches, long madvisedBytes) { }

    private final PageSource pages;
    private final SlabCache[] kmalloc;
    /**
     * Caches by state-map tag (ObjectStates notes); [0] stays null. Written at creation and
     * destruction under cachesLock (or in the constructor), read plainly by the free paths: an
     * object's tag was stored after its cache was, and the free of it is ordered after its alloc.
     */
    final SlabCache[] byTag = new SlabCache[ObjectStates.MAX_TAG + 1];
    private final SlabHook[] hooks;
    private final boolean rcuSheaves;
    private final int carrierSlots;
    private final RcuFreeSettings rcuSettings;
    private final ReentrantLock cachesLock = new ReentrantLock();
    /** Every live cache, size classes first; copy-on-write under cachesLock, read without it. */
    private volatile SlabCache[] caches = new SlabCache[0];
    private final LargeSpans spans;
    private final AtomicLong typesafePending = new AtomicLong();
    private final AllocatorRcuTarget target;
    private final Rcu givenRcu;
    private volatile Rcu rcu;
    private volatile RcuFreeEngine engine;
    private volatile boolean closed;
    /** Debug mode for every cache (Builder.debug). */
    private final boolean debug;
    /** Frames a debug trace keeps (Builder.debugStackDepth), for every debug cache and the spans. */
    private final int debugStackDepth;
    /** Set by the first close(); guarded by cachesLock. */
    private boolean closing;
    /** The MXBean's name if one was registered; set once by build(), read by close() on any thread. */
    private volatile javax.management.ObjectName jmxRegistration;

    private SlabAllocator(Builder b) {
        this.pages = new PageSource(b.capacity, b.retainBytes, b.forceArena);
        this.hooks = b.hooks.toArray(new SlabHook[0]);
        SlabHook[] noLockHooks = b.hooks.stream().filter(h -> !h.needsLock()).toArray(SlabHook[]::new);
        this.debugStackDepth = b.debugStackDepth;
        this.spans = new LargeSpans(this, pages, hooks, noLockHooks, b.debug ? b.debugStackDepth : -1);
        this.target = new AllocatorRcuTarget(this, pages, spans);
        this.rcuSheaves = b.rcuSheaves;
        this.debug = b.debug;
        this.givenRcu = b.rcu;
        this.rcu = b.rcu;
        RcuFreeSettings settings = RcuFreeSettings.DEFAULT.withDrainDelayNanos(b.rcuDrainDelayNanos)
                .withPendingLimitBytes(b.rcuPendingLimitBytes > 0 ? b.rcuPendingLimitBytes
                        : RcuFreeSettings.defaultPendingLimit(pages.capacity)).withOwnWorker(b.rcuFreeWorkerThread);
        this.rcuSettings = b.rcuFreeIdleStrategy == null ? settings : settings.withIdleStrategy(b.rcuFreeIdleStrategy);
        int cpus = Runtime.getRuntime().availableProcessors();
        this.carrierSlots = Integer.highestOneBit(Math.max(1, cpus) * 2 - 1);
        this.kmalloc = new SlabCache[SizeClasses.count()];
        for (int i = 0; i < kmalloc.length; i++) {
            int size = SizeClasses.SIZES[i];
            CacheSpec spec = CacheSpec.of("kmalloc-" + size, size).withSheafCapacity(b.sheafCapacity);
            if (b.cheapFreeChecks) {
                spec = spec.withFlags(SlabFlag.CHEAP_FREE_CHECKS);
            }
            if (!b.remoteFrees) {
                spec = spec.withFlags(SlabFlag.LOCAL_FREES);
            }
            if (b.debug) {
                // The red zone before each object keeps the natural alignment of the classes'
                // sizes (up to 4096) only if the slot's alignment asks for it.
                spec = spec.withAlignment(Math.min(4096, Long.lowestOneBit(size))).withDebug();
            }
            kmalloc[i] = register(new SlabCache(this, pages, spec, true, hooks, carrierSlots, freeTag()));
        }
        this.caches = kmalloc.clone();
    }

    /**
     * An allocator with default settings.
     *
     * @return a new allocator
     */
    public static SlabAllocator create() {
        return builder().build();
    }

    /**
     * A builder of an allocator.
     *
     * @return a builder with default settings
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a {@link SlabAllocator}. */
    public static final class Builder {
        private long capacity = PageSource.defaultCapacity();
        private long retainBytes = -1;
        private Rcu rcu;
        private final List<SlabHook> hooks = new ArrayList<>();
        private boolean rcuSheaves = true;
        private int sheafCapacity = -1;
        private boolean cheapFreeChecks;
        private boolean remoteFrees = true;
        private long rcuDrainDelayNanos = RcuFreeSettings.DEFAULT.drainDelayNanos();
        private long rcuPendingLimitBytes; // 0: RcuFreeSettings.defaultPendingLimit(capacity)
        private boolean forceArena;
        private boolean debug = Boolean.getBoolean("sheaf.debug");
        private int debugStackDepth = stackDepthProperty();
        private boolean rcuFreeWorkerThread = true;
        private org.agrona.concurrent.IdleStrategy rcuFreeIdleStrategy;
        private String jmxName;

        private Builder() { }

        /**
         * Registers a {@link SlabAllocatorMXBean} of the allocator on the platform MBeanServer when it
         * is built, unregistered by {@link SlabAllocator#close()}. A name with a colon is a whole
         * ObjectName; any other becomes {@code dev.sheaf:type=SlabAllocator,name=<name>}. Default: no
         * MXBean.
         *
         * @param name the ObjectName or plain name
         * @return this builder
         * @throws IllegalArgumentException if the name is null, empty or not a valid ObjectName
         *                                  (build() throws it if the name is already registered)
         */
        public Builder jmxName(String name) {
            JmxRegistration.objectName(name, "SlabAllocator");
            this.jmxName = name;
            return this;
        }

        /**
         * Whether the free-after-grace-period drainer runs on a daemon thread of the allocator
         * (default true). With false, nothing is drained in the background: the user runs
         * {@link SlabAllocator#rcuFreeAgent()} on a thread of their own (an Agrona
         * {@code AgentRunner}, or {@code doWork()} from their own loop); callers past the pending
         * bound and {@link SlabAllocator#rcuBarrier()} still drain themselves, so nothing waits forever.
         * Pair it with {@code Rcu.builder().ownWorkerThread(false)} to run no Sheaf thread at all.
         *
         * @param own whether to run the drainer on an own thread
         * @return this builder
         */
        public Builder rcuFreeWorkerThread(boolean own) {
            this.rcuFreeWorkerThread = own;
            return this;
        }

        /**
         * How the drainer's own thread idles between duty cycles (default: Agrona backoff).
         *
         * @param idle the idle strategy
         * @return this builder
         */
        public Builder rcuFreeIdleStrategy(org.agrona.concurrent.IdleStrategy idle) {
            if (idle == null) {
                throw new IllegalArgumentException("idle strategy is null");
            }
            this.rcuFreeIdleStrategy = idle;
            return this;
        }

        /**
         * Most bytes of address space (and so of memory) the allocator may use; rounded down to
         * 64 KiB. Default: a quarter of physical memory, clamped to 1..16 GiB.
         *
         * @param bytes the capacity in bytes, at least 65536
         * @return this builder
         */
        public Builder capacity(long bytes) {
            if (bytes < PageSource.BLOCK_SIZE) {
                throw new IllegalArgumentException("capacity " + bytes + " below 65536");
            }
            this.capacity = bytes;
            return this;
        }

        /**
         * Bytes of released slabs kept resident for reuse before madvise; default capacity/64, at least 4 MiB.
         *
         * @param bytes bytes to retain, at least 0
         * @return this builder
         */
        public Builder retainBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("retainBytes " + bytes + " negative");
            }
            this.retainBytes = bytes;
            return this;
        }

        /**
         * The RCU domain for freeRcu and TYPESAFE_BY_RCU; default: an own domain, closed with the allocator.
         *
         * @param rcu the RCU domain
         * @return this builder
         */
        public Builder rcu(Rcu rcu) {
            if (rcu == null) {
                throw new IllegalArgumentException("rcu is null");
            }
            this.rcu = rcu;
            return this;
        }

        /**
         * Registers a hook (runs in registration order).
         *
         * @param hook the hook
         * @return this builder
         */
        public Builder hook(SlabHook hook) {
            if (hook == null) {
                throw new IllegalArgumentException("hook is null");
            }
            hooks.add(hook);
            return this;
        }

        /**
         * Whether {@link SlabAllocator#freeRcu(long, long)} of a size-class object uses the rcu
         * sheaf (default true); false makes the caller's 8-byte link chain the path.
         *
         * @param on whether size-class objects use rcu sheaves
         * @return this builder
         */
        public Builder rcuSheaves(boolean on) {
            this.rcuSheaves = on;
            return this;
        }

        /**
         * Sheaf capacity of the size-class caches; -1 (default) uses the kernel's table, 0 disables sheaves.
         *
         * @param capacity objects per sheaf, -1..4096
         * @return this builder
         */
        public Builder sheafCapacity(int capacity) {
            if (capacity < -1 || capacity > 4096) {
                throw new IllegalArgumentException("sheaf capacity " + capacity + " outside -1..4096");
            }
            this.sheafCapacity = capacity;
            return this;
        }

        /**
         * {@link SlabFlag#CHEAP_FREE_CHECKS} for the size-class caches (default false: exact checks,
         * every entry point refuses an object that is not allocated).
         *
         * @param on whether the size classes use cheap free checks
         * @return this builder
         */
        public Builder cheapFreeChecks(boolean on) {
            this.cheapFreeChecks = on;
            return this;
        }

        /**
         * Remote frees for the size-class caches (default true); false gives them
         * {@link SlabFlag#LOCAL_FREES}, the kernel's free path.
         *
         * @param on whether objects freed by another thread go back to their home thread
         * @return this builder
         */
        public Builder remoteFrees(boolean on) {
            this.remoteFrees = on;
            return this;
        }

        /**
         * How long freeRcu batches may wait before they are sealed (default 2 ms).
         *
         * @param delay the drain delay, not negative
         * @return this builder
         */
        public Builder rcuDrainDelay(Duration delay) {
            if (delay == null || delay.isNegative()) {
                throw new IllegalArgumentException("drain delay must not be negative: " + delay);
            }
            this.rcuDrainDelayNanos = delay.toNanos();
            return this;
        }

        /**
         * Bound on bytes waiting for a grace period; past it callers help drain (default 64 MiB, at
         * most an eighth of the capacity, so that deferred frees alone cannot fill the heap).
         *
         * @param bytes the bound in bytes, positive
         * @return this builder
         */
        public Builder rcuPendingLimit(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("pending limit must be positive: " + bytes);
            }
            this.rcuPendingLimitBytes = bytes;
            return this;
        }

        /**
         * Debug mode for every cache, size classes included (the kernel's {@code slub_debug}):
         * red zones around each object (for malloc from the requested size on), poison in freed
         * objects, a quarantine of freed objects before reuse, the last allocation and free of
         * each object recorded, double frees reported with both, and {@link SlabAllocator#segment}
         * segments that close when their object is freed. Large allocations (above
         * {@link #MAX_SIZE_CLASS}) get a red zone after the requested size (none before: they
         * start on a 64 KiB block) and no poison, since their pages go back to the OS when they
         * are freed. Damage is reported as
         * {@link SlabCorruptionException}. Costly in time and memory; off by default, and on
         * when the system property {@code sheaf.debug} is {@code true}. A cache can also be put
         * in debug mode alone with {@link SlabFlag#DEBUG}. With debug off nothing of it runs.
         *
         * @param on whether every cache runs in debug mode
         * @return this builder
         */
        public Builder debug(boolean on) {
            this.debug = on;
            return this;
        }

        /**
         * How many stack frames debug mode's allocation and free traces show (default 16, or the
         * system property {@code sheaf.debug.stackDepth}): the caller's innermost frames, Sheaf's
         * own skipped. A positive depth captures the call's stack on every alloc and free (the
         * JVM's exception backtrace, decoded only for a report); 0 captures none and keeps only
         * the thread and the time, which makes debug mode's alloc and free much cheaper. Used
         * only in debug mode.
         *
         * @param frames frames per trace, 0..1024
         * @return this builder
         * @throws IllegalArgumentException frames outside 0..1024
         */
        public Builder debugStackDepth(int frames) {
            this.debugStackDepth = checkStackDepth(frames, "debugStackDepth");
            return this;
        }

        private static int stackDepthProperty() {
            Integer frames = Integer.getInteger("sheaf.debug.stackDepth");
            return frames == null ? AllocTracking.DEFAULT_STACK_DEPTH
                    : checkStackDepth(frames, "system property sheaf.debug.stackDepth");
        }

        private static int checkStackDepth(int frames, String what) {
            if (frames < 0 || frames > AllocTracking.MAX_STACK_DEPTH) {
                throw new IllegalArgumentException(what + " " + frames + " outside 0.." + AllocTracking.MAX_STACK_DEPTH);
            }
            return frames;
        }

        /** Test hook: use the portable Arena page source even where mmap is available. */
        Builder forceArena(boolean on) {
            this.forceArena = on;
            return this;
        }

        /**
         * Builds the allocator.
         *
         * @return the allocator
         */
        public SlabAllocator build() {
            if (retainBytes < 0) {
                retainBytes = Math.max(4L << 20, capacity / 64);
            }
            SlabAllocator allocator = new SlabAllocator(this);
            if (jmxName != null) {
                try {
                    allocator.jmxRegistration = JmxRegistration.register(new SlabAllocatorJmx(allocator), jmxName,
                            "SlabAllocator");
                } catch (RuntimeException e) {
                    allocator.close();
                    throw e;
                }
            }
            return allocator;
        }
    }

    // -------------------------------------------------------------------------------------------
    // kmalloc

    /**
     * Allocates {@code size} bytes (contents unspecified), aligned to 8 bytes at least (sizes that
     * are powers of two are naturally aligned up to 4096).
     *
     * @param size bytes wanted, 1..capacity
     * @return the address, never 0
     * @throws IllegalArgumentException size not positive or larger than the capacity
     * @throws OutOfMemoryError         capacity exhausted
     * @throws IllegalStateException    closed
     */
    public long malloc(long size) {
        if (size <= 0 || size > pages.capacity) {
            throw badSize(size);
        }
        if (closedFast()) {
            throw closedError();
        }
        if (size <= SizeClasses.MAX_CLASS_SIZE) {
            return kmalloc[SizeClasses.classOf(size)].allocFor(size);
        }
        return spans.allocate(size, false);
    }

    /**
     * kmalloc_nolock: like {@link #malloc} but never parks, never spin-waits on another thread,
     * makes no system call and allocates no sheaf; alloc hooks that take locks are skipped. When
     * its size class has nothing available without waiting, it tries the next class once.
     *
     * @param size bytes wanted, 1..capacity
     * @return the address, or 0 when nothing is available without waiting
     */
    public long mallocNoLock(long size) {
        if (size <= 0 || size > pages.capacity) {
            throw badSize(size);
        }
        if (closedFast()) {
            throw closedError();
        }
        if (size <= SizeClasses.MAX_CLASS_SIZE) {
            int c = SizeClasses.classOf(size);
            long a = kmalloc[c].allocNoLockFor(size);
            if (a == 0 && c + 1 < kmalloc.length) {
                a = kmalloc[c + 1].allocNoLockFor(size);
            }
            return a;
        }
        return spans.allocate(size, true);
    }

    /**
     * Frees an address returned by {@link #malloc}, {@link #mallocNoLock}, {@link #allocate} or a
     * cache of this allocator. {@code free(0)} is a no-op.
     *
     * @param address an address this allocator handed out, or 0
     * @throws IllegalArgumentException not an object start of this allocator (outside it, in
     *                                  free memory, interior)
     * @throws IllegalStateException    the object is not allocated (already freed, pending a grace
     *                                  period after freeRcu*, never handed out), or closed; nothing
     *                                  is changed then
     */
    public void free(long address) {
        if (address == 0) {
            return;
        }
        SlabCache t = AddressChecks.taggedCache(this, pages, byTag, address);
        if (t != null) {
            t.freeValidated(address);
            return;
        }
        Slab s = AddressChecks.objectStart(this, pages, address);
        SlabCache c = s.cache;
        if (c != null) {
            c.freeValidated(address);
        } else {
            spans.free(address, s, false);
        }
    }

    /**
     * kfree_nolock: like {@link #free} but never parks, spin-waits or makes a system call; what
     * cannot be freed now is deferred to a lock-free list and freed by a later ordinary call. The
     * object is no longer allocated when this returns: a second free of it throws at once.
     *
     * @param address an address this allocator handed out, or 0
     * @throws IllegalArgumentException as {@link #free}
     * @throws IllegalStateException    as {@link #free}
     */
    public void freeNoLock(long address) {
        if (address == 0) {
            return;
        }
        Slab s = AddressChecks.objectStart(this, pages, address);
        SlabCache c = s.cache;
        if (c != null) {
            c.noLockPaths.free(address);
        } else {
            spans.free(address, s, true);
        }
    }

    private static final java.lang.invoke.VarHandle CLOSED;
    private static final java.lang.invoke.VarHandle ENGINE;

    static {
        try {
            var lookup = java.lang.invoke.MethodHandles.lookup();
            CLOSED = lookup.findVarHandle(SlabAllocator.class, "closed", boolean.class);
            ENGINE = lookup.findVarHandle(SlabAllocator.class, "engine", RcuFreeEngine.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The closed check of the per-object entry points: a plain read, for the reason and with the
     * guarantee SlabCache's notes give for its lifecycle state (use after close() ordered by the
     * caller's synchronization is always detected).
     */
    boolean closedFast() {
        return (boolean) CLOSED.get(this);
    }

    /**
     * Checks the allocator's memory (the kernel's slab validation): for every cache, each slab's
     * free list (every link must lead to a free object of the same slab) and counts (objects in
     * use plus free objects equal the objects carved); for caches in debug mode also the red zones
     * of every object ever handed out and the poison of every freed one, wherever it is now (with
     * its user, in any thread's sheaves, in the barn, in the quarantine, pending a grace period,
     * in its slab), the tail red zone of every large allocation not yet released, and any report
     * debug mode found where it could not throw (a grace-period free, a no-lock free, a drain).
     * Works with debug off, checking the slabs only.
     *
     * <p>It may run while other threads allocate and free: it holds one cache's node lock for one
     * slab at a time, and it never reports an object in flight: an object being handed out or
     * freed while it is read is skipped and counted. Missed in that case: damage to a skipped
     * object, damage done after the object was read, and slabs added after the walk began. Red
     * zones and poison exist only in debug mode, so with debug off overflows and writes after
     * free are missed unless they break a free-list link.
     *
     * @return how many objects were skipped because they were in flight
     * @throws SlabCorruptionException the first damage found
     * @throws IllegalStateException   the allocator is closed
     */
    public long validate() {
        if (closed) {
            throw closedError();
        }
        return HeapValidator.validate(pages, cachesSnapshot(), spans.debug);
    }

    /**
     * The usable size of an allocated object (the size class, the cache's object size, or the
     * page-rounded span size; in debug mode malloc's requested size, large ones included).
     *
     * @param address an allocated object start
     * @return its usable size in bytes
     * @throws IllegalArgumentException not an object start of this allocator
     * @throws IllegalStateException    the object is not allocated (freed, pending), or closed
     */
    public long usableSize(long address) {
        if (closed) {
            throw closedError();
        }
        Slab s = AddressChecks.slabOf(this, pages, address);
        AddressChecks.checkObjectStart(address, s);
        if (s.cache == null) {
            LargeSpans.checkAllocated(address, s);
            return spans.usableSize(address, s);
        }
        s.cache.checkAllocated(address);
        return s.cache.debug != null ? s.cache.debug.requestedSize(address) : s.cache.objectSize();
    }

    /**
     * A bounds-checked segment over the usable size of an allocated object (same checks as
     * usableSize). Using it after the object is freed is a use after free, but never a crash: the
     * segment keeps the allocator's address range mapped while it is reachable, even past close().
     * In debug mode (large allocations included) the segment's scope closes when the object is
     * freed (for freeRcu*, when its grace period ends) or the allocator closes, so an access after that throws
     * {@link IllegalStateException}; that close costs a thread handshake on the free.
     *
     * @param address an allocated object start
     * @return a segment over its usable size
     */
    public MemorySegment segment(long address) {
        long size = usableSize(address);
        SlabCache c = pages.ownerOf(address).cache; // usableSize checked it is an allocated object start
        if (c != null && c.debug != null) {
            return c.debug.segment(address);
        }
        if (c == null && spans.debug != null) {
            return spans.debug.segment(address);
        }
        return pages.slice(address, size); // keeps the range mapped while the user holds it
    }

    /**
     * {@link SegmentAllocator}: zero-filled memory of {@code byteSize} bytes aligned to {@code
     * byteAlignment} (a power of two up to 65536). Free it with {@link #free(MemorySegment)}.
     * Using the segment after it is freed is a use after free; it keeps the allocator's address
     * range mapped while reachable (see {@link #segment}), so it never crashes the JVM.
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        if (byteSize < 0 || byteSize > pages.capacity) {
            throw badSize(byteSize);
        }
        if (byteAlignment <= 0 || Long.bitCount(byteAlignment) != 1) {
            throw new IllegalArgumentException("alignment " + byteAlignment + " is not a power of two");
        }
        if (byteAlignment > PageSource.BLOCK_SIZE) {
            throw new IllegalArgumentException("alignment " + byteAlignment + " above 65536 is not supported");
        }
        if (closed) {
            throw closedError();
        }
        long size = Math.max(byteSize, 1);
        long address = 0;
        if (byteAlignment <= 8) {
            address = malloc(size);
        } else if (byteAlignment <= 4096) {
            long want = Math.max(size, byteAlignment);
            if (want <= SizeClasses.MAX_CLASS_SIZE) {
                for (int c = SizeClasses.classOf(want); c < kmalloc.length; c++) {
                    if (SizeClasses.SIZES[c] % byteAlignment == 0) {
                        address = kmalloc[c].alloc();
                        break;
                    }
                }
            }
        }
        if (address == 0) {
            address = spans.allocate(Math.max(size, SizeClasses.MAX_CLASS_SIZE + 1), false);
        }
        MemorySegment seg = pages.slice(address, byteSize);
        seg.fill((byte) 0);
        return seg;
    }

    /**
     * Frees a segment returned by {@link #allocate}.
     *
     * @param segment a segment returned by allocate
     */
    public void free(MemorySegment segment) {
        if (segment == null) {
            throw new IllegalArgumentException("segment is null");
        }
        free(segment.address());
    }

    // -------------------------------------------------------------------------------------------
    // Thread-bound handles and Sheaf-aware threads

    /**
     * A handle bound to the calling thread that holds its magazine of each size class (taken on
     * the class's first use): its malloc/free/freeRcu skip the per-call lookup of the thread's
     * magazine. See {@link Local} for the rules.
     *
     * @return a new handle owned by the calling thread
     * @throws IllegalStateException closed
     */
    public Local local() {
        if (closedFast()) {
            throw closedError();
        }
        return new Local(this, Thread.currentThread());
    }

    /**
     * A factory of platform threads on which the plain per-call entry points find the thread's
     * magazines in the thread itself ({@link SheafThreads#factory()}); usable with any allocator.
     *
     * @return a new thread factory
     */
    public static java.util.concurrent.ThreadFactory threadFactory() {
        return SheafThreads.factory();
    }

    /**
     * A kmalloc handle bound to the thread that created it ({@link SlabAllocator#local()}), like a
     * confined {@link java.lang.foreign.Arena}: only that thread may call its methods, others get
     * {@link WrongThreadException}. It holds the thread's magazine of every size class it used
     * (an array indexed by size class), so its calls skip the per-call lookup; every check of the
     * plain entry points stays, with the same exceptions. Large sizes, created caches' objects and
     * rcu frees that do not use sheaves take the plain paths.
     *
     * <p>The magazines are the thread's own, shared with its plain calls and other handles (see
     * {@link SlabCache.Local}). {@link #close()} gives their cached objects back and ends the
     * handle. A thread that dies with an open handle is reclaimed like any dead thread. On a
     * virtual thread the handle holds no magazine: every call borrows a carrier magazine, as the
     * plain calls do.
     */
    public static final class Local implements AutoCloseable {
        private final SlabAllocator allocator;
        private final Thread owner;
        private final boolean virtual;
        /** The owner's magazine of each size class, once used; owner-only. */
        private final Magazine[] magazines;
        /** Owner-only. */
        private boolean closed;

        Local(SlabAllocator allocator, Thread owner) {
            this.allocator = allocator;
            this.owner = owner;
            this.virtual = owner.isVirtual();
            this.magazines = new Magazine[SizeClasses.count()];
        }

        /**
         * Allocates {@code size} bytes, as {@link SlabAllocator#malloc(long)}.
         *
         * @param size bytes wanted, 1..capacity
         * @return the address, never 0
         * @throws WrongThreadException     called by a thread other than the handle's owner
         * @throws IllegalArgumentException size not positive or larger than the capacity
         * @throws OutOfMemoryError         capacity exhausted
         * @throws IllegalStateException    the handle or the allocator is closed
         */
        public long malloc(long size) {
            checkUsable();
            SlabAllocator al = allocator;
            if (size <= 0 || size > al.pages.capacity) {
                throw al.badSize(size);
            }
            if (size <= SizeClasses.MAX_CLASS_SIZE) {
                int c = SizeClasses.classOf(size);
                SlabCache cache = al.kmalloc[c];
                if (!cache.isLive()) {
                    throw cache.dead();
                }
                return cache.allocWith(magazine(c, cache), size);
            }
            return al.spans.allocate(size, false);
        }

        /**
         * Frees an address of the allocator, as {@link SlabAllocator#free(long)};
         * {@code free(0)} is a no-op.
         *
         * @param address an address the allocator handed out, or 0
         * @throws WrongThreadException     called by a thread other than the handle's owner
         * @throws IllegalArgumentException not an object start of the allocator
         * @throws IllegalStateException    the object is not allocated, or the handle or the
         *                                  allocator is closed; nothing is changed then
         */
        public void free(long address) {
            if (address == 0) {
                return;
            }
            checkUsable();
            SlabAllocator al = allocator;
            SlabCache c = AddressChecks.taggedCache(al, al.pages, al.byTag, address);
            Slab s = null;
            if (c == null) {
                s = AddressChecks.objectStart(al, al.pages, address);
                c = s.cache;
            }
            if (c == null) {
                al.spans.free(address, s, false);
            } else if (c.sizeClass >= 0) {
                c.freeValidated(magazine(c.sizeClass, c), address);
            } else {
                c.freeValidated(address);
            }
        }

        /**
         * Frees after a grace period, as {@link SlabAllocator#freeRcu(long, long)}: a size-class
         * object joins the rcu sheaf of the held magazine of its class.
         *
         * @param address an allocated object start, or 0
         * @param linkOffset offset of an 8-byte field inside the object
         * @throws WrongThreadException     called by a thread other than the handle's owner
         * @throws IllegalArgumentException not an object start of the allocator, or the link field
         *                                  is not an 8-byte field of the object
         * @throws IllegalStateException    the object is not allocated, or the handle or the
         *                                  allocator is closed
         */
        public void freeRcu(long address, long linkOffset) {
            if (address == 0) {
                return;
            }
            checkUsable();
            SlabAllocator al = allocator;
            SlabCache c = al.rcuSheafCache(address, linkOffset, true);
            if (c == null) {
                al.engine().freeRcu(address, linkOffset);
            } else if (virtual) {
                c.rcuSheaves.free(address, linkOffset);
            } else {
                c.rcuSheaves.freeOwned(magazine(c.sizeClass, c), address);
            }
        }

        /**
         * Headless free after a grace period, as {@link SlabAllocator#freeRcu(long)}; a size-class
         * object joins the rcu sheaf of the held magazine of its class, so no link field is needed
         * and nothing waits for a grace period.
         *
         * @param address an allocated object start, or 0
         * @throws WrongThreadException     called by a thread other than the handle's owner
         * @throws IllegalArgumentException not an object start of the allocator
         * @throws IllegalStateException    the object is not allocated, or the handle or the
         *                                  allocator is closed
         */
        public void freeRcu(long address) {
            if (address == 0) {
                return;
            }
            checkUsable();
            SlabAllocator al = allocator;
            SlabCache c = al.rcuSheafCache(address, 0, false);
            if (c == null) {
                al.engine().freeRcu(address);
            } else if (virtual) {
                c.rcuSheaves.free(address, -1);
            } else {
                c.rcuSheaves.freeOwned(magazine(c.sizeClass, c), address);
            }
        }

        /**
         * Ends the handle and gives the cached objects of its magazines back (see
         * {@link SlabCache.Local#close()}). A second close() is a no-op; after the allocator's
         * close() it only ends the handle.
         *
         * @throws WrongThreadException called by a thread other than the handle's owner
         */
        @Override
        public void close() {
            if (Thread.currentThread() != owner) {
                throw wrongThread();
            }
            if (closed) {
                return;
            }
            closed = true;
            for (int c = 0; c < magazines.length; c++) {
                Magazine m = magazines[c];
                SlabCache cache = allocator.kmalloc[c];
                if (m != null && cache.isLive()) {
                    cache.magazines.giveBackSheaves(m);
                }
            }
        }

        /** The owner's magazine of size class {@code c} (taken on first use); null on a virtual thread. */
        private Magazine magazine(int c, SlabCache cache) {
            Magazine m = magazines[c];
            if (m == null && !virtual) {
                m = cache.magazines.ownOrNew(owner);
                magazines[c] = m;
            }
            return m;
        }

        /** The owner check, then the handle's and the allocator's lifecycle (plain reads). */
        private void checkUsable() {
            if (Thread.currentThread() != owner) {
                throw wrongThread();
            }
            if (closed) {
                throw new IllegalStateException("allocator handle is closed");
            }
            if (allocator.closedFast()) {
                throw allocator.closedError();
            }
        }

        private WrongThreadException wrongThread() {
            return new WrongThreadException("allocator handle belongs to thread " + owner.getName()
                    + ", used by " + Thread.currentThread().getName());
        }

        @Override
        public String toString() {
            return "SlabAllocator.Local[" + owner.getName() + (closed ? ", closed]" : "]");
        }
    }

    // -------------------------------------------------------------------------------------------
    // Caches

    /**
     * Creates a cache of {@code objectSize}-byte objects with default settings.
     *
     * @param name the cache name
     * @param objectSize bytes per object
     * @return the new cache
     */
    public SlabCache createCache(String name, long objectSize) {
        return createCache(CacheSpec.of(name, objectSize));
    }

    /**
     * Creates a cache as described by {@code spec}.
     *
     * @param spec the cache's description
     * @return the new cache
     */
    public SlabCache createCache(CacheSpec spec) {
        if (spec == null) {
            throw new IllegalArgumentException("spec is null");
        }
        cachesLock.lock();
        try {
            if (closed) {
                throw closedError();
            }
            SlabCache c = register(new SlabCache(this, pages, debug ? spec.withDebug() : spec, false,
                    hooks, carrierSlots, freeTag()));
            SlabCache[] old = caches;
            SlabCache[] next = java.util.Arrays.copyOf(old, old.length + 1);
            next[old.length] = c;
            caches = next;
            return c;
        } finally {
            cachesLock.unlock();
        }
    }

    /**
     * The size-class cache serving {@code size}, for inspection.
     *
     * @param size a size, 1..MAX_SIZE_CLASS
     * @return the cache of its size class
     */
    public SlabCache sizeClassCache(long size) {
        if (size <= 0 || size > SizeClasses.MAX_CLASS_SIZE) {
            throw badSize(size);
        }
        return kmalloc[SizeClasses.classOf(size)];
    }

    /**
     * The sizes of the kmalloc classes.
     *
     * @return a copy of the class sizes, ascending
     */
    public static int[] sizeClasses() {
        return SizeClasses.SIZES.clone();
    }

    void destroyCache(SlabCache c) {
        if (c.kmalloc) {
            throw new IllegalStateException("cache '" + c.name() + "' is a size class of the allocator");
        }
        cachesLock.lock();
        try {
            if (closed) {
                throw closedError();
            }
            if (c.state() != SlabCache.LIVE) {
                throw new IllegalStateException("cache '" + c.name() + "' is already destroyed");
            }
        } finally {
            cachesLock.unlock();
        }
        if (c.rcuSheaves.used()) {
            engine().rcuBarrier(); // the cache's rcu sheaves too, even before the engine first ran
        }
        cachesLock.lock();
        try {
            c.flushAll(true);
            long live = c.liveObjectsExact();
            if (live > 0) {
                c.runDestroyHooks(live);
                IllegalStateException leak = new IllegalStateException("cache '" + c.name() + "' destroyed with "
                        + live + " object(s) still allocated" + (c.debug != null
                        ? " (their allocations are attached, at most " + LEAK_TRACES + ")" : ""));
                if (c.debug != null) {
                    c.debug.liveAllocations(LEAK_TRACES).forEach(t -> leak.addSuppressed(t.toThrowable()));
                }
                throw leak;
            }
            c.markDestroyed();
            if (c.tag != 0) {
                byTag[c.tag] = null; // no object of c is allocated: no byte carries its tag
            }
            caches = java.util.Arrays.stream(caches).filter(x -> x != c).toArray(SlabCache[]::new);
        } finally {
            cachesLock.unlock();
        }
    }

    /**
     * The lowest cache tag no cache holds (ObjectStates notes), or 0 when all are taken. Called
     * from the constructor or under cachesLock; the cache keeps it only if it can use it.
     */
    private int freeTag() {
        for (int t = 1; t < byTag.length; t++) {
            if (byTag[t] == null) {
                return t;
            }
        }
        return 0;
    }

    /** Records a new cache's tag, if it kept one (constructor or cachesLock). */
    private SlabCache register(SlabCache c) {
        if (c.tag != 0) {
            byTag[c.tag] = c;
        }
        return c;
    }

    private List<SlabCache> cachesSnapshot() {
        return java.util.Arrays.asList(caches);
    }

    /** Every live cache (the copy-on-write array itself: do not modify). */
    SlabCache[] caches() {
        return caches;
    }

    // -------------------------------------------------------------------------------------------
    // Free after a grace period

    /**
     * The free-after-grace-period drainer's duty cycle as an Agrona {@link org.agrona.concurrent.Agent}:
     * seals batches past the drain delay, asks the RCU domain for grace periods, and frees what
     * they cover. Run it on a thread of your own when the builder said
     * {@code rcuFreeWorkerThread(false)}; with the default worker thread it must not also run elsewhere.
     *
     * @return the drainer's agent
     * @throws IllegalStateException closed
     */
    public org.agrona.concurrent.Agent rcuFreeAgent() {
        return engine().agent();
    }

    RcuFreeEngine engine() {
        // Plain read on the per-call path (a volatile read is a compiler barrier per freeRcu).
        // Safe through a race: every field of RcuFreeEngine is final or volatile, so a thread that
        // sees the reference sees an initialised engine (JLS 17.5); null falls to the lock.
        RcuFreeEngine e = (RcuFreeEngine) ENGINE.get(this);
        if (e == null) {
            cachesLock.lock();
            try {
                if (closed) {
                    throw closedError();
                }
                e = engine;
                if (e == null) {
                    e = new RcuFreeEngine(rcu(), target, rcuSettings);
                    engine = e;
                }
            } finally {
                cachesLock.unlock();
            }
        }
        return e;
    }

    /**
     * Two-argument kfree_rcu: frees after a grace period of {@link #rcu()}. Size-class objects
     * join the caller's rcu sheaf (unless the builder turned rcu sheaves off); otherwise the
     * object is chained through its own 8-byte field at {@code address + linkOffset}.
     * {@code freeRcu(0, off)} is a no-op.
     *
     * @param address an allocated object start, or 0
     * @param linkOffset offset of an 8-byte field inside the object
     * @throws IllegalArgumentException not a live object start of this allocator, or the link
     *                                  field is not an 8-byte aligned field inside the object
     * @throws IllegalStateException    already free or pending, or closed
     */
    public void freeRcu(long address, long linkOffset) {
        if (address == 0) {
            return;
        }
        if (closedFast()) {
            throw closedError();
        }
        SlabCache c = rcuSheafCache(address, linkOffset, true);
        if (c != null) {
            c.rcuSheaves.free(address, linkOffset);
            return;
        }
        engine().freeRcu(address, linkOffset);
    }

    /**
     * The size-class cache whose rcu sheaves take {@code address}, after the checks that path
     * needs (an object start; with {@code hasLink}, {@code linkOffset} an 8-byte field of the
     * object); null when the object goes to the engine instead (rcu sheaves off, a large
     * span, a created cache, a cache without sheaves, not an address of this allocator: the
     * engine validates those).
     */
    private SlabCache rcuSheafCache(long address, long linkOffset, boolean hasLink) {
        if (!rcuSheaves) {
            return null;
        }
        Slab s = pages.ownerOf(address);
        if (s == null || s.cache == null || !s.cache.kmalloc || s.cache.sheafCapacity() == 0) {
            return null;
        }
        if (hasLink) {
            if ((linkOffset & 7) != 0 || linkOffset < 0 || linkOffset > s.cache.objectSize() - Long.BYTES) {
                throw new IllegalArgumentException("link offset " + linkOffset + " is not an 8-byte field of a "
                        + s.cache.objectSize() + "-byte object");
            }
        }
        s.cache.checkInSlab(address, s);
        return s.cache;
    }

    /**
     * Headless kfree_rcu (no link field). Size-class objects join the caller's rcu sheaf (unless
     * the builder turned rcu sheaves off), as in {@link #freeRcu(long, long)}. Otherwise (large
     * spans, rcu sheaves off, a virtual thread that finds no carrier magazine) the address goes
     * into the engine's per-thread bulk array and the call may wait for a grace period when no
     * bulk array is available.
     *
     * <p>Waiting rule: since it may have to wait, a caller that may not wait for a grace period
     * (inside an RCU read section, or an online QSBR thread) is refused on either path, before
     * the object is taken.
     *
     * @param address an allocated object start, or 0
     * @throws IllegalArgumentException not a live object start of this allocator
     * @throws IllegalStateException    the caller may not wait for a grace period, already free or
     *                                  pending, or closed
     */
    public void freeRcu(long address) {
        if (address == 0) {
            return;
        }
        if (closedFast()) {
            throw closedError();
        }
        SlabCache c = rcuSheafCache(address, 0, false);
        if (c != null) {
            checkHeadlessMayWait(address);
            c.rcuSheaves.free(address, -1);
            return;
        }
        engine().freeRcu(address);
    }

    /**
     * The headless rule of {@link #freeRcu(long)} on its rcu sheaf path, where the engine's own
     * check does not run: a caller that may not wait for a grace period is refused before the
     * object is taken.
     */
    private void checkHeadlessMayWait(long address) {
        if (!rcu().mayWaitForGracePeriod()) {
            throw new IllegalStateException("headless freeRcu(0x" + Long.toHexString(address)
                    + ") by a caller that may not wait for a grace period (inside an RCU read section, or an"
                    + " online QSBR thread) may have to wait and would deadlock");
        }
    }

    /**
     * kfree_rcu_nolock: never parks, spin-waits or makes a system call. When it cannot take the
     * caller's open batch at once, the object goes onto a lock-free list (linked through the same
     * 8-byte field) that the drainer or the next ordinary call moves into a batch; nothing is lost.
     * It is the one entry point the pending-memory bound does not throttle, since meeting the
     * bound may mean waiting for a grace period; the objects it adds count towards the bound that
     * ordinary callers then meet. Nor does it wake the free-after-grace-period worker (that is a
     * system call): when an idle allocator's worker has gone dormant, its objects are picked up
     * when the worker's dormant park ends (100 ms at most) or sooner by any other freeRcu call or
     * {@link #rcuBarrier()}.
     *
     * @param address an allocated object start, or 0
     * @param linkOffset offset of an 8-byte field inside the object
     * @throws IllegalArgumentException not a live object start of this allocator, or the link
     *                                  field is not an 8-byte aligned field inside the object
     * @throws IllegalStateException    already free, or closed
     */
    public void freeRcuNoLock(long address, long linkOffset) {
        if (address == 0) {
            return;
        }
        if (closedFast()) {
            throw closedError();
        }
        engine().freeRcuNoLock(address, linkOffset);
    }

    /** On return every object passed to any freeRcu* before the call is free (kvfree_rcu_barrier). */
    public void rcuBarrier() {
        if (closed) {
            throw closedError();
        }
        RcuFreeEngine e = engine;
        if (e == null && anyRcuSheafUsed()) {
            e = engine(); // partly filled rcu sheaves exist but none was submitted yet
        }
        if (e != null) {
            e.rcuBarrier();
        }
    }

    private boolean anyRcuSheafUsed() {
        for (SlabCache c : cachesSnapshot()) {
            if (c.rcuSheaves.used()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Counters of the free-after-grace-period engine.
     *
     * @return a snapshot of the counters
     */
    public RcuFreeStats rcuStats() {
        RcuFreeEngine e = engine;
        return e != null ? e.stats() : engine().stats();
    }

    /** The engine's counters, or null before it was started (for the MXBean, which must not start it). */
    RcuFreeStats rcuStatsIfStarted() {
        RcuFreeEngine e = engine;
        return e != null ? e.stats() : null;
    }

    /** The RCU domain, or null before it was created (for the MXBean, which must not create it). */
    Rcu rcuIfCreated() {
        return rcu;
    }

    /**
     * The RCU domain used by freeRcu and TYPESAFE_BY_RCU caches (created on first use unless given).
     *
     * @return the RCU domain
     */
    public Rcu rcu() {
        Rcu r = rcu;
        if (r == null) {
            cachesLock.lock();
            try {
                r = rcu;
                if (r == null) {
                    if (closed) {
                        throw closedError();
                    }
                    r = Rcu.builder().name("sheaf-allocator").build();
                    rcu = r;
                }
            } finally {
                cachesLock.unlock();
            }
        }
        return r;
    }

    void releaseAfterGracePeriod(Slab s) {
        typesafePending.incrementAndGet();
        rcu().call(() -> {
            try {
                pages.release(s, s.bytes, true);
            } finally {
                typesafePending.decrementAndGet();
            }
        });
    }

    // -------------------------------------------------------------------------------------------
    // Introspection and lifecycle

    /**
     * Gives memory back: drains deferred frees, returns the barns' sheaves, the caller's own
     * sheaves and dead threads' sheaves to slabs, releases empty slabs and madvises every
     * retained run. Returns the bytes given back to the OS.
     *
     * @return the bytes given back to the OS
     */
    public long shrink() {
        if (closed) {
            throw closedError();
        }
        spans.drainDeferred();
        for (SlabCache c : cachesSnapshot()) {
            if (c.state() == SlabCache.LIVE) {
                c.flushAll(false);
                c.node.releaseEmptySlabs();
            }
        }
        return pages.shrink();
    }

    void shrinkForRetry() {
        for (SlabCache c : cachesSnapshot()) {
            if (c.state() == SlabCache.LIVE) {
                c.node.releaseEmptySlabs();
            }
        }
        pages.shrink();
    }

    /**
     * Allocator-wide counters.
     *
     * @return a snapshot of the counters
     */
    public Stats stats() {
        if (closed) {
            throw closedError();
        }
        return SlabInfo.totals(pages, spans, cachesSnapshot());
    }

    /**
     * Stats of every cache (size classes first).
     *
     * @return one Stats per cache
     */
    public List<SlabCache.Stats> cacheStats() {
        List<SlabCache.Stats> out = new ArrayList<>();
        for (SlabCache c : cachesSnapshot()) {
            out.add(c.stats());
        }
        return out;
    }

    /**
     * Text in the columns of /proc/slabinfo (version 2.1) plus sheaf counters: one line per cache
     * that has slabs or cached objects (size classes with nothing are skipped).
     *
     * @return the slabinfo text
     */
    public String slabinfo() {
        return SlabInfo.format(cacheStats());
    }

    /**
     * Whether close() was called.
     *
     * @return whether close() was called
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Frees everything: waits for pending freeRcu objects and TYPESAFE_BY_RCU slabs, lets hooks
     * report (a leak tracker lists objects still allocated), then gives every page back to the OS
     * (madvise). Later calls throw IllegalStateException; a second close() is a no-op. A user-run
     * {@link #rcuFreeAgent()} ends (AgentTerminationException), so its AgentRunner stops.
     *
     * <p>The address range stays reserved (address space, not memory) until this allocator and its
     * caches are unreachable, when a Cleaner unmaps it: a call on another thread that raced
     * close() past its check then writes into mapped zero pages instead of crashing the JVM.
     */
    @Override
    public void close() {
        cachesLock.lock();
        try {
            if (closed || closing) {
                return; // a second (or concurrent) close is a no-op
            }
            closing = true;
        } finally {
            cachesLock.unlock();
        }
        JmxRegistration.unregister(jmxRegistration);
        RcuFreeEngine e = engine;
        if (e == null && anyRcuSheafUsed()) {
            e = engine();
        }
        if (e != null) {
            e.close();
        }
        if (typesafePending.get() > 0) {
            rcu.barrier();
        }
        spans.drainDeferred();
        for (SlabCache c : cachesSnapshot()) {
            c.node.drainDeferred();
        }
        for (SlabHook h : hooks) {
            h.allocatorClosed(this);
        }
        for (SlabCache c : cachesSnapshot()) {
            if (c.debug != null) {
                c.debug.closeAllSegments();
            }
        }
        if (spans.debug != null) {
            spans.debug.closeAllSegments();
        }
        cachesLock.lock();
        try {
            closed = true;
            for (SlabCache c : caches) {
                c.markClosed();
            }
        } finally {
            cachesLock.unlock();
        }
        pages.close();
        if (givenRcu == null && rcu != null) {
            rcu.close();
        }
    }

    // -------------------------------------------------------------------------------------------
    // Errors

    OutOfMemoryError outOfMemory(long size) {
        return new OutOfMemoryError("sheaf allocator capacity exhausted: " + size + " bytes requested, capacity "
                + pages.capacity + ", reserved " + pages.reservedBytes());
    }

    private IllegalArgumentException badSize(long size) {
        return new IllegalArgumentException("size " + size + " outside 1.." + pages.capacity);
    }

    IllegalStateException closedError() {
        return new IllegalStateException("allocator is closed");
    }

    RuntimeException badAddress(long address, Slab s, SlabCache expected) {
        if (closed) {
            return closedError();
        }
        if (!pages.contains(address)) {
            return new IllegalArgumentException(String.format(
                    "address 0x%x was not handed out by this allocator (outside its memory)", address));
        }
        if (s == null) {
            return new IllegalArgumentException(String.format(
                    "address 0x%x lies in free memory of this allocator (no live slab there)", address));
        }
        if (s.cache == null) {
            return new IllegalArgumentException(String.format(
                    "address 0x%x belongs to a large allocation, not to cache '%s'", address,
                    expected == null ? "?" : expected.name()));
        }
        return new IllegalArgumentException(String.format("address 0x%x belongs to cache '%s', not '%s'",
                address, s.cache.name(), expected == null ? "?" : expected.name()));
    }

    /** Frames a debug trace keeps (Builder.debugStackDepth); read by debug caches at creation. */
    int debugStackDepth() {
        return debugStackDepth;
    }

    /** The large allocations (tests; the engine's target has its own reference). */
    LargeSpans largeSpans() {
        return spans;
    }

    PageSource pages() {
        return pages;
    }
}
