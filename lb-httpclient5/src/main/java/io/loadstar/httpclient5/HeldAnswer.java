package io.loadstar.httpclient5;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.apache.hc.client5.http.async.AsyncExecCallback;
import org.apache.hc.core5.http.EntityDetails;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.nio.AsyncDataConsumer;
import org.apache.hc.core5.http.nio.CapacityChannel;
import org.jspecify.annotations.Nullable;

/**
 * An async answer held back from the caller while its body arrives, up to a limit: either a failure
 * answer being retried (kept so that it can still be handed over if no endpoint is left; beyond the
 * limit it is read and dropped), or an answer read ahead (handed over with what was held once the
 * limit is passed or the body ends, so that a body that breaks before then fails the attempt, which
 * can be retried, rather than the caller's read). Used from HttpClient's I/O thread.
 */
final class HeldAnswer implements AsyncDataConsumer {

  /** Whether the caller gets the answer once the limit is passed (read ahead) or never (kept). */
  enum Mode {
    READ_AHEAD,
    KEEP
  }

  private final Mode mode;
  private final long limit;
  private final HttpResponse response;
  private final @Nullable EntityDetails entity;
  private final AsyncExecCallback callback;
  private byte[] body = new byte[0];
  private int length;
  private boolean truncated;
  private boolean ended;
  private @Nullable List<? extends Header> trailers;
  private @Nullable CapacityChannel channel;
  private @Nullable AsyncDataConsumer caller;
  private final @Nullable BooleanSupplier gate;
  private boolean handedOver;

  HeldAnswer(
      Mode mode,
      long limit,
      HttpResponse response,
      @Nullable EntityDetails entity,
      AsyncExecCallback callback,
      @Nullable BooleanSupplier gate) {
    this.mode = mode;
    this.gate = gate;
    this.limit = limit;
    this.response = response;
    this.entity = entity;
    this.callback = callback;
    this.ended = entity == null;
  }

  HttpResponse response() {
    return response;
  }

  /** Whether the caller has the answer (read ahead past the limit, or ended and handed over). */
  boolean handedOver() {
    return handedOver;
  }

  /** Whether the whole answer is held, so that it can be handed over as it arrived. */
  boolean complete() {
    return ended && !truncated;
  }

  @Override
  public void updateCapacity(CapacityChannel capacityChannel) throws IOException {
    AsyncDataConsumer c = caller;
    if (c != null) {
      c.updateCapacity(capacityChannel);
      return;
    }
    this.channel = capacityChannel;
    capacityChannel.update(Integer.MAX_VALUE); // held bodies are bounded: read what comes
  }

  @Override
  public void consume(ByteBuffer src) throws IOException {
    AsyncDataConsumer c = caller;
    if (c != null) {
      c.consume(src);
      return;
    }
    int n = src.remaining();
    if (truncated || length + (long) n > limit) {
      if (mode == Mode.READ_AHEAD) {
        try {
          handOver();
        } catch (HttpException e) {
          throw new IOException(e);
        }
        AsyncDataConsumer handed = caller;
        if (handed != null) {
          handed.consume(src);
        } else {
          src.position(src.limit());
        }
        return;
      }
      truncated = true;
      src.position(src.limit()); // read and dropped; the connection stays usable
      return;
    }
    if (length + n > body.length) {
      body =
          Arrays.copyOf(body, (int) Math.min(limit, Math.max(length + n, body.length * 2L + 1024)));
    }
    src.get(body, length, n);
    length += n;
  }

  @Override
  public void streamEnd(@Nullable List<? extends Header> trailers)
      throws HttpException, IOException {
    AsyncDataConsumer c = caller;
    if (c != null) {
      c.streamEnd(trailers);
      return;
    }
    this.trailers = trailers;
    this.ended = true;
    if (mode == Mode.READ_AHEAD && !handedOver) {
      handOver();
    }
  }

  /**
   * Gives the answer to the caller (if its gate, when it has one, lets it: else it throws, which
   * fails the exchange): its head, what was held, and its end if it has ended; the rest, if any,
   * goes straight to the caller's consumer.
   */
  void handOver() throws HttpException, IOException {
    if (handedOver) {
      return;
    }
    BooleanSupplier g = gate;
    if (g != null && !g.getAsBoolean()) {
      throw new InterruptedIOException("overtaken: another attempt of the request answered first");
    }
    handedOver = true;
    AsyncDataConsumer c = callback.handleResponse(response, entity);
    if (c == null) {
      return;
    }
    CapacityChannel ch = channel;
    c.updateCapacity(ch != null ? ch : increment -> {});
    if (length > 0) {
      c.consume(ByteBuffer.wrap(body, 0, length));
    }
    body = new byte[0];
    if (ended) {
      c.streamEnd(trailers);
    } else {
      caller = c;
    }
  }

  @Override
  public void releaseResources() {
    AsyncDataConsumer c = caller;
    if (c != null) {
      c.releaseResources();
    }
  }
}
