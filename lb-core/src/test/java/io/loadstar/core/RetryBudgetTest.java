package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The retry budget's windows on the injected clock (from 0, days and negative origins): retries
 * within their share of the calls or the floor, hedges within theirs as well, both forgotten once
 * the window has passed.
 */
class RetryBudgetTest {

  private static final long SECOND = 1_000_000_000L;
  private static final long DAY = 86_400 * SECOND;

  @ParameterizedTest
  @ValueSource(longs = {0, 3 * DAY, -3 * DAY})
  void hedges_stayWithinTheirShareOfTheCalls_andCountAsRetries(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    RetryBudget budget = new RetryBudget(ticker, 10 * SECOND, 20, 2);
    for (int i = 0; i < 1_000; i++) {
      budget.recordCall();
    }
    int hedges = 0;
    while (budget.hasHedgeRoom(0.05)) {
      assertThat(budget.tryHedge(0.05)).isTrue();
      hedges++;
    }
    assertThat(hedges).as("5% of 1,000 calls").isEqualTo(50);
    assertThat(budget.tryHedge(0.05)).isFalse();
    assertThat(budget.hedges()).isEqualTo(50);
    assertThat(budget.retries()).as("hedges are retries too").isEqualTo(50);

    // The retries left: 20% of the calls, less the hedges.
    int retries = 0;
    while (budget.tryRetry()) {
      retries++;
    }
    assertThat(retries).isEqualTo(150);
    assertThat(budget.hasHedgeRoom(0.5)).as("the retry budget is spent").isFalse();

    ticker.advance(Duration.ofSeconds(11));
    assertThat(budget.hedges()).isZero();
    assertThat(budget.calls()).isZero();
    assertThat(budget.tryHedge(0.05)).as("the floor, with no calls in the window").isTrue();
    assertThat(budget.tryHedge(0.05)).isTrue();
    assertThat(budget.tryHedge(0.05)).isFalse();
  }
}
