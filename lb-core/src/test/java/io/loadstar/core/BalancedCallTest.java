package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import io.loadstar.testing.FakeTicker;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The attempt API of lb-api (BalancedCall, Attempt, AttemptLoop) on a real balancer. */
class BalancedCallTest {

  private static final long SECOND = 1_000_000_000L;
  private final FakeTicker ticker = new FakeTicker(-3 * SECOND);
  private final List<LoadBalancer> balancers = new ArrayList<>();

  @AfterEach
  void close() {
    balancers.forEach(LoadBalancer::close);
  }

  private LoadBalancer balancer(int endpoints) {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 1; i <= endpoints; i++) {
      list.add(Endpoint.of("10.0.0." + i, 80));
    }
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(list)
            .ticker(ticker)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .build();
    balancers.add(lb);
    return lb;
  }

  private static int inFlight(LoadBalancer lb) {
    return lb.inspect().snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum();
  }

  @Test
  void aRetryAfterADelay_holdsNoEndpointWhileWaiting_andGoesToAnotherEndpoint() throws Exception {
    LoadBalancer lb = balancer(3);
    BalancedCall call = lb.newCall(PickContext.empty(), true);
    Attempt first = call.first(0);
    assertThat(inFlight(lb)).isEqualTo(1);
    RetryDecision decision =
        first.failed(CallFailure.status(503), 1_000, SECOND / 2, Long.MAX_VALUE); // Retry-After
    assertThat(decision.isRetry()).isTrue();
    assertThat(decision.delayNanos()).isEqualTo(SECOND / 2);
    assertThat(inFlight(lb)).as("nothing held through the backoff").isZero();
    ticker.advance(Duration.ofMillis(500));
    Attempt second = call.next();
    assertThat(second.endpoint()).isNotEqualTo(first.endpoint());
    assertThat(second.number()).isEqualTo(2);
    assertThat(inFlight(lb)).isEqualTo(1);
    second.succeeded(second.elapsedNanos());
    assertThat(inFlight(lb)).isZero();
    assertThat(lb.inspect().retryStats().retries()).isEqualTo(1);
  }

  @Test
  void reportingTwice_orNextWithoutARetry_throws() throws Exception {
    LoadBalancer lb = balancer(2);
    BalancedCall call = lb.newCall(PickContext.empty(), true);
    assertThatThrownBy(call::next).isInstanceOf(IllegalStateException.class);
    Attempt first = call.first(0);
    first.succeeded(10);
    assertThatThrownBy(() -> first.succeeded(10))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("reported already");
    assertThatThrownBy(() -> call.first(0)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(call::next).isInstanceOf(IllegalStateException.class);
    assertThat(inFlight(lb)).isZero();
  }

  @Test
  void everyEndpointTried_theDecisionOrTheNextPickSaysNothingIsLeft() throws Exception {
    LoadBalancer lb = balancer(2);
    BalancedCall call = lb.newCall(PickContext.empty(), true);
    Attempt first = call.first(0);
    assertThat(first.failed(CallFailure.notSent(new ConnectException()), 1).isRetry()).isTrue();
    Attempt second = call.next();
    // The second retry waits a backoff: nothing is left, so the decision says so at once.
    RetryDecision third = second.failed(CallFailure.notSent(new ConnectException()), 1);
    assertThat(third.isRetry()).isFalse();
    assertThat(third.unavailableReason()).contains("tried");
    assertThat(inFlight(lb)).isZero();
  }

  @Test
  void aRetryTheCallCannotWaitFor_spendsNoBudget() throws Exception {
    LoadBalancer lb = balancer(3);
    BalancedCall call = lb.newCall(PickContext.empty(), true);
    Attempt first = call.first(0);
    RetryDecision d = first.failed(CallFailure.status(503), 1, SECOND, SECOND / 10);
    assertThat(d.isRetry()).isFalse();
    assertThat(lb.inspect().retryStats().retries()).isZero();
    assertThat(lb.inspect().retryStats().windowRetries()).isZero();
  }

  @Test
  void notIdempotent_possiblyProcessedIsNotRetried_notSentIs() throws Exception {
    LoadBalancer lb = balancer(3);
    BalancedCall call = lb.newCall(PickContext.empty(), false);
    Attempt first = call.first(0);
    assertThat(first.failed(CallFailure.notSent(new ConnectException()), 1).isRetry()).isTrue();
    Attempt second = call.next();
    assertThat(second.failed(CallFailure.possiblyProcessed(new IOException()), 1).isRetry())
        .isFalse();
    assertThat(call.attempts()).isEqualTo(2);
  }

  /** A driver whose endpoints answer as {@code answers} says, in turn; records what it saw. */
  private static final class ScriptedDriver implements AttemptLoop.Driver<String, IOException> {
    final List<String> script;
    final List<Long> waits = new ArrayList<>();
    final List<String> discarded = new ArrayList<>();
    int sent;

    ScriptedDriver(String... script) {
      this.script = List.of(script);
    }

    @Override
    public AttemptLoop.Step<String, IOException> send(Attempt attempt) {
      String answer = script.get(sent++);
      if (answer.equals("refused")) {
        IOException e = new ConnectException("refused by " + attempt.endpoint().key());
        return AttemptLoop.Step.failed(
            e, attempt.failed(CallFailure.notSent(e), attempt.elapsedNanos()));
      }
      if (answer.equals("503")) {
        return AttemptLoop.Step.answered(
            answer + " from " + attempt.endpoint().key(),
            attempt.failed(CallFailure.status(503), attempt.elapsedNanos()));
      }
      attempt.succeeded(attempt.elapsedNanos());
      return AttemptLoop.Step.done(answer);
    }

    @Override
    public void await(BalancedCall call, long delayNanos) {
      waits.add(delayNanos);
    }

    @Override
    public IOException unavailable(String reason) {
      return new IOException("unavailable: " + reason);
    }

    @Override
    public IOException interrupted(InterruptedException e) {
      return new IOException(e);
    }

    @Override
    public void discard(String answer) {
      discarded.add(answer);
    }
  }

  @Test
  void theLoop_retriesFailuresAndAnswers_discardsRetriedAnswers_returnsTheLastOne()
      throws Exception {
    LoadBalancer lb = balancer(3);
    ScriptedDriver driver = new ScriptedDriver("refused", "503", "ok");
    assertThat(AttemptLoop.run(lb.newCall(PickContext.empty(), true), 0, driver)).isEqualTo("ok");
    assertThat(driver.sent).isEqualTo(3);
    assertThat(driver.waits).hasSize(2).first().isEqualTo(0L);
    assertThat(driver.discarded).singleElement().asString().startsWith("503 from");
    assertThat(inFlight(lb)).isZero();
  }

  @Test
  void theLoop_allFailed_throwsTheLastFailure_withTheEarlierSuppressed_andWhyNothingIsLeft() {
    LoadBalancer lb = balancer(2);
    ScriptedDriver driver = new ScriptedDriver("refused", "refused");
    assertThatThrownBy(() -> AttemptLoop.run(lb.newCall(PickContext.empty(), true), 0, driver))
        .isInstanceOf(ConnectException.class)
        .satisfies(
            e -> {
              assertThat(e.getSuppressed()).hasSize(2);
              assertThat(e.getSuppressed()[0]).isInstanceOf(ConnectException.class);
              assertThat(e.getSuppressed()[1]).hasMessageContaining("unavailable:");
            });
    assertThat(inFlight(lb)).isZero();
  }

  @Test
  void theLoop_a503AndNothingLeft_returnsThe503() throws Exception {
    LoadBalancer lb = balancer(1);
    ScriptedDriver driver = new ScriptedDriver("503");
    assertThat(AttemptLoop.run(lb.newCall(PickContext.empty(), true), 0, driver))
        .startsWith("503 from 10.0.0.1");
    assertThat(driver.discarded).isEmpty();
  }

  @Test
  void theLoop_noEndpointAtAll_throwsTheDriversUnavailableError() {
    LoadBalancer lb = balancer(0);
    assertThatThrownBy(
            () -> AttemptLoop.run(lb.newCall(PickContext.empty(), true), 0, new ScriptedDriver()))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("unavailable: ");
  }
}
