package io.embedder.core;

/** Which side of retrieval a text is on; it picks the model's prompt. */
public enum Role {
    QUERY("query"),
    DOCUMENT("document");

    private final String id;

    Role(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Role fromId(String id) {
        for (Role r : values()) {
            if (r.id.equals(id)) {
                return r;
            }
        }
        throw EmbedderException.badRequest("unknown role [" + id + "]; allowed: [query, document]");
    }
}
