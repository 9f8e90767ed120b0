package io.loadstar.core;

/*
 * Design notes: base-2 logarithm and exponential for peak EWMA's per-call update, without
 * Math.log and Math.exp (together ~40 ns here). log2 splits the double into its exponent and a
 * mantissa m in [1, 2), and sums the atanh series of t = (m - 1)/(m + 1), |t| <= 1/3, to t^11: the
 * rest is at most 2/ln 2 * (1/3)^13 / 13 * 9/8 < 1.6e-7 (absolute, in log2 units, so a relative
 * error of the value under 1.2e-7). It is monotonic: within one exponent the series is increasing
 * in m, and at each power of two it steps up by less than 1.6e-7, so comparisons of costs keep
 * their order. exp2 splits y into an integer and a fraction f in [-0.5, 0.5), takes
 * e^(f ln 2) from its Taylor series to the 7th power (the next term bounds the relative error at
 * (ln 2 / 2)^8 / 8! < 1e-8) and sets the
 * exponent bits directly. FastMathTest checks both against Math.log and Math.exp.
 */
/** Fast, bounded-error log2 and exp2 for latency estimates. Stateless. */
final class FastMath {

  private static final double LN2 = Math.log(2);
  private static final double TWO_OVER_LN2 = 2 / LN2;

  private FastMath() {}

  /** log2(x) for finite x >= Double.MIN_NORMAL, within 1.6e-7. */
  static double log2(double x) {
    long bits = Double.doubleToRawLongBits(x);
    int exponent = (int) (bits >>> 52) - 1023;
    double m = Double.longBitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L);
    double t = (m - 1) / (m + 1);
    double t2 = t * t;
    double series =
        1 + t2 * (1 / 3.0 + t2 * (1 / 5.0 + t2 * (1 / 7.0 + t2 * (1 / 9.0 + t2 * (1 / 11.0)))));
    return exponent + TWO_OVER_LN2 * t * series;
  }

  /** 2^y for y in [-1000, 1000], within a relative 1e-8; 0 below, infinity above. */
  static double exp2(double y) {
    if (y < -1000) {
      return 0;
    }
    if (y > 1000) {
      return Double.POSITIVE_INFINITY;
    }
    double whole = Math.floor(y + 0.5);
    double u = (y - whole) * LN2; // |u| <= ln2 / 2
    double p =
        1
            + u
                * (1
                    + u
                        * (1 / 2.0
                            + u
                                * (1 / 6.0
                                    + u
                                        * (1 / 24.0
                                            + u * (1 / 120.0 + u * (1 / 720.0 + u / 5040.0))))));
    return p * Double.longBitsToDouble(((long) whole + 1023) << 52);
  }
}
