package io.loadstar.samples.drivers;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

// tag::readme[]
/**
 * A client for a line protocol over plain sockets: one request line, one answer line ({@code OK
 * ...} or {@code ERR ...}), a connection per call. Balanced by Loadstar: each call goes to the
 * endpoint the balancer picks and is retried on another one as the balancer's retry policy and
 * budget allow.
 */
public final class LineClient {
  private final LoadBalancer balancer;
  private final int timeoutMillis;

  public LineClient(LoadBalancer balancer, int timeoutMillis) {
    this.balancer = requireNonNull(balancer, "balancer");
    this.timeoutMillis = timeoutMillis;
  }

  /** Sends {@code request}; returns the answer line. {@code idempotent}: safe to send twice. */
  public String call(String request, boolean idempotent) throws IOException {
    BalancedCall call = balancer.newCall(PickContext.empty(), idempotent);
    return AttemptLoop.run(call, Long.MAX_VALUE, new Driver(request));
  }

  /** One call's driver: sends an attempt, reports it, hands the decision to the loop. */
  private final class Driver implements AttemptLoop.Driver<String, IOException> {
    private final String request;

    Driver(String request) {
      this.request = request;
    }

    @Override
    public AttemptLoop.Step<String, IOException> send(Attempt attempt) {
      Endpoint endpoint = attempt.endpoint();
      boolean sent = false;
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), timeoutMillis);
        socket.setSoTimeout(timeoutMillis);
        OutputStream out = socket.getOutputStream();
        out.write((request + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        sent = true; // from here on the endpoint may have acted on the request
        BufferedReader in =
            new BufferedReader(
                new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        String answer = in.readLine();
        if (answer == null) {
          throw new EOFException(endpoint.key() + " closed the connection without an answer");
        }
        if (answer.startsWith("ERR")) {
          // The endpoint's failure: counted against it, retried elsewhere if the call allows.
          IOException error = new IOException(endpoint.key() + " answered " + answer);
          CallFailure failure = CallFailure.possiblyProcessed(error);
          return AttemptLoop.Step.failed(error, attempt.failed(failure, attempt.elapsedNanos()));
        }
        attempt.succeeded(attempt.elapsedNanos());
        return AttemptLoop.Step.done(answer);
      } catch (IOException e) {
        // Refused or timed out before the request went out: never processed, always retryable.
        CallFailure failure = sent ? CallFailure.possiblyProcessed(e) : CallFailure.notSent(e);
        return AttemptLoop.Step.failed(e, attempt.failed(failure, attempt.elapsedNanos()));
      }
    }

    @Override
    public IOException unavailable(String reason) {
      return new IOException("no endpoint of " + balancer.name() + " to call: " + reason);
    }

    @Override
    public IOException interrupted(InterruptedException e) {
      return new InterruptedIOException("interrupted while waiting");
    }

    // The backoff between attempts: AttemptLoop's default waits on the balancer's clock, holding
    // no endpoint, and ends early if the balancer closes. A client whose calls can be cancelled
    // overrides await(call, delay) to wake and give up (lb-okhttp's driver does).
  }
}
// end::readme[]
