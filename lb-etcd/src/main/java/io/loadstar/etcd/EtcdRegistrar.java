package io.loadstar.etcd;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.loadstar.api.Endpoint;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: a small state machine on the etcd client's shared timer, one step at a time
 * (stepping guards against overlap; a step asked for meanwhile runs right after). A step:
 * - no lease: grant one (TTL), then put the record under it if ready;
 * - a lease: renew it every TTL/3; an answer without TTL means etcd forgot it (expired during a
 *   partition, or a restart of a cluster without the data) and the next step registers anew;
 * - readiness, checked every readinessInterval: not ready -> the key is deleted (the lease stays,
 *   so coming back is one put); ready again -> put.
 * Failures are retried at the next tick and logged once per outage. close() revokes the lease,
 * which deletes the key at once, so watchers see the backend leave within milliseconds.
 *
 * For EtcdPeers, a registrar may claim a numbered slot instead of a fixed key (SlotClaim): the put
 * becomes a claim of the lowest free slot under the prefix, and the key is the slot's until the
 * registration ends (lease lost, not ready), when the next registration claims again.
 */
/**
 * Registers one endpoint of a backend in etcd, under a lease it keeps alive, so clients following
 * the service with {@link EtcdEndpointSource} see it within milliseconds, and stop seeing it when
 * it closes, becomes unready, or dies (when the lease expires, {@linkplain Builder#ttl 10 s} by
 * default).
 *
 * <pre>{@code
 * EtcdRegistrar registrar = EtcdRegistrar.builder(etcd, "orders", Endpoint.of("10.0.0.7", 8080))
 *     .readiness(() -> app.isReady())
 *     .start();
 * // ... at shutdown, before the server stops accepting:
 * registrar.close();
 * }</pre>
 *
 * <p>It registers again by itself after losing its lease (etcd restarted without its data, a
 * partition longer than the TTL). A readiness check that turns false deregisters the endpoint (a
 * graceful drain for rolling deploys: stop being ready, wait for clients to move, then stop), and
 * registers it again when it turns true. Thread-safe.
 */
public final class EtcdRegistrar implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EtcdRegistrar.class);

  private final EtcdClient client;
  private final String service;
  private final String prefix;
  private final String record;
  private final @Nullable SlotClaim slots;
  private final long ttlSeconds;
  private final long renewMillis;
  private final @Nullable BooleanSupplier readiness;
  private final long readinessMillis;
  private @Nullable ScheduledFuture<?> readinessTimer; // guarded by this
  private @Nullable ScheduledFuture<?> renewTimer; // guarded by this

  // guarded by this
  private String key; // with slots: the slot's while registered, the prefix before
  private long lease; // 0 = none
  private boolean registered; // the key is (believed) in etcd
  private boolean ready;
  private boolean stepping;
  private boolean again;
  private boolean renewDue = true;
  private boolean failing;
  private boolean closed;
  private boolean warnedReadiness;

  private EtcdRegistrar(Builder b) {
    this.client = b.client;
    this.service = b.service;
    this.prefix = b.prefix != null ? b.prefix : EtcdEndpointSource.DEFAULT_ROOT + service + "/";
    this.record = EtcdRecord.toJson(b.endpoint);
    String id = b.id != null ? b.id : b.endpoint.key();
    this.slots = b.slots ? SlotClaim.of(client, prefix, id, b.endpoint) : null;
    this.key = slots != null ? prefix : prefix + id;
    this.ttlSeconds = b.ttl.toSeconds();
    this.renewMillis = Math.max(500, b.ttl.toMillis() / 3);
    this.readiness = b.readiness;
    this.ready = readiness == null;
    this.readinessMillis = b.readinessInterval.toMillis();
    synchronized (this) {
      // One-shot timers that schedule the next: any ScheduledExecutorService will do.
      renewTimer = client.scheduler().schedule(this::renewTick, renewMillis, TimeUnit.MILLISECONDS);
      if (readiness != null) {
        readinessTimer = client.scheduler().schedule(this::readinessTick, 0, TimeUnit.MILLISECONDS);
      }
    }
    step();
  }

  /**
   * Starts building the registration of {@code endpoint} as an instance of {@code service}, through
   * {@code client}.
   */
  public static Builder builder(EtcdClient client, String service, Endpoint endpoint) {
    return new Builder(client, service, endpoint);
  }

  /** Returns the key the endpoint is registered under. */
  public synchronized String key() {
    return key;
  }

  /** Returns true while the record is in etcd, as far as the registrar knows. */
  public synchronized boolean isRegistered() {
    return registered && !closed;
  }

  /**
   * Deregisters: revokes the lease, which deletes the key at once, waiting at most the client's
   * request timeout for etcd to confirm. Idempotent.
   */
  @Override
  public void close() {
    long revoke;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      revoke = lease;
      lease = 0;
      registered = false;
    }
    ScheduledFuture<?> renew;
    ScheduledFuture<?> ready;
    synchronized (this) {
      renew = renewTimer;
      ready = readinessTimer;
    }
    if (renew != null) {
      renew.cancel(false);
    }
    if (ready != null) {
      ready.cancel(false);
    }
    if (revoke != 0) {
      try {
        client.revoke(revoke).get(client.requestTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.warn(
            "[{}] could not revoke the lease of {}; it expires within {} s: {}",
            service,
            key(),
            ttlSeconds,
            e.toString());
      }
    }
  }

  @Override
  public String toString() {
    return "EtcdRegistrar{" + key() + ", ttl=" + ttlSeconds + "s}";
  }

  private void renewTick() {
    synchronized (this) {
      if (closed) {
        return;
      }
      renewDue = true;
      renewTimer = client.scheduler().schedule(this::renewTick, renewMillis, TimeUnit.MILLISECONDS);
    }
    step();
  }

  private void readinessTick() {
    boolean now;
    try {
      now = requireNonNull(readiness).getAsBoolean();
      synchronized (this) {
        warnedReadiness = false;
      }
    } catch (RuntimeException e) {
      boolean warn;
      synchronized (this) {
        warn = !warnedReadiness;
        warnedReadiness = true;
      }
      if (warn) {
        LOG.warn("[{}] readiness check of {} failed; counting it as not ready", service, key(), e);
      }
      now = false;
    }
    boolean changed;
    synchronized (this) {
      if (closed) {
        return;
      }
      changed = now != ready;
      ready = now;
      readinessTimer =
          client.scheduler().schedule(this::readinessTick, readinessMillis, TimeUnit.MILLISECONDS);
    }
    if (changed) {
      LOG.info("[{}] {} is {}", service, key(), now ? "ready: registering" : "not ready: leaving");
      step();
    }
  }

  /** Runs one step of the state machine, or asks the running one to run again. */
  private void step() {
    CompletableFuture<?> action;
    synchronized (this) {
      if (closed) {
        return;
      }
      if (stepping) {
        again = true;
        return;
      }
      if (lease == 0) {
        action = client.grant(ttlSeconds).thenApply(this::granted);
      } else if (ready && !registered) {
        long l = lease;
        action =
            slots != null
                ? slots.claim(l).thenApply(slot -> claimed(l, slot))
                : client.put(key, record, l).thenApply(a -> put(l));
      } else if (!ready && registered) {
        action = client.delete(key).thenApply(a -> deleted());
      } else if (renewDue) {
        long l = lease;
        renewDue = false;
        action = client.keepAlive(l).thenApply(a -> renewed(l, a));
      } else {
        return;
      }
      stepping = true;
    }
    action.whenComplete((ok, error) -> stepped(error));
  }

  private void stepped(@Nullable Throwable error) {
    boolean more;
    synchronized (this) {
      stepping = false;
      if (error != null) {
        if (!failing) {
          LOG.warn(
              "[{}] registering {} in etcd failed; retrying every {} ms: {}",
              service,
              key,
              renewMillis,
              error.toString());
        }
        failing = true;
        renewDue = true;
        Throwable cause =
            error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause()
                : error;
        if (cause instanceof EtcdException
            && ((EtcdException) cause).code() == EtcdException.NOT_FOUND) {
          lease = 0; // expired: the next step registers anew
          registered = false;
        }
        more = false; // the next tick retries
      } else {
        if (failing) {
          LOG.info("[{}] etcd answers again for {}", service, key);
        }
        failing = false;
        more = again || (lease != 0 && ready != registered);
      }
      again = false;
    }
    if (more) {
      step();
    }
  }

  private synchronized Void granted(JsonNode answer) {
    long id = answer.path("ID").asLong(0);
    if (id == 0) {
      throw new IllegalStateException("etcd granted no lease: " + answer);
    }
    if (closed) {
      client.revoke(id); // closed meanwhile: do not leave it behind
      return null;
    }
    lease = id;
    registered = false;
    renewDue = false;
    return null;
  }

  private synchronized Void put(long l) {
    if (l == lease) {
      registered = true;
      LOG.info(
          "[{}] registered {} (lease {}, ttl {} s)", service, key, Long.toHexString(l), ttlSeconds);
    }
    return null;
  }

  private synchronized Void claimed(long l, int slot) {
    if (l == lease) {
      key = prefix + slot;
      return put(l);
    }
    return null; // the lease was lost meanwhile: the slot goes with it
  }

  private synchronized Void deleted() {
    registered = false;
    return null;
  }

  private synchronized Void renewed(long l, JsonNode answer) {
    if (l != lease) {
      return null;
    }
    if (answer.path("result").path("TTL").asLong(0) <= 0) {
      LOG.warn("[{}] etcd forgot the lease of {}; registering again", service, key);
      lease = 0;
      registered = false;
      again = true;
    }
    return null;
  }

  /** Builds and starts an {@link EtcdRegistrar}. Not thread-safe. */
  public static final class Builder {
    private final EtcdClient client;
    private final String service;
    private final Endpoint endpoint;
    private @Nullable String prefix;
    private @Nullable String id;
    private boolean slots;
    private Duration ttl = Duration.ofSeconds(10);
    private @Nullable BooleanSupplier readiness;
    private Duration readinessInterval = Duration.ofMillis(250);

    private Builder(EtcdClient client, String service, Endpoint endpoint) {
      this.client = requireNonNull(client, "client");
      this.service = EtcdEndpointSource.checkService(service);
      this.endpoint = requireNonNull(endpoint, "endpoint");
    }

    /**
     * Sets the lease's time to live: a backend that dies without closing disappears this long after
     * its last renewal (renewals run every TTL/3). Defaults to 10 s.
     *
     * @throws IllegalArgumentException if not whole seconds in {@code 2s..1h}
     */
    public Builder ttl(Duration ttl) {
      requireNonNull(ttl, "ttl");
      if (ttl.compareTo(Duration.ofSeconds(2)) < 0
          || ttl.compareTo(Duration.ofHours(1)) > 0
          || ttl.toNanos() % 1_000_000_000L != 0) {
        throw new IllegalArgumentException(
            "ttl: " + ttl + " (expected: whole seconds in 2s..1h; etcd leases count seconds)");
      }
      this.ttl = ttl;
      return this;
    }

    /**
     * Registers only while {@code check} returns true: checked every {@linkplain #readinessInterval
     * interval}; false (or an exception) deletes the record, true puts it back. Defaults to always
     * ready. The check runs on a shared timer thread: it must be quick.
     */
    public Builder readiness(BooleanSupplier check) {
      this.readiness = requireNonNull(check, "check");
      return this;
    }

    /**
     * Sets how often the readiness check runs. Defaults to 250 ms.
     *
     * @throws IllegalArgumentException if not in {@code 10ms..1min}
     */
    public Builder readinessInterval(Duration interval) {
      requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofMillis(10)) < 0
          || interval.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException(
            "readinessInterval: " + interval + " (expected: 10ms..1min)");
      }
      this.readinessInterval = interval;
      return this;
    }

    /**
     * Sets the key prefix to register under. Defaults to {@value EtcdEndpointSource#DEFAULT_ROOT}
     * {@code <service>/}, where {@link EtcdEndpointSource} looks by default.
     */
    public Builder prefix(String prefix) {
      this.prefix = EtcdEndpointSource.checkPrefix("prefix", prefix);
      return this;
    }

    /**
     * Sets the last part of the key, unique among the service's instances. Defaults to the
     * endpoint's {@code host:port}.
     *
     * @throws IllegalArgumentException if blank or containing {@code /}
     */
    public Builder id(String id) {
      requireNonNull(id, "id");
      if (id.isBlank() || id.contains("/")) {
        throw new IllegalArgumentException(
            "id: '" + id + "' (expected: a non-blank name without '/', such as host:port)");
      }
      this.id = id;
      return this;
    }

    /**
     * Registers in the lowest free numbered slot under the prefix ({@code <prefix>0}, {@code
     * <prefix>1}, ...) instead of under the id, with the slot's number in the record's {@value
     * SlotClaim#SLOT_TAG} tag; for {@link EtcdPeers}.
     */
    Builder slots() {
      this.slots = true;
      return this;
    }

    /**
     * Starts registering, in the background: returns at once, registers as soon as etcd answers
     * (and the readiness check passes), and keeps at it until {@link #close()}.
     */
    public EtcdRegistrar start() {
      return new EtcdRegistrar(this);
    }
  }
}
