package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * The one report of debug mode and of SlabAllocator.validate(): what was damaged (Damage), where
 * (cache, object address, offset of the first bad byte relative to the object start; negative
 * inside the left red zone) and, when the object is tracked (debug mode), where it was last
 * allocated and freed, attached as suppressed throwables (AllocTracking.TraceStack) so a stack trace
 * print shows them. Built by DebugReports, which also logs it and commits the JFR event.
 *
 * Map: Damage; fields and accessors.
 */
/**
 * Damage found in an allocator's memory: an overflow or underflow into a red zone, a write to a
 * freed object, a corrupt free-list link, a double free, or slab counts that disagree. Thrown by
 * the checks of debug mode ({@link SlabAllocator.Builder#debug(boolean)}) and by
 * {@link SlabAllocator#validate()}. When the object is tracked (debug mode), its last allocation
 * and free are attached as {@linkplain #getSuppressed() suppressed} throwables whose stack traces
 * show where they happened and whose messages name the thread and the time.
 *
 * <p>Every report is also logged to the {@code System.Logger} named {@code dev.sheaf.allocator.debug}
 * and recorded as the JFR event {@code dev.sheaf.SlabCorruption}. Instances are immutable apart
 * from the suppressed list; they are safe to pass between threads.
 */
public final class SlabCorruptionException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** The kind of damage. */
    public enum Damage {
        /** A write past the end of the object (its right red zone, or past malloc's requested size). */
        OVERFLOW,
        /** A write before the start of the object (its left red zone). */
        UNDERFLOW,
        /** A write to a freed object (its poison pattern is damaged). */
        WRITE_AFTER_FREE,
        /** A free-list link that does not lead to a free object of its slab. */
        FREE_LINK,
        /** A free of an object that is not allocated. */
        DOUBLE_FREE,
        /** Slab or cache counts that disagree with the objects found. */
        COUNTS
    }

    /** The damaged object's cache name. */
    private final String cacheName;
    /** The damaged object's start address (a slab's base for slab-level damage). */
    private final long address;
    /** What was damaged. */
    private final Damage damage;
    /** The offset of the first bad byte from the object start. */
    private final long offset;

    SlabCorruptionException(String message, String cacheName, long address, Damage damage, long offset) {
        super(message);
        this.cacheName = cacheName;
        this.address = address;
        this.damage = damage;
        this.offset = offset;
    }

    /**
     * The damaged object's cache.
     *
     * @return the cache name
     */
    public String cacheName() {
        return cacheName;
    }

    /**
     * The damaged object's start address (for a slab-level report, the slab's base).
     *
     * @return the address
     */
    public long address() {
        return address;
    }

    /**
     * What was damaged.
     *
     * @return the kind of damage
     */
    public Damage damage() {
        return damage;
    }

    /**
     * The offset of the first bad byte from the object start: negative in the left red zone,
     * at least the object's (or malloc's requested) size in the right one; 0 where no byte is
     * meant (a double free, a count).
     *
     * @return the offset in bytes
     */
    public long offset() {
        return offset;
    }
}
