package io.loadstar.core.internal;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Waits out a retry backoff. The default parks the calling thread; tests inject one that moves a
 * fake clock instead, so that backoffs cost no real time.
 */
@FunctionalInterface
public interface Sleeper {

  /** Parks the calling thread; wakes early when {@code abandon} turns true after an unpark. */
  Sleeper SYSTEM =
      (nanos, abandon) -> {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
          if (abandon.getAsBoolean()) {
            return;
          }
          LockSupport.parkNanos(left);
          if (Thread.interrupted()) {
            throw new InterruptedException("interrupted during retry backoff");
          }
        }
      };

  /**
   * Waits {@code nanos}, or less once {@code abandon} returns true; whoever makes it true unparks
   * the waiting thread.
   *
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  void sleep(long nanos, BooleanSupplier abandon) throws InterruptedException;
}
