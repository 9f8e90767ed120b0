package io.loadstar.grpc;

import static java.util.Objects.requireNonNull;

import io.grpc.CallOptions;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.loadstar.api.PickContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * What a status means to Loadstar on a gRPC channel: which codes count against the endpoint (for
 * outlier detection and canary rollback), which RPCs may be repeated on another endpoint after they
 * were sent and for which codes, and where a call's hash key comes from.
 *
 * <p>An RPC that was never sent (its headers never written to a connection) is always retried on
 * another endpoint, whatever these rules say. One that was sent is retried only if it is marked
 * retryable, its status is one of its retryable codes, and the service's {@link
 * io.loadstar.api.RetryPolicy} and retry budget allow it. An RPC is marked retryable by, in order:
 * {@link LoadstarGrpc#RETRYABLE} on its {@code CallOptions}; a method or service named by {@link
 * Builder#retryable} or by a service config's {@code retryPolicy} ({@link Builder#serviceConfig});
 * its {@code MethodDescriptor} being idempotent or safe.
 *
 * <p>Immutable and thread-safe. Start from {@link #defaults()} or {@link #builder()}.
 */
public final class GrpcRules {

  private static final Set<Status.Code> DEFAULT_FAILURES =
      Collections.unmodifiableSet(
          EnumSet.of(
              Status.Code.UNAVAILABLE,
              Status.Code.DEADLINE_EXCEEDED,
              Status.Code.INTERNAL,
              Status.Code.UNKNOWN,
              Status.Code.DATA_LOSS));
  private static final Set<Status.Code> DEFAULT_RETRYABLE =
      Collections.unmodifiableSet(EnumSet.of(Status.Code.UNAVAILABLE));
  private static final GrpcRules DEFAULTS = new Builder().build();

  private final Set<Status.Code> failureCodes;
  private final Map<String, Retry> retryByName; // "svc/method", "svc/" or "" (every method)
  // The same entries split, so that looking a call up allocates nothing:
  private final Map<String, Retry> retryByMethod; // full method name
  private final Map<String, Retry> retryByService; // service name
  private final @Nullable Retry retryOfAll;
  private final Metadata.@Nullable Key<String> hashKeyHeader;
  private final @Nullable Map<String, ?> serviceConfig;
  private final @Nullable ScheduledExecutorService retryScheduler;

  private GrpcRules(Builder b) {
    this.failureCodes = Collections.unmodifiableSet(EnumSet.copyOf(b.failureCodes));
    this.retryByName = Map.copyOf(b.retryByName);
    Map<String, Retry> byMethod = new HashMap<>();
    Map<String, Retry> byService = new HashMap<>();
    for (Map.Entry<String, Retry> e : retryByName.entrySet()) {
      String key = e.getKey();
      if (key.endsWith("/")) {
        byService.put(key.substring(0, key.length() - 1), e.getValue());
      } else if (!key.isEmpty()) {
        byMethod.put(key, e.getValue());
      }
    }
    this.retryByMethod = Map.copyOf(byMethod);
    this.retryByService = Map.copyOf(byService);
    this.retryOfAll = retryByName.get("");
    this.hashKeyHeader = b.hashKeyHeader;
    this.serviceConfig = b.serviceConfig;
    this.retryScheduler = b.retryScheduler;
  }

  /**
   * Returns the defaults: {@code UNAVAILABLE}, {@code DEADLINE_EXCEEDED}, {@code INTERNAL}, {@code
   * UNKNOWN} and {@code DATA_LOSS} count against the endpoint; only idempotent or safe methods are
   * retryable once sent, on {@code UNAVAILABLE}; no hash key header.
   */
  public static GrpcRules defaults() {
    return DEFAULTS;
  }

  /** Returns a builder starting from the defaults. Builders are not thread-safe. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the codes that count as a failure of the endpoint that answered them. */
  public Set<Status.Code> failureCodes() {
    return failureCodes;
  }

  /** Returns the header a call's hash key is read from, or null if none is configured. */
  public @Nullable String hashKeyHeader() {
    Metadata.Key<String> h = hashKeyHeader;
    return h != null ? h.name() : null;
  }

  /** Returns the service config given to {@link Builder#serviceConfig}, or null. */
  public @Nullable Map<String, ?> serviceConfig() {
    return serviceConfig;
  }

  /** Returns where retries wait out their backoff, or null for the JDK's shared timer thread. */
  public @Nullable ScheduledExecutorService retryScheduler() {
    return retryScheduler;
  }

  /**
   * Returns how {@code method} is retried once sent: its codes and attempt cap, or null if it is
   * not marked retryable by name or by its descriptor.
   */
  @Nullable Retry retryOf(MethodDescriptor<?, ?> method) {
    Retry r = retryByMethod.get(method.getFullMethodName());
    String service = method.getServiceName();
    if (r == null && service != null) {
      r = retryByService.get(service);
    }
    if (r == null) {
      r = retryOfAll;
    }
    if (r == null && (method.isIdempotent() || method.isSafe())) {
      r = Retry.DEFAULT;
    }
    return r;
  }

  /**
   * Returns how a call of {@code method} with {@code options} is retried once sent, or null if it
   * is not: {@link LoadstarGrpc#RETRYABLE} on the call wins over these rules.
   */
  @Nullable Retry retryOf(MethodDescriptor<?, ?> method, CallOptions options) {
    Boolean marked = options.getOption(LoadstarGrpc.RETRYABLE);
    Retry byRules = retryOf(method);
    if (marked == null) {
      return byRules;
    }
    return marked ? (byRules != null ? byRules : Retry.DEFAULT) : null;
  }

  /**
   * Returns a call's pick context: its hash key from {@link LoadstarGrpc#HASH_KEY}, else from the
   * {@link Builder#hashKeyHeader} header, else none.
   */
  PickContext pickContext(CallOptions options, Metadata headers) {
    String key = options.getOption(LoadstarGrpc.HASH_KEY);
    Metadata.Key<String> header = hashKeyHeader;
    if (key == null && header != null) {
      key = headers.get(header);
    }
    return key != null ? PickContext.ofHashKey(key) : PickContext.empty();
  }

  /**
   * Runs a retry after {@code delayNanos} on the {@linkplain #retryScheduler() retry scheduler}, or
   * the JDK's shared timer thread.
   *
   * @throws RejectedExecutionException if the scheduler refuses it
   */
  void runAfter(long delayNanos, Runnable retry) {
    ScheduledExecutorService scheduler = retryScheduler;
    if (scheduler != null) {
      scheduler.schedule(retry, delayNanos, TimeUnit.NANOSECONDS);
    } else {
      CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS).execute(retry);
    }
  }

  @Override
  public String toString() {
    return "GrpcRules{failureCodes="
        + failureCodes
        + ", retryable="
        + retryByName.keySet()
        + (hashKeyHeader != null ? ", hashKeyHeader=" + hashKeyHeader.name() : "")
        + '}';
  }

  /** How an RPC marked retryable is retried once sent. */
  static final class Retry {
    static final Retry DEFAULT = new Retry(DEFAULT_RETRYABLE, Integer.MAX_VALUE);

    final Set<Status.Code> codes;
    final int maxAttempts; // the service config's cap; Loadstar's policy caps as well

    Retry(Set<Status.Code> codes, int maxAttempts) {
      this.codes = codes;
      this.maxAttempts = maxAttempts;
    }
  }

  /** Builds {@link GrpcRules}. Not thread-safe. */
  public static final class Builder {
    private Set<Status.Code> failureCodes = EnumSet.copyOf(DEFAULT_FAILURES);
    private final Map<String, Retry> retryByName = new HashMap<>();
    private Metadata.@Nullable Key<String> hashKeyHeader;
    private @Nullable Map<String, ?> serviceConfig;
    private @Nullable ScheduledExecutorService retryScheduler;

    private Builder() {}

    /**
     * Sets the codes that count as a failure of the endpoint that answered them (feeding outlier
     * detection and canary rollback); other codes are the application's answers and count as
     * successes. Replaces the default set.
     *
     * @throws IllegalArgumentException if {@code codes} contains {@code OK}
     */
    public Builder failureCodes(Status.Code... codes) {
      EnumSet<Status.Code> set = EnumSet.noneOf(Status.Code.class);
      for (Status.Code c : codes) {
        set.add(requireNonNull(c, "code"));
      }
      if (set.contains(Status.Code.OK)) {
        throw new IllegalArgumentException(
            "failureCodes: " + set + " (expected: codes other than OK)");
      }
      this.failureCodes = set;
      return this;
    }

    /**
     * Marks a method ({@code "package.Service/Method"}), every method of a service ({@code
     * "package.Service"}) or every method ({@code "*"}) retryable once sent, on {@code codes}
     * ({@code UNAVAILABLE} if none are given). A method's own entry wins over its service's, which
     * wins over {@code "*"}.
     *
     * @throws IllegalArgumentException if the name is blank or contains more than one {@code /}, or
     *     a code is {@code OK}
     */
    public Builder retryable(String name, Status.Code... codes) {
      requireNonNull(name, "name");
      Set<Status.Code> set = codes.length == 0 ? DEFAULT_RETRYABLE : codeSet(name, List.of(codes));
      retryByName.put(nameKey(name), new Retry(set, Integer.MAX_VALUE));
      return this;
    }

    /**
     * Reads the retryable methods from a gRPC service config ({@code methodConfig[].name} and
     * {@code retryPolicy.retryableStatusCodes} and {@code maxAttempts}, as in gRFC A6), the map
     * given to {@code ManagedChannelBuilder.defaultServiceConfig}. {@link LoadstarGrpc#configure}
     * also hands it to the channel, whose own retries it turns off: Loadstar retries instead, on
     * another endpoint, with the service's backoff and retry budget ({@code initialBackoff}, {@code
     * maxBackoff} and {@code backoffMultiplier} are not used); {@code maxAttempts} caps the
     * attempts as well as the Loadstar policy's.
     *
     * @throws IllegalArgumentException naming the entry, if the config is not a valid gRPC service
     *     config in the parts read
     */
    public Builder serviceConfig(Map<String, ?> config) {
      requireNonNull(config, "config");
      Object methodConfigs = config.get("methodConfig");
      if (methodConfigs != null) {
        if (!(methodConfigs instanceof List)) {
          throw new IllegalArgumentException(
              "serviceConfig.methodConfig: " + methodConfigs + " (expected: a list)");
        }
        int i = 0;
        for (Object mc : (List<?>) methodConfigs) {
          readMethodConfig("serviceConfig.methodConfig[" + i++ + "]", mc);
        }
      }
      this.serviceConfig = Collections.unmodifiableMap(new HashMap<>(config));
      return this;
    }

    private void readMethodConfig(String where, @Nullable Object mc) {
      if (!(mc instanceof Map)) {
        throw new IllegalArgumentException(where + ": " + mc + " (expected: an object)");
      }
      Map<?, ?> m = (Map<?, ?>) mc;
      Object policy = m.get("retryPolicy");
      if (policy == null) {
        return;
      }
      if (!(policy instanceof Map)) {
        throw new IllegalArgumentException(
            where + ".retryPolicy: " + policy + " (expected: an object)");
      }
      Map<?, ?> p = (Map<?, ?>) policy;
      Object max = p.get("maxAttempts");
      if (!(max instanceof Number) || ((Number) max).doubleValue() < 2) {
        throw new IllegalArgumentException(
            where + ".retryPolicy.maxAttempts: " + max + " (expected: a number >= 2)");
      }
      Object codes = p.get("retryableStatusCodes");
      if (!(codes instanceof List) || ((List<?>) codes).isEmpty()) {
        throw new IllegalArgumentException(
            where
                + ".retryPolicy.retryableStatusCodes: "
                + codes
                + " (expected: a non-empty list of status codes)");
      }
      List<Status.Code> parsed = new ArrayList<>();
      for (Object c : (List<?>) codes) {
        parsed.add(code(where + ".retryPolicy.retryableStatusCodes", c));
      }
      Retry retry = new Retry(codeSet(where, parsed), ((Number) max).intValue());
      Object names = m.get("name");
      if (!(names instanceof List) || ((List<?>) names).isEmpty()) {
        throw new IllegalArgumentException(
            where + ".name: " + names + " (expected: a non-empty list of {service, method})");
      }
      for (Object n : (List<?>) names) {
        if (!(n instanceof Map)) {
          throw new IllegalArgumentException(
              where + ".name: " + n + " (expected: an object with service and method)");
        }
        Object service = ((Map<?, ?>) n).get("service");
        Object method = ((Map<?, ?>) n).get("method");
        String key;
        if (service == null || "".equals(service)) {
          if (method != null && !"".equals(method)) {
            throw new IllegalArgumentException(
                where + ".name: " + n + " (expected: no method without a service)");
          }
          key = "";
        } else {
          key = service + "/" + (method != null ? method : "");
        }
        retryByName.putIfAbsent(key, retry); // the first entry naming a method wins, as in gRPC
      }
    }

    private static Status.Code code(String where, @Nullable Object c) {
      if (c instanceof Number) {
        int value = ((Number) c).intValue();
        for (Status.Code code : Status.Code.values()) {
          if (code.value() == value) {
            return code;
          }
        }
      } else if (c instanceof String) {
        try {
          return Status.Code.valueOf(((String) c).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
          // named below
        }
      }
      throw new IllegalArgumentException(
          where + ": " + c + " (expected: a status code name such as UNAVAILABLE, or 0..16)");
    }

    private static Set<Status.Code> codeSet(String where, List<Status.Code> codes) {
      EnumSet<Status.Code> set = EnumSet.noneOf(Status.Code.class);
      for (Status.Code c : codes) {
        set.add(requireNonNull(c, "code"));
      }
      if (set.contains(Status.Code.OK)) {
        throw new IllegalArgumentException(
            where + ": retryable codes " + set + " (expected: codes other than OK)");
      }
      return Collections.unmodifiableSet(set);
    }

    private static String nameKey(String name) {
      String n = name.trim();
      if (n.equals("*")) {
        return "";
      }
      int slash = n.indexOf('/');
      if (n.isEmpty()
          || slash == 0
          || (slash > 0 && n.indexOf('/', slash + 1) >= 0)
          || n.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(
            "retryable: '" + name + "' (expected: package.Service/Method, package.Service or *)");
      }
      return slash > 0 ? n : n + "/";
    }

    /**
     * Reads each call's hash key (for consistent hashing and sticky keys) from the ASCII header
     * {@code name}, unless the call sets {@link LoadstarGrpc#HASH_KEY}.
     *
     * @throws IllegalArgumentException if {@code name} is not a valid ASCII metadata key (binary
     *     {@code -bin} keys and gRPC's reserved {@code grpc-} keys are refused)
     */
    public Builder hashKeyHeader(String name) {
      requireNonNull(name, "name");
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.endsWith(Metadata.BINARY_HEADER_SUFFIX) || lower.startsWith("grpc-")) {
        throw new IllegalArgumentException(
            "hashKeyHeader: '" + name + "' (expected: an ASCII header, not -bin or grpc-)");
      }
      try {
        this.hashKeyHeader = Metadata.Key.of(lower, Metadata.ASCII_STRING_MARSHALLER);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "hashKeyHeader: '" + name + "' (expected: a metadata key of a-z, 0-9, -, _ and .)", e);
      }
      return this;
    }

    /**
     * Sets where a retry waits out its backoff (the first retry goes at once; later ones after the
     * balancer's jittered backoff or the server's pushback): the application's scheduler, or a
     * manual one in tests. By default, the JDK's shared timer thread ({@code
     * CompletableFuture.delayedExecutor}). The retry itself is then started from that thread. A
     * scheduler that refuses the task (it was shut down) ends the RPC with its last status.
     */
    public Builder retryScheduler(ScheduledExecutorService scheduler) {
      this.retryScheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Builds the rules. */
    public GrpcRules build() {
      return new GrpcRules(this);
    }
  }
}
