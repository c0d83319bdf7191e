package io.embedder.core.runtime;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The hand-written protobuf wire format against encodings worked out by hand from the protobuf encoding rules. */
class ProtoWireTest {

    @Test
    void writesVarintsAndLengthDelimitedFields() {
        // field 1 varint 300: tag 0x08, 300 = 0xac 0x02; field 2 "hi": tag 0x12, length 2
        assertArrayEquals(new byte[] {0x08, (byte) 0xac, 0x02, 0x12, 0x02, 'h', 'i'},
            new ProtoWire.Writer().varintField(1, 300).stringField(2, "hi").toByteArray());
        // an int64 of -1 takes ten bytes
        byte[] minusOne = new ProtoWire.Writer().varintField(3, -1).toByteArray();
        assertEquals(11, minusOne.length);
        assertEquals(-1L, ProtoWire.fields(ByteBuffer.wrap(minusOne)).get(0).varint());
        assertEquals(10, ProtoWire.varintSize(-1));
        assertEquals(2, ProtoWire.varintSize(300));
        assertArrayEquals(new byte[] {0x3a, (byte) 0x80, 0x01}, ProtoWire.lenPrefix(7, 128));
    }

    @Test
    void readsFieldsWithWhereTheirBytesAre() {
        byte[] message = {0x08, (byte) 0xac, 0x02, 0x12, 0x02, 'h', 'i', 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8};
        List<ProtoWire.Field> fields = ProtoWire.fields(ByteBuffer.wrap(message));
        assertEquals(List.of(1, 2, 3, 4), fields.stream().map(ProtoWire.Field::number).toList());
        assertEquals(List.of(ProtoWire.VARINT, ProtoWire.LEN, ProtoWire.FIXED32, ProtoWire.FIXED64),
            fields.stream().map(ProtoWire.Field::wireType).toList());
        assertEquals(300, fields.get(0).varint());
        assertEquals("hi", fields.get(1).string());
        assertEquals(5, fields.get(1).absoluteValueStart());
        assertEquals(ByteBuffer.wrap(message, 3, 4), fields.get(1).raw());
        assertEquals(ByteBuffer.wrap(message, 8, 4), fields.get(2).value());
    }

    @Test
    void nestedFieldsKeepTheirOffsetInTheOutermostMessage() {
        byte[] inner = new ProtoWire.Writer().stringField(9, "abc").toByteArray();
        byte[] outer = new ProtoWire.Writer().varintField(1, 5).bytesField(5, inner).toByteArray();
        ProtoWire.Field nested = ProtoWire.fields(ByteBuffer.wrap(outer)).get(1).children().get(0);
        // outer: 08 05 | 2a 05 | 4a 03 'a' 'b' 'c'
        assertEquals(6, nested.absoluteValueStart());
        assertEquals("abc", nested.string());
    }

    @Test
    void readsRepeatedInt64sPackedAndNot() {
        byte[] packed = {0x0a, 0x03, 0x01, (byte) 0x80, 0x01};
        byte[] unpacked = {0x08, 0x01, 0x08, (byte) 0x80, 0x01};
        assertEquals(List.of(1L, 128L), ProtoWire.int64s(ProtoWire.fields(ByteBuffer.wrap(packed)), 1));
        assertEquals(List.of(1L, 128L), ProtoWire.int64s(ProtoWire.fields(ByteBuffer.wrap(unpacked)), 1));
    }

    @Test
    void refusesMalformedMessages() {
        assertEquals("field of 5 bytes at byte 2 runs past the message end 4",
            assertThrows(IllegalArgumentException.class, () -> ProtoWire.fields(ByteBuffer.wrap(new byte[] {0x12, 0x05, 'a', 'b'}))).getMessage());
        assertEquals("truncated varint at byte 2",
            assertThrows(IllegalArgumentException.class, () -> ProtoWire.fields(ByteBuffer.wrap(new byte[] {0x08, (byte) 0x80}))).getMessage());
        assertEquals("wire type 3 at byte 0",
            assertThrows(IllegalArgumentException.class, () -> ProtoWire.fields(ByteBuffer.wrap(new byte[] {0x0b}))).getMessage());
        assertEquals("field number 0 at byte 0",
            assertThrows(IllegalArgumentException.class, () -> ProtoWire.fields(ByteBuffer.wrap(new byte[] {0x00, 0x01}))).getMessage());
    }
}
