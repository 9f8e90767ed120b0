package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GrpcExampleTest {

  @Test
  void oneServerOverloadedAndOneKilled_noRpcFails() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int failed = GrpcExample.run(300, new PrintStream(out, true, StandardCharsets.UTF_8));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(failed).as(printed).isZero();
    assertThat(printed).contains("300 RPCs, 0 failed");
    assertThat(printed).containsPattern("127\\.0\\.0\\.3:\\d+ +overloaded +5 answered +EJECTED");
    // Ejected too, unless the overloaded one already is (maxEjectionPercent): then it goes last.
    assertThat(printed)
        .containsPattern(
            "127\\.0\\.0\\.2:\\d+ +killed +\\d+ answered +(EJECTED|READY: failing .*goes last)");
  }
}
