package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.testing.RedisServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RedisExampleTest {

  @Test
  void oneOfThreeServersRefuses_everyKeyWrittenAndReadBack() throws Exception {
    assumeTrue(RedisServer.binary() != null, RedisServer.INSTALL_HINT);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int failed = RedisExample.run(500, new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(failed).isZero();
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("500 keys written and read back").contains("failed calls: 0");
    assertThat(printed).containsPattern("127\\.0\\.0\\.1:\\d+ +\\d+ keys");
  }
}
