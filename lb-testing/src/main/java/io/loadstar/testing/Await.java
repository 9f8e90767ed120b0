package io.loadstar.testing;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Polls for an asynchronous outcome (a real socket, a real DNS round trip). The 10-second deadline
 * is a guard only; the test's own assertion after it says what was expected. Shared with other
 * modules' tests.
 */
public final class Await {

  private Await() {}

  /** Returns true as soon as {@code condition} holds, false if it still does not after 10 s. */
  public static boolean until(BooleanSupplier condition) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.onSpinWait();
    }
    return true;
  }

  /**
   * Returns true as soon as {@code condition} holds, false if it still does not after {@code
   * timeout}: for outcomes a real server decides on its own clock (a lease expiring), checked about
   * every millisecond so the server keeps the CPU.
   */
  public static boolean until(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(1_000_000L);
    }
    return true;
  }
}
