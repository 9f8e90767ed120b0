package io.loadstar.grpc;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.SHUTDOWN;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;

import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Status;
import io.loadstar.api.Attempt;
import io.loadstar.api.Endpoint;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The {@code loadstar} policy: one subchannel per endpoint of the resolved list, kept connected,
 * and a picker that sends each RPC attempt to the subchannel of the endpoint Loadstar picked for it
 * ({@link AttemptSlot}).
 *
 * <p>All state changes happen in the channel's synchronization context, and each publishes a new
 * immutable picker: a pick is one hash map lookup and returns a result built beforehand. An attempt
 * whose endpoint is connecting for the first time waits for it; one whose endpoint has failed to
 * connect since it was last ready, or is not in the channel's list, is dropped as never sent, so
 * the interceptor retries it on another endpoint and the balancer counts a connect failure against
 * it.
 */
final class EndpointSubchannels extends LoadBalancer {

  // INTERNAL: gRPC turns a policy's FAILED_PRECONDITION into INTERNAL anyway (gRFC A54).
  private static final Status NO_DRIVER =
      Status.INTERNAL.withDescription(
          "the loadstar policy routes only RPCs that Loadstar's interceptor picked: build the"
              + " channel with LoadstarGrpc.newChannelBuilder, or configure its builder with"
              + " LoadstarGrpc.configure");
  private static final PickResult NO_DRIVER_DROP = PickResult.withDrop(NO_DRIVER);
  private static final PickResult CLOSED_DROP =
      PickResult.withDrop(Status.CANCELLED.withDescription("the RPC closed before it was routed"));
  private static final PickResult WAIT = PickResult.withNoResult();

  private final Helper helper;
  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private boolean shutdown;

  EndpointSubchannels(Helper helper) {
    this.helper = helper;
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolved) {
    List<EquivalentAddressGroup> groups = resolved.getAddresses();
    if (groups.isEmpty()) {
      Status error =
          Status.UNAVAILABLE.withDescription(
              "the name resolver returned no addresses: " + resolved.getAttributes());
      handleNameResolutionError(error);
      return error;
    }
    Map<String, EquivalentAddressGroup> wanted = new LinkedHashMap<>();
    for (EquivalentAddressGroup g : groups) {
      wanted.put(keyOf(g), g);
    }
    entries
        .entrySet()
        .removeIf(
            e -> {
              if (wanted.containsKey(e.getKey())) {
                return false;
              }
              e.getValue().subchannel.shutdown();
              return true;
            });
    for (Map.Entry<String, EquivalentAddressGroup> w : wanted.entrySet()) {
      Entry existing = entries.get(w.getKey());
      if (existing != null) {
        if (!existing.group.getAddresses().equals(w.getValue().getAddresses())) {
          existing.group = w.getValue();
          existing.subchannel.updateAddresses(List.of(w.getValue()));
        }
        continue;
      }
      Subchannel subchannel =
          helper.createSubchannel(
              CreateSubchannelArgs.newBuilder().setAddresses(w.getValue()).build());
      Entry entry = new Entry(w.getKey(), w.getValue(), subchannel);
      entries.put(w.getKey(), entry);
      subchannel.start(state -> onState(entry, state));
      subchannel.requestConnection();
    }
    publish();
    return Status.OK;
  }

  /**
   * The key an address group is routed by: the endpoint key the {@code loadstar} resolver put on
   * it, else its first address as {@code host:port} (the key of an endpoint made from it).
   */
  private static String keyOf(EquivalentAddressGroup g) {
    String key = g.getAttributes().get(LoadstarNameResolver.ENDPOINT_KEY);
    if (key != null) {
      return key;
    }
    SocketAddress a = g.getAddresses().get(0);
    if (a instanceof InetSocketAddress) {
      InetSocketAddress isa = (InetSocketAddress) a;
      return Endpoint.of(isa.getHostString(), isa.getPort()).key();
    }
    return a.toString();
  }

  private void onState(Entry entry, ConnectivityStateInfo info) {
    if (shutdown || entries.get(entry.key) != entry) {
      return; // removed meanwhile
    }
    ConnectivityState state = info.getState();
    if (state == SHUTDOWN) {
      return;
    }
    if (state == READY) {
      entry.failedSinceReady = false;
    } else if (state == TRANSIENT_FAILURE) {
      entry.failedSinceReady = true;
      entry.lastError = info.getStatus();
    } else if (state == IDLE) {
      entry.subchannel.requestConnection(); // kept connected, as round_robin does
    }
    entry.state = state;
    publish();
  }

  @Override
  public void handleNameResolutionError(Status error) {
    if (entries.isEmpty()) {
      helper.updateBalancingState(TRANSIENT_FAILURE, new ErrorPicker(error));
    }
    // else: keep the endpoints known, as Loadstar keeps its last good list
  }

  @Override
  public void requestConnection() {
    for (Entry e : entries.values()) {
      e.subchannel.requestConnection();
    }
  }

  @Override
  public void shutdown() {
    shutdown = true;
    for (Entry e : entries.values()) {
      e.subchannel.shutdown();
    }
    entries.clear();
  }

  /** Publishes a picker for the current states, and the channel's state: the best of them. */
  private void publish() {
    Map<String, PickResult> results = new HashMap<>(entries.size() * 2);
    boolean anyReady = false;
    boolean anyConnecting = false;
    for (Entry e : entries.values()) {
      PickResult r;
      if (e.state == READY) {
        r = e.ready;
        anyReady = true;
      } else if (!e.failedSinceReady && (e.state == CONNECTING || e.state == IDLE)) {
        r = WAIT; // connecting for the first time, or again after it was ready: wait for it
        anyConnecting = true;
      } else {
        Status last = e.lastError;
        r =
            PickResult.withDrop(
                Status.UNAVAILABLE.withDescription(
                    "endpoint "
                        + e.key
                        + " is not connected ("
                        + e.state
                        + (last != null ? ": " + last.getCode() + " " + last.getDescription() : "")
                        + ")"));
      }
      results.put(e.key, r);
    }
    ConnectivityState channelState =
        anyReady ? READY : anyConnecting ? CONNECTING : TRANSIENT_FAILURE;
    helper.updateBalancingState(channelState, new EndpointPicker(Map.copyOf(results)));
  }

  /** Where a subchannel stands. Changed in the synchronization context only. */
  private static final class Entry {
    final String key;
    final Subchannel subchannel;
    final PickResult ready;
    EquivalentAddressGroup group;
    ConnectivityState state = IDLE;
    boolean failedSinceReady;
    @Nullable Status lastError;

    Entry(String key, EquivalentAddressGroup group, Subchannel subchannel) {
      this.key = key;
      this.group = group;
      this.subchannel = subchannel;
      this.ready = PickResult.withSubchannel(subchannel);
    }
  }

  /** Routes each attempt to its endpoint's subchannel; immutable. */
  static final class EndpointPicker extends SubchannelPicker {
    private final Map<String, PickResult> byKey;

    EndpointPicker(Map<String, PickResult> byKey) {
      this.byKey = byKey;
    }

    @Override
    public PickResult pickSubchannel(PickSubchannelArgs args) {
      AttemptSlot slot = args.getCallOptions().getOption(AttemptSlot.KEY);
      if (slot == null) {
        return NO_DRIVER_DROP;
      }
      Attempt attempt = slot.attempt();
      if (attempt == null) {
        return CLOSED_DROP;
      }
      slot.routed();
      if (!attempt.isAvailable()) {
        return PickResult.withDrop(Status.UNAVAILABLE.withDescription(attempt.reason()));
      }
      PickResult r = byKey.get(attempt.endpoint().key());
      if (r != null) {
        return r;
      }
      return PickResult.withDrop(
          Status.UNAVAILABLE.withDescription(
              "endpoint " + attempt.endpoint().key() + " is not in the channel's list (yet)"));
    }

    @Override
    public String toString() {
      return "EndpointPicker{" + byKey.keySet() + "}";
    }
  }

  /** Fails RPCs with the resolver's error while no endpoint is known. */
  private static final class ErrorPicker extends SubchannelPicker {
    private final PickResult result;

    ErrorPicker(Status error) {
      this.result = PickResult.withError(error);
    }

    @Override
    public PickResult pickSubchannel(PickSubchannelArgs args) {
      AttemptSlot slot = args.getCallOptions().getOption(AttemptSlot.KEY);
      if (slot != null) {
        slot.routed();
      }
      return result;
    }
  }
}
