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
    assertThat(SharedThreads.users()).as("the clock is no balancer").isEqualTo(users);
    // Read it until it has moved on: the shared timer writes the time every millisecond. (Each
    // check reads it again: a thread descheduled for two ticks may find it stopped, and that is
    // right.)
    assertThat(Await.until(() -> clock.nanoTime() > first && clock.isTicking())).isTrue();
    // Nobody reads it: it stops within a tick or two and lets the threads go.
    assertThat(Await.until(() -> !clock.isTicking())).isTrue();
    long before = System.nanoTime();
    long again = clock.nanoTime(); // a read after the stop takes the time itself
    assertThat(again).isGreaterThanOrEqualTo(before);
    // ... and starts the ticking again (which may have stopped again by the time it is checked).
    assertThat(Await.until(() -> clock.nanoTime() > 0 && clock.isTicking())).isTrue();
  }
}
