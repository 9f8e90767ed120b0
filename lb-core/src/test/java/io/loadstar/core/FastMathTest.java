package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Peak EWMA's fast log2/exp2 against Math.log/Math.exp, and the tracker against the formula. */
class FastMathTest {

  private static final double LN2 = Math.log(2);

  @Test
  void log2_within1point6e7OfTheExactValue_overTheRangeOfLatencies() {
    SplittableRandom random = new SplittableRandom(1);
    double worst = 0;
    for (int i = 0; i < 1_000_000; i++) {
      double x = Math.exp(random.nextDouble() * Math.log(1e13)); // 1 ns .. 10,000 s
      worst = Math.max(worst, Math.abs(FastMath.log2(x) - Math.log(x) / LN2));
    }
    for (double x = 1; x < 1e13; x *= 2) { // at and around the powers of two
      worst = Math.max(worst, Math.abs(FastMath.log2(x) - Math.log(x) / LN2));
      double below = Math.nextDown(x);
      worst = Math.max(worst, Math.abs(FastMath.log2(below) - Math.log(below) / LN2));
    }
    assertThat(worst).isLessThan(1.6e-7);
  }

  @Test
  void log2_isMonotonic_soCostsKeepTheirOrder() {
    double previous = FastMath.log2(1);
    for (double x = 1.0001; x < 1e7; x *= 1.0001) {
      double v = FastMath.log2(x);
      assertThat(v).as("log2(%s)", x).isGreaterThanOrEqualTo(previous);
      previous = v;
    }
    for (int e = 1; e < 40; e++) {
      double p = Math.scalb(1.0, e);
      assertThat(FastMath.log2(p)).isGreaterThan(FastMath.log2(Math.nextDown(p)));
    }
  }

  @Test
  void exp2_withinARelative1e8OfTheExactValue() {
    SplittableRandom random = new SplittableRandom(2);
    double worst = 0;
    for (int i = 0; i < 1_000_000; i++) {
      double y = (random.nextDouble() - 0.5) * 120;
      double exact = Math.exp(y * LN2);
      worst = Math.max(worst, Math.abs(FastMath.exp2(y) / exact - 1));
    }
    assertThat(worst).isLessThan(1e-8);
    assertThat(FastMath.exp2(-2000)).isZero();
    assertThat(FastMath.exp2(2000)).isInfinite();
  }

  @Test
  void tracker_followsTheExactPeakEwmaFormula() {
    FakeTicker ticker = new FakeTicker();
    long tau = Duration.ofSeconds(10).toNanos();
    PaddedCounter cell = new PaddedCounter();
    PeakEwmaTracker tracker =
        new PeakEwmaTracker(cell, ticker, ticker.nanoTime(), tau, 5_000_000, 50_000_000);
    double exact = 5_000_000;
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 0; i < 10_000; i++) {
      long step = 1 + random.nextInt(20_000_000); // up to 20 ms between samples
      ticker.advance(Duration.ofNanos(step));
      long rtt = 1_000_000 + random.nextInt(9_000_000);
      double decayed = exact * Math.exp(-(double) step / tau);
      double w = Math.exp(-(double) step / tau);
      exact = rtt >= decayed ? rtt : decayed * w + rtt * (1 - w);
      tracker.observe(rtt);
      assertThat(tracker.estimateNanos()).isCloseTo(exact, within(exact * 1e-5));
    }
    // A whole decay later without samples, both agree on the decayed value.
    ticker.advance(Duration.ofSeconds(10));
    assertThat(tracker.estimateNanos()).isCloseTo(exact / Math.E, within(exact * 1e-5));
  }
}
