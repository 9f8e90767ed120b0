package io.loadstar.grpc;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.loadstar.api.Attempt;
import io.loadstar.api.RetryDecision;
import org.jspecify.annotations.Nullable;

/**
 * One attempt of an RPC ({@link RpcAttempts}): its call's callbacks, one at a time from gRPC. Only
 * the attempt that answers for the caller speaks to the caller's listener; until then its response
 * headers are held back. When it closes, its outcome is reported to the balancer once: overtaken if
 * the RPC's other attempt answered first and cancelled it, cancelled if the caller gave up, else as
 * {@link StatusOutcome} says; and the RPC goes on as the race of its attempts decides.
 */
final class RpcAttempt<ReqT, RespT> extends ClientCall.Listener<RespT> {

  private final RpcAttempts<ReqT, RespT> rpc;
  @Nullable AttemptSlot slot; // set before the attempt starts
  volatile @Nullable ClientCall<ReqT, RespT> attemptCall;
  boolean timed; // carries the attempt's own deadline; set before the attempt starts
  volatile boolean won; // answers for the caller (sent, for an RPC committed once sent)
  volatile boolean overtaken; // cancelled because the other attempt answered first
  private @Nullable Metadata heldHeaders;

  RpcAttempt(RpcAttempts<ReqT, RespT> rpc) {
    this.rpc = rpc;
  }

  /**
   * The other attempt answered first: this one is reported overtaken now, as it is cancelled. Its
   * own close may never be delivered: a blocking stub stops running the call's callbacks once the
   * caller has its answer.
   */
  void overtake() {
    overtaken = true;
    AttemptSlot s = slot;
    Attempt attempt = s != null ? s.close() : null;
    if (attempt != null && attempt.isAvailable()) {
      attempt.overtaken(attempt.elapsedNanos()); // blames no endpoint
    }
  }

  /** The attempt's headers were written to a connection. */
  void sent() {
    if (rpc.commitOnSent()) {
      won = rpc.commit(this);
    }
  }

  @Override
  public void onHeaders(Metadata responseHeaders) {
    if (won) {
      rpc.callerListener().onHeaders(responseHeaders);
    } else {
      heldHeaders = responseHeaders;
    }
  }

  @Override
  public void onMessage(RespT message) {
    if (!won && !(won = rpc.commit(this))) {
      return; // the other attempt answered first: this one is being cancelled
    }
    Metadata held = heldHeaders;
    ClientCall.Listener<RespT> l = rpc.callerListener();
    if (held != null) {
      heldHeaders = null;
      l.onHeaders(held);
    }
    l.onMessage(message);
  }

  @Override
  public void onReady() {
    if (rpc.current() == attemptCall) {
      rpc.callerListener().onReady();
    }
  }

  @Override
  public void onClose(Status status, Metadata trailers) {
    rpc.call().cancelHedge(); // a hedge not sent yet is not sent now
    AttemptSlot s = slot;
    Attempt attempt = s != null ? s.close() : null;
    Metadata held = heldHeaders;
    heldHeaders = null;
    if (attempt == null || !attempt.isAvailable()) {
      if (overtaken || rpc.race().lost(this)) {
        return; // reported when it was overtaken; the other attempt closes the call
      }
      // No endpoint was picked: closed before a picker routed it (a deadline, a cancel), or
      // nothing could be picked and the picker dropped it with the reason.
      rpc.finish(rpc.history().describe(status, null), trailers, held);
      return;
    }
    if (overtaken) {
      attempt.overtaken(attempt.elapsedNanos()); // blames no endpoint
      return;
    }
    boolean sent = s.wasSent();
    if (sent && !s.wasRouted()) {
      rpc.unrouted();
      attempt.cancelled(); // not the endpoint it went to: report nothing about it
      rpc.finish(status, trailers, held);
      return;
    }
    if (!status.isOk() && rpc.callerGaveUp()) {
      attempt.cancelled(); // the caller gave up: not the endpoint's fault
      rpc.finish(status, trailers, held);
      return;
    }
    long remaining = rpc.remainingNanos();
    boolean timedOut = RpcDeadlines.attemptTimedOut(timed, status, remaining);
    HedgeRace<RpcAttempt<ReqT, RespT>> race = rpc.race();
    HedgeRace.Ended ended;
    HedgeRace.Ended mine;
    HedgeRace.Ended[] earlier = new HedgeRace.Ended[1];
    synchronized (race) { // a hedge being picked now sees this report, or this the hedge
      boolean lost = race.lost(this);
      boolean canRetry = !lost && rpc.repeatable(attempt.number(), sent);
      RetryDecision decision =
          rpc.report(attempt, status, trailers, sent, timedOut, canRetry ? remaining : 0);
      if (lost) {
        return; // the other attempt answered for the caller, and closes the call
      }
      mine =
          new HedgeRace.Ended(
              attempt.number(),
              status,
              trailers,
              held,
              decision,
              StatusOutcome.describe(attempt, status, sent));
      // The answer (or the last attempt out) acts; one that ended first waits for the other.
      ended = won ? mine : race.end(mine, earlier);
    }
    if (ended != null) {
      rpc.act(ended, earlier[0], mine);
    }
  }
}
