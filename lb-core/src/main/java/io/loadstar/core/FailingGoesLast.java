package io.loadstar.core;

import io.loadstar.api.EndpointView;
import java.util.ArrayList;
import java.util.List;

/*
 * Design notes: an endpoint outlier detection would have ejected, had the max-ejection cap not
 * refused (another endpoint is already out), stays usable but goes last: its tier's picker serves
 * from the others, and a second picker over the failing ones takes the picks the first cannot
 * serve (all tried or at their limit). The cap keeps such an endpoint in the set for when it is
 * needed; it no longer takes a share of first attempts that would fail and spend the retry budget.
 * One dead and one 503-answering endpoint of three then cost no request.
 */
/** Failing goes last: a tier's usable endpoints, split into those serving well and the rest. */
final class FailingGoesLast {

  /** What a failing endpoint's status says while it goes last. */
  static final String REASON = "goes last: takes only what the others cannot serve";

  private FailingGoesLast() {}

  /**
   * The endpoints of {@code usable} in the order their pickers come: those serving well, then those
   * failing with an ejection the cap refused; one group if either is empty.
   */
  static List<List<EndpointView>> groups(List<EndpointView> usable) {
    List<EndpointView> serving = new ArrayList<>(usable.size());
    List<EndpointView> failing = new ArrayList<>();
    for (EndpointView v : usable) {
      (((EndpointState) v).ejection.refused().isEmpty() ? serving : failing).add(v);
    }
    if (serving.isEmpty() || failing.isEmpty()) {
      return List.of(usable);
    }
    return List.of(serving, failing);
  }
}
