package io.embedder.core.runtime;

import io.embedder.core.EmbedderException;
import io.embedder.core.TestData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Truncation on bge-small's real tokenizer.json (BERT word pieces: [CLS]=101, [SEP]=102). */
class TextTokenizerTest {

    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        TestData.assumeModel("bge-small-en-v1.5");
        DjlEnvironment.configure(Path.of("target/djl-cache"));
        tokenizer = TextTokenizer.load("bge-small-en-v1.5", TestData.modelsDir().resolve("bge-small-en-v1.5/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    // "hello world ! again" → [CLS] hello world ! again [SEP]
    private static final long[] FULL = {101, 7592, 2088, 999, 2153, 102};

    @Test
    void noTruncationWhenItFits() {
        TokenizedText t = tokenizer.encode("hello world! again", 512, Truncation.MODEL_DEFAULT);
        assertArrayEquals(FULL, t.ids());
        assertArrayEquals(new long[6], t.typeIds());
        assertEquals(6, t.untruncatedLength());
    }

    @Test
    void modelDefaultKeepsTheFirstTokensAndTheSpecialOnes() {
        TokenizedText t = tokenizer.encode("hello world! again", 4, Truncation.MODEL_DEFAULT);
        assertArrayEquals(new long[] {101, 7592, 2088, 102}, t.ids());
        assertEquals(6, t.untruncatedLength());
    }

    @Test
    void keepLastKeepsTheLastContentTokens() {
        assertArrayEquals(new long[] {101, 999, 2153, 102}, tokenizer.encode("hello world! again", 512, new Truncation.KeepLast(2)).ids());
        assertArrayEquals(FULL, tokenizer.encode("hello world! again", 512, new Truncation.KeepLast(100)).ids());
    }

    @Test
    void limitsAreReportedPrecisely() {
        EmbedderException none = assertThrows(EmbedderException.class, () -> tokenizer.encode("hello world! again", 5, Truncation.NONE));
        assertEquals("text has 6 tokens, more than the model's max_tokens [5], and truncate_prompt_tokens is [none]", none.getMessage());
        EmbedderException keep = assertThrows(EmbedderException.class, () -> tokenizer.encode("hello", 5, new Truncation.KeepLast(4)));
        assertEquals("truncate_prompt_tokens [4] exceeds the [3] content tokens the model's max_tokens [5] leaves beside its special tokens",
            keep.getMessage());
    }

    @Test
    void emptyTextKeepsItsSpecialTokens() {
        assertArrayEquals(new long[] {101, 102}, tokenizer.encode("", 512, Truncation.MODEL_DEFAULT).ids());
    }

    @Test
    void unpairedSurrogatesBecomeReplacementCharacters() {
        assertEquals("a\uFFFDb", TextTokenizer.sanitize("a\uD800b"));
        assertEquals("\uFFFD\uFFFD", TextTokenizer.sanitize("\uDC00\uD800"));
        String emoji = "ok \uD83D\uDE00";
        assertSame(emoji, TextTokenizer.sanitize(emoji));
        // and the tokenizer takes them: [CLS] a [UNK] b [SEP] or similar, never a native failure
        assertEquals(tokenizer.encode("a \uFFFD b", 512, Truncation.MODEL_DEFAULT).length(), tokenizer.encode("a \uD800 b", 512, Truncation.MODEL_DEFAULT).length());
    }

    @Test
    void hugeTextsAreCutBeforeTokenizing() {
        String huge = "word ".repeat(1_000_000); // 5 MB
        TokenizedText head = tokenizer.encode(huge, 512, Truncation.MODEL_DEFAULT);
        assertEquals(512, head.length());
        assertEquals(4, tokenizer.encode(huge + "the end", 8, new Truncation.KeepLast(2)).length()); // [CLS] the end [SEP]
        assertEquals("the end", TextTokenizer.bound("x".repeat(5000) + "the end", 1, new Truncation.KeepLast(1)).substring(249));
        EmbedderException none = assertThrows(EmbedderException.class, () -> TextTokenizer.bound(huge, 512, Truncation.NONE));
        assertEquals("text has 5000000 characters, more than the 65664 that max_tokens [512] allows, and truncate_prompt_tokens is [none]",
            none.getMessage());
    }
}
