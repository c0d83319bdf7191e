package io.embedder.core;

/**
 * An error with a kind the REST layer maps to a status code. Messages name the parameter, the value and what is
 * allowed, so they can be returned to the user as they are.
 */
public class EmbedderException extends RuntimeException {

    /** What went wrong, from the caller's point of view. */
    public enum Kind {
        /** The request is wrong: parameter, text or shape (400). */
        BAD_REQUEST,
        /** No such model (404). */
        NOT_FOUND,
        /** The model's files cannot be loaded or contradict each other (400: fix the model directory). */
        INVALID_MODEL,
        /** Inference itself failed (500). */
        INFERENCE_FAILED
    }

    private final Kind kind;

    public EmbedderException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public EmbedderException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static EmbedderException badRequest(String message) {
        return new EmbedderException(Kind.BAD_REQUEST, message);
    }

    public static EmbedderException invalidModel(String model, String message) {
        return new EmbedderException(Kind.INVALID_MODEL, "model [" + model + "]: " + message);
    }
}
