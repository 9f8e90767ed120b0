package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Why a pick would go where it goes: every endpoint with its state, whether it is a candidate and
 * why not, the score the strategy compares, the routing that applies (tiers, zones, canary split,
 * sticky key), and the endpoint chosen when the pick is determined by this context and the state (a
 * hash key's owner, the least loaded when every candidate is compared); when it is drawn, the
 * decision names the endpoints it is drawn among (a tie included). Made by {@link
 * LoadBalancer.Inspection#explain}, which takes no slot and changes nothing. Immutable.
 */
public final class PickExplanation {

  /**
   * One endpoint: its state, whether this pick could go to it ({@code eligible}), why not (or what
   * applies to it), and its score in the strategy's terms (empty if it has none).
   */
  public record Candidate(
      Endpoint endpoint, EndpointSnapshot.State state, boolean eligible, String why, String score) {

    /** Checks every component. */
    public Candidate {
      requireNonNull(endpoint, "endpoint");
      requireNonNull(state, "state");
      requireNonNull(why, "why");
      requireNonNull(score, "score");
    }
  }

  private final String service;
  private final String strategy;
  private final String routing;
  private final List<Candidate> candidates;
  private final @Nullable Endpoint chosen;
  private final String decision;

  /**
   * An explanation; for {@link LoadBalancer} implementations.
   *
   * @param routing what applies besides the strategy (tiers, zones, canary, key), in words
   * @param chosen the endpoint the pick would take, or null when the strategy draws at random
   * @param decision how the strategy decides, in words
   */
  public PickExplanation(
      String service,
      String strategy,
      String routing,
      List<Candidate> candidates,
      @Nullable Endpoint chosen,
      String decision) {
    this.service = requireNonNull(service, "service");
    this.strategy = requireNonNull(strategy, "strategy");
    this.routing = requireNonNull(routing, "routing");
    this.candidates = List.copyOf(candidates);
    this.chosen = chosen;
    this.decision = requireNonNull(decision, "decision");
  }

  /** Returns the balancer's name. */
  public String service() {
    return service;
  }

  /** Returns the strategy, as its {@code toString()} names it. */
  public String strategy() {
    return strategy;
  }

  /** Returns the routing that applies besides the strategy, in words (empty if none). */
  public String routing() {
    return routing;
  }

  /** Returns every listed endpoint, in key order. */
  public List<Candidate> candidates() {
    return candidates;
  }

  /** Returns the endpoint the pick would take, if the strategy is deterministic here. */
  public Optional<Endpoint> chosen() {
    return Optional.ofNullable(chosen);
  }

  /** Returns how the strategy decides, in words. */
  public String decision() {
    return decision;
  }

  /** Returns the explanation as a few lines of text, one per endpoint. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append(service).append(": ").append(strategy);
    if (!routing.isEmpty()) {
      sb.append("; ").append(routing);
    }
    sb.append('\n');
    for (Candidate c : candidates) {
      sb.append(c.endpoint().equals(chosen) ? "-> " : c.eligible() ? " + " : " - ")
          .append(c.endpoint().key())
          .append("  ")
          .append(c.state());
      if (!c.score().isEmpty()) {
        sb.append("  ").append(c.score());
      }
      if (!c.why().isEmpty()) {
        sb.append("  (").append(c.why()).append(')');
      }
      sb.append('\n');
    }
    return sb.append(decision).toString();
  }
}
