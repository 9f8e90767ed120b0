package io.loadstar.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.loadstar.api.Picker;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: sticky keys wrap what the rest of the chain builds: a keyed pick goes to its
 * endpoint on the tier's ring (AffinityPicker) while that endpoint is eligible, an unkeyed one to
 * the inner picker. The ring is made of every listed endpoint of the tier, so keys keep their
 * places while endpoints come and go; eligible are those usable now that have been usable for the
 * return policy's wait, except a canary at 0% (a rolled-back canary's keys leave it). A wait not
 * over yet asks for a rebuild when it is.
 */
/** Sticky keys (affinity): keyed picks stick to their endpoint. Control loop only. */
final class AffinityStage implements RoutingStage {

  private final @Nullable Affinity affinity;
  private final @Nullable Cache<Long, String> movedKeys; // sticky keys that never return

  AffinityStage(@Nullable Affinity affinity) {
    this.affinity = affinity;
    this.movedKeys =
        affinity != null && affinity.returnPolicy() == Affinity.Return.NEVER
            ? Caffeine.newBuilder()
                .maximumSize(affinity.maxMovedKeys())
                .expireAfterAccess(Duration.ofHours(1))
                .executor(Runnable::run)
                .build()
            : null;
  }

  @Override
  public @Nullable Picker picker(RoutingBuild build, Group group, Chain next) {
    Picker unkeyed = next.picker(group);
    Affinity a = affinity;
    if (a == null || group.listed().isEmpty()) {
      return unkeyed;
    }
    List<EndpointState> all = build.allByTier.get(group.listed().get(0).endpoint().priority());
    long wait = a.returnPolicy() == Affinity.Return.AFTER_HEALTHY_FOR ? a.healthyForNanos() : 0;
    boolean[] eligible = new boolean[all.size()];
    boolean[] usable = new boolean[all.size()];
    boolean any = false;
    TrafficSplit sp = build.split;
    boolean canaryOff = sp != null && sp.isOff(); // at 0% (set or rolled back): keys leave it too
    for (int i = 0; i < all.size(); i++) {
      EndpointState s = all.get(i);
      usable[i] = s.routing.wasUsable;
      long since = s.routing.usableSinceNanos;
      boolean waited = since == Long.MIN_VALUE || build.now - since >= wait;
      eligible[i] = usable[i] && waited && !(canaryOff && sp.matches(s.endpoint()));
      any |= eligible[i];
      if (usable[i] && !waited) {
        build.rebuildBy(since + wait);
      }
    }
    return new AffinityPicker(unkeyed, all, any ? eligible : usable, movedKeys);
  }
}
