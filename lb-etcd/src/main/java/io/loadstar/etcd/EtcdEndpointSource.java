package io.loadstar.etcd;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: the source's state (the good record of each key, the revision it is in sync at,
 * events buffered during a read) is guarded by its monitor; it never calls the hub while holding
 * it, and offers its answers while holding it, so they are in revision order, then flushes them to
 * the balancer after releasing it, so the balancer's listeners never run under it. A bad record
 * is warned about once per key and revision and skipped; a key that held a good record keeps it
 * until deleted, so bad data never removes an endpoint that was there. While the stream is down
 * the source reports the failure once, and the balancer keeps the endpoints it has; after it is
 * back, the list again, so the balancer knows the outage ended.
 */
/**
 * Discovery from etcd: the endpoints registered under a key prefix (by default {@value
 * #DEFAULT_ROOT}{@code <service>/}), one {@link EtcdRecord} per key, read once and then followed
 * through a watch, so a registration or a lease expiry reaches the balancer within milliseconds.
 *
 * <pre>{@code
 * EtcdClient etcd = EtcdClient.builder("http://127.0.0.1:2379").build();
 * LoadBalancer lb = LoadBalancers.builder("orders")
 *     .source(EtcdEndpointSource.builder(etcd, "orders").build())
 *     .build();
 * }</pre>
 *
 * <p>The read and the watch join without a gap; a broken watch reconnects (with jittered backoff,
 * through the next member) and resumes from the last revision it saw; if etcd compacted that
 * revision, the source reads the prefix again. While etcd cannot be reached, the balancer keeps the
 * last endpoints. A record that does not parse is logged once at WARN and skipped. Keys are matched
 * to endpoints by {@link Endpoint#key()} ({@code host:port}): two keys registering the same address
 * count once.
 */
public final class EtcdEndpointSource extends AbstractEndpointSource
    implements WatchHub.Subscriber {

  /** Where services are registered unless told otherwise: {@code /loadstar/services/}. */
  public static final String DEFAULT_ROOT = "/loadstar/services/";

  private static final Logger LOG = LoggerFactory.getLogger(EtcdEndpointSource.class);
  private static final Duration RETRY_READ = Duration.ofMillis(500);

  private final EtcdClient client;
  private final String service;
  private final String prefix;
  private final Map<String, Endpoint> records = new TreeMap<>(); // etcd key -> good record
  private final Map<String, Long> warned = new HashMap<>(); // etcd key -> revision warned about
  private final List<WatchHub.Event> buffered = new ArrayList<>();
  private boolean started;
  private @Nullable WatchHub hub;
  private boolean closed;
  private boolean synced;
  private boolean reading;
  private long readGeneration;
  private long syncedRevision;
  private boolean down; // the failure of this outage was reported
  private @Nullable List<Endpoint> reported;

  private EtcdEndpointSource(Builder b) {
    this.client = b.client;
    this.service = b.service;
    this.prefix = b.prefix != null ? b.prefix : DEFAULT_ROOT + b.service + "/";
  }

  /** Starts building a source of {@code service}'s endpoints, read through {@code client}. */
  public static Builder builder(EtcdClient client, String service) {
    return new Builder(client, service);
  }

  /** Returns the key prefix this source follows. */
  @Override
  public String prefix() {
    return prefix;
  }

  @Override
  protected void onStart(Context context) {
    WatchHub h;
    synchronized (this) {
      started = true;
      h = client.hub(prefix);
      this.hub = h;
    }
    h.subscribe(this);
  }

  /** Reconnects at once if the watch is down, instead of waiting out its backoff. */
  @Override
  public void refresh() {
    WatchHub h;
    synchronized (this) {
      h = hub;
    }
    if (h != null) {
      h.nudge();
    }
  }

  @Override
  protected void onClose() {
    WatchHub h;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      h = hub;
      hub = null;
      readGeneration++;
    }
    if (h != null) {
      h.unsubscribe(this);
    }
  }

  @Override
  public String toString() {
    return "EtcdEndpointSource{" + service + " at " + prefix + " on " + client.endpoints() + "}";
  }

  // -- WatchHub.Subscriber: called from the stream's thread ------------------------------------

  @Override
  public void streamUp() {
    boolean read;
    synchronized (this) {
      if (closed) {
        return;
      }
      if (synced) {
        down = false;
        report(true); // tells the balancer the outage is over
        read = false;
      } else if (reading) {
        return;
      } else {
        reading = true;
        read = true;
      }
    }
    if (read) {
      read();
    } else {
      flush();
    }
  }

  private void read() {
    long gen;
    synchronized (this) {
      gen = ++readGeneration;
    }
    client
        .range(prefix)
        .whenComplete(
            (answer, error) -> {
              if (error != null) {
                readFailed(gen, error);
              } else {
                readDone(gen, answer);
              }
            });
  }

  private void readDone(long gen, JsonNode answer) {
    synchronized (this) {
      if (closed || gen != readGeneration) {
        return;
      }
      reading = false;
      long revision = answer.path("header").path("revision").asLong(0);
      Map<String, Endpoint> fresh = new TreeMap<>();
      for (JsonNode kv : answer.path("kvs")) {
        String key = EtcdWire.text(kv.path("key"));
        Endpoint e = parse(key, kv.path("mod_revision").asLong(0), EtcdWire.text(kv.path("value")));
        if (e == null) {
          e = records.get(key); // bad data never removes what was there
        }
        if (e != null) {
          fresh.put(key, e);
        }
      }
      records.clear();
      records.putAll(fresh);
      syncedRevision = revision;
      synced = true;
      down = false;
      List<WatchHub.Event> later = new ArrayList<>(buffered);
      buffered.clear();
      for (WatchHub.Event e : later) {
        apply(e);
      }
      report(true);
    }
    flush();
  }

  private void readFailed(long gen, Throwable error) {
    synchronized (this) {
      if (closed || gen != readGeneration) {
        return;
      }
      reading = false;
      reportDown(error);
    }
    flush();
    LOG.debug("[{}] reading {} failed; retrying: {}", service, prefix, error.toString());
    client
        .scheduler()
        .schedule(
            () -> {
              WatchHub h;
              synchronized (this) {
                h = hub;
              }
              if (h != null && h.isUp()) {
                streamUp();
              } // else the stream's reconnect calls streamUp
            },
            RETRY_READ.toMillis(),
            TimeUnit.MILLISECONDS);
  }

  @Override
  public void onEvents(List<WatchHub.Event> events) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (!synced) {
        buffered.addAll(events); // applied above the read's revision once it answers
        return;
      }
      boolean changed = false;
      for (WatchHub.Event e : events) {
        changed |= apply(e);
      }
      if (changed) {
        report(false);
      }
    }
    flush();
  }

  @Override
  public void streamDown(Throwable error) {
    synchronized (this) {
      if (!closed) {
        reportDown(error);
      }
    }
    flush();
  }

  @Override
  public void compacted() {
    synchronized (this) {
      synced = false;
      reading = false;
      readGeneration++;
      buffered.clear();
    }
  }

  // -- holding the monitor -----------------------------------------------------------------------

  private boolean apply(WatchHub.Event e) {
    if (e.modRevision() <= syncedRevision) {
      return false; // already in the read
    }
    if (e.delete()) {
      warned.remove(e.key());
      return records.remove(e.key()) != null;
    }
    Endpoint parsed = parse(e.key(), e.modRevision(), e.value());
    if (parsed == null) {
      return false;
    }
    return !parsed.equals(records.put(e.key(), parsed));
  }

  private @Nullable Endpoint parse(String key, long revision, String value) {
    try {
      Endpoint e = EtcdRecord.parse(value);
      warned.remove(key);
      return e;
    } catch (IllegalArgumentException bad) {
      Long before = warned.put(key, revision);
      if (before == null || before != revision) {
        LOG.warn(
            "[{}] skipping the record at {} (revision {}): {}; the other records still count",
            service,
            key,
            revision,
            bad.getMessage());
      }
      return null;
    }
  }

  private void report(boolean always) {
    if (!started || closed) {
      return;
    }
    Map<String, Endpoint> byEndpoint = new TreeMap<>();
    for (Endpoint e : records.values()) {
      byEndpoint.put(e.key(), e);
    }
    List<Endpoint> list = List.copyOf(byEndpoint.values());
    if (!always && list.equals(reported)) {
      return;
    }
    reported = list;
    offer(EndpointUpdate.of(list)); // flushed by the caller once the monitor is released
  }

  private void reportDown(Throwable error) {
    if (down || !started || closed) {
      return;
    }
    down = true;
    offer(
        EndpointUpdate.failed(
            new EtcdException(
                "etcd watch of " + prefix + " on " + client.endpoints() + " failed: " + error,
                error instanceof EtcdException ? ((EtcdException) error).code() : -1,
                error)));
  }

  static String checkPrefix(String what, String prefix) {
    requireNonNull(prefix, what);
    if (prefix.length() < 2 || !prefix.startsWith("/") || !prefix.endsWith("/")) {
      throw new IllegalArgumentException(
          what
              + ": '"
              + prefix
              + "' (expected: a key prefix such as /loadstar/services/orders/,"
              + " starting and ending with /)");
    }
    return prefix;
  }

  /** Builds an {@link EtcdEndpointSource}. Not thread-safe. */
  public static final class Builder {
    private final EtcdClient client;
    private final String service;
    private @Nullable String prefix;

    private Builder(EtcdClient client, String service) {
      this.client = requireNonNull(client, "client");
      this.service = checkService(service);
    }

    /**
     * Sets the key prefix to follow. Defaults to {@value #DEFAULT_ROOT}{@code <service>/}, where
     * {@link EtcdRegistrar} registers by default.
     *
     * @throws IllegalArgumentException if it does not start and end with {@code /}
     */
    public Builder prefix(String prefix) {
      this.prefix = checkPrefix("prefix", prefix);
      return this;
    }

    /** Returns the source; it connects when its balancer starts it. */
    public EtcdEndpointSource build() {
      return new EtcdEndpointSource(this);
    }
  }

  static String checkService(String service) {
    requireNonNull(service, "service");
    if (!service.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
      throw new IllegalArgumentException(
          "service: '"
              + service
              + "' (expected: 1-128 letters, digits, '.', '_' or '-', starting with a letter or"
              + " digit)");
    }
    return service;
  }
}
