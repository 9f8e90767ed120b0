package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.core.internal.SharedThreads;
import io.loadstar.testing.Await;
import org.junit.jupiter.api.Test;

/** The coarse clock ticks while read, stops when nobody reads it, and restarts on a read. */
class CoarseClockTest {

  @Test
  void ticksWhileRead_stopsWhenUnread_restartsOnTheNextRead() {
    CoarseClock clock = CoarseClock.get();
    int users = SharedThreads.users();
    long first = clock.nanoTime();
    assertThat(clock.isTicking()).isTrue();
    assertThat(SharedThreads.users()).as("the clock is no balancer").isEqualTo(users);
    // Read it until it has moved on: the shared timer writes the time every millisecond.
    assertThat(Await.until(() -> clock.nanoTime() > first)).isTrue();
    // Nobody reads it: it stops within a tick or two and lets the threads go.
    assertThat(Await.until(() -> !clock.isTicking())).isTrue();
    long before = System.nanoTime();
    long again = clock.nanoTime(); // a read after the stop takes the time itself
    assertThat(again).isGreaterThanOrEqualTo(before);
    assertThat(clock.isTicking()).isTrue();
  }
}
