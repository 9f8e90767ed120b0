package io.loadstar.core;

import io.loadstar.core.internal.Sleeper;
import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/** A {@link Sleeper} that advances a {@link FakeTicker} instead of waiting, and records waits. */
public final class FakeSleeper implements Sleeper {

  private final FakeTicker ticker;
  public final List<Long> waits = new CopyOnWriteArrayList<>();

  public FakeSleeper(FakeTicker ticker) {
    this.ticker = ticker;
  }

  @Override
  public void sleep(long nanos, BooleanSupplier abandon) {
    waits.add(nanos);
    ticker.advance(Duration.ofNanos(nanos));
  }
}
