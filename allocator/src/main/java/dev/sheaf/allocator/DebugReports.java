package dev.sheaf.allocator;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/*
 * Implementation notes.
 *
 * Builds a SlabCorruptionException and publishes it: the System.Logger "dev.sheaf.allocator.debug"
 * at ERROR (with the exception, so the attached traces are printed) and the JFR event
 * dev.sheaf.SlabCorruption (with the stack of the thread that found it). Every report of debug
 * mode and of validate() is made here, once per damage found; reports are rare, so the event
 * object and the message cost nothing that matters.
 *
 * Map: the event; report.
 */
/** SlabCorruptionException construction with its log line and JFR event. */
final class DebugReports {

    private static final System.Logger LOG = System.getLogger("dev.sheaf.allocator.debug");

    private DebugReports() { }

    @Name("dev.sheaf.SlabCorruption")
    @Label("Slab Corruption")
    @Category({"Sheaf", "Allocator"})
    @Description("Damage found by the allocator's debug checks or validate()")
    @StackTrace(true)
    static final class Corruption extends Event {
        @Label("Cache")
        String cache;
        @Label("Address")
        long address;
        @Label("Damage")
        String damage;
        @Label("Offset")
        long offset;
        @Label("Message")
        String message;
    }

    /**
     * A report: the exception (with the record's allocation and free traces attached when
     * {@code record} is not null), logged and recorded as a JFR event.
     */
    static SlabCorruptionException report(String cache, long address, SlabCorruptionException.Damage damage,
                                          long offset, String detail, AllocTracking.ObjectRecord record) {
        String message = String.format("cache '%s': %s at object 0x%x, first bad byte at offset %d: %s",
                cache, describe(damage), address, offset, detail);
        SlabCorruptionException e = new SlabCorruptionException(message, cache, address, damage, offset);
        if (record != null) {
            AllocTracking.Trace alloc = record.alloc;
            AllocTracking.Trace free = record.free;
            if (alloc != null) {
                e.addSuppressed(alloc.toThrowable());
            }
            if (free != null) {
                e.addSuppressed(free.toThrowable());
            }
        }
        LOG.log(System.Logger.Level.ERROR, message, e);
        Corruption ev = new Corruption();
        if (ev.shouldCommit()) {
            ev.cache = cache;
            ev.address = address;
            ev.damage = damage.name();
            ev.offset = offset;
            ev.message = message;
            ev.commit();
        }
        return e;
    }

    private static String describe(SlabCorruptionException.Damage damage) {
        return switch (damage) {
            case OVERFLOW -> "overflow (right red zone overwritten)";
            case UNDERFLOW -> "underflow (left red zone overwritten)";
            case WRITE_AFTER_FREE -> "write after free (poison overwritten)";
            case FREE_LINK -> "corrupt free-list link";
            case DOUBLE_FREE -> "double free";
            case COUNTS -> "inconsistent counts";
        };
    }
}
