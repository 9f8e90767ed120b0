package io.loadstar.core;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.CallFailure;
import io.loadstar.api.EndpointCall;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;

/**
 * {@link io.loadstar.api.LoadBalancer#execute}'s driver of the attempt loop: an attempt is a call
 * of the user's function on the endpoint; the balancer's failure classifier says what an exception
 * tells about the endpoint; interruption says nothing and ends the call.
 */
final class ExecuteDriver<T> implements AttemptLoop.Driver<T, Throwable> {

  private final RetryEngine engine;
  private final EndpointCall<T> call;

  ExecuteDriver(RetryEngine engine, EndpointCall<T> call) {
    this.engine = engine;
    this.call = call;
  }

  @Override
  public AttemptLoop.Step<T, Throwable> send(Attempt attempt) throws Throwable {
    T value;
    try {
      value = call.call(attempt.endpoint());
    } catch (Throwable t) {
      return judge(attempt, t);
    }
    attempt.succeeded(attempt.elapsedNanos());
    return AttemptLoop.Step.done(value);
  }

  /** Reports the attempt that threw {@code t} and returns the decision, or rethrows. */
  AttemptLoop.Step<T, Throwable> judge(Attempt attempt, Throwable t) throws Throwable {
    if (t instanceof InterruptedException
        || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
      attempt.cancelled(); // the caller gave up: says nothing about the endpoint
      throw t;
    }
    CallFailure failure = engine.classify(t);
    if (failure == null) {
      // The application's answer (a constraint violation, say): the endpoint did its job.
      attempt.succeeded(attempt.elapsedNanos());
      throw t;
    }
    return AttemptLoop.Step.failed(t, attempt.failed(failure, attempt.elapsedNanos()));
  }

  @Override
  public Throwable unavailable(String reason) {
    return engine.unavailable(reason);
  }

  @Override
  public Throwable interrupted(InterruptedException e) {
    return e;
  }

  @SuppressWarnings("unchecked")
  static <E extends Throwable> E sneaky(Throwable t) throws E {
    throw (E) t;
  }
}
