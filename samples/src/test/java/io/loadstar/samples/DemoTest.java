package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.testing.EtcdServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DemoTest {

  @Test
  void roundRobin_weighted_backendsCountExactShares() throws Exception {
    Demo.Options options =
        Demo.Options.parse(
            new String[] {
              "roundRobin", "--requests", "1000", "--weights", "5,3,2", "--threads", "1"
            });
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int[] counts = Demo.run(options, new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(counts).containsExactly(500, 300, 200);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("strategy roundRobin")
        .contains("50.0%")
        .contains("failed requests: 0");
  }

  @Test
  void maglev_everyRequestServed() throws Exception {
    Demo.Options options = Demo.Options.parse(new String[] {"maglev", "--requests", "600"});
    int[] counts =
        Demo.run(
            options, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThat(counts[0] + counts[1] + counts[2]).isEqualTo(600);
    for (int c : counts) {
      assertThat(c).isPositive();
    }
  }

  @Test
  void etcd_backendsRegisterThemselves_discoveredThroughTheRegistry_noRequestFails()
      throws Exception {
    assumeTrue(EtcdServer.binary() != null, EtcdServer.INSTALL_HINT);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int[] counts =
        Demo.run(
            Demo.Options.parse(new String[] {"--requests", "600", "--down", "--etcd"}),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(counts[0] + counts[1] + counts[2]).isEqualTo(600);
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed)
        .containsPattern("etcd at http://127\\.0\\.0\\.1:\\d+: 4 endpoints register");
    assertThat(printed).contains("failed requests: 0;");
  }

  @Test
  void zones_canary_sticky_eachShowsItsEffect() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
    int[] zoned =
        Demo.run(Demo.Options.parse(new String[] {"--requests", "600", "--zones"}), print);
    assertThat(zoned[2]).as("zone b, while zone a can serve").isLessThanOrEqualTo(30);
    int[] canary =
        Demo.run(Demo.Options.parse(new String[] {"--requests", "2000", "--canary", "10"}), print);
    assertThat(canary[2] / 2000.0).isBetween(0.06, 0.14);
    Demo.run(Demo.Options.parse(new String[] {"--requests", "1500", "--sticky"}), print);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("sticky: 500 of 500 users were served by one backend only");
  }

  @Test
  void down_refusingEndpoint_retriedElsewhere_noRequestFails() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int[] counts =
        Demo.run(
            Demo.Options.parse(new String[] {"--requests", "900", "--down"}),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(counts[0] + counts[1] + counts[2]).isEqualTo(900);
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("failed requests: 0;");
    assertThat(printed)
        .containsPattern("refusing endpoint 127\\.0\\.0\\.1:\\d+: \\d+ attempts, EJECTED");
  }

  @Test
  void leastRequest_slowBackend_getsTheSmallestShare() throws Exception {
    Demo.Options options =
        Demo.Options.parse(
            new String[] {"leastRequest", "--requests", "600", "--threads", "8", "--slow", "20"});
    int[] counts =
        Demo.run(
            options, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThat(counts[0] + counts[1] + counts[2]).isEqualTo(600);
    assertThat(counts[2]).isLessThan(counts[0]).isLessThan(counts[1]);
  }

  @Test
  void parse_unknownStrategy_isRejected() {
    assertThatThrownBy(() -> Demo.Options.parse(new String[] {"fastest"}))
        .hasMessageStartingWith("strategy: fastest (expected: roundRobin,");
  }

  @Test
  void parse_badRequests_namesRange() {
    assertThatThrownBy(() -> Demo.Options.parse(new String[] {"--requests", "0"}))
        .hasMessage("--requests: 0 (expected: 1..1000000)");
  }

  @Test
  void parse_twoWeights_explainsFormat() {
    assertThatThrownBy(() -> Demo.Options.parse(new String[] {"--weights", "1,2"}))
        .hasMessage("--weights: 1,2 (expected: three weights, e.g. 5,3,2)");
  }
}
