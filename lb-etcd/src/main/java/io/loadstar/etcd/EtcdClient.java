package io.loadstar.etcd;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loadstar.core.internal.SharedThreads;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: etcd's v3 API through its JSON gateway (the same port as gRPC, HTTP/1.1), with
 * OkHttp. The module README compares this with jetcd, the official gRPC client: 44 jars and 19 MB
 * (two Netty lines, Vert.x, gRPC, Guava, protobuf) against OkHttp, which lb-okhttp users already
 * have, and Jackson; a few shared threads against gRPC's and Vert.x's pools.
 *
 * Unary calls (range, put, delete, a create-if-absent transaction, lease grant/keep-alive/revoke)
 * go to the member that answered last; a connection failure or an "unavailable" answer (no leader,
 * leader changed, member stopping) moves on to the next member, each member once per call. Watches
 * are streams; the gateway cannot add a watch to a running stream, so services under one shared
 * prefix share one stream on that prefix (WatchHub) instead of one per service.
 */
/**
 * A connection to an etcd v3 cluster (3.4 or later), shared by every {@link EtcdEndpointSource} and
 * {@link EtcdRegistrar} of a JVM: one connection pool, and one watch stream for all services under
 * the {@linkplain Builder#sharedWatchPrefix shared prefix}. Sources and registrars never close it;
 * the application does, after closing them. Thread-safe.
 *
 * <pre>{@code
 * EtcdClient etcd = EtcdClient.builder("http://10.0.0.1:2379", "http://10.0.0.2:2379").build();
 * }</pre>
 */
public final class EtcdClient implements AutoCloseable {

  private static final MediaType JSON_TYPE = MediaType.get("application/json");

  private final List<HttpUrl> members;
  private final AtomicInteger current = new AtomicInteger();
  private final OkHttpClient unary;
  private final OkHttpClient streaming;
  private final boolean ownsHttp;
  private final Duration requestTimeout;
  private final String sharedPrefix;
  private final SharedThreads.Lease threads;
  private final Map<String, WatchHub> hubs = new HashMap<>(); // guarded by this
  private volatile boolean closed;

  private EtcdClient(Builder b) {
    this.members = List.copyOf(b.members);
    this.requestTimeout = b.requestTimeout;
    this.sharedPrefix = b.sharedPrefix;
    OkHttpClient base = b.http;
    this.ownsHttp = base == null;
    if (base == null) {
      Dispatcher dispatcher = new Dispatcher();
      // Each watch stream holds a call for its lifetime: OkHttp's default of 5 per host would
      // leave the unary calls of a JVM with 5 streams queued behind them.
      dispatcher.setMaxRequests(256);
      dispatcher.setMaxRequestsPerHost(128);
      base =
          new OkHttpClient.Builder()
              .dispatcher(dispatcher)
              .connectionPool(new ConnectionPool(8, 1, TimeUnit.MINUTES))
              .retryOnConnectionFailure(true)
              .build();
    }
    this.unary =
        base.newBuilder()
            .connectTimeout(b.connectTimeout)
            .callTimeout(requestTimeout)
            .readTimeout(requestTimeout)
            .build();
    this.streaming =
        base.newBuilder()
            .connectTimeout(b.connectTimeout)
            .callTimeout(Duration.ZERO)
            .readTimeout(Duration.ZERO) // a watch may be quiet for hours
            .build();
    this.threads = new SharedThreads.Lease("EtcdClient " + members, b.scheduler);
  }

  /**
   * Starts building a client of the cluster whose members answer at {@code endpoints}: client URLs
   * such as {@code http://10.0.0.1:2379}.
   */
  public static Builder builder(String... endpoints) {
    return builder(List.of(endpoints));
  }

  /** Starts building a client of the cluster whose members answer at {@code endpoints}. */
  public static Builder builder(List<String> endpoints) {
    return new Builder(endpoints);
  }

  /** Returns the member URLs, in the order given. */
  public List<String> endpoints() {
    List<String> out = new ArrayList<>(members.size());
    for (HttpUrl m : members) {
      out.add(m.toString().replaceAll("/$", ""));
    }
    return out;
  }

  /**
   * Closes the watch streams still open and releases the client's threads. Sources and registrars
   * still using it fail their next request; close them first. Idempotent.
   */
  @Override
  public void close() {
    List<WatchHub> open;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      open = new ArrayList<>(hubs.values());
      hubs.clear();
    }
    for (WatchHub hub : open) {
      hub.close();
    }
    threads.close();
    if (ownsHttp) {
      unary.dispatcher().cancelAll();
      unary.connectionPool().evictAll();
      unary.dispatcher().executorService().shutdown();
    }
  }

  @Override
  public String toString() {
    return "EtcdClient" + endpoints();
  }

  boolean isClosed() {
    return closed;
  }

  ScheduledExecutorService scheduler() {
    return threads.scheduler();
  }

  Executor workers() {
    return threads.workers();
  }

  Duration requestTimeout() {
    return requestTimeout;
  }

  /** Returns the hub whose stream covers {@code prefix}, creating it; the caller subscribes. */
  synchronized WatchHub hub(String prefix) {
    if (closed) {
      throw new IllegalStateException(this + " is closed");
    }
    String root = prefix.startsWith(sharedPrefix) ? sharedPrefix : prefix;
    return hubs.computeIfAbsent(root, r -> new WatchHub(this, r));
  }

  /** Returns the number of watch streams wanted now: one per prefix root with sources. */
  synchronized int hubCount() {
    return hubs.size();
  }

  /** Forgets {@code hub} once its last subscriber left; a later subscriber gets a new one. */
  synchronized void hubEmpty(WatchHub hub) {
    hubs.remove(hub.root(), hub);
  }

  // ---- the v3 API (EtcdWire: its JSON encoding) ----

  /** Reads every key under {@code prefix}: the answer has {@code kvs} and {@code header}. */
  CompletableFuture<JsonNode> range(String prefix) {
    return post("/v3/kv/range", rangeOf(prefix));
  }

  CompletableFuture<JsonNode> put(String key, String value, long lease) {
    ObjectNode body =
        EtcdWire.object().put("key", EtcdWire.b64(key)).put("value", EtcdWire.b64(value));
    if (lease != 0) {
      body.put("lease", Long.toString(lease));
    }
    return post("/v3/kv/put", body);
  }

  /**
   * Runs a transaction ({@code compare}, {@code success}, {@code failure} as the v3 API's {@code
   * TxnRequest}). The answer's {@code succeeded} is absent when false, as the gateway omits false.
   */
  CompletableFuture<JsonNode> txn(ObjectNode body) {
    return post("/v3/kv/txn", body);
  }

  /** A range request for the keys under {@code prefix}, for a transaction or a read. */
  static ObjectNode rangeOf(String prefix) {
    return EtcdWire.object()
        .put("key", EtcdWire.b64(prefix))
        .put("range_end", EtcdWire.prefixEnd(prefix));
  }

  CompletableFuture<JsonNode> delete(String key) {
    return post("/v3/kv/deleterange", EtcdWire.object().put("key", EtcdWire.b64(key)));
  }

  CompletableFuture<JsonNode> grant(long ttlSeconds) {
    return post("/v3/lease/grant", EtcdWire.object().put("TTL", Long.toString(ttlSeconds)));
  }

  /** Renews a lease; the answer's {@code result.TTL} is absent or 0 if the lease is gone. */
  CompletableFuture<JsonNode> keepAlive(long lease) {
    return post("/v3/lease/keepalive", EtcdWire.object().put("ID", Long.toString(lease)));
  }

  CompletableFuture<JsonNode> revoke(long lease) {
    return post("/v3/lease/revoke", EtcdWire.object().put("ID", Long.toString(lease)));
  }

  /** Posts {@code body} to the current member, moving on to the next ones while unavailable. */
  CompletableFuture<JsonNode> post(String path, ObjectNode body) {
    CompletableFuture<JsonNode> result = new CompletableFuture<>();
    attempt(path, body.toString(), current.get(), 0, null, result);
    return result;
  }

  private void attempt(
      String path,
      String body,
      int member,
      int tried,
      @Nullable IOException last,
      CompletableFuture<JsonNode> result) {
    if (closed) {
      result.completeExceptionally(new IllegalStateException(this + " is closed"));
      return;
    }
    if (tried == members.size()) {
      result.completeExceptionally(
          new EtcdException(
              "no etcd member answered " + path + " (tried " + endpoints() + "): " + last,
              last instanceof EtcdException ? ((EtcdException) last).code() : -1,
              last));
      return;
    }
    HttpUrl url = members.get(member).resolve(path.substring(1));
    Request request =
        new Request.Builder().url(url).post(RequestBody.create(body, JSON_TYPE)).build();
    unary
        .newCall(request)
        .enqueue(
            new Callback() {
              @Override
              public void onFailure(Call call, IOException e) {
                next(e);
              }

              @Override
              public void onResponse(Call call, Response response) {
                JsonNode node;
                try (ResponseBody b = response.body()) {
                  String text = b.string();
                  node = text.isEmpty() ? EtcdWire.object() : EtcdWire.JSON.readTree(text);
                } catch (IOException | RuntimeException e) {
                  next(new IOException(url + ": unreadable answer: " + e, e));
                  return;
                }
                if (response.isSuccessful() && !node.has("error")) {
                  result.complete(node);
                  return;
                }
                int code = node.path("code").asInt(-1);
                EtcdException error =
                    new EtcdException(
                        url
                            + ": HTTP "
                            + response.code()
                            + ", "
                            + node.path("message").asText(node.toString()),
                        code,
                        null);
                if (response.code() >= 500 || code == EtcdException.UNAVAILABLE) {
                  next(error);
                } else {
                  result.completeExceptionally(error);
                }
              }

              private void next(IOException e) {
                int n = (member + 1) % members.size();
                current.compareAndSet(member, n);
                attempt(path, body, n, tried + 1, e, result);
              }
            });
  }

  /**
   * Opens a watch stream on the current member: the caller reads the answers (one JSON object per
   * message) and closes the call. {@code hasleader} makes a member that lost its leader end the
   * stream instead of keeping it quiet, so the watcher moves on to a member with one.
   */
  Call watch(ObjectNode createRequest) {
    HttpUrl url = members.get(current.get()).resolve("v3/watch");
    String body = EtcdWire.object().set("create_request", createRequest).toString();
    Request request =
        new Request.Builder()
            .url(url)
            .header("Grpc-Metadata-hasleader", "true")
            .post(RequestBody.create(body, JSON_TYPE))
            .build();
    return streaming.newCall(request);
  }

  /** Moves on to the next member after {@code failed}'s stream broke. */
  void memberFailed(HttpUrl failed) {
    int index = members.indexOf(failed.newBuilder().encodedPath("/").build());
    if (index >= 0) {
      current.compareAndSet(index, (index + 1) % members.size());
    }
  }

  /** Builds an {@link EtcdClient}. Not thread-safe. */
  public static final class Builder {
    private final List<HttpUrl> members;
    private Duration requestTimeout = Duration.ofSeconds(5);
    private Duration connectTimeout = Duration.ofSeconds(1);
    private String sharedPrefix = EtcdEndpointSource.DEFAULT_ROOT;
    private @Nullable OkHttpClient http;
    private @Nullable ScheduledExecutorService scheduler;

    private Builder(List<String> endpoints) {
      requireNonNull(endpoints, "endpoints");
      if (endpoints.isEmpty()) {
        throw new IllegalArgumentException(
            "endpoints: [] (expected: at least one member URL such as http://127.0.0.1:2379)");
      }
      LinkedHashSet<HttpUrl> urls = new LinkedHashSet<>();
      for (String e : endpoints) {
        HttpUrl url = e == null ? null : HttpUrl.parse(e);
        if (url == null
            || !(url.encodedPath().equals("/"))
            || url.query() != null
            || e.indexOf("://") < 0) {
          throw new IllegalArgumentException(
              "endpoint: '"
                  + e
                  + "' (expected: a member's client URL such as http://127.0.0.1:2379, without"
                  + " a path)");
        }
        if (!urls.add(url)) {
          throw new IllegalArgumentException(
              "endpoint: '" + e + "' is listed twice (expected: each member once)");
        }
      }
      this.members = new ArrayList<>(urls);
    }

    /**
     * Sets how long one request to one member may take before the next member is tried. Defaults to
     * 5 s.
     *
     * @throws IllegalArgumentException if not in {@code 100ms..5min}
     */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = check("requestTimeout", timeout, Duration.ofMillis(100));
      return this;
    }

    /**
     * Sets how long connecting to one member may take. Defaults to 1 s.
     *
     * @throws IllegalArgumentException if not in {@code 100ms..5min}
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = check("connectTimeout", timeout, Duration.ofMillis(100));
      return this;
    }

    /**
     * Sets the prefix under which services share one watch stream: a source whose prefix starts
     * with it is served by one stream on it with every other such source, and receives the changes
     * of its own keys only. Sources elsewhere get a stream each. Defaults to {@value
     * EtcdEndpointSource#DEFAULT_ROOT}.
     *
     * @throws IllegalArgumentException if it does not start and end with {@code /}
     */
    public Builder sharedWatchPrefix(String prefix) {
      this.sharedPrefix = EtcdEndpointSource.checkPrefix("sharedWatchPrefix", prefix);
      return this;
    }

    /**
     * Uses {@code client}'s connection pool, dispatcher and settings (TLS, authentication
     * interceptors) for every request. The application closes it. Defaults to a client of the etcd
     * client's own, with room for 128 concurrent streams and requests per member.
     */
    public Builder okHttpClient(OkHttpClient client) {
      this.http = requireNonNull(client, "client");
      return this;
    }

    /**
     * Runs the client's timers (lease renewals, readiness checks, reconnect backoff) on {@code
     * scheduler}, which the application owns, instead of Loadstar's shared timer thread. Tasks are
     * short and never block. For tests with a manual clock, or to keep every timer on a pool of the
     * application's.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Returns a client; connects lazily, on the first request. */
    public EtcdClient build() {
      return new EtcdClient(this);
    }

    private static Duration check(String what, Duration d, Duration min) {
      requireNonNull(d, what);
      if (d.compareTo(min) < 0 || d.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new IllegalArgumentException(
            what + ": " + d + " (expected: " + min.toMillis() + "ms..5min)");
      }
      return d;
    }
  }
}
