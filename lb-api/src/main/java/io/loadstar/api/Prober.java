package io.loadstar.api;

import java.util.concurrent.CompletionStage;

/**
 * Asks an endpoint for its load, for strategies that balance by probing (lb-core's {@code
 * Strategies.probing}). A probe is asynchronous: {@link #probe} starts it and returns at once, on a
 * thread of the balancer's own (never a request thread), and the stage completes when the endpoint
 * answers, or exceptionally when it cannot (no responder, refused, timed out). lb-probe has one
 * over HTTP, for the responder it also provides.
 */
@FunctionalInterface
public interface Prober {

  /** Starts a probe of {@code endpoint}; must not block. */
  CompletionStage<ProbeResult> probe(Endpoint endpoint);
}
