/**
 * Loadstar for Spring Boot: services configured under {@code loadstar.services.<name>.*} ({@link
 * io.loadstar.spring.LoadstarProperties}), their balancers ({@link
 * io.loadstar.spring.LoadstarServices}), and Boot's RestClient, RestTemplate and WebClient balanced
 * per request ({@link io.loadstar.spring.LoadstarAutoConfiguration}).
 */
@NullMarked
package io.loadstar.spring;

import org.jspecify.annotations.NullMarked;
