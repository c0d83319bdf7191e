package io.embedder.core;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DJL and ONNX Runtime never open a network connection, even on a first start with an empty DJL cache. */
class OfflineTest {

    @Test
    void embeddingFromAColdStartOpensNoConnection() throws Exception {
        TestData.assumeModel("bge-small-en-v1.5");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), NoNetworkMain.class.getName(),
            TestData.modelsDir().toAbsolutePath().toString()).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("native libraries extracted: 1"), out);
        assertTrue(out.contains("dimensions: 384"), out);
        assertTrue(out.contains("network attempts: 0 []"), out);
    }
}
