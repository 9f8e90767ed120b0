/** JMH benchmarks of Loadstar inside a Spring Boot application, beside Spring Cloud's balancer. */
@NullMarked
package io.loadstar.bench.spring;

import org.jspecify.annotations.NullMarked;
