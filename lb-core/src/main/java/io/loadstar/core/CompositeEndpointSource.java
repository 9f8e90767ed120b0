package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: each child keeps its own last good list; the composite reports the concatenation
 * of those lists whenever a child reports a list, and forwards a child's error as an error (the
 * balancer then keeps the merged set it has, so one failing child never removes the endpoints
 * another child or the failing child's last good answer provided). Children may publish from any
 * thread; each merge is offered under the lock, so merged lists reach the balancer in the order
 * they were merged (only the latest if several wait), and flushed outside it, so the balancer's
 * listeners never run under this lock. Duplicate keys across children are resolved by the balancer
 * (the first wins).
 */
/**
 * An endpoint source that merges several sources: the union of each one's last good list.
 *
 * <p>Serves one balancer; {@link #start}, {@link #refresh} and {@link #close} are called from the
 * balancer's control loop, while children may report from any thread.
 */
public final class CompositeEndpointSource extends AbstractEndpointSource {

  private final List<EndpointSource> sources;
  private final Object lock = new Object();
  private final @Nullable List<Endpoint>[] lists; // guarded by lock

  private CompositeEndpointSource(List<EndpointSource> sources) {
    this.sources = sources;
    @SuppressWarnings("unchecked")
    List<Endpoint>[] l = new List[sources.size()];
    this.lists = l;
  }

  /**
   * Returns a source merging {@code sources}.
   *
   * @throws IllegalArgumentException if {@code sources} is empty
   */
  public static CompositeEndpointSource of(List<EndpointSource> sources) {
    requireNonNull(sources, "sources");
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("sources: [] (expected: at least one source)");
    }
    List<EndpointSource> copy = new ArrayList<>();
    for (EndpointSource s : sources) {
      copy.add(requireNonNull(s, "sources element"));
    }
    return new CompositeEndpointSource(List.copyOf(copy));
  }

  /** Returns a source merging {@code sources}. */
  public static CompositeEndpointSource of(EndpointSource... sources) {
    return of(Arrays.asList(sources));
  }

  /** Starts every child with the balancer's context, each publishing into this merge. */
  @Override
  protected void onStart(Context context) {
    for (int i = 0; i < sources.size(); i++) {
      int index = i;
      sources.get(i).start(context.withPublisher(update -> onChildUpdate(index, update)));
    }
  }

  private void onChildUpdate(int index, EndpointUpdate update) {
    if (update.isError()) {
      publish(update);
      return;
    }
    synchronized (lock) {
      lists[index] = update.endpoints();
      List<Endpoint> all = new ArrayList<>();
      for (List<Endpoint> l : lists) {
        if (l != null) {
          all.addAll(l);
        }
      }
      offer(EndpointUpdate.of(all));
    }
    flush();
  }

  @Override
  public void refresh() {
    for (EndpointSource s : sources) {
      s.refresh();
    }
  }

  @Override
  protected void onClose() {
    for (EndpointSource s : sources) {
      s.close();
    }
  }

  @Override
  public String toString() {
    return "CompositeEndpointSource" + sources;
  }
}
