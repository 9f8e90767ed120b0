package io.loadstar.spring;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Reads a WebClient answer's body ahead, up to a limit, so that a body that breaks early is the
 * attempt's failure (retried elsewhere) rather than the caller's. {@link #read} resolves when the
 * body has ended within the limit ({@link #whole()}), has reached it, or fails with the body's
 * error; {@link #body()} then serves what was read and the rest as the caller asks for it, one
 * buffer at a time from the connection (nothing beyond the limit is buffered here).
 */
final class BodyReadAhead extends BaseSubscriber<DataBuffer> {

  private final int limit;
  private final MonoSink<BodyReadAhead> result;
  private final List<DataBuffer> head = new ArrayList<>();
  private long bytes;
  private boolean resolved;
  private boolean ended;
  private @Nullable Throwable error;
  private @Nullable FluxSink<DataBuffer> out;

  private BodyReadAhead(int limit, MonoSink<BodyReadAhead> result) {
    this.limit = limit;
    this.result = result;
  }

  /** Reads {@code body} ahead up to {@code limit} bytes. */
  static Mono<BodyReadAhead> read(Flux<DataBuffer> body, int limit) {
    return Mono.create(
        sink -> {
          BodyReadAhead reader = new BodyReadAhead(limit, sink);
          sink.onCancel(reader::abandon);
          body.subscribe(reader);
        });
  }

  /** Whether the whole body was read (it ended within the limit). */
  synchronized boolean whole() {
    return ended && error == null;
  }

  /**
   * The body for the caller: what was read ahead, then the rest. Subscribe once; cancelling it
   * cancels the body's connection.
   */
  Flux<DataBuffer> body() {
    return Flux.<DataBuffer>create(
            sink -> {
              List<DataBuffer> first;
              boolean done;
              Throwable failed;
              synchronized (this) {
                if (out != null) {
                  sink.error(new IllegalStateException("the body can be read once"));
                  return;
                }
                out = sink;
                first = new ArrayList<>(head);
                head.clear();
                done = ended;
                failed = error;
              }
              first.forEach(sink::next);
              if (failed != null) {
                sink.error(failed);
              } else if (done) {
                sink.complete();
              } else {
                sink.onRequest(this::request);
                sink.onCancel(this::cancel);
              }
            })
        .doOnDiscard(DataBuffer.class, DataBufferUtils::release);
  }

  @Override
  protected void hookOnSubscribe(Subscription subscription) {
    request(1);
  }

  @Override
  protected void hookOnNext(DataBuffer buffer) {
    FluxSink<DataBuffer> sink;
    boolean reached;
    synchronized (this) {
      sink = out;
      if (sink == null) {
        head.add(buffer);
        bytes += buffer.readableByteCount();
      }
      reached = sink == null && bytes >= limit && !resolved;
      if (reached) {
        resolved = true;
      }
    }
    if (sink != null) {
      sink.next(buffer);
    } else if (reached) {
      result.success(this); // the rest is requested as the caller reads
    } else {
      request(1);
    }
  }

  @Override
  protected void hookOnComplete() {
    FluxSink<DataBuffer> sink;
    boolean resolve;
    synchronized (this) {
      ended = true;
      sink = out;
      resolve = !resolved;
      resolved = true;
    }
    if (sink != null) {
      sink.complete();
    } else if (resolve) {
      result.success(this);
    }
  }

  @Override
  protected void hookOnError(Throwable t) {
    FluxSink<DataBuffer> sink;
    boolean reject;
    synchronized (this) {
      sink = out;
      reject = !resolved;
      resolved = true;
      if (sink == null && !reject) {
        error = t; // after the limit, before the caller reads: the caller gets it
      }
    }
    if (sink != null) {
      sink.error(t);
    } else if (reject) {
      releaseHead();
      result.error(t);
    }
  }

  /** The read-ahead's caller went away: stop reading, let go of what was read. */
  private void abandon() {
    cancel();
    releaseHead();
  }

  private void releaseHead() {
    List<DataBuffer> buffers;
    synchronized (this) {
      buffers = new ArrayList<>(head);
      head.clear();
    }
    buffers.forEach(DataBufferUtils::release);
  }
}
