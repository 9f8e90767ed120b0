package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The snapshot as a text table and as JSON; the event timeline. */
class SnapshotReportTest extends FakeTimeTest {

  private static final Endpoint A = Endpoint.of("10.0.0.1", 80).withZone("eu-1a");
  private static final Endpoint B = Endpoint.of("10.0.0.2", 80).withTag("note", "say \"hi\"\n");

  @Test
  void table_oneAlignedLinePerEndpoint_withStateAndReason() {
    EventTimeline timeline =
        EventTimeline.of(
            10,
            Clock.fixed(Instant.parse("2026-11-26T12:00:00Z"), ZoneOffset.UTC),
            io.loadstar.api.LbEventListener.NONE);
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("api")
                .endpoints(A, B)
                .eventListener(timeline)
                .ticker(ticker)
                .scheduler(scheduler)
                .build());
    TestEndpoints.eject(lb, A);
    lb.control().drain(B.key());

    String table = SnapshotReport.table(lb.name(), lb.inspect().snapshot());
    assertThat(table.split("\n"))
        .hasSize(4)
        .satisfies(
            lines -> {
              assertThat(lines[0]).isEqualTo("api: 2 endpoints");
              assertThat(lines[1]).startsWith("endpoint     zone   state");
              assertThat(lines[2])
                  .startsWith("10.0.0.1:80  eu-1a  EJECTED")
                  .contains("ejected: 5 consecutive connect failures");
              assertThat(lines[3])
                  .startsWith("10.0.0.2:80         DRAINING")
                  .endsWith("drained by the application");
            });

    String json = SnapshotReport.json(lb.name(), lb.inspect().snapshot());
    assertThat(json)
        .startsWith("{\"service\":\"api\",\"endpoints\":[{\"endpoint\":\"10.0.0.1:80\"")
        .contains("\"zone\":\"eu-1a\"", "\"state\":\"EJECTED\"", "\"failures\":5")
        .contains("\"tags\":{\"note\":\"say \\\"hi\\\"\\n\"}")
        .endsWith("}]}");

    List<EventTimeline.Event> events = timeline.events();
    assertThat(events)
        .extracting(EventTimeline.Event::what)
        .contains("endpoints", "10.0.0.1:80 EJECTED", "10.0.0.2:80 DRAINING");
    assertThat(timeline.text())
        .contains("2026-11-26T12:00:00Z  api  10.0.0.1:80 EJECTED: ejected: 5 consecutive");
  }

  @Test
  void timeline_keepsTheNewest() {
    EventTimeline timeline =
        EventTimeline.of(2, Clock.systemUTC(), io.loadstar.api.LbEventListener.NONE);
    timeline.panicChanged("s", true, "one");
    timeline.panicChanged("s", false, "");
    timeline.canaryRolledBack("s", "three");
    assertThat(timeline.events())
        .extracting(EventTimeline.Event::what)
        .containsExactly("panic over", "canary rolled back");
  }
}
