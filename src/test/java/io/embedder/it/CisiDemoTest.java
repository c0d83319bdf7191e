package io.embedder.it;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The demo's third column appears exactly when the index maps a {@code late_interaction} field. */
class CisiDemoTest {

    @Test
    void theLateInteractionColumnFollowsTheMapping() {
        assertEquals(Optional.empty(), CisiDemo.lateInteractionField(JsonParser.parseString(
            "{\"body\": {\"type\": \"text\"}, \"body_vec\": {\"type\": \"knn_vector\"}, \"meta\": {\"properties\": {}}}").getAsJsonObject()));
        assertEquals(Optional.of("body_tokens"), CisiDemo.lateInteractionField(JsonParser.parseString(
            "{\"body\": {\"type\": \"text\"}, \"body_tokens\": {\"type\": \"late_interaction\", \"dims\": 384}}").getAsJsonObject()));
    }
}
