package io.loadstar.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.loadstar.api.RetryDecision;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the attempts of one RPC that may be out at once: its current attempt and, for a
 * hedged unary RPC, the hedge sent beside it (the balancer's hedging delay after the first). The
 * first to answer for the caller (its response message; or, for an RPC committed once sent, the
 * attempt that was sent) wins and commits the RPC; the other is cancelled and reported overtaken.
 * An attempt that ends without an answer while the other is still out waits for it, as AttemptLoop
 * does for blocking drivers: the call's latest attempt (the hedge) decides what comes next, so
 * whichever ends last takes both outcomes and acts on the latest one's.
 *
 * Attempts' callbacks come from gRPC on their own threads; what they race on is guarded by this.
 */
/**
 * The attempts of one RPC racing for its answer. Thread-safe.
 *
 * @param <A> the attempt's listener
 */
final class HedgeRace<A> {

  /** How an attempt that did not answer for the caller ended: its report and the call's state. */
  record Ended(
      int number,
      Status status,
      Metadata trailers,
      @Nullable Metadata heldHeaders,
      RetryDecision decision,
      String description) {}

  // Guarded by this.
  private @Nullable A current;
  private @Nullable A hedge;
  private @Nullable A winner;
  private @Nullable Ended waiting; // an attempt that ended first, for the other to decide with
  private int open;

  /** A new attempt that is the RPC's only one (its first, or a retry). */
  synchronized void started(A attempt) {
    current = attempt;
    hedge = null;
    winner = null;
    waiting = null;
    open = 1;
  }

  /** Whether a hedge may still go beside the current attempt: it is out alone, unanswered. */
  synchronized boolean canHedge() {
    return winner == null && open == 1 && hedge == null;
  }

  /** A hedge beside the current attempt; false if the race is over (answered, or ended). */
  synchronized boolean hedged(A attempt) {
    if (!canHedge()) {
      return false;
    }
    hedge = attempt;
    open = 2;
    return true;
  }

  /** {@code attempt} answers for the caller: whether it is the winner (now or already). */
  synchronized boolean claim(A attempt) {
    if (winner == null) {
      winner = attempt;
    }
    return winner == attempt;
  }

  /** The other attempt out beside {@code attempt}, if any. */
  synchronized @Nullable A other(A attempt) {
    return attempt == current ? hedge : attempt == hedge ? current : null;
  }

  /** Whether another attempt than {@code attempt} answered for the caller. */
  synchronized boolean lost(A attempt) {
    return winner != null && winner != attempt;
  }

  /** Whether a hedge was sent beside the current attempt. */
  synchronized boolean isHedged() {
    return hedge != null;
  }

  /**
   * {@code attempt} ended without answering for the caller, as {@code ended} says. Returns null if
   * the other attempt is still out (it decides once it ends, with this outcome), else the outcome
   * to act on: the latest attempt's, this one's or the one that ended first; and through {@code
   * earlier} the other's, if it ended too.
   */
  synchronized @Nullable Ended end(Ended ended, Ended @Nullable [] earlier) {
    open--;
    if (open > 0 && winner == null) {
      waiting = ended;
      return null;
    }
    Ended other = waiting;
    waiting = null;
    if (other == null) {
      return ended;
    }
    if (earlier != null) {
      earlier[0] = other.number() < ended.number() ? other : ended;
    }
    return other.number() > ended.number() ? other : ended;
  }
}
