/**
 * Loadstar for gRPC-java: {@link io.loadstar.grpc.LoadstarGrpc} builds a channel whose name
 * resolver is a Loadstar balancer's discovery and whose load-balancing policy routes each RPC to
 * the endpoint the balancer picks, with retries on another endpoint; {@link
 * io.loadstar.grpc.GrpcHealthChecker} checks endpoints through {@code grpc.health.v1}.
 */
@NullMarked
package io.loadstar.grpc;

import org.jspecify.annotations.NullMarked;
