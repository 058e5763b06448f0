package dev.sheaf.bench.peer;

/** A peer cannot run on this machine (a native library is missing, say); callers skip it with a note. */
public final class PeerUnavailableException extends Exception {
    public PeerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public PeerUnavailableException(String message) {
        super(message);
    }
}
