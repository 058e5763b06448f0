package dev.sheaf.rcu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The owner / borrower decision table of ReaderSlot's handshake, step by step on one thread: each
 * interleaving is played in a fixed order (the borrower's steps are the ones lockShared runs, with
 * another thread's identity), so every branch is taken deterministically.
 */
class ReaderBorrowHandshakeTest {
    private static final Thread OTHER = Thread.ofPlatform().unstarted(() -> { });

    private static ReaderSlot handleSlot(ReaderRegistry registry) {
        ReaderSlot s = registry.registerHandle(Thread.currentThread(), x -> { });
        if (registry.qsbr) {
            s.qsbrOnline();
        }
        return s;
    }

    private static boolean ownerEnter(ReaderSlot s, boolean qsbr) {
        return qsbr ? s.handleQsbrEnter() : s.handleEbrEnter();
    }

    private static void ownerExit(ReaderSlot s, boolean qsbr) {
        if (qsbr) {
            s.handleQsbrExit();
        } else {
            s.handleEbrExit();
        }
    }

    @ParameterizedTest(name = "qsbr={0}")
    @ValueSource(booleans = {false, true})
    void ownerSettlesATieWithOneCasAndTheClaimBacksOut(boolean qsbr) {
        ReaderRegistry registry = new ReaderRegistry(qsbr);
        ReaderSlot s = handleSlot(registry);
        assertTrue(s.tryBorrow(OTHER)); // the borrower claimed before the owner's check
        assertTrue(ownerEnter(s, qsbr), "the owner wins a tie against an undecided claim");
        assertEquals(1, s.ownerNesting(), "the borrower then reads the owner's announcement");
        assertFalse(s.commitBorrow(), "and its commit fails even if it missed the announcement");
        s.endBorrow();
        assertTrue(s.inSectionOf(Thread.currentThread()));
        ownerExit(s, qsbr);
        assertEquals(0, s.ownerNesting());
    }

    @ParameterizedTest(name = "qsbr={0}")
    @ValueSource(booleans = {false, true})
    void ownerEntersAgainWhileALoserStillBacksOut(boolean qsbr) {
        ReaderRegistry registry = new ReaderRegistry(qsbr);
        ReaderSlot s = handleSlot(registry);
        assertTrue(s.tryBorrow(OTHER));
        assertTrue(ownerEnter(s, qsbr)); // OWNER_WON
        ownerExit(s, qsbr);
        assertTrue(ownerEnter(s, qsbr), "a stale OWNER_WON: the loser cannot commit, the owner enters");
        assertFalse(s.commitBorrow());
        s.endBorrow();
        ownerExit(s, qsbr);
        assertTrue(s.tryBorrow(OTHER), "after the loser's endBorrow the next claim may proceed");
        assertEquals(0, s.ownerNesting());
        assertTrue(s.commitBorrow());
        s.borrowEnter();
        s.borrowExit();
        assertEquals(ReaderSlot.FREE, s.borrowStateVolatile(), "the outermost exit ends the borrow");
    }

    @ParameterizedTest(name = "qsbr={0}")
    @ValueSource(booleans = {false, true})
    void ownerIsRefusedOnlyByACommittedBorrowerAndUndoesOnlyItsOwnState(boolean qsbr) {
        ReaderRegistry registry = new ReaderRegistry(qsbr);
        ReaderSlot s = handleSlot(registry);
        long online = s.epochAcquire();
        assertTrue(s.tryBorrow(OTHER));
        assertEquals(0, s.ownerNesting());
        assertTrue(s.commitBorrow());
        s.borrowEnter();
        long target = registry.epoch() + 1;
        assertFalse(ownerEnter(s, qsbr), "a committed borrower refuses the owner");
        assertEquals(0, s.ownerNesting(), "the refused owner cleared its own nesting");
        assertEquals(qsbr ? online : 0L, s.epochAcquire(), "and only its own epoch");
        assertTrue(s.borrowEpochAcquire() > 0, "the borrower's publication is untouched");
        assertFalse(ReaderRegistry.quiescentFor(s, target), "the scan waits for the borrower");
        assertEquals(OTHER, s.occupant());
        s.borrowExit();
        assertTrue(ReaderRegistry.quiescentFor(s, target) || qsbr, "EBR: quiescent after the borrower left");
        assertEquals(0L, s.borrowEpochAcquire());
        assertTrue(ownerEnter(s, qsbr), "the owner enters once the borrow ended");
        ownerExit(s, qsbr);
    }

    @ParameterizedTest(name = "qsbr={0}")
    @ValueSource(booleans = {false, true})
    void closeAndAClaimSeeEachOther(boolean qsbr) throws Exception {
        try (Rcu rcu = Rcu.builder().flavor(qsbr ? Rcu.Flavor.QSBR : Rcu.Flavor.EBR).build()) {
            Rcu.Reader r = rcu.register();
            ReaderSlot s = readerSlot(r);
            assertTrue(s.tryBorrow(OTHER)); // a claim in progress: close() refuses and stays usable
            IllegalStateException e = assertThrows(IllegalStateException.class, r::close);
            assertTrue(e.getMessage().contains("inside a read section"), e.getMessage());
            s.endBorrow();
            r.lock(); // still usable by its owner
            r.unlock();
            r.close();
            assertEquals(ReaderSlot.RETIRED_NESTING, s.ownerNesting(), "a claim after close() reads it");
        }
    }

    private static ReaderSlot readerSlot(Rcu.Reader r) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Rcu.Reader.class.getDeclaredField("slot");
        f.setAccessible(true);
        return (ReaderSlot) f.get(r);
    }
}
