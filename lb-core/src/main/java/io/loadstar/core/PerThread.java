package io.loadstar.core;

import io.loadstar.api.KeyHash;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Design notes: the round-robin cursor and the random stream of each thread, per balancer. A
 * cursor shared by all threads costs an atomic increment whose cache line bounces between cores
 * (about 10x the single-thread cost at 2 threads); a per-thread cursor is a plain int. Each
 * thread walks the whole schedule in order, so every thread's picks, and therefore their sum, keep
 * the exact weighted shares (up to one partial cycle per thread). Starts and random streams derive
 * from the balancer's seed and the order in which threads first pick (SplitMix64), so a
 * single-threaded test with a fixed seed is reproducible.
 */
/** Per-thread selection state of one balancer. Thread-safe (each thread sees its own). */
final class PerThread extends ThreadLocal<PerThread.State> {

  /** The most endpoints a least-request pick samples ({@link Strategies#MAX_CHOICES}). */
  static final int MAX_CHOICES = 10;

  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private final long seed;
  private final AtomicLong threads = new AtomicLong();

  PerThread(long seed) {
    this.seed = seed;
  }

  @Override
  protected State initialValue() {
    State s = new State();
    s.rng = KeyHash.fmix64(seed + threads.incrementAndGet() * GOLDEN);
    s.cursor = (int) (nextLong(s) >>> 33); // a non-negative random start
    return s;
  }

  /** Returns the next value of the thread's SplitMix64 stream. */
  static long nextLong(State s) {
    long z = (s.rng += GOLDEN);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Returns a random int in {@code [0, bound)} (Lemire's multiply-shift, no division). */
  static int nextInt(State s, int bound) {
    return (int) (((nextLong(s) >>> 32) * bound) >>> 32);
  }

  /** Mutable per-thread state; touched only by its own thread. */
  static final class State {
    int cursor;
    long rng;
    final int[] sample = new int[MAX_CHOICES];
  }
}
