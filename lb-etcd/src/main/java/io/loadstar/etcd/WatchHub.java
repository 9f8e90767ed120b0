package io.loadstar.etcd;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.resilience4j.core.IntervalFunction;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: one watch stream on a key prefix, serving every subscriber whose prefix lies under
 * it. A subscriber joins without a gap: its range read is taken after the stream was created (the
 * "created" answer's revision is at most the read's revision), and it applies only events above
 * its read's revision, buffering the events that arrive while the read is in flight. The stream
 * remembers the last revision it saw (events and progress notifications); a broken stream
 * reconnects with jittered exponential backoff (0.2 s doubling to 5 s), on the next member,
 * from that revision + 1, so nothing is missed and nothing re-read. If etcd compacted that
 * revision away, the stream starts afresh and every subscriber re-reads its range, keeping what it
 * had until the read answers.
 *
 * The stream is read on the OkHttp call's thread (one per stream); subscribers synchronize
 * themselves. State here is guarded by the hub's monitor.
 */
final class WatchHub {

  private static final Logger LOG = LoggerFactory.getLogger(WatchHub.class);
  private static final IntervalFunction BACKOFF =
      IntervalFunction.ofExponentialBackoff(Duration.ofMillis(200), 2.0, Duration.ofSeconds(5));

  /** One change of one key, as the stream reported it. */
  record Event(String key, boolean delete, long modRevision, String value) {}

  /** A source served by the hub. Its methods are called from the stream's thread. */
  interface Subscriber {
    String prefix();

    /** The stream is up (created, or re-created): re-read if not in sync. */
    void streamUp();

    /** The changes of one message under the subscriber's prefix, in revision order. */
    void onEvents(List<Event> events);

    /** The stream broke; it reconnects by itself. */
    void streamDown(Throwable error);

    /**
     * etcd compacted the history the stream needed: the subscriber is out of sync and re-reads at
     * the next {@link #streamUp}.
     */
    void compacted();
  }

  private final EtcdClient client;
  private final String root;
  private final Set<Subscriber> subscribers = new LinkedHashSet<>();
  private final SplittableRandom random = new SplittableRandom();
  private long revision; // the last revision the stream reported; 0 before the first
  private @Nullable Call stream;
  private @Nullable ScheduledFuture<?> reconnect;
  private long generation; // of the current stream: answers of an older one are ignored
  private int failures; // in a row, for the backoff
  private boolean up;
  private boolean closed;

  WatchHub(EtcdClient client, String root) {
    this.client = client;
    this.root = root;
  }

  String root() {
    return root;
  }

  synchronized boolean isUp() {
    return up;
  }

  void subscribe(Subscriber s) {
    boolean upNow;
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException(client + " is closed");
      }
      subscribers.add(s);
      if (stream == null && reconnect == null) {
        connect();
      }
      upNow = up;
    }
    if (upNow) {
      s.streamUp();
    }
  }

  void unsubscribe(Subscriber s) {
    boolean empty;
    synchronized (this) {
      subscribers.remove(s);
      empty = subscribers.isEmpty();
      if (empty) {
        stop();
      }
    }
    if (empty) {
      client.hubEmpty(this);
    }
  }

  void close() {
    synchronized (this) {
      closed = true;
      stop();
    }
  }

  /** Reconnects now if the stream is down, instead of waiting for the backoff. */
  synchronized void nudge() {
    if (!up && reconnect != null && reconnect.cancel(false)) {
      reconnect = null;
      connect();
    }
  }

  private void stop() {
    generation++;
    up = false;
    if (stream != null) {
      stream.cancel();
      stream = null;
    }
    if (reconnect != null) {
      reconnect.cancel(false);
      reconnect = null;
    }
  }

  private void connect() { // holding the monitor
    reconnect = null;
    if (closed || subscribers.isEmpty() || client.isClosed()) {
      return;
    }
    long gen = ++generation;
    ObjectNode create =
        EtcdWire.object()
            .put("key", EtcdWire.b64(root))
            .put("range_end", EtcdWire.prefixEnd(root))
            .put("progress_notify", true);
    if (revision > 0) {
      create.put("start_revision", Long.toString(revision + 1));
    }
    Call call = client.watch(create);
    stream = call;
    call.enqueue(
        new Callback() {
          @Override
          public void onFailure(Call c, IOException e) {
            broken(gen, c, e);
          }

          @Override
          public void onResponse(Call c, Response response) {
            read(gen, c, response);
          }
        });
  }

  private void read(long gen, Call call, Response response) {
    try (response) {
      if (!response.isSuccessful()) {
        broken(
            gen,
            call,
            new EtcdException(
                call.request().url() + ": watch answered HTTP " + response.code(), -1, null));
        return;
      }
      InputStream in = response.body().byteStream();
      try (JsonParser parser = EtcdWire.JSON.createParser(in);
          MappingIterator<JsonNode> messages =
              EtcdWire.JSON.readerFor(JsonNode.class).readValues(parser)) {
        while (messages.hasNextValue()) {
          if (!onMessage(gen, messages.nextValue())) {
            return;
          }
        }
      }
      broken(gen, call, new IOException(call.request().url() + ": the watch stream ended"));
    } catch (IOException | RuntimeException e) {
      broken(gen, call, e);
    }
  }

  /** Handles one answer of the stream; false once the stream is to be left. */
  private boolean onMessage(long gen, JsonNode message) throws IOException {
    if (message.has("error")) {
      JsonNode error = message.get("error");
      throw new EtcdException(
          "watch failed: " + error.path("message").asText(error.toString()),
          error.path("code").asInt(-1),
          null);
    }
    JsonNode result = message.path("result");
    long headerRevision = result.path("header").path("revision").asLong(0);
    List<Subscriber> targets;
    boolean wentUp = false;
    boolean recovered = false;
    synchronized (this) {
      if (gen != generation) {
        return false;
      }
      if (result.path("canceled").asBoolean(false)) {
        long compactRevision = result.path("compact_revision").asLong(0);
        if (compactRevision > 0) {
          LOG.info(
              "etcd compacted {} past revision {} while this client was behind; re-reading",
              root,
              revision);
          revision = 0;
          stream = null;
          up = false;
          generation++;
          targets = new ArrayList<>(subscribers);
        } else {
          throw new EtcdException(
              "watch canceled: " + result.path("cancel_reason").asText("no reason given"),
              -1,
              null);
        }
      } else {
        targets = null;
      }
    }
    if (targets != null) { // compacted
      // Out of sync before the new stream exists, so each re-reads after it is up.
      for (Subscriber s : targets) {
        s.compacted();
      }
      synchronized (this) {
        if (stream == null && reconnect == null && !closed) {
          connect();
        }
      }
      return false;
    }
    synchronized (this) {
      if (gen != generation) {
        return false;
      }
      if (result.path("created").asBoolean(false)) {
        wentUp = !up;
        recovered = failures > 0;
        up = true;
        failures = 0;
      }
      if (headerRevision > revision) {
        revision = headerRevision;
      }
      targets = new ArrayList<>(subscribers);
    }
    if (recovered) {
      LOG.info("etcd watch on {} resumed through {}", root, client);
    }
    if (wentUp) {
      for (Subscriber s : targets) {
        s.streamUp();
      }
    }
    JsonNode events = result.path("events");
    if (events.isArray() && events.size() > 0) {
      List<Event> all = new ArrayList<>(events.size());
      for (JsonNode e : events) {
        JsonNode kv = e.path("kv");
        all.add(
            new Event(
                EtcdWire.text(kv.path("key")),
                "DELETE".equals(e.path("type").asText("PUT")),
                kv.path("mod_revision").asLong(0),
                EtcdWire.text(kv.path("value"))));
      }
      for (Subscriber s : targets) {
        List<Event> mine = new ArrayList<>();
        for (Event e : all) {
          if (e.key().startsWith(s.prefix())) {
            mine.add(e);
          }
        }
        if (!mine.isEmpty()) {
          s.onEvents(mine);
        }
      }
    }
    return true;
  }

  private void broken(long gen, Call call, Throwable error) {
    List<Subscriber> targets;
    boolean first;
    synchronized (this) {
      if (gen != generation || closed) {
        return;
      }
      stream = null;
      up = false;
      first = failures == 0;
      long delay = Math.round(BACKOFF.apply(Math.min(++failures, 20)) * jitter());
      client.memberFailed(call.request().url());
      targets = new ArrayList<>(subscribers);
      if (client.isClosed()) {
        return;
      }
      reconnect =
          client
              .scheduler()
              .schedule(
                  () -> {
                    synchronized (WatchHub.this) {
                      if (stream == null && !closed) { // not already reconnected by nudge()
                        connect();
                      }
                    }
                  },
                  delay,
                  TimeUnit.MILLISECONDS);
    }
    if (first) {
      LOG.warn(
          "etcd watch on {} broke ({}); reconnecting through {} with backoff, keeping what it"
              + " knew",
          root,
          error.toString(),
          client);
    } else {
      LOG.debug("etcd watch on {} still down: {}", root, error.toString());
    }
    for (Subscriber s : targets) {
      s.streamDown(error);
    }
  }

  private double jitter() { // holding the monitor
    return 0.8 + 0.4 * random.nextDouble();
  }

  @Override
  public String toString() {
    return "WatchHub{" + root + "}";
  }
}
