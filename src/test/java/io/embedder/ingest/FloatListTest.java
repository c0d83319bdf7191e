package io.embedder.ingest;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FloatListTest {

    @Test
    void readsAsTheBoxedListOfTheSameValues() {
        FloatList list = new FloatList(new float[] {0.5f, -1f, 3.25f});
        List<Float> boxed = new ArrayList<>(List.of(0.5f, -1f, 3.25f));
        assertEquals(boxed, list);
        assertEquals(list, boxed);
        assertEquals(boxed.hashCode(), list.hashCode());
        assertEquals("[0.5, -1.0, 3.25]", list.toString());
        assertEquals(3, list.size());
    }

    @Test
    void isReadOnly() {
        FloatList list = new FloatList(new float[] {1f});
        assertThrows(UnsupportedOperationException.class, () -> list.set(0, 2f));
        assertThrows(UnsupportedOperationException.class, () -> list.add(2f));
        assertEquals(List.of(1f), list);
    }
}
