package io.loadstar.spring;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.spring.RewritingExchangeFilter.Answer;
import io.loadstar.spring.RewritingExchangeFilter.Ended;
import io.loadstar.spring.RewritingExchangeFilter.Exchange;
import io.loadstar.spring.RewritingExchangeFilter.Outcome;
import org.jspecify.annotations.Nullable;
import org.springframework.web.reactive.function.client.ClientResponse;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.MonoSink;

/*
 * Design notes: the same race as HttpClient 5's async driver (AsyncCall), on Reactor's signals
 * instead of HttpClient's callbacks. At most two attempts are out: the first and the hedge, sent
 * beside it by the balancer's hedge thread once the hedging delay has passed. Each attempt is a
 * subscription to the exchange's attempt() publisher, which reports the attempt and emits what it
 * came to. The first answer for the caller wins: the other subscription is disposed (its exchange
 * cancelled, its connection closed) and reported overtaken. An attempt that ends without an answer
 * while the other is out waits for it; once both have ended, the latest (the hedge) decides what
 * follows, since the balancer's decision on the first one's report is void while the hedge is
 * out. What follows is the exchange's sequential attempt loop. The lock guards the race's state;
 * nothing is sent, reported or signalled under it, except the hedge's pick.
 */
/**
 * A hedged WebClient request's first attempt and its hedge, raced: the first answer for the caller
 * wins and the other exchange is cancelled and reported overtaken (blaming no endpoint); the
 * caller's cancel stops both. Made per subscription, for an idempotent request without a body whose
 * service's {@link io.loadstar.api.RetryPolicy#hedging() policy hedges}.
 */
final class ExchangeRace {

  private final Exchange exchange;
  private final BalancedCall call;
  private final MonoSink<ClientResponse> sink;

  /** What follows the race when neither attempt answered: a retry, or the caller's failure. */
  private final Disposable.Swap rest = Disposables.swap();

  // Guarded by this.
  private @Nullable Lane first;
  private @Nullable Lane hedge;
  private @Nullable Ended waiting; // ended first, beside the other attempt still out
  private boolean over; // an attempt answered, both ended, or the caller cancelled

  ExchangeRace(Exchange exchange, BalancedCall call, MonoSink<ClientResponse> sink) {
    this.exchange = exchange;
    this.call = call;
    this.sink = sink;
  }

  /** One attempt of the race: its report and its subscription. */
  private static final class Lane {
    final AttemptReport report;
    final Disposable.Swap subscription = Disposables.swap();
    boolean ended; // guarded by the race

    Lane(AttemptReport report) {
      this.report = report;
    }
  }

  /** Sends {@code attempt}, the request's first, with its hedge armed. */
  void start(Attempt attempt) {
    sink.onCancel(this::cancel);
    Lane lane = new Lane(exchange.report(attempt));
    boolean cancelled;
    synchronized (this) {
      cancelled = over;
      if (!cancelled) {
        first = lane;
      }
    }
    if (cancelled) {
      lane.report.cancelled(); // the caller cancelled before anything was sent
      return;
    }
    call.scheduleHedge(this::sendHedge);
    run(lane);
  }

  /**
   * The hedging delay has passed with the first attempt still out: sends the hedge to an endpoint
   * the request has not tried. On the balancer's hedge thread.
   */
  private void sendHedge() {
    Lane lane;
    synchronized (this) {
      Lane f = first;
      if (over || hedge != null || f == null || f.ended) {
        return;
      }
      Attempt picked = call.hedge();
      if (!picked.isAvailable()) {
        return; // no hedge: the first attempt is the request's
      }
      lane = new Lane(exchange.report(picked));
      hedge = lane;
    }
    run(lane);
  }

  /** The race's other attempt than {@code lane}, if it is out and has not ended; under the lock. */
  private @Nullable Lane outBeside(Lane lane) {
    Lane other = lane == first ? hedge : first;
    return other != null && !other.ended ? other : null;
  }

  private void run(Lane lane) {
    lane.subscription.update(
        exchange
            .attempt(lane.report)
            .subscribe(outcome -> arrived(lane, outcome), this::broke, () -> {}));
  }

  private void arrived(Lane lane, Outcome outcome) {
    if (outcome instanceof Answer answer) {
      answered(lane, answer.response());
    } else {
      ended(lane, (Ended) outcome);
    }
  }

  /** {@code lane} answered for the caller: it wins unless the race is over; the other is cut. */
  private void answered(Lane lane, ClientResponse response) {
    Lane other;
    Ended dropped;
    boolean lost;
    synchronized (this) {
      lost = over;
      over = true;
      other = lost ? null : outBeside(lane);
      dropped = waiting; // null once the race is over
      waiting = null;
    }
    if (lost) {
      response.releaseBody().subscribe(); // the other answered first, or the caller cancelled
      return;
    }
    call.cancelHedge();
    if (other != null) {
      other.report.overtaken(); // first, so that the cancel below reports nothing more
      other.subscription.dispose();
    }
    if (dropped != null) {
      dropped.release();
    }
    exchange.discardHeld();
    sink.success(response);
  }

  /**
   * {@code lane} ended without an answer for the caller: waits for the other attempt if it is out;
   * else acts on the latest attempt's end.
   */
  private void ended(Lane lane, Ended ended) {
    Ended act;
    Ended other;
    synchronized (this) {
      if (over) {
        act = null;
        other = null;
      } else {
        lane.ended = true;
        if (outBeside(lane) != null) {
          waiting = ended;
          return;
        }
        over = true;
        Ended w = waiting;
        waiting = null;
        act = w == null || ended.number() >= w.number() ? ended : w;
        other = act == ended ? w : ended;
      }
    }
    if (act == null) {
      ended.release(); // the other answered first, or the caller cancelled
      return;
    }
    call.cancelHedge();
    if (other != null) {
      Throwable error = other.error();
      if (error != null) {
        exchange.note(error); // suppressed in the failure the caller may get
      }
      other.release();
    }
    rest.update(exchange.act(act).subscribe(sink::success, sink::error, () -> sink.success()));
  }

  /** A bug on an attempt's path (its errors are outcomes): the request fails with it. */
  private void broke(Throwable error) {
    cancel();
    sink.error(error);
  }

  /** The caller cancelled: both attempts are cut (reported cancelled), and what followed them. */
  private void cancel() {
    Lane f;
    Lane h;
    Ended w;
    synchronized (this) {
      over = true;
      f = first;
      h = hedge;
      w = waiting;
      waiting = null;
    }
    call.cancelHedge();
    if (f != null) {
      f.subscription.dispose();
    }
    if (h != null) {
      h.subscription.dispose();
    }
    if (w != null) {
      w.release();
    }
    rest.dispose();
  }
}
