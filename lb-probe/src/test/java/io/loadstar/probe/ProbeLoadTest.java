package io.loadstar.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.ProbeResult;
import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What a server's probe answer says, counted on a fake clock from every origin. */
class ProbeLoadTest {

  @ParameterizedTest
  @MethodSource("io.loadstar.testing.FakeTicker#origins")
  void theAnswer_isTheLoadNow_andTheLatencyAtTheLoadANewRequestWouldMake(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    ProbeLoad load = ProbeLoad.create(ticker);
    assertThat(load.read()).isEqualTo(new ProbeResult(0, 0));

    // Alone, a request takes 2 ms (a ticket keeps the start to 16 ns).
    long a = load.started();
    ticker.advance(Duration.ofMillis(2));
    load.ended(a);
    assertThat(load.requestsInFlight()).isZero();
    assertThat(load.read().latencyNanos()).isBetween(2_000_000L, 2_000_016L);

    // Three arrive at loads 2, 3 and 4 while one is in flight, and take 10 ms each: a request
    // arriving at a load of 2 or 3-4 is expected to take that; at 5 no request has been seen yet,
    // and the busiest band below answers.
    long first = load.started();
    long[] three = {load.started(), load.started(), load.started()};
    ticker.advance(Duration.ofMillis(10));
    for (long t : three) {
      load.ended(t);
    }
    assertThat(load.read()).satisfies(r -> assertThat(r.requestsInFlight()).isEqualTo(1));
    assertThat(load.read().latencyNanos()).as("a new one at 2").isBetween(10_000_000L, 10_000_016L);
    long b = load.started();
    long c = load.started();
    long d = load.started();
    assertThat(load.read().requestsInFlight()).isEqualTo(4);
    assertThat(load.read().latencyNanos()).as("at 5: from 3-4").isBetween(10_000_000L, 10_000_016L);
    load.ended(first);
    load.ended(b);
    load.ended(c);
    load.ended(d);
    assertThat(load.requestsInFlight()).isZero();
    assertThat(load.answer()).startsWith("rif=0 latency_ns=").endsWith("\n");
    assertThat(ProbeLoad.parse(load.answer())).isEqualTo(load.read());
  }

  @ParameterizedTest
  @MethodSource("io.loadstar.testing.FakeTicker#origins")
  void anIdleServersOldEstimate_fades_andItsNextRequestStartsItOver(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    ProbeLoad load = ProbeLoad.create(ticker);
    long cold = load.started(); // its code is cold: 48 ms
    ticker.advance(Duration.ofMillis(48));
    load.ended(cold);

    // Idle: the estimate holds for a second, then halves each further second.
    ticker.advance(Duration.ofMillis(1000));
    assertThat(load.read().latencyNanos()).isBetween(48_000_000L, 48_000_016L);
    ticker.advance(Duration.ofMillis(1000));
    assertThat(load.read().latencyNanos()).isBetween(23_999_000L, 24_001_000L);
    ticker.advance(Duration.ofMillis(1000));
    assertThat(load.read().latencyNanos()).isBetween(11_999_000L, 12_001_000L);

    // Busy, it reports its estimate whatever its age: what is in flight says more.
    long busy = load.started();
    assertThat(load.read().latencyNanos()).isBetween(48_000_000L, 48_000_016L);

    // That request takes 2 ms: the old estimate is not averaged in, the new one starts over.
    ticker.advance(Duration.ofMillis(2));
    load.ended(busy);
    assertThat(load.read().latencyNanos()).isBetween(2_000_000L, 2_000_016L);
    // And is averaged as usual while fresh (weight 1/8).
    long next = load.started();
    ticker.advance(Duration.ofMillis(10));
    load.ended(next);
    assertThat(load.read().latencyNanos()).isBetween(3_000_000L, 3_000_016L);
  }

  @Test
  void beforeAnyRequestEnded_aProbeIsToldHowLongTheFirstHasWaited() {
    FakeTicker ticker = new FakeTicker(-5);
    ProbeLoad load = ProbeLoad.create(ticker);
    long hanging = load.started();
    ticker.advance(Duration.ofMillis(700));
    load.started();
    assertThat(load.read()).isEqualTo(new ProbeResult(2, 700_000_000));
    ticker.advance(Duration.ofMillis(300));
    load.ended(hanging);
    assertThat(load.read().latencyNanos()).isBetween(1_000_000_000L, 1_000_000_016L);
  }

  @Test
  void aLatencyFollowsTheRecentRequestsOfItsBand() {
    FakeTicker ticker = new FakeTicker(0);
    ProbeLoad load = ProbeLoad.create(ticker);
    for (int i = 0; i < 50; i++) {
      long s = load.started();
      ticker.advance(Duration.ofMillis(i < 10 ? 100 : 1));
      load.ended(s);
    }
    assertThat(load.read().latencyNanos()).isBetween(1_000_000L, 2_000_000L);
  }

  @Test
  void badAnswers_areRefusedWithWhatWasExpected() {
    assertThat(ProbeLoad.parse(" rif=7 latency_ns=123 \n")).isEqualTo(new ProbeResult(7, 123));
    assertThatThrownBy(() -> ProbeLoad.parse("<html>not found</html>"))
        .hasMessage(
            "probe answer: '<html>not found</html>' (expected: rif=<n> latency_ns=<n>, n >= 0)");
    assertThatThrownBy(() -> ProbeLoad.parse("rif=-1 latency_ns=5"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ProbeLoad.parse("rif=x latency_ns=5"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ProbeLoad.parse("rif=1 latency_ns=99999999999999999999999"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(ProbeLoad.band(1)).isZero();
    assertThat(ProbeLoad.band(2)).isEqualTo(1);
    assertThat(ProbeLoad.band(4)).isEqualTo(2);
    assertThat(ProbeLoad.band(5)).isEqualTo(3);
    assertThat(ProbeLoad.band(Integer.MAX_VALUE)).isEqualTo(15);
  }
}
