package io.loadstar.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The budget header's value: whole milliseconds, rounded up, at least one. */
class AttemptTimeoutTest {

  @Test
  void aBudget_isWholeMillisecondsRoundedUp_atLeastOne() {
    assertThat(AttemptTimeout.BUDGET_HEADER).isEqualTo("Loadstar-Timeout-Ms");
    assertThat(AttemptTimeout.budgetMillis(0)).isEqualTo("1");
    assertThat(AttemptTimeout.budgetMillis(1)).isEqualTo("1");
    assertThat(AttemptTimeout.budgetMillis(1_000_000)).isEqualTo("1");
    assertThat(AttemptTimeout.budgetMillis(1_000_001)).isEqualTo("2");
    assertThat(AttemptTimeout.budgetMillis(Duration.ofMillis(250).toNanos())).isEqualTo("250");
    assertThat(AttemptTimeout.budgetMillis(Long.MAX_VALUE - 1)).isEqualTo("9223372036855");
  }

  @Test
  void noBudget_orANegativeOne_isRefusedWithTheValue() {
    assertThatThrownBy(() -> AttemptTimeout.budgetMillis(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nanos: -1");
    assertThatThrownBy(() -> AttemptTimeout.budgetMillis(Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Long.MAX_VALUE is no budget");
  }
}
