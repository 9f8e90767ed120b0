package io.loadstar.api;

/**
 * A source of monotonic time in nanoseconds, injectable so that tests drive time.
 *
 * <p>Implementations are thread-safe. Values are only meaningful as differences, like {@link
 * System#nanoTime()}.
 */
@FunctionalInterface
public interface Ticker {

  /** Returns the current time in nanoseconds, from an arbitrary but fixed origin. */
  long nanoTime();

  /** Returns the ticker backed by {@link System#nanoTime()}. */
  static Ticker system() {
    return SystemTicker.INSTANCE;
  }
}

/** The {@link System#nanoTime()} ticker. */
enum SystemTicker implements Ticker {
  INSTANCE;

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public String toString() {
    return "Ticker.system()";
  }
}
