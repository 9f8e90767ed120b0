package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.HostNames;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * One backend a call can be sent to: a host and port, optionally an already-resolved address, and
 * the attributes balancing uses (weight, zone, priority tier, tags).
 *
 * <p>Instances are immutable and safe to share between threads. {@link #equals} compares every
 * field; {@link #key()} is the stable identity that the balancer uses to reconcile successive
 * discovery answers (so live counters survive a refresh that only changes a weight) and that
 * consistent hashing hashes. The key defaults to {@code host:port} and can be set explicitly with
 * {@link #withKey(String)}, for example to a pod name that survives an address change.
 */
public final class Endpoint implements Comparable<Endpoint> {

  /** The largest weight an endpoint may carry. */
  public static final int MAX_WEIGHT = 1_000_000;

  /** The largest priority tier number. */
  public static final int MAX_PRIORITY = 1_000;

  private final String host;
  private final int port;
  private final @Nullable InetAddress address;
  private final int weight;
  private final String zone;
  private final int priority;
  private final Map<String, String> tags;
  private final @Nullable String explicitKey;
  private final String key;

  private Endpoint(
      String host,
      int port,
      @Nullable InetAddress address,
      int weight,
      String zone,
      int priority,
      Map<String, String> tags,
      @Nullable String explicitKey) {
    this.host = host;
    this.port = port;
    this.address = address != null ? address : HostNames.parseLiteral(host);
    this.weight = weight;
    this.zone = zone;
    this.priority = priority;
    this.tags = tags;
    this.explicitKey = explicitKey;
    this.key = explicitKey != null ? explicitKey : authority(host, port);
  }

  /**
   * Returns an endpoint for {@code host:port} with weight 1, no zone, priority 0 and no tags. An IP
   * literal is its own {@link #address()}, so connecting needs no lookup; a host name with a
   * trailing dot is the same name without it.
   *
   * @param host a host name or an IP literal (IPv6 with or without brackets)
   * @param port a TCP or UDP port
   * @throws IllegalArgumentException if {@code host} is not a host name or IP literal (a port, a
   *     scheme, a path or blanks in it) or {@code port} is not in {@code 1..65535}
   */
  public static Endpoint of(String host, int port) {
    return new Endpoint(checkHost(host), checkPort(port), null, 1, "", 0, Map.of(), null);
  }

  /**
   * Returns an endpoint for an already-resolved socket address. The host is the address's host name
   * if it was created from one, else its IP literal; the address is kept, so no lookup is needed to
   * connect.
   *
   * @throws IllegalArgumentException if the address is unresolved or its port is 0
   */
  public static Endpoint of(InetSocketAddress socketAddress) {
    requireNonNull(socketAddress, "socketAddress");
    InetAddress resolved = socketAddress.getAddress();
    if (resolved == null) {
      throw new IllegalArgumentException(
          "socketAddress: " + socketAddress + " (expected: a resolved address)");
    }
    return of(socketAddress.getHostString(), socketAddress.getPort()).withAddress(resolved);
  }

  /** Returns the host name or IP literal, never blank. */
  public String host() {
    return host;
  }

  /** Returns the port, in {@code 1..65535}. */
  public int port() {
    return port;
  }

  /**
   * Returns the resolved address to connect to: the one given, or the host's own address when the
   * host is an IP literal; {@code null} if the host name must be resolved.
   */
  public @Nullable InetAddress address() {
    return address;
  }

  /**
   * Returns the weight, in {@code 0..}{@value #MAX_WEIGHT}. Weighted strategies send traffic in
   * proportion to it; an endpoint of weight 0 receives no new calls.
   */
  public int weight() {
    return weight;
  }

  /** Returns the zone (for example an availability zone), or the empty string if unknown. */
  public String zone() {
    return zone;
  }

  /**
   * Returns the priority tier, {@code 0..}{@value #MAX_PRIORITY}. Tier 0 is used while it has
   * usable endpoints; higher tiers are backups, used in ascending order.
   */
  public int priority() {
    return priority;
  }

  /** Returns the free-form tags (for example {@code version=2.1}); unmodifiable, sorted by key. */
  public Map<String, String> tags() {
    return tags;
  }

  /**
   * Returns the identity key: {@code host:port} unless set with {@link #withKey(String)}. Two
   * endpoints with the same key are the same backend as far as balancing state is concerned.
   */
  public String key() {
    return key;
  }

  /** Returns {@code host:port}, with brackets around an IPv6 literal. */
  public String authority() {
    return authority(host, port);
  }

  /**
   * Returns the address to connect to: resolved when {@link #address()} is known (always for an IP
   * literal), else an unresolved one that the caller's resolver looks up.
   */
  public InetSocketAddress socketAddress() {
    InetAddress a = address;
    return a != null
        ? new InetSocketAddress(a, port)
        : InetSocketAddress.createUnresolved(host, port);
  }

  /**
   * Returns a copy with the given weight.
   *
   * @throws IllegalArgumentException if {@code weight} is not in {@code 0..}{@value #MAX_WEIGHT}
   */
  public Endpoint withWeight(int weight) {
    if (weight < 0 || weight > MAX_WEIGHT) {
      throw new IllegalArgumentException(
          "weight: " + weight + " (expected: 0.." + MAX_WEIGHT + ")");
    }
    return new Endpoint(host, port, address, weight, zone, priority, tags, explicitKey);
  }

  /**
   * Returns a copy with the given resolved address ({@code null} to clear it; an IP literal host
   * keeps its own).
   */
  public Endpoint withAddress(@Nullable InetAddress address) {
    return new Endpoint(host, port, address, weight, zone, priority, tags, explicitKey);
  }

  /** Returns a copy in the given zone (the empty string for none). */
  public Endpoint withZone(String zone) {
    requireNonNull(zone, "zone");
    return new Endpoint(host, port, address, weight, zone, priority, tags, explicitKey);
  }

  /**
   * Returns a copy in the given priority tier.
   *
   * @throws IllegalArgumentException if {@code priority} is not in {@code 0..}{@value
   *     #MAX_PRIORITY}
   */
  public Endpoint withPriority(int priority) {
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw new IllegalArgumentException(
          "priority: " + priority + " (expected: 0.." + MAX_PRIORITY + ")");
    }
    return new Endpoint(host, port, address, weight, zone, priority, tags, explicitKey);
  }

  /** Returns a copy with one more tag (replacing a tag of the same name). */
  public Endpoint withTag(String name, String value) {
    requireNonNull(name, "name");
    requireNonNull(value, "value");
    TreeMap<String, String> copy = new TreeMap<>(tags);
    copy.put(name, value);
    return new Endpoint(
        host, port, address, weight, zone, priority, unmodifiable(copy), explicitKey);
  }

  /** Returns a copy with exactly the given tags. */
  public Endpoint withTags(Map<String, String> tags) {
    requireNonNull(tags, "tags");
    TreeMap<String, String> copy = new TreeMap<>();
    tags.forEach(
        (k, v) -> copy.put(requireNonNull(k, "tags key"), requireNonNull(v, "tags value")));
    return new Endpoint(
        host, port, address, weight, zone, priority, unmodifiable(copy), explicitKey);
  }

  /**
   * Returns a copy whose identity {@link #key()} is {@code key} instead of {@code host:port}.
   *
   * @throws IllegalArgumentException if {@code key} is blank
   */
  public Endpoint withKey(String key) {
    requireNonNull(key, "key");
    if (key.isBlank()) {
      throw new IllegalArgumentException("key: '" + key + "' (expected: not blank)");
    }
    return new Endpoint(host, port, address, weight, zone, priority, tags, key);
  }

  /** Orders endpoints by {@link #key()}, the canonical order balancers use. */
  @Override
  public int compareTo(Endpoint other) {
    return key.compareTo(other.key);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Endpoint)) {
      return false;
    }
    Endpoint that = (Endpoint) o;
    return port == that.port
        && weight == that.weight
        && priority == that.priority
        && host.equals(that.host)
        && key.equals(that.key)
        && Objects.equals(address, that.address)
        && zone.equals(that.zone)
        && tags.equals(that.tags);
  }

  @Override
  public int hashCode() {
    return Objects.hash(host, port, address, weight, zone, priority, tags, key);
  }

  /** Returns a short description, e.g. {@code 10.0.0.7:8080 (weight=3, zone=eu-1a)}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(key);
    if (!key.equals(authority())) {
      sb.append(" @").append(authority());
    }
    boolean extra = weight != 1 || !zone.isEmpty() || priority != 0 || !tags.isEmpty();
    if (extra) {
      sb.append(" (");
      String sep = "";
      if (weight != 1) {
        sb.append("weight=").append(weight);
        sep = ", ";
      }
      if (!zone.isEmpty()) {
        sb.append(sep).append("zone=").append(zone);
        sep = ", ";
      }
      if (priority != 0) {
        sb.append(sep).append("priority=").append(priority);
        sep = ", ";
      }
      if (!tags.isEmpty()) {
        sb.append(sep).append("tags=").append(tags);
      }
      sb.append(')');
    }
    return sb.toString();
  }

  private static String checkHost(String host) {
    return HostNames.checkHost(
        "host", host, "a host name or IP literal, without scheme, port or path");
  }

  private static int checkPort(int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    return port;
  }

  private static String authority(String host, int port) {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }

  private static Map<String, String> unmodifiable(TreeMap<String, String> map) {
    return Collections.unmodifiableMap(map);
  }
}
