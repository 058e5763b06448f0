package dev.sheaf.bench.peer;

import java.io.Serial;

/** A peer cannot run on this machine (a native library is missing, say); callers skip it with a note. */
public final class PeerUnavailableException extends Exception {
    @Serial
    private static final long serialVersionUID = 1L;

    public PeerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public PeerUnavailableException(String message) {
        super(message);
    }
}
